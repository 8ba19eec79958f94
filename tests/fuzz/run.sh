#!/bin/sh
# Builds the libFuzzer harnesses in tests/fuzz/ with clang (address and
# undefined-behaviour sanitizers) and runs each for FUZZ_SECONDS (60),
# starting from the seed corpus tests/fuzz/corpus/NAME/.  New inputs and
# crash files go to tests/fuzz/out/ (gitignored; FUZZ_OUT moves it), never
# into the committed corpus.  Ends with a table: harness, executions,
# crashes; exits non-zero when a harness crashed or did not build.
#
#   FUZZ_SECONDS=N      run time per harness (60)
#   FUZZ_HARNESSES=...  which ones ("keyname owner cli")
#   FUZZ_KEEP_GOING=1   do not stop at the first crash (libFuzzer fork
#                       mode): collects every crash file of the run, but
#                       runs slowly when one bug fires on most inputs
#   FUZZ_CC=clang-N     compiler (clang)
#   FUZZ_CFLAGS=...     extra flags, e.g. -DFUZZ_SKIP_ONE_LINE_CHECKS to
#                       fuzz past a known message bug
#
# Reproduce a crash: tests/fuzz/out/bin/fuzz_NAME tests/fuzz/out/crashes/NAME/crash-...
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
harnesses=${FUZZ_HARNESSES:-keyname owner cli}
out=${FUZZ_OUT:-$top/tests/fuzz/out}
cc=${FUZZ_CC:-clang}

case "$secs" in
''|*[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2; exit 64 ;;
esac

mkdir -p "$out/bin" || exit 1

# Can the compiler link a libFuzzer program?  Debian ships the runtime
# separately (libclang-rt-N-dev), so install what is missing.
probe() {
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	    >"$out/probe.c"
	"$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" \
	    "$out/probe.c" >/dev/null 2>&1
}
if ! probe; then
	echo "fuzz: $cc cannot build a libFuzzer program; installing clang and its libFuzzer runtime"
	sh "$top/tests/install-deps.sh" clang libclang-rt-dev || exit 1
	if ! probe; then
		# The runtime package goes with the compiler's major version.
		v=$("$cc" --version 2>/dev/null |
		    sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
		[ -n "$v" ] && sh "$top/tests/install-deps.sh" "libclang-rt-$v-dev"
		probe || {
			echo "fuzz: $cc still cannot link -fsanitize=fuzzer" >&2
			exit 1
		}
	fi
fi
rm -f "$out/probe" "$out/probe.c"
sh "$top/tests/install-deps.sh" || exit 1

# shellcheck disable=SC2046,SC2086 # pkg-config and FUZZ_CFLAGS: words
set -- -g -O1 -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
    -DLIBBSD_OPENBSD_VIS -DVERSION='"fuzz"' -I"$top/src" \
    $(pkg-config --cflags libbsd-overlay libmd) \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer ${FUZZ_CFLAGS:-}
bsd_libs="$(pkg-config --libs libbsd-overlay libmd) -lm"

# Every src/*.c but main.c (libFuzzer has main), compiled once; the
# linker keeps what each harness uses.
status=0
table=""
objs=""
mkdir -p "$out/obj"
for s in "$top"/src/*.c; do
	[ "${s##*/}" = main.c ] && continue
	o="$out/obj/$(basename "$s" .c).o"
	"$cc" "$@" -c -o "$o" "$s" || {
		echo "fuzz: cannot compile $s" >&2
		exit 1
	}
	objs="$objs $o"
done

for h in $harnesses; do
	if [ ! -f "$top/tests/fuzz/fuzz_$h.c" ]; then
		echo "fuzz: no harness tests/fuzz/fuzz_$h.c" >&2
		status=1
		continue
	fi
	echo "fuzz: building fuzz_$h"
	# shellcheck disable=SC2086
	if ! "$cc" "$@" -o "$out/bin/fuzz_$h" "$top/tests/fuzz/fuzz_$h.c" \
	    $objs $bsd_libs; then
		echo "fuzz: fuzz_$h did not build" >&2
		table="$table$(printf '%-10s %14s %8s' "$h" "-" "build failed")
"
		status=1
		continue
	fi

	corpus="$out/corpus/$h"
	crashes="$out/crashes/$h"
	log="$out/$h.log"
	mkdir -p "$corpus" "$crashes"
	rm -f "$crashes"/crash-* "$crashes"/leak-* "$crashes"/timeout-* \
	    "$crashes"/oom-* "$crashes"/slow-unit-*
	mode=""
	[ "${FUZZ_KEEP_GOING:-0}" = 1 ] &&
	    mode="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
	echo "fuzz: running fuzz_$h for ${secs}s (log: $log)"
	# The first directory gets new inputs; the seeds are only read.
	# shellcheck disable=SC2086
	"$out/bin/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	    -artifact_prefix="$crashes/" $mode \
	    "$corpus" "$top/tests/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?

	# Executions: the final stats line (normal mode), or the last
	# progress line "#N ..." (fork mode, and runs cut short by a crash).
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	[ -n "$execs" ] ||
	    execs=$(sed -n 's/^#\([0-9][0-9]*\)[^0-9].*/\1/p' "$log" |
	        tail -n 1)
	[ -n "$execs" ] || execs="?"
	ncrash=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' \
	    -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l | tr -d ' ')
	if [ "$ncrash" -eq 0 ] && [ "$rc" -ne 0 ]; then
		echo "fuzz: fuzz_$h exited $rc without a crash file; see $log" >&2
		ncrash="?"
		status=1
	fi
	[ "$ncrash" != 0 ] && status=1
	table="$table$(printf '%-10s %14s %8s' "$h" "$execs" "$ncrash")
"
	if [ "$ncrash" != 0 ] && [ "$ncrash" != "?" ]; then
		grep -E 'check failed|ERROR: (Address|libFuzzer|Undefined)|runtime error' \
		    "$log" | sort -u | head -n 10 | sed "s/^/fuzz: $h: /"
		# One crash is usually many inputs for one bug: show a few.
		find "$crashes" -type f | sort | head -n 5 | while read -r f; do
			printf 'fuzz: %s: %s\n  hex: %s\n' "$h" "$f" \
			    "$(od -An -v -tx1 "$f" | tr -d ' \n' | cut -c1-400)"
		done
	fi
done

echo
printf '%-10s %14s %8s\n' harness executions crashes
printf '%s' "$table"
exit "$status"
