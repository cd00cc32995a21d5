fuzz/obj/common/util/sandbox.o: common/util/sandbox.c config.h \
  common/util/cfg.h common/util/msg.h common/util/sandbox.h \
  common/util/str.h

config.h:

common/util/cfg.h:

common/util/msg.h:

common/util/sandbox.h:

common/util/str.h:
