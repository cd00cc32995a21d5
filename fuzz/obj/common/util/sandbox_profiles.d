fuzz/obj/common/util/sandbox_profiles.o: common/util/sandbox_profiles.c \
  config.h common/util/sandbox.h

config.h:

common/util/sandbox.h:
