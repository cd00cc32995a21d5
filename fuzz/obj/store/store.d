fuzz/obj/store/store.o: store/store.c config.h common/util/bgsync.h \
  common/util/group_sync.h common/util/mem.h common/util/msg.h \
  common/util/safe_file.h common/util/str.h store/store_int.h \
  store/store.h common/mail/maildir.h store/store_quota.h \
  common/mail/uidlist.h

config.h:

common/util/bgsync.h:

common/util/group_sync.h:

common/util/mem.h:

common/util/msg.h:

common/util/safe_file.h:

common/util/str.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:

store/store_quota.h:

common/mail/uidlist.h:
