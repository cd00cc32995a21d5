fuzz/obj/common/ipc/flow.o: common/ipc/flow.c config.h common/ipc/flow.h

config.h:

common/ipc/flow.h:
