fuzz/obj/common/tables/dict.o: common/tables/dict.c config.h \
  common/tables/dict_impl.h common/tables/dict.h common/util/str.h \
  common/util/msg.h common/util/mem.h

config.h:

common/tables/dict_impl.h:

common/tables/dict.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:
