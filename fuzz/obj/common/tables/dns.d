fuzz/obj/common/tables/dns.o: common/tables/dns.c config.h \
  common/tables/dns.h common/util/str.h common/util/msg.h \
  common/util/mem.h

config.h:

common/tables/dns.h:

common/util/str.h:

common/util/msg.h:

common/util/mem.h:
