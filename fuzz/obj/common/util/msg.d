fuzz/obj/common/util/msg.o: common/util/msg.c config.h common/util/msg.h

config.h:

common/util/msg.h:
