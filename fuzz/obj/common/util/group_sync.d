fuzz/obj/common/util/group_sync.o: common/util/group_sync.c config.h \
  common/util/group_sync.h common/util/msg.h

config.h:

common/util/group_sync.h:

common/util/msg.h:
