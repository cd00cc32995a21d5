fuzz/obj/common/security/sasl.o: common/security/sasl.c config.h \
  common/util/mem.h common/security/sasl.h common/util/str.h \
  common/util/msg.h

config.h:

common/util/mem.h:

common/security/sasl.h:

common/util/str.h:

common/util/msg.h:
