fuzz/obj/common/security/tls_ticket.o: common/security/tls_ticket.c \
  config.h common/util/msg.h common/util/str.h \
  common/security/tls_ticket.h

config.h:

common/util/msg.h:

common/util/str.h:

common/security/tls_ticket.h:
