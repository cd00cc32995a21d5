fuzz/obj/store/store_cache_data.o: store/store_cache_data.c config.h \
  common/mail/mime.h common/util/str.h common/util/msg.h \
  store/store_int.h store/store.h common/mail/maildir.h

config.h:

common/mail/mime.h:

common/util/str.h:

common/util/msg.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:
