fuzz/obj/common/util/fdpass.o: common/util/fdpass.c config.h \
  common/util/fdpass.h

config.h:

common/util/fdpass.h:
