fuzz/obj/common/mail/maildir.o: common/mail/maildir.c config.h \
  common/mail/maildir.h common/util/str.h common/util/msg.h \
  common/util/mem.h common/util/safe_file.h

config.h:

common/mail/maildir.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:

common/util/safe_file.h:
