fuzz/obj/common/util/cfg.o: common/util/cfg.c config.h common/util/cfg.h \
  common/util/mem.h common/util/msg.h common/util/safe_file.h \
  common/util/str.h

config.h:

common/util/cfg.h:

common/util/mem.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:
