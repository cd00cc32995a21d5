fuzz/obj/common/mail/addr.o: common/mail/addr.c config.h \
  common/mail/addr.h

config.h:

common/mail/addr.h:
