fuzz/obj/common/mail/queue.o: common/mail/queue.c config.h \
  common/mail/queue.h common/ipc/attr.h common/util/lio.h \
  common/util/msg.h common/util/str.h common/util/safe_file.h

config.h:

common/mail/queue.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/safe_file.h:
