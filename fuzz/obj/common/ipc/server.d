fuzz/obj/common/ipc/server.o: common/ipc/server.c config.h \
  common/ipc/attr.h common/util/lio.h common/util/msg.h \
  common/util/str.h common/util/cfg.h common/util/ev.h common/util/mem.h \
  common/util/priv.h common/ipc/server.h common/util/sandbox.h

config.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/cfg.h:

common/util/ev.h:

common/util/mem.h:

common/util/priv.h:

common/ipc/server.h:

common/util/sandbox.h:
