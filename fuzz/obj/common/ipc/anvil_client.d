fuzz/obj/common/ipc/anvil_client.o: common/ipc/anvil_client.c config.h \
  common/ipc/anvil_client.h common/ipc/attr.h common/util/lio.h \
  common/util/msg.h common/util/str.h common/util/mem.h \
  common/ipc/proto.h

config.h:

common/ipc/anvil_client.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/mem.h:

common/ipc/proto.h:
