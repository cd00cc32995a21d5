/* stub: replaced by the receive issue's user management. */
#include "config.h"

#include <stdio.h>

#include "correo.h"

int correo_user_cmd(const char *config_dir, int argc, char **argv)
{
	fprintf(stderr, "correo: %s: not available yet\n", argv[0]);
	return 1;
}

int correo_newaliases_cmd(const char *config_dir, int argc, char **argv)
{
	fprintf(stderr, "correo: %s: not available yet\n", argv[0]);
	return 1;
}
