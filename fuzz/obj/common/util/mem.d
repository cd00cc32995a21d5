fuzz/obj/common/util/mem.o: common/util/mem.c config.h common/util/msg.h \
  common/util/mem.h

config.h:

common/util/msg.h:

common/util/mem.h:
