fuzz/obj/common/security/tls_settings.o: common/security/tls_settings.c \
  config.h common/util/cfg.h common/security/tls.h common/util/lio.h \
  common/util/msg.h common/util/str.h

config.h:

common/util/cfg.h:

common/security/tls.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:
