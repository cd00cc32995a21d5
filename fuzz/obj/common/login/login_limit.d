fuzz/obj/common/login/login_limit.o: common/login/login_limit.c config.h \
  common/ipc/anvil_client.h common/util/cfg.h common/util/cidr.h \
  common/util/mem.h common/util/msg.h common/ipc/server.h \
  common/ipc/attr.h common/util/lio.h common/util/str.h common/util/ev.h \
  common/util/sandbox.h common/login/login.h common/login/login_int.h \
  common/security/tls.h

config.h:

common/ipc/anvil_client.h:

common/util/cfg.h:

common/util/cidr.h:

common/util/mem.h:

common/util/msg.h:

common/ipc/server.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/str.h:

common/util/ev.h:

common/util/sandbox.h:

common/login/login.h:

common/login/login_int.h:

common/security/tls.h:
