# lockbuild: see README.md.  `make check` and `make demo` install missing
# build dependencies with apt-get (or sudo apt-get) and say so.

VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

BSD_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbsd-overlay 2>/dev/null)
# lockbuild is linked statically where the archives exist (STATIC=no for
# a dynamic binary): most of its cost over running COMMAND is process
# start-up, and without ld.so's work on libc, libbsd and libmd a run takes
# ~0.4 ms less, which puts it level with or ahead of flock(1) and
# s6-setlock (tests/bench/RESULTS.md).  It uses no NSS, locale or dlopen.
STATIC ?= $(shell test "$$(uname -s)" = Linux && \
	test -f "$$($(CC) -print-file-name=libc.a)" && \
	test -f "$$($(CC) -print-file-name=libbsd.a)" && \
	test -f "$$($(CC) -print-file-name=libmd.a)" && echo yes)
BSD_LIBS = $(shell $(PKG_CONFIG) --libs libbsd-overlay 2>/dev/null)
ifeq ($(STATIC),yes)
LOCKBUILD_LDFLAGS = -static
LOCKBUILD_LIBS = $(shell $(PKG_CONFIG) --static --libs libbsd-overlay 2>/dev/null)
else
LOCKBUILD_LIBS = $(BSD_LIBS)
endif
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

REQ_CFLAGS = -std=c11 -pthread -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-DLIBBSD_OPENBSD_VIS -DVERSION='"$(VERSION)"' $(BSD_CFLAGS)
ALL_CFLAGS = $(CFLAGS) $(REQ_CFLAGS)

SRCS = src/acquire.c src/build.c src/child.c src/cli.c src/dirent_at.c src/exitcode.c src/keyfiles.c src/keyinfo.c src/keyname.c \
	src/lock.c src/msg.c src/numparse.c src/owner.c src/proc.c src/run.c \
	src/cksum.c src/sha256.c src/status.c src/publish.c src/rmtree.c src/treecmp.c \
	src/twothreads.c
OBJS = $(SRCS:.c=.o)
LIB_OBJS = $(filter-out src/main.o,$(OBJS))

UNIT_TESTS = tests/unit/test_keyname tests/unit/test_numparse \
	tests/unit/test_cli tests/unit/test_owner tests/unit/test_exitcode \
	tests/unit/test_twothreads

all: lockbuild

deps:
	@sh tests/install-deps.sh

lockbuild: src/main.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LOCKBUILD_LDFLAGS) -o $@ src/main.o $(LIB_OBJS) $(LOCKBUILD_LIBS)

src/%.o: src/%.c src/*.h
	@test -n "$(BSD_CFLAGS)" || { echo "libbsd not found by pkg-config: run 'make deps' (apt-get install libbsd-dev pkg-config)" >&2; exit 1; }
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/test_%: tests/unit/test_%.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(CMOCKA_LIBS) $(BSD_LIBS)

check: deps
	@$(MAKE) --no-print-directory lockbuild $(UNIT_TESTS)
	@sh tests/run.sh $(UNIT_TESTS) tests/integration/*.t

check-asan: deps
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory lockbuild $(UNIT_TESTS) \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		STATIC=no
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run.sh $(UNIT_TESTS) tests/integration/*.t
	@$(MAKE) --no-print-directory clean

# valgrind replaces malloc through the dynamic loader: it needs STATIC=no.
check-valgrind: deps
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory lockbuild $(UNIT_TESTS) STATIC=no
	@LOCKBUILD_VALGRIND=1 LOCKBUILD=$(CURDIR)/tests/valgrind-wrap.sh sh tests/run.sh tests/integration/*.t

stress: deps
	@$(MAKE) --no-print-directory lockbuild
	@sh tests/stress/run.sh

fuzz: deps
	@sh tests/fuzz/run.sh

bench: deps
	@$(MAKE) --no-print-directory lockbuild
	@sh tests/bench/run.sh

# The NFS lab (tests/hosts/README.md): qemu VMs, root only, minutes.
tests/hosts/ofdlock: tests/hosts/ofdlock.c
	$(CC) $(CFLAGS) -std=c11 -Wall -Wextra -Werror -static -o $@ $<

check-hosts: deps
	@$(MAKE) --no-print-directory lockbuild tests/hosts/ofdlock
	@sh tests/hosts/check.sh

demo: deps
	@$(MAKE) --no-print-directory lockbuild
	@sh tests/demo.sh

install: lockbuild
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 lockbuild $(DESTDIR)$(BINDIR)/lockbuild
	install -m 644 man/lockbuild.1 $(DESTDIR)$(MANDIR)/man1/lockbuild.1
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 src/lockbuild.bash-completion $(DESTDIR)$(BASHCOMPDIR)/lockbuild

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lockbuild $(DESTDIR)$(MANDIR)/man1/lockbuild.1 \
		$(DESTDIR)$(BASHCOMPDIR)/lockbuild

lint:
	mandoc -Tlint -Wwarning man/lockbuild.1
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -D__linux__ src

clean:
	rm -f lockbuild src/*.o $(UNIT_TESTS) tests/hosts/ofdlock

.PHONY: all deps check check-asan check-valgrind check-hosts stress fuzz bench demo \
	install uninstall lint clean
