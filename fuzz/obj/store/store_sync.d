fuzz/obj/store/store_sync.o: store/store_sync.c config.h \
  common/util/mem.h store/store_int.h store/store.h \
  common/mail/maildir.h common/util/str.h common/util/msg.h \
  common/mail/uidlist.h

config.h:

common/util/mem.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:

common/util/str.h:

common/util/msg.h:

common/mail/uidlist.h:
