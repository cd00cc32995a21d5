fuzz/obj/common/ipc/proto.o: common/ipc/proto.c config.h \
  common/ipc/proto.h common/ipc/attr.h common/util/lio.h \
  common/util/msg.h common/util/str.h

config.h:

common/ipc/proto.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:
