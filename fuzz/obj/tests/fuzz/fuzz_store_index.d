fuzz/obj/tests/fuzz/fuzz_store_index.o: tests/fuzz/fuzz_store_index.c \
  config.h tests/fuzz/fuzz.h common/util/mem.h common/util/msg.h \
  common/util/str.h common/util/safe_file.h store/store.h \
  common/mail/maildir.h store/store_int.h

config.h:

tests/fuzz/fuzz.h:

common/util/mem.h:

common/util/msg.h:

common/util/str.h:

common/util/safe_file.h:

store/store.h:

common/mail/maildir.h:

store/store_int.h:
