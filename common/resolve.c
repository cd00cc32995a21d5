/* stub: to be written */
#include "config.h"
extern int stub_resolve;
