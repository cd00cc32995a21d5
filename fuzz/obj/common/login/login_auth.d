fuzz/obj/common/login/login_auth.o: common/login/login_auth.c config.h \
  common/util/fdpass.h common/util/mem.h common/ipc/metrics_client.h \
  common/util/msg.h common/ipc/proto.h common/ipc/attr.h \
  common/util/lio.h common/util/str.h common/login/login.h \
  common/util/ev.h common/login/login_int.h common/security/tls.h \
  common/util/cfg.h

config.h:

common/util/fdpass.h:

common/util/mem.h:

common/ipc/metrics_client.h:

common/util/msg.h:

common/ipc/proto.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/str.h:

common/login/login.h:

common/util/ev.h:

common/login/login_int.h:

common/security/tls.h:

common/util/cfg.h:
