#!/bin/sh
# The CI snippets in README.md (tests/clients/github-actions.yml and
# gitlab-ci.yml), run as a runner would run them: the commands are taken
# from the files (a small awk reader for the few YAML forms they use,
# checked against PyYAML when python3 has it), run with the environment
# the files declare, as two jobs at once on one runner sharing a cache.
# Both jobs must succeed and the toolchain must be built once.
#
# What the runner provides is emulated: the checkout (build-toolchain.sh
# and main.c in a directory of the job's own), lockbuild on PATH,
# ${{ runner.tool_cache }} / $RUNNER_TOOL_CACHE and $GITHUB_PATH for
# GitHub, $CI_BUILDS_DIR for GitLab.  GitHub runs each step's run: in its
# own bash -e (sh -e without bash), GitLab all script: lines in one.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

C=$TESTS_DIR/clients
mkdir "$T/bin"
ln -s "$LB" "$T/bin/lockbuild"
PATH=$T/bin:$PATH
export PATH
if command -v bash >/dev/null 2>&1; then
	SH="bash --noprofile --norc -eo pipefail"
else
	SH="sh -e"
fi

# gha_extract FILE DIR: one DIR/stepN.env (export lines) and DIR/stepN.sh
# (the run: text) for each step; steps without run: (uses:) get neither.
# Knows block (run: |) and plain (run: cmd) scalars, and env: maps.
gha_extract() {
	awk -v dir="$2" '
	function ind(s) { match(s, /^ */); return RLENGTH }
	function val(s) {
		sub(/^[^:]*:[ ]*/, "", s)
		if (s ~ /^".*"$/ || s ~ /^'\''.*'\''$/) s = substr(s, 2, length(s) - 2)
		gsub(/\$\{\{ *runner\.tool_cache *\}\}/, "$RUNNER_TOOL_CACHE", s)
		if (s ~ /\$\{\{/) { print "unsupported expression: " s >"/dev/stderr"; bad = 1 }
		return s
	}
	function key(s) { sub(/^ */, "", s); sub(/:.*/, "", s); return s }
	{
		i = ind($0)
		if (mode == "block") {
			if ($0 ~ /^ *$/) { print "" >>(dir "/step" n ".sh"); next }
			if (i > bi) {
				if (bw < 0) bw = i
				print substr($0, bw + 1) >>(dir "/step" n ".sh")
				next
			}
			mode = ""
		}
		if ($0 ~ /^ *(#.*)?$/) next
		if (mode == "env") {
			if (i > ei) {
				print "export " key($0) "=\"" val($0) "\"" >>(dir "/step" n ".env")
				next
			}
			mode = ""
		}
		if (insteps && $0 ~ /^ *- /) { n++; sub(/- /, "  "); i = ind($0) }
		if ($0 ~ /^ *steps:/) insteps = 1
		else if ($0 ~ /^ *env: *$/) { mode = "env"; ei = i }
		else if ($0 ~ /^ *run: *[|]-? *$/) {
			mode = "block"; bi = i; bw = -1
			printf "" >>(dir "/step" n ".env")
		} else if ($0 ~ /^ *run:/) {
			print val($0) >>(dir "/step" n ".sh")
			printf "" >>(dir "/step" n ".env")
		}
	}
	END { exit bad }' "$1"
}

# gitlab_extract FILE DIR: DIR/job.env (export lines from variables:) and
# DIR/job.sh (the script: lines, one command each).
gitlab_extract() {
	awk -v dir="$2" '
	function ind(s) { match(s, /^ */); return RLENGTH }
	function val(s) {
		sub(/^[^:]*:[ ]*/, "", s)
		if (s ~ /^".*"$/ || s ~ /^'\''.*'\''$/) s = substr(s, 2, length(s) - 2)
		return s
	}
	function key(s) { sub(/^ */, "", s); sub(/:.*/, "", s); return s }
	BEGIN { printf "" >(dir "/job.env"); printf "" >(dir "/job.sh") }
	/^ *(#.*)?$/ { next }
	{
		i = ind($0)
		if (mode == "var" && i > vi) {
			print "export " key($0) "=\"" val($0) "\"" >>(dir "/job.env")
			next
		}
		if (mode == "script" && i >= si && $0 ~ /^ *- /) {
			sub(/^ *- /, "")
			print >>(dir "/job.sh")
			next
		}
		mode = ""
		if ($0 ~ /^ *variables: *$/) { mode = "var"; vi = i }
		else if ($0 ~ /^ *script: *$/) { mode = "script"; si = i }
	}' "$1"
}

# yaml_check KIND FILE DIR: the extracted commands and variables are what
# PyYAML reads (prints "same", or a diff).
yaml_check() {
	python3 - "$@" <<'EOF'
import os, re, sys
import yaml
kind, path, d = sys.argv[1:]
doc = yaml.safe_load(open(path))
want, got = [], []
def env(m):
    return ['export %s="%s"' % (k, re.sub(r'\$\{\{ *runner\.tool_cache *\}\}',
            '$RUNNER_TOOL_CACHE', str(v))) for k, v in (m or {}).items()]
def read(p):
    return open(p).read().rstrip('\n').split('\n') if os.path.getsize(p) else []
if kind == 'github':
    n = 0
    for job in doc['jobs'].values():
        for st in job['steps']:
            n += 1
            if 'run' in st:
                want += env(st.get('env')) + ['--'] + st['run'].rstrip('\n').split('\n') + ['--']
                got += read('%s/step%d.env' % (d, n)) + ['--'] + read('%s/step%d.sh' % (d, n)) + ['--']
else:
    for job in doc.values():
        want += env(job.get('variables')) + ['--'] + job['script']
    got += read(d + '/job.env') + ['--'] + read(d + '/job.sh')
print('same' if want == got else 'want %r\ngot  %r' % (want, got))
EOF
}

# checkout DIR: what a job's checkout holds.
checkout() {
	mkdir -p "$1"
	cp "$C/build-toolchain.sh" "$1/"
	: >"$1/main.c"
}

# gha_job DIR: runs the extracted steps in DIR/work, in order, each in its
# own shell; lines appended to $GITHUB_PATH go in front of PATH for the
# steps after.  Waits for $T/go first.
gha_job() {
	wait_for "$T/go" || return 99
	cd "$1/work" || return 98
	GITHUB_PATH=$1/github_path
	export GITHUB_PATH
	for s in "$T/gha"/step*.sh; do
		: >"$GITHUB_PATH"
		# shellcheck disable=SC2086 # $SH is a word list
		# shellcheck disable=SC1090 # written by gha_extract
		(. "${s%.sh}.env" && exec $SH "$s") || return
		while IFS= read -r p; do
			PATH=$p:$PATH
		done <"$GITHUB_PATH"
	done
}

# gitlab_job DIR: runs the extracted script lines in DIR/work in one shell
# that stops at the first failing line.  Waits for $T/go first.
gitlab_job() {
	wait_for "$T/go" || return 99
	cd "$1/work" || return 98
	{ cat "$T/gitlab/job.env"; cat "$T/gitlab/job.sh"; } >"$1/job.sh"
	# shellcheck disable=SC2086 # $SH is a word list
	exec $SH "$1/job.sh"
}

# two_jobs NAME FUNCTION CACHE: runs FUNCTION as two jobs at once and
# checks the outcome.
two_jobs() {
	rm -f "$T/go"
	: >"$T/builds"
	for j in 1 2; do
		checkout "$T/$1$j/work"
		# shellcheck disable=SC2016 # expanded by sh -c
		(timeout 120 sh -c '. "$0" && "$1" "$2"' "$T/fns.sh" "$2" "$T/$1$j" \
			>"$T/$1$j.log" 2>&1) &
		eval "pid$j=\$!"
	done
	: >"$T/go"
	# shellcheck disable=SC2154 # set by eval
	wait "$pid1"; r1=$?
	# shellcheck disable=SC2154
	wait "$pid2"; r2=$?
	is "$r1.$r2" "0.0" "$1: two jobs at once on one runner both succeed"
	is "$(wc -l <"$T/builds" | tr -d ' ')" 1 "$1: the toolchain was built once between them"
	is "$(cat "$T/$1"1.log "$T/$1"2.log | grep -c '^cc 1.0: -c main.c$')" 2 \
		"$1: both jobs built with the shared toolchain"
	is "$(cat "$3/toolchain/VERSION")" "toolchain 1.0" "$1: the toolchain is complete"
	# shellcheck disable=SC2012 # names are known
	is "$(ls -A "$3" | tr '\n' ' ')" "locks toolchain " "$1: no staging leftovers in the cache"
	is "$(ls -A "$3/locks" 2>&1)" "" "$1: no lock files left behind"
	# shellcheck disable=SC2154 # _failed is lib.sh's count of failed tests
	if [ "$_failed" -ne 0 ]; then
		sed "s/^/# $1 job 1: /" "$T/$1"1.log
		sed "s/^/# $1 job 2: /" "$T/$1"2.log
	fi
}

# The job runners run in a fresh sh (under timeout): give it the functions.
{
	echo "T='$T' SH='$SH'"
	sed -n '/^wait_for()/,/^}/p' "$TESTS_DIR/lib.sh"
	sed -n '/^gha_job()/,/^}/p; /^gitlab_job()/,/^}/p' "$0"
} >"$T/fns.sh"

export BUILDS="$T/builds"

# GitHub Actions.
mkdir "$T/gha"
gha_extract "$C/github-actions.yml" "$T/gha"
is "$?" 0 "github: the workflow's steps were read"
like "$(cat "$T/gha/step2.sh")" '^lockbuild -w 600 --once -o' "github: the toolchain step runs lockbuild"
if python3 -c 'import yaml' 2>/dev/null; then
	is "$(yaml_check github "$C/github-actions.yml" "$T/gha")" same \
		"github: PyYAML reads the same commands and env"
else
	skip "PyYAML is not installed: the awk reader is not cross-checked"
fi
export RUNNER_TOOL_CACHE="$T/toolcache"
mkdir "$RUNNER_TOOL_CACHE"
two_jobs github gha_job "$RUNNER_TOOL_CACHE/myproject"

# GitLab CI.
mkdir "$T/gitlab"
gitlab_extract "$C/gitlab-ci.yml" "$T/gitlab"
is "$?" 0 "gitlab: the job's script was read"
like "$(cat "$T/gitlab/job.sh")" '^lockbuild -w 600 --once -o' "gitlab: the script runs lockbuild"
if python3 -c 'import yaml' 2>/dev/null; then
	is "$(yaml_check gitlab "$C/gitlab-ci.yml" "$T/gitlab")" same \
		"gitlab: PyYAML reads the same script and variables"
else
	skip "PyYAML is not installed: the awk reader is not cross-checked"
fi
export CI_BUILDS_DIR="$T/gitlab-builds"
mkdir "$CI_BUILDS_DIR"
two_jobs gitlab gitlab_job "$CI_BUILDS_DIR/cache/myproject"
# The README shows these very snippets: every line of each file that is
# not a comment must appear in it, in order.
for f in github-actions.yml gitlab-ci.yml; do
	missing=$(grep -v '^#' "$TESTS_DIR/clients/$f" | while IFS= read -r line; do
		grep -qxF -- "$line" "$TESTS_DIR/../README.md" || echo "$line"
	done)
	is "$missing" "" "README.md carries tests/clients/$f as it is tested"
done
done_testing
