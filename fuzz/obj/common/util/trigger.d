fuzz/obj/common/util/trigger.o: common/util/trigger.c config.h \
  common/util/mem.h common/util/msg.h common/util/trigger.h \
  common/util/ev.h

config.h:

common/util/mem.h:

common/util/msg.h:

common/util/trigger.h:

common/util/ev.h:
