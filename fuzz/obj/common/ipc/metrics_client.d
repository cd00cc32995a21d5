fuzz/obj/common/ipc/metrics_client.o: common/ipc/metrics_client.c \
  config.h common/ipc/metrics_client.h

config.h:

common/ipc/metrics_client.h:
