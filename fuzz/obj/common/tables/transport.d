fuzz/obj/common/tables/transport.o: common/tables/transport.c config.h \
  common/tables/dict.h common/util/str.h common/util/msg.h \
  common/util/mem.h common/tables/transport.h common/util/cfg.h

config.h:

common/tables/dict.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:

common/tables/transport.h:

common/util/cfg.h:
