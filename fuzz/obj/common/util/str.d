fuzz/obj/common/util/str.o: common/util/str.c config.h common/util/mem.h \
  common/util/str.h common/util/msg.h

config.h:

common/util/mem.h:

common/util/str.h:

common/util/msg.h:
