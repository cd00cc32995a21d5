fuzz/obj/store/store_vanished.o: store/store_vanished.c config.h \
  common/util/mem.h store/store_int.h store/store.h \
  common/mail/maildir.h common/util/str.h common/util/msg.h

config.h:

common/util/mem.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:

common/util/str.h:

common/util/msg.h:
