fuzz/obj/common/util/clean_env.o: common/util/clean_env.c config.h \
  common/util/clean_env.h common/util/mem.h common/util/str.h \
  common/util/msg.h

config.h:

common/util/clean_env.h:

common/util/mem.h:

common/util/str.h:

common/util/msg.h:
