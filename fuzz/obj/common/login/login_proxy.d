fuzz/obj/common/login/login_proxy.o: common/login/login_proxy.c config.h \
  common/util/msg.h common/login/login_int.h common/ipc/attr.h \
  common/util/lio.h common/util/str.h common/util/ev.h \
  common/security/tls.h common/util/cfg.h common/login/login.h

config.h:

common/util/msg.h:

common/login/login_int.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/str.h:

common/util/ev.h:

common/security/tls.h:

common/util/cfg.h:

common/login/login.h:
