fuzz/obj/common/util/svc.o: common/util/svc.c config.h common/util/mem.h \
  common/util/msg.h common/util/safe_file.h common/util/str.h \
  common/util/svc.h

config.h:

common/util/mem.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:

common/util/svc.h:
