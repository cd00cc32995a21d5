fuzz/obj/common/security/tls.o: common/security/tls.c config.h \
  common/util/ev.h common/util/mem.h common/util/msg.h \
  common/util/safe_file.h common/util/str.h common/security/tls.h \
  common/util/cfg.h common/util/lio.h common/security/tls_ticket.h

config.h:

common/util/ev.h:

common/util/mem.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:

common/security/tls.h:

common/util/cfg.h:

common/util/lio.h:

common/security/tls_ticket.h:
