fuzz/obj/common/login/login_spawn.o: common/login/login_spawn.c config.h \
  common/ipc/anvil_client.h common/ipc/attr.h common/util/lio.h \
  common/util/msg.h common/util/str.h common/util/cfg.h \
  common/util/fdpass.h common/util/mem.h common/util/priv.h \
  common/ipc/proto.h common/ipc/server.h common/util/ev.h \
  common/util/sandbox.h common/login/login_spawn.h

config.h:

common/ipc/anvil_client.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/cfg.h:

common/util/fdpass.h:

common/util/mem.h:

common/util/priv.h:

common/ipc/proto.h:

common/ipc/server.h:

common/util/ev.h:

common/util/sandbox.h:

common/login/login_spawn.h:
