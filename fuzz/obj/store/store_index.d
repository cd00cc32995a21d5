fuzz/obj/store/store_index.o: store/store_index.c config.h \
  common/util/mem.h common/util/msg.h common/util/safe_file.h \
  common/util/str.h store/store_int.h store/store.h \
  common/mail/maildir.h

config.h:

common/util/mem.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:
