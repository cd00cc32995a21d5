fuzz/obj/store/store_snapshot.o: store/store_snapshot.c config.h \
  common/util/mem.h common/util/safe_file.h common/util/str.h \
  common/util/msg.h store/store_int.h store/store.h \
  common/mail/maildir.h

config.h:

common/util/mem.h:

common/util/safe_file.h:

common/util/str.h:

common/util/msg.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:
