fuzz/obj/common/mail/uidlist.o: common/mail/uidlist.c config.h \
  common/util/mem.h common/util/safe_file.h common/util/str.h \
  common/util/msg.h common/mail/uidlist.h

config.h:

common/util/mem.h:

common/util/safe_file.h:

common/util/str.h:

common/util/msg.h:

common/mail/uidlist.h:
