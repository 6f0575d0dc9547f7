# odbk - Odoo backup toolkit.  Plain GNU make: libodbk.a from lib/, one program per cmd/*.c.
#   make            build everything (-Wall -Wextra -Werror)
#   make check      install what is missing, build, start the testbed, run every test, stop it
#   make asan       build with AddressSanitizer + UBSan into build-asan/
#   make install    PREFIX=/usr/local DESTDIR= (programs, man pages, bash and zsh completion, systemd units,
#                   and /etc/odbk/odbk.conf with mode 600 when there is none)
#   make bench      odbk at its defaults against the pipelines and tools it replaces (tests/bench/run)
#   make bench-catalog  per-env commands at 100-10,000 envs, and rescan of 10,000 manifests (local; S3 with the testbed)
#                   (BENCH_BASE_BIN=DIR compares a build)
#   make bench-retention  storage of the default retention over 400 nightly backups of a growing filestore
#                   (incremental, local disk, faketime; the testbed's PostgreSQL), every kept backup restored
#   make fuzz       libFuzzer targets tests/fuzz/fuzz-*.c (clang) into build-fuzz/, each run FUZZ_SECONDS
#                   (60) from tests/fuzz/corpus/<target>/; not part of make check, which replays the corpus

VERSION  := 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
B        ?= build

PKGS     := libpq libcurl libarchive zlib libcjson libssh2 sqlite3 libcrypto libzstd libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
ALL_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DODBK_VERSION='"$(VERSION)"' -Ilib -Itests $(PKG_CFLAGS) $(CFLAGS) $(SAN)
LDLIBS   := $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(sort $(wildcard lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
PROGS    := $(sort $(patsubst cmd/%.c,%,$(wildcard cmd/odbk-*.c)))
BIN_TARGETS := $(PROGS:%=$(B)/bin/%)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_TARGETS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%.t)
HELPER_SRCS := $(sort $(wildcard tests/helper/*.c))
HELPER_TARGETS := $(HELPER_SRCS:tests/helper/%.c=$(B)/tests/%)
# tests/bench/NAME.c: the benchmarks' own programs (odbk-gen-catalog), linked with libodbk
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_TARGETS := $(BENCH_SRCS:tests/bench/%.c=$(B)/bench/odbk-%)

all: $(B)/libodbk.a $(BIN_TARGETS) $(UNIT_TARGETS) $(HELPER_TARGETS) $(BENCH_TARGETS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libodbk.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/bin/%: $(B)/cmd/%.o $(B)/libodbk.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libodbk.a $(LDLIBS)

$(B)/tests/%.t: $(B)/tests/unit/%.o $(B)/libodbk.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libodbk.a $(LDLIBS)

$(B)/tests/%: $(B)/tests/helper/%.o $(B)/libodbk.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libodbk.a $(LDLIBS)

$(B)/bench/odbk-%: $(B)/tests/bench/%.o $(B)/libodbk.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libodbk.a $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- tests
# `make check` is README's test command: deps, build (plain and sanitized), testbed, prove, stop.
check:
	tests/run-all

# the tests alone, against a testbed already started (eval "$$(tests/testbed/start-all.sh DIR)")
test: all
	ODBK_BUILD=$(B) prove -j2 -f $(UNIT_TARGETS) $(wildcard tests/integration/t[0-9]*.sh)

asan:
	$(MAKE) B=build-asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' CFLAGS='-O1 -g'

deps:
	tests/install-deps

demo:
	tests/demo

bench: all
	tests/bench/run

bench-catalog: all
	tests/bench/catalog
	tests/bench/rescan

bench-retention: all
	tests/bench/retention

# ---------------------------------------------------------------- fuzzing
# The library built by clang with -fsanitize=fuzzer-no-link,address,undefined into build-fuzz/, each target
# linked with -fsanitize=fuzzer.  A run starts from the corpus folder and adds what it finds there (new
# coverage); a crash is saved as build-fuzz/crash-<target>-*: copy it into the corpus with its fix.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

fuzz-build:
	$(MAKE) B=build-fuzz CC=$(FUZZ_CC) SAN='$(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-unknown-warning-option' CFLAGS='-O1 -g' \
		build-fuzz/libodbk.a $(FUZZ_TARGETS)

build-fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h build-fuzz/libodbk.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libodbk.a $(LDLIBS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

lint-man:
	mandoc -Tlint -Wwarning man/*.[157]

# lib/ never prints, reads the environment (but through odbk_getenv) or exits: tests/lint says what it forbids
lint:
	tests/lint

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BIN_TARGETS) $(DESTDIR)$(BINDIR)/
	for f in man/*.1; do [ -e "$$f" ] && install -m 0644 $$f $(DESTDIR)$(MANDIR)/man1/; done; true
	for f in man/*.5; do [ -e "$$f" ] && install -m 0644 $$f $(DESTDIR)$(MANDIR)/man5/; done; true
	for f in man/*.7; do [ -e "$$f" ] && install -m 0644 $$f $(DESTDIR)$(MANDIR)/man7/; done; true
	install -m 0644 completions/odbk.bash $(DESTDIR)$(BASHCOMPDIR)/odbk
	for p in $(PROGS); do ln -sf odbk $(DESTDIR)$(BASHCOMPDIR)/$$p; done
	install -d $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completions/_odbk $(DESTDIR)$(ZSHCOMPDIR)/_odbk
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in dist/systemd/*; do sed 's|@BINDIR@|$(BINDIR)|g' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; done
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/odbk
	[ -e $(DESTDIR)$(SYSCONFDIR)/odbk/odbk.conf ] || install -m 0600 dist/odbk.conf $(DESTDIR)$(SYSCONFDIR)/odbk/odbk.conf

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all check test asan deps demo bench bench-catalog bench-retention fuzz fuzz-build lint-man lint install clean
.SECONDARY:
