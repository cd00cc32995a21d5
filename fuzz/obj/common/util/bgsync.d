fuzz/obj/common/util/bgsync.o: common/util/bgsync.c config.h \
  common/util/bgsync.h common/util/msg.h

config.h:

common/util/bgsync.h:

common/util/msg.h:
