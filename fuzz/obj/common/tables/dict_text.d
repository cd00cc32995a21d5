fuzz/obj/common/tables/dict_text.o: common/tables/dict_text.c config.h \
  common/tables/dict_impl.h common/tables/dict.h common/util/str.h \
  common/util/msg.h common/util/mem.h

config.h:

common/tables/dict_impl.h:

common/tables/dict.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:
