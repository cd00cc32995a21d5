fuzz/obj/common/mail/mime_param.o: common/mail/mime_param.c config.h \
  common/util/mem.h common/mail/mime_impl.h common/mail/mime.h \
  common/util/str.h common/util/msg.h

config.h:

common/util/mem.h:

common/mail/mime_impl.h:

common/mail/mime.h:

common/util/str.h:

common/util/msg.h:
