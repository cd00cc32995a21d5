fuzz/obj/common/util/priv.o: common/util/priv.c config.h \
  common/util/mem.h common/util/priv.h common/util/str.h \
  common/util/msg.h

config.h:

common/util/mem.h:

common/util/priv.h:

common/util/str.h:

common/util/msg.h:
