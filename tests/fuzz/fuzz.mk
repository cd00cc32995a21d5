# tests/fuzz/fuzz.mk: libFuzzer targets, built with clang outside the
# automake build (which uses the configured compiler, usually gcc).
#
#   make fuzz          (top build dir) builds every target into fuzz/
#   make fuzz-smoke    builds and runs each one for FUZZ_TIME seconds
#
# or directly:
#   make -f SRC/tests/fuzz/fuzz.mk SRCDIR=SRC BUILDDIR=BUILD [fuzz|fuzz-smoke]
#
# Every source file of common/ (and of smtpd/, pop3d/, pickup/, auth/,
# imapd/, store/, the smtp client and local, minus their main()s, and
# tools/sendmail.c) is compiled again with coverage
# instrumentation and ASan+UBSan into BUILDDIR/fuzz/obj, archived per directory, and each
# target links what it needs. config.h comes from BUILDDIR (run configure
# first). New common/*/*.c files are picked up by the wildcard.

SRCDIR ?= ../..
BUILDDIR ?= .
OUT = $(BUILDDIR)/fuzz
FUZZ_CC ?= clang
FUZZ_TIME ?= 20

SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer
CPPFLAGS_ALL = -DHAVE_CONFIG_H -I$(BUILDDIR) $(patsubst %,-I$(SRCDIR)/common/%,util ipc tables mail security login) \
	-DSYSCONFDIR='"/nonexistent/etc/correo"' \
	-DPKGLIBEXECDIR='"/nonexistent/libexec"' \
	-DLOCALSTATEDIR='"/nonexistent/var"' \
	-DSBINDIR='"/nonexistent/sbin"'
# Library code is other people's: warnings, but no -Werror under clang.
LIB_CFLAGS = $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer-no-link -Wall
TARGET_CFLAGS = $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer-no-link \
	-Wall -Wextra -Wno-unused-parameter -Wshadow -Werror
LDLIBS = -lssl -lcrypto -ldb -lcrypt -lpthread -lunistring -lz -lsqlite3

COMMON_SRC = $(wildcard $(SRCDIR)/common/*/*.c)
SMTPD_SRC = $(filter-out %/main.c,$(wildcard $(SRCDIR)/smtpd/*.c))
POP3_SRC = $(filter-out %main.c,$(wildcard $(SRCDIR)/pop3d/*.c))
SMTP_SRC = $(wildcard $(SRCDIR)/delivery/smtp_*.c)
SMTP_SRC := $(filter-out %/smtp_main.c,$(SMTP_SRC))
PICKUP_SRC = $(filter-out %/main.c,$(wildcard $(SRCDIR)/pickup/*.c))
STORE_SRC = $(wildcard $(SRCDIR)/store/*.c)
IMAP_SRC = $(filter-out %main.c,$(wildcard $(SRCDIR)/imapd/imap_*.c))
AUTH_SRC = $(filter-out %/main.c,$(wildcard $(SRCDIR)/auth/*.c))
SENDMAIL_SRC = $(SRCDIR)/tools/sendmail.c
LOCAL_SRC = $(filter-out %/local_main.c,$(wildcard $(SRCDIR)/delivery/local_*.c))

obj = $(patsubst $(SRCDIR)/%.c,$(OUT)/obj/%.o,$(1))

# Every tests/fuzz/fuzz_*.c is a target; each links libcommon and the
# archives named by its NAME_LIBS.
TARGETS = $(basename $(notdir $(wildcard $(SRCDIR)/tests/fuzz/fuzz_*.c)))
fuzz_smtpd_parse_LIBS = $(OUT)/libsmtpd.a
fuzz_smtpd_header_LIBS = $(OUT)/libsmtpd.a
fuzz_smtpd_data_LIBS = $(OUT)/libsmtpd.a
fuzz_pop3_parse_LIBS = $(OUT)/libpop3.a
fuzz_login_LIBS = $(OUT)/libpop3.a
fuzz_smtp_reply_LIBS = $(OUT)/libsmtp.a
fuzz_pickup_LIBS = $(OUT)/libpickup.a
fuzz_store_index_LIBS = $(OUT)/libstore.a
fuzz_store_cache_LIBS = $(OUT)/libstore.a
fuzz_store_fts_LIBS = $(OUT)/libstore.a
fuzz_imap_parse_LIBS = $(OUT)/libimap.a
fuzz_imap_utf7_LIBS = $(OUT)/libimap.a
fuzz_imap_thread_LIBS = $(OUT)/libimap.a
fuzz_imap_zlib_LIBS = $(OUT)/libimap.a
fuzz_auth_request_LIBS = $(OUT)/libauth.a
fuzz_sendmail_headers_LIBS = $(OUT)/libsendmail.a
fuzz_local_header_LIBS = $(OUT)/liblocal.a

.PHONY: fuzz fuzz-smoke fuzz-clean
fuzz: $(addprefix $(OUT)/,$(TARGETS))

fuzz-smoke: fuzz
	$(SRCDIR)/tests/fuzz/run -d $(OUT) -s $(SRCDIR)/tests/fuzz \
		-t $(FUZZ_TIME) $(TARGETS)

fuzz-clean:
	rm -rf $(OUT)/obj $(OUT)/*.a $(addprefix $(OUT)/,$(TARGETS))

$(OUT)/obj/%.o: $(SRCDIR)/%.c $(BUILDDIR)/config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) -I$(SRCDIR)/$(dir $*) $(LIB_CFLAGS) \
		-MMD -MP -c -o $@ $<

$(OUT)/obj/tests/fuzz/%.o: $(SRCDIR)/tests/fuzz/%.c $(BUILDDIR)/config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) -I$(SRCDIR)/smtpd -I$(SRCDIR)/pop3d \
		-I$(SRCDIR)/delivery -I$(SRCDIR)/pickup -I$(SRCDIR)/imapd \
		-I$(SRCDIR)/store -I$(SRCDIR)/auth -I$(SRCDIR)/tools \
		$(TARGET_CFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/libcommon.a: $(call obj,$(COMMON_SRC))
$(OUT)/libsmtpd.a: $(call obj,$(SMTPD_SRC))
$(OUT)/libpop3.a: $(call obj,$(POP3_SRC))
$(OUT)/libsmtp.a: $(call obj,$(SMTP_SRC))
$(OUT)/libpickup.a: $(call obj,$(PICKUP_SRC))
$(OUT)/libstore.a: $(call obj,$(STORE_SRC))
$(OUT)/libimap.a: $(call obj,$(IMAP_SRC))
$(OUT)/libauth.a: $(call obj,$(AUTH_SRC))
$(OUT)/libsendmail.a: $(call obj,$(SENDMAIL_SRC))
$(OUT)/liblocal.a: $(call obj,$(LOCAL_SRC))
$(OUT)/%.a:
	rm -f $@
	ar cr $@ $^

.SECONDEXPANSION:
$(addprefix $(OUT)/,$(TARGETS)): $(OUT)/%: $(OUT)/obj/tests/fuzz/%.o \
		$$($$*_LIBS) $(OUT)/libcommon.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

-include $(wildcard $(OUT)/obj/*/*.d $(OUT)/obj/tests/fuzz/*.d)
