fuzz/obj/common/util/cidr.o: common/util/cidr.c config.h \
  common/util/cidr.h common/util/mem.h common/util/str.h \
  common/util/msg.h

config.h:

common/util/cidr.h:

common/util/mem.h:

common/util/str.h:

common/util/msg.h:
