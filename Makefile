# pushgate - continuous delivery from a bare Git repository
#
#   make                 build build/{pre-receive,post-receive,pushgate}
#   make check           install missing packages, build, run every test
#                        (with a few seconds of each fuzz target: t2600)
#   make check SANITIZE=1  the same with ASan + UBSan (in build-san/)
#   make lint            banned functions, include levels, lone headers,
#                        shellcheck
#   make bench           benchmarks (tests/bench/), figures on stdout
#   make demo            a throwaway repository deploying a sample app
#   make screenshots     the status page of a demo repository, as a real
#                        browser shows it (build/screenshots/)
#   make install PREFIX=/usr/local DESTDIR=
#   make deb             the Debian package build/deb/pushgate_*.deb (from
#                        debian/, with dpkg-buildpackage), checked by lintian
#   make fuzz            the fuzz targets (tests/fuzz/) under libFuzzer and
#                        ASan + UBSan, each for FUZZ_TIME seconds (60), in
#                        build-fuzz/; FUZZ_TARGETS="fuzz_tree ..." picks
#                        some
#
# DEVELOPER=1 makes every warning an error. CC, CFLAGS, LDFLAGS, PREFIX and
# DESTDIR are the caller's.

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share/pushgate
MANDIR = $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g

PKGS = libgit2 libssh2 inih libcrypto
WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla -Wwrite-strings \
	-Wimplicit-fallthrough -Wundef -Wold-style-definition
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now

ifeq ($(SANITIZE),1)
B = build-san
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
HARDEN = -fPIE
else
B = build
SAN =
endif
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-D_GNU_SOURCE -Iinclude $(WARN) $(HARDEN) $(SAN) $(PKG_CFLAGS) \
	$(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LD) $(SAN) $(LDFLAGS)

# Every common/*.c, hooks/*.c, tests/unit/test_*.c and tests/fuzz/fuzz_*.c
# is picked up: a new module, unit test or fuzz target needs no change
# here.
COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:common/%.c=$(B)/obj/%.o)
LIB = $(B)/libpushgate.a
PROGRAMS = $(B)/pre-receive $(B)/post-receive $(B)/pushgate
HOOK_OBJ = $(PROGRAMS:$(B)/%=$(B)/obj/hooks/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_OBJ = $(UNIT_SRC:tests/unit/%.c=$(B)/obj/tests/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Small programs the end-to-end tests run (tests/tools/*.c, one file each).
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
# The fuzz targets, each linked with tests/fuzz/driver.c (a main() that
# runs it on its corpus and on mutants of it, no libFuzzer needed) into
# $(B)/fuzz/: what `make unit` builds besides the unit tests, for
# t2600-fuzz-smoke.sh, with the compiler and flags of the build (so with
# ASan and UBSan under SANITIZE=1).
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJ = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/obj/fuzz/%.o)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_DRIVER = $(B)/obj/fuzz/driver.o

# Header dependencies: each object's compile writes OBJ.d, listing the
# headers it read (-MMD), with an empty rule for each (-MP) so that a
# removed header does not stop the build. $(B)/flags changes whenever the
# flags do, and every object and program depends on it, so a build with
# other flags (DEVELOPER=1, a new warning, CFLAGS=...) rebuilds them.
DEP_FLAGS = -MMD -MP
DEPS = $(COMMON_OBJ:.o=.d) $(HOOK_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) \
	$(FUZZ_OBJ:.o=.d) $(FUZZ_DRIVER:.o=.d)
FLAGS_FILE = $(B)/flags
shq = '$(subst ','\'',$(1))'

all: $(PROGRAMS)

$(FLAGS_FILE): FORCE | $(B)/obj
	@printf '%s\n' $(call shq,$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS)) \
		$(call shq,$(ALL_LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS)) >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

$(B)/obj/%.o: common/%.c $(FLAGS_FILE) | $(B)/obj
	$(CC) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(B)/obj/hooks/%.o: hooks/%.c $(FLAGS_FILE) | $(B)/obj/hooks
	$(CC) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(B)/obj/tests/%.o: tests/unit/%.c $(FLAGS_FILE) | $(B)/obj/tests
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit $(DEP_FLAGS) \
		-c -o $@ $<

$(B)/obj/fuzz/%.o: tests/fuzz/%.c $(FLAGS_FILE) | $(B)/obj/fuzz
	$(CC) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(B)/obj $(B)/obj/hooks $(B)/obj/tests $(B)/tests $(B)/obj/fuzz $(B)/fuzz:
	mkdir -p $@

$(LIB): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(PROGRAMS): $(B)/%: $(B)/obj/hooks/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS)

$(UNIT_BIN): $(B)/tests/%: $(B)/obj/tests/%.o $(LIB) | $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS) \
		$(CMOCKA_LIBS)

$(TOOL_BIN): $(B)/tests/%: tests/tools/%.c $(FLAGS_FILE) | $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(FUZZ_BIN): $(B)/fuzz/%: $(B)/obj/fuzz/%.o $(FUZZ_DRIVER) $(LIB) | $(B)/fuzz
	$(CC) $(ALL_CFLAGS) -o $@ $< $(FUZZ_DRIVER) $(LIB) $(ALL_LDFLAGS) \
		$(PKG_LIBS)

-include $(DEPS)

deps:
	@sh tests/deps.sh

check: deps
	$(MAKE) all unit lint
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		PUSHGATE_BUILD=$(CURDIR)/$(B) sh tests/run.sh

unit: $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN)

lint:
	sh tests/lint.sh

bench: deps
	$(MAKE) all
	PUSHGATE_BUILD=$(CURDIR)/$(B) sh tests/bench/run.sh

demo: deps
	$(MAKE) all
	PUSHGATE_BUILD=$(CURDIR)/$(B) sh tests/demo.sh

screenshots: all
	PUSHGATE_BUILD=$(CURDIR)/$(B) sh tests/screenshots.sh \
		$(CURDIR)/$(B)/screenshots

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 hooks.ini.example $(DESTDIR)$(DATADIR)/
	install -m 755 install.sh $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(DATADIR)/notify
	install -m 755 contrib/notify/* $(DESTDIR)$(DATADIR)/notify/
	if test -d man; then \
		install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 && \
		install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/ && \
		install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/; \
	fi

deb:
	@sh tests/deps.sh --deb
	sh tests/deb.sh

fuzz:
	@sh tests/deps.sh --fuzz
	sh tests/fuzz/run.sh $(or $(FUZZ_TIME),60) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check unit deps lint bench demo screenshots install deb fuzz clean FORCE
.SECONDARY:
