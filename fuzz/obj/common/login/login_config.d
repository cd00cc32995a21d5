fuzz/obj/common/login/login_config.o: common/login/login_config.c \
  config.h common/util/cfg.h common/ipc/metrics_client.h \
  common/util/msg.h common/util/priv.h common/ipc/server.h \
  common/ipc/attr.h common/util/lio.h common/util/str.h common/util/ev.h \
  common/util/sandbox.h common/login/login.h common/login/login_int.h \
  common/security/tls.h

config.h:

common/util/cfg.h:

common/ipc/metrics_client.h:

common/util/msg.h:

common/util/priv.h:

common/ipc/server.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/str.h:

common/util/ev.h:

common/util/sandbox.h:

common/login/login.h:

common/login/login_int.h:

common/security/tls.h:
