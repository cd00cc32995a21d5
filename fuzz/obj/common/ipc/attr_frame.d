fuzz/obj/common/ipc/attr_frame.o: common/ipc/attr_frame.c config.h \
  common/ipc/attr_frame.h common/util/lio.h common/util/msg.h \
  common/util/str.h

config.h:

common/ipc/attr_frame.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:
