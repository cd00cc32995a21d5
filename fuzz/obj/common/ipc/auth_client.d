fuzz/obj/common/ipc/auth_client.o: common/ipc/auth_client.c config.h \
  common/ipc/attr.h common/util/lio.h common/util/msg.h \
  common/util/str.h common/ipc/auth_client.h common/util/mem.h \
  common/ipc/proto.h

config.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/ipc/auth_client.h:

common/util/mem.h:

common/ipc/proto.h:
