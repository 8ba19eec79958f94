#!/bin/sh
# The bash completion (src/lockbuild.bash-completion, installed by make
# install): with bash-completion's library loaded, _lockbuild is called
# with COMP_WORDS / COMP_CWORD / COMP_LINE as bash would set them (bash
# splits words at COMP_WORDBREAKS, so "--timeout=5" arrives as three
# words and "alpine:3" as three) and COMPREPLY is checked: options after
# "-", directories for LOCKDIR, the keys in LOCKDIR (unescaped from the
# lock file names, taken from real lockbuild holders) for KEY, commands
# and then the command's own completion for COMMAND.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

BC=/usr/share/bash-completion/bash_completion
COMPFILE=$TESTS_DIR/../src/lockbuild.bash-completion
if ! command -v bash >/dev/null 2>&1; then
	skip "bash is not installed"
	done_testing
	exit
fi
if [ ! -f "$BC" ]; then
	skip "bash-completion is not installed (Debian package bash-completion)"
	done_testing
	exit
fi

# The driver: sources the library and the completion, sets the COMP_*
# variables, calls _lockbuild, prints COMPREPLY one per line.  compopt
# (which only works inside a real completion) is recorded in $T/compopt.
cat >"$T/drv.bash" <<'EOF'
. "$BC"
. "$COMPFILE"
compopt() { printf '%s\n' "$*" >>"$T/compopt"; }
complete -W "alpha beta" mycmd
COMP_LINE=$1
shift
COMP_POINT=${#COMP_LINE}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMPREPLY=()
_lockbuild lockbuild "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
EOF

# comp LINE WORD...: the sorted, de-duplicated candidates, "|"-separated.
comp() {
	: >"$T/compopt"
	(cd "$T/w" && export BC COMPFILE T && timeout 20 bash "$T/drv.bash" "$@") \
		2>"$T/comp.err" | LC_ALL=C sort -u | sed '/^$/d' | tr '\n' '|'
}

# compk LINE WORD...: like comp, with backslash quoting undone, for lists
# of keys (whether keys are quoted is checked on its own).
compk() {
	comp "$@" | sed 's/\\\(.\)/\1/g'
}

# has LIST ITEM: LIST ("|"-separated) contains ITEM.
has() {
	case "|$1" in
	*"|$2|"*) return 0 ;;
	esac
	return 1
}

# compl_is DESCRIPTION GOT WANT (cases that once were completion bugs)
compl_is() {
	is "$2" "$3" "$1"
}

mkdir -p "$T/w/L" "$T/w/sub"
: >"$T/w/plainfile"
L=$T/w/L

# --- Options ---------------------------------------------------------
r=$(comp "lockbuild -" lockbuild -)
n=0 missing=
for o in -n -w -s -x -E -q -v -C -F -o -f -I -h -V $(sed -n 's/^[	 ]*{ "\([a-z-]*\)",.*/--\1/p' "$TESTS_DIR/../src/cli.c"); do
	case $o in --nb | --wait) continue ;; esac	# aliases, not offered
	n=$((n + 1))
	has "$r" "$o" || missing="$missing $o"
done
is "$missing" "" "\"-\" offers every option of src/cli.c ($n)"
is "$(comp "lockbuild --no-f" lockbuild --no-f)" "--no-fork|--no-fsync|" "\"--no-f\" offers the two that match"
is "$(comp "lockbuild -w " lockbuild -w '')" "" "nothing is offered for -w's number"

# --- LOCKDIR -----------------------------------------------------------
is "$(comp "lockbuild " lockbuild '')" "L|sub|" "LOCKDIR: directories, not files"
is "$(comp "lockbuild -n -E 3 s" lockbuild -n -E 3 s)" "sub|" \
	"LOCKDIR after options and their arguments"
is "$(comp "lockbuild --status " lockbuild --status '')" "L|sub|" "--status LOCKDIR: directories"

# --- KEY -------------------------------------------------------------
# Real lock files: one holder chain holds four keys until $T/go exists.
"$LB" "$L" a/b -- "$LB" "$L" "my key" -- "$LB" "$L" .hidden -- \
	"$LB" "$L" alpine:3.19 -- sh -c 'touch "$0.held"; i=0
	while [ ! -e "$0.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done' "$T/h" &
h=$!
ok "four keys are held (marker)" wait_for "$T/h.held"
# shellcheck disable=SC2012 # names are known
is "$(cd "$L" && LC_ALL=C ls | tr '\n' ' ')" \
	"%2Ehidden.lock a%2Fb.lock alpine:3.19.lock my%20key.lock " \
	"their lock files have escaped names"
is "$(compk "lockbuild L " lockbuild L '')" ".hidden|a/b|alpine:3.19|my key|" \
	"KEY: the keys in LOCKDIR, unescaped"
is "$(compk "lockbuild L a" lockbuild L a)" "a/b|alpine:3.19|" "KEY: the keys that match"
is "$(compk "lockbuild L a/" lockbuild L a/)" "a/b|" "KEY: a key with a slash"
is "$(compk "lockbuild -q -w 5 L " lockbuild -q -w 5 L '')" ".hidden|a/b|alpine:3.19|my key|" \
	"KEY after options and their arguments"
is "$(compk "lockbuild L -n " lockbuild L -n '')" ".hidden|a/b|alpine:3.19|my key|" \
	"KEY after an option between LOCKDIR and KEY"
is "$(compk "lockbuild --status L " lockbuild --status L '')" ".hidden|a/b|alpine:3.19|my key|" \
	"--status LOCKDIR KEY: the keys"
is "$(comp "lockbuild nosuchdir " lockbuild nosuchdir '')" "" "KEY in a missing LOCKDIR: nothing"

compl_is "\"--timeout=5 L \" offers keys" \
	"$(compk "lockbuild --timeout=5 L " lockbuild --timeout = 5 L '')" ".hidden|a/b|alpine:3.19|my key|"
compl_is "\"-qw 5 L \" offers keys" \
	"$(compk "lockbuild -qw 5 L " lockbuild -qw 5 L '')" ".hidden|a/b|alpine:3.19|my key|"
compl_is "\"L alpine:\" offers 3.19" \
	"$(comp "lockbuild L alpine:" lockbuild L alpine : '')" "3.19|"
r=$(comp "lockbuild L my" lockbuild L my)
grep -q filenames "$T/compopt" && [ "$r" = "my key|" ] && r="my\\ key|"
compl_is "\"L my\" offers the key \"my key\" quoted" "$r" "my\\ key|"
: >"$T/h.go"
wait "$h"

# A key longer than the name limit has a shortened file name
# (prefix~SHA-256); completing that name would lock another key.
long=$(printf '%0250d' 0)
"$LB" "$L" "$long" -- sh -c 'touch "$0.held"; i=0
	while [ ! -e "$0.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done' "$T/g" &
g=$!
wait_for "$T/g.held"
r=$(comp "lockbuild L " lockbuild L '')
compl_is "a shortened name completes to its key, from its owner record" \
	"$r" "$long|"
: >"$T/g.go"
wait "$g"

# --- COMMAND -----------------------------------------------------------
: >"$L/tools.lock"
r=$(comp "lockbuild L tools ech" lockbuild L tools ech)
ok "COMMAND: commands ($r)" has "$r" echo
r=$(comp "lockbuild L tools -- ech" lockbuild L tools -- ech)
ok "COMMAND after --" has "$r" echo
r=$(comp "lockbuild -o out -I @ L tools ech" lockbuild -o out -I @ L tools ech)
ok "COMMAND after -o DEST and -I STR" has "$r" echo
is "$(comp "lockbuild L tools mycmd al" lockbuild L tools mycmd al)" "alpha|" \
	"COMMAND's arguments: the command's own completion"
is "$(comp "lockbuild -- L tools mycmd " lockbuild -- L tools mycmd '')" "alpha|beta|" \
	"a leading -- does not count as LOCKDIR"
r=$(comp "lockbuild --check ec" lockbuild --check ec)
ok "--check CMD: commands" has "$r" echo
is "$(comp "lockbuild -o pl" lockbuild -o pl)" "plainfile|" "-o DEST: files"
is "$(cat "$T/comp.err")" "" "no errors from the completion"
done_testing
