fuzz/obj/common/login/login_mail.o: common/login/login_mail.c config.h \
  common/ipc/attr.h common/util/lio.h common/util/msg.h \
  common/util/str.h common/ipc/proto.h common/login/login_spawn.h

config.h:

common/ipc/attr.h:

common/util/lio.h:

common/util/msg.h:

common/util/str.h:

common/ipc/proto.h:

common/login/login_spawn.h:
