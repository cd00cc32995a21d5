fuzz/obj/common/ipc/attr.o: common/ipc/attr.c config.h common/ipc/attr.h \
  common/util/lio.h common/util/msg.h common/util/str.h \
  common/util/mem.h common/ipc/proto.h

config.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/mem.h:

common/ipc/proto.h:
