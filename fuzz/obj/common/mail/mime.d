fuzz/obj/common/mail/mime.o: common/mail/mime.c config.h \
  common/util/mem.h common/mail/mime_impl.h common/mail/mime.h \
  common/util/str.h common/util/msg.h

config.h:

common/util/mem.h:

common/mail/mime_impl.h:

common/mail/mime.h:

common/util/str.h:

common/util/msg.h:
