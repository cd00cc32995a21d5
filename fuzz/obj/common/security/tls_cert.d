fuzz/obj/common/security/tls_cert.o: common/security/tls_cert.c config.h \
  common/util/mem.h common/util/safe_file.h common/util/str.h \
  common/util/msg.h common/security/tls.h common/util/cfg.h \
  common/util/lio.h

config.h:

common/util/mem.h:

common/util/safe_file.h:

common/util/str.h:

common/util/msg.h:

common/security/tls.h:

common/util/cfg.h:

common/util/lio.h:
