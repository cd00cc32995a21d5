fuzz/obj/common/util/lio.o: common/util/lio.c config.h common/util/lio.h \
  common/util/msg.h common/util/str.h common/util/mem.h

config.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/mem.h:
