fuzz/obj/store/store_msgs.o: store/store_msgs.c config.h \
  common/util/mem.h common/util/msg.h store/store_int.h store/store.h \
  common/mail/maildir.h common/util/str.h

config.h:

common/util/mem.h:

common/util/msg.h:

store/store_int.h:

store/store.h:

common/mail/maildir.h:

common/util/str.h:
