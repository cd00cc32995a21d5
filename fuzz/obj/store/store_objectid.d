fuzz/obj/store/store_objectid.o: store/store_objectid.c config.h \
  common/util/mem.h common/util/safe_file.h common/util/str.h \
  common/util/msg.h store/store_objectid.h

config.h:

common/util/mem.h:

common/util/safe_file.h:

common/util/str.h:

common/util/msg.h:

store/store_objectid.h:
