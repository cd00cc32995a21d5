fuzz/obj/store/store_cache.o: store/store_cache.c config.h \
  common/util/mem.h common/mail/mime.h common/util/str.h \
  common/util/msg.h common/util/safe_file.h store/store_int.h \
  store/store.h common/mail/maildir.h

config.h:

common/util/mem.h:

common/mail/mime.h:

common/util/str.h:

common/util/msg.h:

common/util/safe_file.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:
