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

BSD_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbsd-overlay libmd 2>/dev/null)
# lockbuild is linked statically where the archives exist (STATIC=no for
# a dynamic binary): most of its cost over running COMMAND is process
# start-up, and without ld.so's work on libc, libbsd and libmd a run takes
# ~0.4 ms less, which puts it level with or ahead of flock(1) and
# s6-setlock (tests/bench/RESULTS.md).  It uses no NSS, locale or dlopen.
STATIC ?= $(shell test "$$(uname -s)" = Linux && \
	test -f "$$($(CC) -print-file-name=libc.a)" && \
	test -f "$$($(CC) -print-file-name=libbsd.a)" && \
	test -f "$$($(CC) -print-file-name=libmd.a)" && echo yes)
# libmd: SHA-256 for long keys (keyname.c); libbsd depends on it anyway.
BSD_LIBS = $(shell $(PKG_CONFIG) --libs libbsd-overlay libmd 2>/dev/null)
ifeq ($(STATIC),yes)
LOCKBUILD_LDFLAGS = -static
LOCKBUILD_LIBS = $(shell $(PKG_CONFIG) --static --libs libbsd-overlay libmd 2>/dev/null)
else
LOCKBUILD_LIBS = $(BSD_LIBS)
endif
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# floor() (acquire.c): gcc -O2 inlines it, gcc -O0 and clang call libm.
LIBM = -lm

# -Werror is for the project's own checks (check, check-asan, check-build,
# CI), which pass WERROR=-Werror: a warning that a packager's flags or a
# newer compiler bring must not stop a plain `make` or `make install`.
WERROR =
# The packager's CPPFLAGS, CFLAGS and LDFLAGS (dpkg-buildflags) are kept;
# what lockbuild needs is appended.
REQ_CPPFLAGS = -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DLIBBSD_OPENBSD_VIS \
	-DVERSION='"$(VERSION)"' $(BSD_CFLAGS)
REQ_CFLAGS = -std=c11 -pthread -Wall -Wextra $(WERROR) -Wshadow \
	-Wstrict-prototypes
ALL_CPPFLAGS = $(CPPFLAGS) $(REQ_CPPFLAGS)
ALL_CFLAGS = $(CFLAGS) $(REQ_CFLAGS)

SRCS = src/lockdir.c src/lockwatch.c src/netfs.c src/acquire.c src/publishmode.c src/child.c src/cli.c src/dirent_at.c src/exitcode.c src/lockname.c src/keyinfo.c src/keyname.c \
	src/lock.c src/msg.c src/numparse.c src/owner.c src/proc.c src/run.c \
	src/cksum.c src/status.c src/stage.c src/rmtree.c src/treecmp.c \
	src/twothreads.c src/groupwatch.c
OBJS = $(SRCS:.c=.o)
LIB_OBJS = $(filter-out src/main.o,$(OBJS))

UNIT_TESTS = tests/unit/test_keyname tests/unit/test_numparse \
	tests/unit/test_cli tests/unit/test_owner tests/unit/test_exitcode \
	tests/unit/test_twothreads tests/unit/test_stage tests/unit/test_json \
	tests/unit/test_rmtree tests/unit/test_treecmp tests/unit/test_fsync_tree \
	tests/unit/test_netfs tests/unit/test_lockwatch tests/unit/test_stage_flip \
	tests/unit/test_lock_temp tests/unit/test_acquire
# The fuzz harnesses, run on their corpora without libFuzzer.
FUZZ_REPLAY = tests/fuzz/replay_keyname tests/fuzz/replay_owner \
	tests/fuzz/replay_cli

all: lockbuild

deps:
	@sh tests/install-deps.sh

# Every program `make check` runs besides lockbuild.
test-progs: $(UNIT_TESTS) $(FUZZ_REPLAY)

lockbuild: src/main.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LOCKBUILD_LDFLAGS) -o $@ src/main.o $(LIB_OBJS) $(LOCKBUILD_LIBS) $(LIBM)

src/%.o: src/%.c src/*.h
	@test -n "$(BSD_CFLAGS)" || { echo "libbsd not found by pkg-config: run 'make deps' (apt-get install libbsd-dev libmd-dev pkg-config)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_OBJS)
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< \
		tests/fuzz/replay.c $(LIB_OBJS) $(BSD_LIBS) $(LIBM)

tests/unit/test_%: tests/unit/test_%.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) \
		$(CMOCKA_LIBS) $(BSD_LIBS) $(LIBM)

# openat() wrapped: the tests swap names at the worst moment and count
# descriptors (with _FILE_OFFSET_BITS=64 glibc's openat is openat64).
tests/unit/test_rmtree tests/unit/test_treecmp: %: %.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -Wl,--wrap=openat64 -o $@ $< \
		$(LIB_OBJS) $(CMOCKA_LIBS) $(BSD_LIBS) $(LIBM)

# fcntl() plays the lock server (it answers, refuses, names another
# holder or hangs), or counts the waiter's lock requests.
tests/unit/test_lockwatch tests/unit/test_acquire: %: %.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -Wl,--wrap=fcntl64 \
		-o $@ $< $(LIB_OBJS) $(CMOCKA_LIBS) $(BSD_LIBS) $(LIBM)

# renameat2() fails as on NFS (no RENAME_EXCHANGE): DEST becomes a link.
tests/unit/test_stage_flip: tests/unit/test_stage_flip.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -Wl,--wrap=renameat2 -o $@ $< \
		$(LIB_OBJS) $(CMOCKA_LIBS) $(BSD_LIBS) $(LIBM)

# syncfs() fails (ENOSYS) so that publishing takes the per-file fallback.
tests/unit/test_fsync_tree: tests/unit/test_fsync_tree.c $(LIB_OBJS)
	@test -n "$(CMOCKA_LIBS)" || { echo "cmocka not found by pkg-config: run 'make deps' (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) \
		-Wl,--wrap=openat64,--wrap=fsync,--wrap=syncfs -o $@ $< \
		$(LIB_OBJS) $(CMOCKA_LIBS) $(BSD_LIBS) $(LIBM)

check: deps
	@$(MAKE) --no-print-directory lockbuild test-progs WERROR=-Werror
	@sh tests/run.sh $(UNIT_TESTS) tests/integration/*.t tests/fuzz/replay.t

check-asan: deps
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory lockbuild test-progs \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		STATIC=no WERROR=-Werror
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run.sh $(UNIT_TESTS) tests/integration/*.t tests/fuzz/replay.t
	@$(MAKE) --no-print-directory clean

# The compiler, optimisation and linking matrix, and the packager's flags.
check-build: deps
	@sh tests/run.sh tests/build/matrix.t tests/build/flags.t

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

# The release tarball, made by git archive from the commit checked out
# (not from uncommitted changes): file times are the commit's, owners
# root, names in order, and gzip -n leaves out its own name and time, so
# one commit always gives the same bytes.
DIST = lockbuild-$(VERSION)
dist:
	@git diff --quiet HEAD -- || \
		echo "dist: uncommitted changes are not in $(DIST).tar.gz" >&2
	git archive --format=tar --prefix=$(DIST)/ HEAD | gzip -n -9 >$(DIST).tar.gz.tmp
	mv $(DIST).tar.gz.tmp $(DIST).tar.gz

# The tarball builds, tests, installs and uninstalls without .git.
distcheck:
	@sh tests/distcheck.sh $(VERSION)

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
	rm -f lockbuild src/*.o $(UNIT_TESTS) $(FUZZ_REPLAY) $(DIST).tar.gz \
		tests/hosts/ofdlock

.PHONY: all deps test-progs check check-asan check-build check-valgrind \
	check-hosts stress fuzz bench demo dist distcheck install uninstall \
	lint clean
