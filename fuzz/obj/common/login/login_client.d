fuzz/obj/common/login/login_client.o: common/login/login_client.c \
  config.h common/util/mem.h common/ipc/metrics_client.h \
  common/util/msg.h common/security/sasl.h common/util/str.h \
  common/ipc/server.h common/ipc/attr.h common/util/lio.h \
  common/util/cfg.h common/util/ev.h common/util/sandbox.h \
  common/login/login.h common/login/login_int.h common/security/tls.h

config.h:

common/util/mem.h:

common/ipc/metrics_client.h:

common/util/msg.h:

common/security/sasl.h:

common/util/str.h:

common/ipc/server.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/cfg.h:

common/util/ev.h:

common/util/sandbox.h:

common/login/login.h:

common/login/login_int.h:

common/security/tls.h:
