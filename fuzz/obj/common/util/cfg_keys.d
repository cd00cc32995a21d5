fuzz/obj/common/util/cfg_keys.o: common/util/cfg_keys.c config.h \
  common/util/cfg.h

config.h:

common/util/cfg.h:
