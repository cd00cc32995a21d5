fuzz/obj/common/util/safe_file.o: common/util/safe_file.c config.h \
  common/util/mem.h common/util/safe_file.h common/util/str.h \
  common/util/msg.h

config.h:

common/util/mem.h:

common/util/safe_file.h:

common/util/str.h:

common/util/msg.h:
