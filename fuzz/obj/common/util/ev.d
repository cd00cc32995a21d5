fuzz/obj/common/util/ev.o: common/util/ev.c config.h common/util/ev.h \
  common/util/mem.h common/util/msg.h

config.h:

common/util/ev.h:

common/util/mem.h:

common/util/msg.h:
