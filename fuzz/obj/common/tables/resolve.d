fuzz/obj/common/tables/resolve.o: common/tables/resolve.c config.h \
  common/tables/dict.h common/util/str.h common/util/msg.h \
  common/util/mem.h common/util/priv.h common/tables/resolve.h \
  common/util/cfg.h common/util/safe_file.h

config.h:

common/tables/dict.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:

common/util/priv.h:

common/tables/resolve.h:

common/util/cfg.h:

common/util/safe_file.h:
