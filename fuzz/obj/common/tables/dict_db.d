fuzz/obj/common/tables/dict_db.o: common/tables/dict_db.c config.h \
  common/tables/dict_impl.h common/tables/dict.h common/util/str.h \
  common/util/msg.h common/util/mem.h common/util/safe_file.h

config.h:

common/tables/dict_impl.h:

common/tables/dict.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:

common/util/safe_file.h:
