fuzz/obj/common/mail/mime_header.o: common/mail/mime_header.c config.h \
  common/mail/mime_impl.h common/mail/mime.h common/util/str.h \
  common/util/msg.h

config.h:

common/mail/mime_impl.h:

common/mail/mime.h:

common/util/str.h:

common/util/msg.h:
