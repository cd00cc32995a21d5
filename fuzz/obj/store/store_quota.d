fuzz/obj/store/store_quota.o: store/store_quota.c config.h \
  common/util/msg.h common/util/safe_file.h common/util/str.h \
  store/store.h common/mail/maildir.h store/store_quota.h

config.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:

store/store.h:

common/mail/maildir.h:

store/store_quota.h:
