fuzz/obj/store/store_savedate.o: store/store_savedate.c config.h \
  store/store_savedate.h store/store.h common/mail/maildir.h \
  common/util/str.h common/util/msg.h

config.h:

store/store_savedate.h:

store/store.h:

common/mail/maildir.h:

common/util/str.h:

common/util/msg.h:
