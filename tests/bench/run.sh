#!/bin/sh
# Benchmark harness for lockbuild (issue 6): `make bench`, or
#   sh tests/bench/run.sh            full run (about 10-15 minutes)
#   QUICK=1 sh tests/bench/run.sh    tiny counts, under a minute (smoke test)
# Installs the peers it compares against when they are missing (apt-get, as
# root or with sudo; BENCH_NO_INSTALL=1 to skip), builds lockbuild and
# tests/bench/benchtool.c, and writes a Markdown report to stdout and to
# tests/bench/results/latest.md.  Data lives in a temporary directory under
# tests/bench/results/ (same filesystem as the checkout; BENCH_DIR=... to
# put it elsewhere), removed at the end.  Progress goes to stderr.
set -eu

QUICK=${QUICK:-0}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# A short, fixed PATH so every tool's PATH search for COMMAND costs the same.
PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH
export PATH
LC_ALL=C
export LC_ALL
unset LOCKBUILD_TIMEOUT || true

say() { printf 'bench: %s\n' "$*" >&2; }
out() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$RES"; }

# ---------------------------------------------------------------- install
install_peers() {
	need=""
	for spec in util-linux:flock lockfile-progs:lockfile-create \
	    liblockfile-bin:dotlockfile procmail:lockfile s6:s6-setlock \
	    chiark-utils-bin:with-lock-ex moreutils:lckdo hyperfine:hyperfine \
	    time:/usr/bin/time jq:jq; do
		pkg=${spec%%:*}
		cmd=${spec#*:}
		command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
	done
	[ -z "$need" ] && return 0
	if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
		say "missing:$need (BENCH_NO_INSTALL=1: not installing; their rows are skipped)"
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		say "missing:$need (no apt-get here: their rows are skipped)"
		return 0
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
			say "missing:$need; not root and no sudo: their rows are skipped"
			return 0
		fi
	fi
	say "installing missing packages:$need"
	say "+ $sudo apt-get update -qq"
	$sudo apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
	for pkg in $need; do
		say "+ $sudo apt-get install -y -qq --no-install-recommends $pkg"
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		    --no-install-recommends "$pkg" >/dev/null 2>&1 ||
			say "could not install $pkg: skipping what needs it"
	done
}

have() { command -v "$1" >/dev/null 2>&1; }

install_peers
for t in hyperfine jq; do
	have "$t" || { say "$t is required and could not be installed"; exit 1; }
done

# ---------------------------------------------------------------- build
say "make lockbuild"
if ! make -C "$repo" --no-print-directory lockbuild >&2; then
	say "build failed: installing build dependencies (tests/install-deps.sh) and retrying"
	sh "$repo/tests/install-deps.sh" >&2 && make -C "$repo" --no-print-directory lockbuild >&2
fi

mkdir -p "$repo/tests/bench/results"
base=${BENCH_DIR:-$repo/tests/bench/results}
mkdir -p "$base"
W=$(mktemp -d "$base/run.XXXXXX")
case $W in *[[:space:]\'\"]*) say "work dir '$W' has blanks or quotes; set BENCH_DIR"; exit 1;; esac
trap 'st=$?; rm -rf "$W"; exit $st' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
RES=$repo/tests/bench/results/latest.md
: >"$RES"
ROWS=$W/rows.tsv
RSS=$W/rss.tsv
: >"$RSS"

# A private copy: a rebuild during the run must not change what is measured.
LB=$W/lockbuild
cp "$repo/lockbuild" "$LB"
BT=$W/benchtool
cc -O2 -std=c11 -static -o "$BT" "$here/benchtool.c" 2>/dev/null ||
	cc -O2 -std=c11 -o "$BT" "$here/benchtool.c"

# ---------------------------------------------------------------- sizes
if [ "$QUICK" = 1 ]; then
	C1_RUNS=30 C1_WARM=5 C1_ROUNDS=2
	C2_PM="2:16 8:4 32:1" C2_REPS=1
	C3_N=20 C3_WARM=2 C3_POLL_N=1 C3_ROUNDS=1
	C4_RUNS=2 C4_WARM=1 C4_ROUNDS=1
	C5_SIZES="1 1000" C5_RUNS=3 C5_WARM=1 C5_ROUNDS=1
	C6_BIG_FILES=4 C6_BIG_SIZE=8388608 C6_SMALL=1000 C6_RUNS=3 C6_WARM=1
else
	C1_RUNS=1000 C1_WARM=50 C1_ROUNDS=5
	C2_PM="2:320 8:80 32:20" C2_REPS=9
	C3_N=300 C3_WARM=5 C3_POLL_N=5 C3_ROUNDS=3
	C4_RUNS=10 C4_WARM=2 C4_ROUNDS=2
	C5_SIZES="1 1000 100000" C5_RUNS="" C5_WARM="" C5_ROUNDS=""
	C6_BIG_FILES=16 C6_BIG_SIZE=67108864 C6_SMALL=100000 C6_RUNS=5 C6_WARM=1
fi

# ---------------------------------------------------------------- helpers
# Benchmarks with hyperfine (-N: no shell).  reg NAME PREPARE COMMAND adds
# one to the list ("SKIP:why" as COMMAND: a row saying why it did not run);
# hf_all ROUNDS runs the list ROUNDS times over, every command in turn, each
# time RUNS/ROUNDS runs after a warm-up (WARM the first round, fewer later),
# so that load from elsewhere hits all rows alike; then the samples of all
# rounds make one row "NAME median min max" in $ROWS.
reg_reset() { : >"$W/cmds.tsv"; rm -f "$W"/t.* "$W"/f.*; }
# (tab is IFS white space: an empty field would vanish, so "-" = no prepare)
reg() { printf '%s\t%s\t%s\n' "$1" "${2:--}" "$3" >>"$W/cmds.tsv"; }
skip_reg() { reg "$1" "" "SKIP:$2"; }
hf_all() {
	_rounds=$1
	_per=$(((RUNS + _rounds - 1) / _rounds))
	_r=1
	while [ $_r -le "$_rounds" ]; do
		_i=0
		while IFS='	' read -r _n _p _c; do
			_i=$((_i + 1))
			case $_c in SKIP:*) continue ;; esac
			[ -e "$W/f.$_i" ] && continue
			[ "$_p" = - ] && _p=
			_w=$WARM
			[ $_r -gt 1 ] && [ "$_w" -gt 5 ] && _w=5
			set -- -N --runs "$_per" --warmup "$_w" --export-json "$W/hf.json"
			[ -n "$_p" ] && set -- "$@" --prepare "$_p"
			if [ "$_rounds" -gt 1 ]; then say "  $_n (round $_r/$_rounds)"; else say "  $_n"; fi
			if hyperfine "$@" -n "$_n" "$_c" </dev/null >>"$W/hyperfine.log" 2>&1; then
				jq -r '.results[0].times[]' "$W/hf.json" >>"$W/t.$_i"
			else
				# Run it once more to say why (the strings are sh-compatible).
				[ -z "$_p" ] || sh -c "$_p" </dev/null >/dev/null 2>&1 || true
				_why=$(sh -c "$_c" 2>&1 </dev/null >/dev/null | tail -3 | tr "\n" " " | cut -c1-300 | tr '|' '/') || true
				[ -n "$_why" ] || _why="non-zero exit status"
				printf '%s' "$_why" >"$W/f.$_i"
				say "  failed: $_why"
			fi
		done <"$W/cmds.tsv"
		_r=$((_r + 1))
	done
	: >"$ROWS"
	_i=0
	while IFS='	' read -r _n _p _c; do
		_i=$((_i + 1))
		case $_c in
		SKIP:*) printf '%s\tSKIP\t%s\n' "$_n" "${_c#SKIP:}" >>"$ROWS" ;;
		*) if [ -e "$W/f.$_i" ]; then
			printf '%s\tFAIL\t%s\n' "$_n" "$(cat "$W/f.$_i")" >>"$ROWS"
		else
			printf '%s\t%s\n' "$_n" "$(stats <"$W/t.$_i" | tr ' ' '\t')" >>"$ROWS"
		fi ;;
		esac
	done <"$W/cmds.tsv"
}

# Median of a row (seconds), or nothing.
med() { awk -F'\t' -v n="$1" '$1 == n && $2 ~ /^[0-9.e+-]+$/ { print $2; exit }' "$ROWS"; }

# table UNIT(ms|s) REF MODE(ratio|overhead): $ROWS as a Markdown table.
table() {
	awk -F'\t' -v unit="$1" -v ref="$2" -v mode="$3" '
	function f(x) { return sprintf(unit == "ms" ? "%.3f" : "%.3f", x * (unit == "ms" ? 1000 : 1)) }
	{ n[NR] = $1; a[NR] = $2; b[NR] = $3; c[NR] = $4; if ($1 == ref && $2 ~ /^[0-9]/) r = $2 }
	END {
		col = mode == "ratio" ? "vs " ref : "overhead over " ref " (ms)"
		printf "| command | median (%s) | min (%s) | max (%s) | %s |\n", unit, unit, unit, col
		print "|---|---:|---:|---:|---:|"
		for (i = 1; i <= NR; i++) {
			if (a[i] == "SKIP" || a[i] == "FAIL") {
				printf "| %s | %s: %s | | | |\n", n[i], a[i] == "SKIP" ? "skipped" : "failed", b[i]
				continue
			}
			x = r == "" ? "n/a" : mode == "ratio" ? sprintf("%.2f", a[i] / r) : sprintf("%+.3f", (a[i] - r) * 1000)
			printf "| %s | %s | %s | %s | %s |\n", n[i], f(a[i]), f(b[i]), f(c[i]), x
		}
	}' "$ROWS"
}

# stats: numbers on stdin -> "median min max"
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

# rss CASE WHAT COMMAND...: peak RSS (KiB, GNU time %M) of one run.
rss() {
	c=$1 w=$2
	shift 2
	if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$W/rss.out" "$@" >/dev/null 2>&1; then
		printf '%s\t%s\t%s\n' "$c" "$w" "$(tail -1 "$W/rss.out")" >>"$RSS"
	else
		printf '%s\t%s\tn/a\n' "$c" "$w" >>"$RSS"
	fi
}

goal() { # DESCRIPTION OK(1/0/-) DETAIL
	case $2 in
	1) v="met" ;; 0) v="**NOT met**" ;; *) v="not measured" ;;
	esac
	out "Goal: $1: $v ($3)"
}

# ---------------------------------------------------------------- machine
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
memk=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
fsline=$(df -hT "$W" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 " (" $3 " total, mounted on " $7 ")" }')
rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
pver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not installed"; }

out "# lockbuild benchmarks"
out ""
out "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $( [ "$QUICK" = 1 ] && echo "QUICK=1 (tiny counts: a smoke test, not a measurement)" || echo "full run"), $("$LB" --version) ($rev)."
out ""
out "| machine | |"
out "|---|---|"
out "| CPU | ${cpu:-unknown} |"
out "| nproc | $(nproc) |"
out "| memory | $((memk / 1024)) MiB |"
out "| kernel | $(uname -sr) |"
out "| bench dir filesystem | ${fsline:-unknown} |"
out "| load average at start | $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (1, 5, 15 min; other work on the machine makes numbers noisier) |"
out "| OS | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s) |"
out "| peers | util-linux $(pver util-linux), s6 $(pver s6), chiark-utils-bin $(pver chiark-utils-bin), moreutils $(pver moreutils), lockfile-progs $(pver lockfile-progs), liblockfile-bin $(pver liblockfile-bin), procmail $(pver procmail), hyperfine $(pver hyperfine) |"
out ""
out "Times are wall-clock; each row is run after a warm-up, several times (counts below); \"vs flock\" divides by flock(1)'s median from the same run."
out ""

# ================================================================ case 1
say "case 1: uncontended overhead"
D1=$W/c1
mkdir -p "$D1"
reg_reset
RUNS=$C1_RUNS WARM=$C1_WARM
reg '`true` (floor)' "" "true"
reg '`sh -c true` (floor of the sh wrappers)' "" "sh -c true"
have flock && reg 'flock' "" "flock $D1/k.flock true" || skip_reg flock "flock not installed"
reg '`lockbuild D k -- true`' "" "$LB $D1 k -- true"
reg '`lockbuild -F D k -- true`' "" "$LB -F $D1 kF -- true"
have flock && reg '`flock -F D/k true`' "" "flock -F $D1/kF.flock true"
if have s6-setlock; then reg '`s6-setlock D/k true`' "" "s6-setlock $D1/k.s6 true"; else skip_reg s6-setlock "s6 not installed"; fi
if have with-lock-ex; then reg '`with-lock-ex -w D/k true`' "" "with-lock-ex -w $D1/k.wle true"; else skip_reg with-lock-ex "chiark-utils-bin not installed"; fi
if have lckdo; then reg '`lckdo D/k true`' "" "lckdo $D1/k.lckdo true"; else skip_reg lckdo "moreutils not installed"; fi
if have lockfile-create; then
	reg '`sh -c "lockfile-create D/k && true; lockfile-remove D/k"`' "" \
	    "sh -c 'lockfile-create $D1/k.lp && true; lockfile-remove $D1/k.lp'"
else skip_reg lockfile-create "lockfile-progs not installed"; fi
if have dotlockfile; then reg '`dotlockfile -l -P D/k true`' "" "dotlockfile -l -P $D1/k.dot true"
else skip_reg dotlockfile "liblockfile-bin not installed"; fi
if have lockfile; then
	reg '`sh -c "lockfile D/k && true; rm -f D/k"` (procmail)' "" \
	    "sh -c 'lockfile $D1/k.pm && true; rm -f $D1/k.pm'"
else skip_reg lockfile "procmail not installed"; fi
hf_all "$C1_ROUNDS"
out "## 1. Uncontended overhead"
out ""
out "Lock, run \`true\`, release; $C1_RUNS runs of each command (hyperfine -N, no shell), in $C1_ROUNDS rounds in which the commands take turns, each round after a warm-up ($C1_WARM runs in the first)."
out ""
table ms flock ratio | while IFS= read -r l; do out "$l"; done
out ""
f=$(med flock) l=$(med '`lockbuild D k -- true`')
if [ -n "$f" ] && [ -n "$l" ]; then
	r=$(awk -v a="$l" -v b="$f" 'BEGIN { printf "%.3f", a / b }')
	goal "lockbuild within 10% of flock(1)" "$(awk -v r="$r" 'BEGIN { print (r <= 1.10) }')" \
	    "ratio $r, $(awk -v a="$l" -v b="$f" 'BEGIN { printf "%+.3f", (a - b) * 1000 }') ms"
else goal "lockbuild within 10% of flock(1)" - "flock or lockbuild missing"; fi
s=$(med '`s6-setlock D/k true`') l=$(med '`lockbuild -F D k -- true`')
[ -n "$s" ] && [ -n "$l" ] && out "lockbuild -F / s6-setlock: $(awk -v a="$l" -v b="$s" 'BEGIN { printf "%.3f", a / b }')"
out ""
rss 1 '`lockbuild D k -- true`' "$LB" "$D1" k -- true
rss 1 '`lockbuild -F D k -- true`' "$LB" -F "$D1" kF -- true
have flock && rss 1 'flock (reference)' flock "$D1/k.flock" true

# ================================================================ case 2
say "case 2: contended throughput"
D2=$W/c2
mkdir -p "$D2"
: >"$W/c2.rows"
: >"$W/c2.err"
# Tools are listed first, then run in turn: warm-up of each, then every
# repetition runs each tool once, so load from elsewhere hits all alike.
: >"$W/c2.tools"
c2() { printf '%s\t%s\n' "$1" "$2" >>"$W/c2.tools"; } # NAME "TOOL ARGS" (no blanks in args)
have flock && c2 flock "flock $D2/k.flock"
c2 'lockbuild' "$LB $D2 k --"
c2 'lockbuild -C' "$LB -C $D2 kC --"
c2 'lockbuild -F' "$LB -F $D2 kF --"
have flock && c2 'flock -F' "flock -F $D2/kF.flock"
have s6-setlock && c2 s6-setlock "s6-setlock $D2/k.s6"
have with-lock-ex && c2 'with-lock-ex -w' "with-lock-ex -w $D2/k.wle"
have lckdo && c2 'lckdo -w' "lckdo -w $D2/k.lckdo"
for pm in $C2_PM; do
	P=${pm%%:*} M=${pm#*:}
	say "  P=$P M=$M"
	rep=0
	while [ $rep -le "$C2_REPS" ]; do
		i=0
		while IFS='	' read -r name args; do
			i=$((i + 1))
			# shellcheck disable=SC2086
			if [ $rep = 0 ]; then
				"$BT" contend "$P" "$M" -- $args true </dev/null >/dev/null 2>>"$W/c2.err" || true
			else
				"$BT" contend "$P" "$M" -- $args true </dev/null >>"$W/c2.t.$i.$P" 2>>"$W/c2.err" || true
			fi
		done <"$W/c2.tools"
		rep=$((rep + 1))
	done
done
i=0
while IFS='	' read -r name args; do
	i=$((i + 1))
	for pm in $C2_PM; do
		P=${pm%%:*} M=${pm#*:}
		f=$W/c2.t.$i.$P
		st=$(cut -d' ' -f1 "$f" | stats)
		mr=$(cut -d' ' -f3 "$f" | sort -n | tail -1)
		fl=$(awk '{ s += $4 } END { print s + 0 }' "$f")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$P" "$M" "$st" "$mr" "$fl" >>"$W/c2.rows"
	done
done <"$W/c2.tools"
out "## 2. Contended throughput"
out ""
out "P processes each run M lock/\`true\`/release cycles on one key (tests/bench/benchtool.c contend); $C2_REPS timed repetitions after one warm-up, the tools taking turns. \"vs flock\" = throughput / flock(1)'s throughput at the same P."
out "Not run: lockfile-create, dotlockfile and procmail's lockfile poll with sleeps of 1 s or more (5 s for liblockfile by default) instead of blocking."
out ""
out "| tool | P | M | cycles | median total (s) | min (s) | max (s) | cycles/s (median) | vs flock | failures |"
out "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '
	{ split($4, s, " "); n[NR] = $1; p[NR] = $2; m[NR] = $3; md[NR] = s[1]; mi[NR] = s[2]; mx[NR] = s[3]; fl[NR] = $6
	  if ($1 == "flock") ref[$2] = s[1] }
	END { for (i = 1; i <= NR; i++) {
		c = p[i] * m[i]
		r = ref[p[i]] == "" ? "n/a" : sprintf("%.2f", ref[p[i]] / md[i])
		printf "| %s | %d | %d | %d | %.3f | %.3f | %.3f | %.0f | %s | %d |\n", n[i], p[i], m[i], c, md[i], mi[i], mx[i], c / md[i], r, fl[i] } }' \
	"$W/c2.rows" | while IFS= read -r l; do out "$l"; done
out ""
worst=$(awk -F'\t' '{ split($4, s, " ") } $1 == "flock" { f[$2] = s[1] } $1 == "lockbuild" { l[$2] = s[1] }
	END { w = ""; for (p in l) if (p in f) { r = f[p] / l[p]; if (w == "" || r < w) { w = r; wp = p } }
	      if (w == "") print "-"; else printf "%s %.3f %s\n", (w >= 1.0), w, wp }' "$W/c2.rows")
if [ "$worst" = "-" ]; then goal "lockbuild at least flock(1)'s throughput at every P" - "flock missing"
else
	# shellcheck disable=SC2086
	set -- $worst
	goal "lockbuild at least flock(1)'s throughput at every P" "$1" "worst: $2 x flock's throughput at P=$3"; fi
nst=$(grep -c 'exited without releasing' "$W/c2.err" || true)
other=$(grep -vc 'exited without releasing' "$W/c2.err" || true)
out "Messages on stderr during case 2: $nst \"previous holder ... exited without releasing\" lines from lockbuild (every holder here released normally), $other other lines."
[ "$other" != 0 ] && sort "$W/c2.err" | grep -v 'exited without releasing' | uniq -c | sort -rn | head -5 |
	while IFS= read -r l; do out "    $l"; done
out ""
awk -F'\t' '$1 == "lockbuild" || $1 == "lockbuild -F" { if ($5 > m[$1]) m[$1] = $5 }
	END { for (t in m) printf "2\t`%s` (max over all processes and P)\t%s\n", t, m[t] }' "$W/c2.rows" | sort >>"$RSS"

# ================================================================ case 3
say "case 3: hand-off latency"
D3=$W/c3
mkdir -p "$D3"
: >"$W/c3.rows"
# Blocking tools take turns over C3_ROUNDS rounds (samples merged); the
# polling ones run once, last.
: >"$W/c3.tools"
c3() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$W/c3.tools"; } # NAME poll|block "TOOL ARGS"
c3 'floor: C wrapper (F_OFD_SETLKW, vfork+exec, wait)' block "$BT lockrun $D3/k.floor"
have flock && c3 flock block "flock $D3/k.flock"
c3 lockbuild block "$LB $D3 k --"
have flock && c3 'flock -F' block "flock -F $D3/kF.flock"
c3 'lockbuild -F' block "$LB -F $D3 kF --"
have s6-setlock && c3 s6-setlock block "s6-setlock $D3/k.s6"
have with-lock-ex && c3 'with-lock-ex -w' block "with-lock-ex -w $D3/k.wle"
have lckdo && c3 'lckdo -w' block "lckdo -w $D3/k.lckdo"
have dotlockfile && c3 'dotlockfile -i 1 (polls every 1 s)' poll "dotlockfile -l -r -1 -i 1 -P $D3/k.dot"
have lockfile && c3 'lockfile -1 (procmail, polls every 1 s)' poll "LOCKFILE"
per=$(((C3_N + C3_ROUNDS - 1) / C3_ROUNDS))
r=1
while [ $r -le "$C3_ROUNDS" ]; do
	i=0
	while IFS='	' read -r name kind args; do
		i=$((i + 1))
		[ $r -eq 1 ] && say "  $name"
		if [ "$kind" = poll ]; then
			[ $r -eq 1 ] || continue
			n=$C3_POLL_N w=0
		else
			n=$per w=$C3_WARM
		fi
		# shellcheck disable=SC2086
		if [ "$args" = LOCKFILE ]; then
			HANDOFF_RAW=$W/c3.raw.$i "$BT" handoff "$n" "$w" 20 -- \
			    sh -c "lockfile -1 -r-1 $D3/k.pm && { @CMD@; rm -f $D3/k.pm; }" \
			    </dev/null >>"$W/c3.out.$i" 2>>"$W/c3.err" || true
		else
			HANDOFF_RAW=$W/c3.raw.$i "$BT" handoff "$n" "$w" 20 -- $args \
			    </dev/null >>"$W/c3.out.$i" 2>>"$W/c3.err" || true
		fi
	done <"$W/c3.tools"
	r=$((r + 1))
done
# rows: NAME<TAB>n median p99 min max rss failures
i=0
while IFS='	' read -r name kind args; do
	i=$((i + 1))
	st=$(sort -g "$W/c3.raw.$i" 2>/dev/null | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 - - - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		k = int((99 * NR + 99) / 100); print NR, m, v[k], v[1], v[NR] }')
	ex=$(awk '{ if ($6 > r) r = $6; f += $7 } END { print r + 0, f + 0 }' "$W/c3.out.$i" 2>/dev/null || echo "0 0")
	printf '%s\t%s %s\n' "$name" "$st" "$ex" >>"$W/c3.rows"
done <"$W/c3.tools"
out "## 3. Hand-off latency"
out ""
out "A holder runs a command that holds the key 20 ms while a waiter blocks; latency = the waiter's COMMAND start minus the holder's COMMAND exit (CLOCK_MONOTONIC, tests/bench/benchtool.c handoff). Includes the holder tool's release and the waiter tool's fork/exec of COMMAND. Blocking tools: $C3_N samples in $C3_ROUNDS rounds, the tools taking turns, each round after $C3_WARM warm-up samples; polling tools: $C3_POLL_N samples, at their shortest retry interval (1 s; liblockfile's default is 5 s, procmail's 8 s)."
out ""
out "| tool | samples | median (us) | p99 (us) | min (us) | max (us) | median vs flock | failures |"
out "|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ split($2, s, " "); n[NR] = $1; v[NR] = $2; if ($1 == "flock") ref = s[2] }
	END { for (i = 1; i <= NR; i++) { split(v[i], s, " ")
		if (s[1] == "" || s[1] == 0) { printf "| %s | failed | | | | | | |\n", n[i]; continue }
		printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %s | %d |\n", n[i], s[1], s[2], s[3], s[4], s[5],
		    ref == "" ? "n/a" : sprintf("%.2f", s[2] / ref), s[7] } }' "$W/c3.rows" |
	while IFS= read -r l; do out "$l"; done
out ""
p99=$(awk -F'\t' '$1 == "lockbuild" { split($2, s, " "); print s[3] }' "$W/c3.rows")
fp99=$(awk -F'\t' '$1 == "flock" { split($2, s, " "); print s[3] }' "$W/c3.rows")
if [ -n "$p99" ] && [ "$p99" != - ]; then
	goal "lockbuild hand-off p99 under 1 ms" "$(awk -v p="$p99" 'BEGIN { print (p < 1000) }')" "p99 ${p99} us; flock's ${fp99:-n/a} us"
else goal "lockbuild hand-off p99 under 1 ms" - "failed"; fi
fl=$(awk -F'\t' '$1 == "flock -F" { split($2, s, " "); printf "median %.0f us, p99 %.0f us", s[2], s[3] }' "$W/c3.rows")
[ -n "$fl" ] && out "For scale: \`flock -F\` (kernel wake-up, then exec of COMMAND without a fork) has $fl here."
fl=$(awk -F'\t' '$1 ~ /^floor/ { split($2, s, " "); printf "median %.0f us, p99 %.0f us", s[2], s[3] }' "$W/c3.rows")
[ -n "$fl" ] && out "The floor row is the least any tool that locks and then runs COMMAND can do (tests/bench/benchtool.c lockrun: no checks, no record, no messages): $fl here. A p99 under 1 ms is out of reach on a machine where that floor is above it."
out ""
awk -F'\t' '$1 == "lockbuild" || $1 == "lockbuild -F" { split($2, s, " "); printf "3\t`%s` (waiter)\t%s\n", $1, s[6] }' "$W/c3.rows" >>"$RSS"

# ================================================================ case 4
say "case 4: independent keys"
D4=$W/c4
mkdir -p "$D4"
reg_reset
RUNS=$C4_RUNS WARM=$C4_WARM
reg '64 x `sleep 0.2` (floor)' "" "$BT par 64 -- sleep 0.2"
have flock && reg flock "" "$BT par 64 -- flock $D4/k@I@.flock sleep 0.2"
reg '64 x `lockbuild D k$i -- sleep 0.2`' "" "$BT par 64 -- $LB $D4 k@I@ -- sleep 0.2"
have s6-setlock && reg '64 x `s6-setlock D/k$i sleep 0.2`' "" "$BT par 64 -- s6-setlock $D4/k@I@.s6 sleep 0.2"
hf_all "$C4_ROUNDS"
out "## 4. Independent keys"
out ""
out "64 builds on 64 different keys, each \`sleep 0.2\`, all started at once (benchtool par); $C4_RUNS runs in $C4_ROUNDS rounds, after $C4_WARM warm-up. \"flock\" is 64 x \`flock D/k\$i sleep 0.2\`."
out ""
table s flock ratio | while IFS= read -r l; do out "$l"; done
out ""
l=$(med '64 x `lockbuild D k$i -- sleep 0.2`')
[ -n "$l" ] && goal "64 independent keys under 0.5 s" "$(awk -v a="$l" 'BEGIN { print (a < 0.5) }')" "median $(awk -v a="$l" 'BEGIN { printf "%.3f", a }') s" ||
	goal "64 independent keys under 0.5 s" - "failed"
out ""
if [ -x /usr/bin/time ]; then
	"$BT" par 64 -- /usr/bin/time -f %M -a -o "$W/rss4" "$LB" "$D4" k@I@ -- sleep 0.2 >/dev/null 2>&1 || true
	printf '4\t`lockbuild D k$i -- sleep 0.2` (max of 64)\t%s\n' "$(sort -n "$W/rss4" | tail -1)" >>"$RSS"
fi

# ================================================================ publish probe
# -o is built in stages: check what this build really does before timing it.
# The probe's COMMAND writes only through -I's staging path (never a path
# made from an unset variable).
PUB=0 IFC=0 why="-o not supported by this build"
P0=$W/probe
mkdir -p "$P0/out"
if (cd "$P0" && "$LB" -o "$P0/out/dest" --no-fsync -I @S@ "$P0/locks" probe -- "$BT" mktree @S@/sub 3 10 1) >"$P0/log" 2>&1 &&
    [ -f "$P0/out/dest/sub/d00000/f0000002" ]; then
	PUB=1
	ino=$(stat -c %i "$P0/out/dest")
	if (cd "$P0" && "$LB" -o "$P0/out/dest" --if-changed -I @S@ "$P0/locks" probe -- "$BT" mktree @S@/sub 3 10 1) >>"$P0/log" 2>&1 &&
	    [ "$(stat -c %i "$P0/out/dest")" = "$ino" ] && [ -f "$P0/out/dest/sub/d00000/f0000002" ] &&
	    [ -z "$(find "$P0/out" -maxdepth 1 -name '.lockbuild.*')" ]; then
		IFC=1
	fi
else
	why="-o not supported by this build ($(head -1 "$P0/log" | cut -c1-120))"
fi

# ================================================================ case 5
out "## 5. Publish (-o)"
out ""
if [ "$PUB" = 0 ]; then
	say "case 5: skipped: $why"
	out "skipped: $why"
	out ""
else
	say "case 5: publish"
	D5=$W/c5
	mkdir -p "$D5/locks"
	pre=$D5/pre dest=$D5/out/dest direct=$D5/direct
	cat >"$W/prep5.sh" <<-EOF
		# prep5.sh new|replace TEMPLATE: fresh build input in pre/sub (hard
		# links: moving it is O(1)); DEST absent (new) or a tree (replace).
		set -e
		rm -rf "$pre" "$direct"
		mkdir -p "$pre" "$direct" "$D5/out"
		cp -al "\$2" "$pre/sub"
		if [ "\$1" = new ]; then rm -rf "$dest"
		elif [ ! -d "$dest" ]; then cp -al "\$2" "$dest"; fi
	EOF
	out "The build command moves a prepared tree of N files into place (\`mv pre/sub …\`, one rename: O(1)), so what grows with N is the publisher's own work. \"direct\" runs that command alone; \"overhead\" = row median - direct median. new: DEST absent; replace: DEST holds an N-file tree, which lockbuild deletes after the exchange (as \`rm -rf\` does in the shell idioms). fsync rows flush with syncfs: they also flush the prepared tree's metadata, as a real build's output."
	out ""
	for n in $C5_SIZES; do
		say " N=$n"
		T=$D5/t$n
		"$BT" mktree "$T" "$n" 100 "$n"
		sync
		case $n in
		1) RUNS=${C5_RUNS:-100} WARM=${C5_WARM:-3} ROUNDS=${C5_ROUNDS:-4} ;;
		1000) RUNS=${C5_RUNS:-30} WARM=${C5_WARM:-2} ROUNDS=${C5_ROUNDS:-3} ;;
		*) RUNS=${C5_RUNS:-10} WARM=${C5_WARM:-1} ROUNDS=${C5_ROUNDS:-2} ;;
		esac
		reg_reset
		pn="sh $W/prep5.sh new $T" pr="sh $W/prep5.sh replace $T"
		reg "direct: \`mv pre/sub out/sub\`" "$pn" "mv $pre/sub $direct/sub"
		reg "floor: rename(2) pre/sub -> DEST (new)" "$pn" "$BT rename $pre/sub $dest"
		reg "\`lockbuild D k -- mv pre/sub out/sub\` (lock only)" "$pn" "$LB $D5/locks k -- mv $pre/sub $direct/sub"
		reg "\`lockbuild -o DEST --no-fsync\` (new)" "$pn" "$LB -o $dest --no-fsync -I @S@ $D5/locks k -- mv $pre/sub @S@/sub"
		reg "\`lockbuild -o DEST\` (new, fsync)" "$pn" "$LB -o $dest -I @S@ $D5/locks k -- mv $pre/sub @S@/sub"
		reg "\`sh -c 'rm -rf DEST && mv pre/sub DEST'\` (replace)" "$pr" "sh -c 'rm -rf $dest && mv $pre/sub $dest'"
		if [ "$n" -le 10000 ]; then
			reg "\`sh -c 'rm -rf DEST && cp -a TREE DEST'\` (replace; copies the data)" "$pr" "sh -c 'rm -rf $dest && cp -a $T $dest'"
		else
			skip_reg "\`sh -c 'rm -rf DEST && cp -a TREE DEST'\` (replace; copies the data)" "not run at this size (about a minute a run here)"
		fi
		reg "\`lockbuild -o DEST --no-fsync\` (replace)" "$pr" "$LB -o $dest --no-fsync -I @S@ $D5/locks k -- mv $pre/sub @S@/sub"
		reg "\`lockbuild -o DEST\` (replace, fsync)" "$pr" "$LB -o $dest -I @S@ $D5/locks k -- mv $pre/sub @S@/sub"
		hf_all "$ROUNDS"
		out "### N = $n files ($RUNS runs in $ROUNDS rounds, after $WARM warm-up)"
		out ""
		table ms "direct: \`mv pre/sub out/sub\`" overhead | while IFS= read -r l; do out "$l"; done
		out ""
		d=$(med "direct: \`mv pre/sub out/sub\`")
		o=$(med "\`lockbuild -o DEST --no-fsync\` (new)")
		[ -n "$d" ] && [ -n "$o" ] && awk -v o="$o" -v d="$d" -v n="$n" 'BEGIN { printf "%s\t%.3f\n", n, (o - d) * 1000 }' >>"$W/c5.over"
		rm -rf "$T"
	done
	if [ -s "$W/c5.over" ]; then
		worst=$(sort -t'	' -k2,2g "$W/c5.over" | tail -1)
		list=$(awk -F'\t' '{ printf "%sN=%s: %+.3f ms", (NR > 1 ? ", " : ""), $1, $2 }' "$W/c5.over")
		goal "-o --no-fsync overhead over the build command under 2 ms at every tree size" \
		    "$(echo "$worst" | awk -F'\t' '{ print ($2 < 2) }')" "$list"
	else
		goal "-o --no-fsync overhead over the build command under 2 ms at every tree size" - "failed"
	fi
	out ""
	big=$(echo "$C5_SIZES" | awk '{ print $NF }')
	T=$D5/t$big
	"$BT" mktree "$T" "$big" 100 1
	sh "$W/prep5.sh" replace "$T"
	rss 5 "\`lockbuild -o DEST\` (replace $big files, fsync)" "$LB" -o "$dest" -I @S@ "$D5/locks" k -- mv "$pre/sub" @S@/sub
	rm -rf "$D5"
fi

# ================================================================ case 6
out "## 6. --if-changed on unchanged trees"
out ""
if [ "$PUB" = 0 ] || [ "$IFC" = 0 ]; then
	[ "$PUB" = 1 ] && why="--if-changed not supported by this build (an unchanged DEST was replaced, or staging left behind)"
	say "case 6: skipped: $why"
	out "skipped: $why"
	out ""
else
	say "case 6: --if-changed"
	D6=$W/c6
	mkdir -p "$D6/locks"
	out "DEST and a second, independent copy (same bytes, other inodes) are made once; each run the build command moves a hard-linked copy of the second into staging (\`mv pre/sub …\`, O(1)), so lockbuild compares two real copies, as \`diff -rq\` does. Warm cache. lockbuild also deletes the discarded staging tree (\"direct\" = the build command alone; \"overhead\" = median - direct)."
	out ""
	for ds in big small; do
		S=$D6/$ds
		if [ $ds = big ]; then nf=$C6_BIG_FILES sz=$C6_BIG_SIZE; else nf=$C6_SMALL sz=100; fi
		label=$(awk -v n="$nf" -v s="$sz" 'BEGIN { t = n * s; if (t >= 1073741824) u = sprintf("%.0f GiB", t / 1073741824); else if (t >= 1048576) u = sprintf("%.0f MiB", t / 1048576); else u = sprintf("%.0f KiB", t / 1024); printf "%d files of %d bytes (%s)", n, s, u }')
		say " $ds: $label"
		mkdir -p "$S/out/dest" "$S/pre" "$S/direct"
		"$BT" mktree "$S/out/dest/sub" "$nf" "$sz" 7
		"$BT" mktree "$S/t2" "$nf" "$sz" 7
		sync
		find "$S/out/dest/sub" "$S/t2" -type f -exec cat {} + >/dev/null
		ino=$(stat -c %i "$S/out/dest")
		prep="sh -c 'rm -rf $S/pre $S/direct && mkdir $S/pre $S/direct && cp -al $S/t2 $S/pre/sub'"
		RUNS=$C6_RUNS WARM=$C6_WARM
		reg_reset
		reg "direct: \`mv pre/sub out/sub\`" "$prep" "mv $S/pre/sub $S/direct/sub"
		reg "\`diff -rq DEST copy\`" "" "diff -rq $S/out/dest/sub $S/t2"
		if [ $ds = big ]; then
			printf 'for f in %s/*/*; do r=${f#%s/}; cmp -s "$f" "%s/$r" || exit 1; done\n' \
			    "$S/out/dest/sub" "$S/out/dest/sub" "$S/t2" >"$W/cmp.sh"
			reg "\`cmp\` each file (sh loop)" "" "sh $W/cmp.sh"
		fi
		reg "\`lockbuild -o DEST --if-changed\`" "$prep" "$LB -o $S/out/dest --if-changed -I @S@ $D6/locks k -- mv $S/pre/sub @S@/sub"
		reg "\`lockbuild -o DEST --if-changed --no-fsync\`" "$prep" "$LB -o $S/out/dest --if-changed --no-fsync -I @S@ $D6/locks k -- mv $S/pre/sub @S@/sub"
		hf_all 1
		out "### $label ($RUNS runs after $WARM warm-up)"
		out ""
		table ms "direct: \`mv pre/sub out/sub\`" overhead | while IFS= read -r l; do out "$l"; done
		out ""
		d=$(med "direct: \`mv pre/sub out/sub\`") df=$(med "\`diff -rq DEST copy\`")
		l=$(med "\`lockbuild -o DEST --if-changed\`")
		same=no
		[ "$(stat -c %i "$S/out/dest")" = "$ino" ] && same=yes
		if [ -n "$d" ] && [ -n "$df" ] && [ -n "$l" ]; then
			goal "--if-changed ($ds) at least as fast as diff -rq" "$(awk -v l="$l" -v d="$d" -v f="$df" 'BEGIN { print (l - d <= f) }')" \
			    "$(awk -v l="$l" -v d="$d" -v f="$df" 'BEGIN { printf "lockbuild %.1f ms over the build command vs diff -rq %.1f ms: %.2fx", (l - d) * 1000, f * 1000, (l - d) / f }'); DEST left untouched: $same"
		else goal "--if-changed ($ds) at least as fast as diff -rq" - "failed; DEST left untouched: $same"; fi
		out ""
		sh -c "rm -rf $S/pre $S/direct && mkdir $S/pre $S/direct && cp -al $S/t2 $S/pre/sub"
		rss 6 "\`lockbuild -o DEST --if-changed\` ($ds)" "$LB" -o "$S/out/dest" --if-changed -I @S@ "$D6/locks" k -- mv "$S/pre/sub" @S@/sub
		rm -rf "$S"
	done
fi

# ================================================================ case 7
out "## 7. Memory"
out ""
out "Peak RSS (GNU time %M, or wait4's ru_maxrss in benchtool; includes COMMAND when it is bigger)."
out ""
out "| case | run | peak RSS (KiB) |"
out "|---|---|---:|"
while IFS='	' read -r c w k; do out "| $c | $w | $k |"; done <"$RSS"
[ "$PUB" = 0 ] && out "| 5, 6 | skipped: -o not supported by this build | |"
out ""
out "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)."
say "done: results in ${RES#"$repo"/}"
