fuzz/obj/common/mail/queue_file.o: common/mail/queue_file.c config.h \
  common/ipc/attr.h common/util/lio.h common/util/msg.h \
  common/util/str.h common/util/bgsync.h common/util/group_sync.h \
  common/util/mem.h common/mail/queue.h common/util/safe_file.h

config.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/util/bgsync.h:

common/util/group_sync.h:

common/util/mem.h:

common/mail/queue.h:

common/util/safe_file.h:
