# Publish mode (-o DEST), the normal path: directory output becomes DEST with
# the files COMMAND wrote, -f output becomes DEST, -I substitutes the staging
# path in COMMAND's arguments, the LOCKBUILD_* variables COMMAND sees (staging
# absolute, next to DEST, not DEST), permissions of what is published,
# symlinks kept as symlinks, and nothing left behind: no .lockbuild.*
# container next to DEST, no lock or owner file of the key.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"
Wp=$(cd "$W" && pwd -P)

# listing DIR: every path under DIR with its type, sorted.
listing() {
	(cd "$1" && find . -printf '%p %y\n' | LC_ALL=C sort)
}

# --- directory output ----------------------------------------------------

"$LB" "$L" dirkey -o "$W/d" sh -c '
	echo alpha >"$LOCKBUILD_STAGING/a"
	mkdir "$LOCKBUILD_STAGING/sub"
	echo beta >"$LOCKBUILD_STAGING/sub/b"' 2>"$T/err"
is "$?" 0 "directory output: exit 0"
is "$(cat "$T/err")" "" "directory output: nothing on stderr"
ok "directory output: DEST is a directory" test -d "$W/d"
is "$(listing "$W/d")" ". d
./a f
./sub d
./sub/b f" "directory output: DEST holds exactly what COMMAND wrote"
is "$(cat "$W/d/a") $(cat "$W/d/sub/b")" "alpha beta" \
	"directory output: file contents as written"
is "$(leftovers "$W")" "" "directory output: no .lockbuild.* left next to DEST"
is "$(ls -A "$L")" "" "directory output: lock and owner files gone after the run"

# --- file output (-f) ----------------------------------------------------

"$LB" "$L" filekey -o "$W/f.txt" -f sh -c \
	'printf "hello\nworld\n" >"$LOCKBUILD_STAGING"' 2>"$T/err"
is "$?" 0 "-f output: exit 0"
ok "-f output: DEST is a regular file" test -f "$W/f.txt"
is "$(cat "$W/f.txt")" "hello
world" "-f output: DEST has the bytes COMMAND wrote"
is "$(leftovers "$W")" "" "-f output: no .lockbuild.* left next to DEST"
is "$(ls -A "$L")" "" "-f output: lock and owner files gone after the run"

# --- environment ---------------------------------------------------------

"$LB" "$L" "env key/1" -o "$W/e" sh -c '
	printf "%s\n" "$LOCKBUILD_STAGING" >"$0/staging"
	printf "%s\n" "$LOCKBUILD_DEST" >"$0/dest"
	printf "%s\n" "$LOCKBUILD_KEY" >"$0/key"
	echo x >"$LOCKBUILD_STAGING/x"' "$T" 2>"$T/err"
is "$?" 0 "environment: exit 0"
S=$(cat "$T/staging")
is "$(cat "$T/dest")" "$W/e" "LOCKBUILD_DEST is DEST as given"
is "$(cat "$T/key")" "env key/1" "LOCKBUILD_KEY is KEY"
case $S in
/*) _r=0 ;;
*) _r=1 ;;
esac
_result "$_r" "LOCKBUILD_STAGING is absolute ($S)"
C=$(dirname "$S")
is "$(dirname "$C")" "$Wp" "LOCKBUILD_STAGING's container is in DEST's directory"
like "$(basename "$C")" '^\.lockbuild\.[A-Za-z0-9]{8}\.e$' \
	"container is named .lockbuild.XXXXXXXX.BASE"
is "$(basename "$S")" "e" "LOCKBUILD_STAGING ends in DEST's basename"
ok "LOCKBUILD_STAGING is not DEST" test "$S" != "$Wp/e"
ok "LOCKBUILD_STAGING is gone after the run" test ! -e "$S"

# A relative DEST: staging is still absolute and next to DEST.
mkdir "$W/rel"
(cd "$W/rel" && "$LB" "$L" relkey -o out sh -c \
	'printf "%s\n" "$LOCKBUILD_STAGING" >"$0/staging"; : >"$LOCKBUILD_STAGING/x"' \
	"$T")
is "$?" 0 "relative DEST: exit 0"
S=$(cat "$T/staging")
like "$S" "^$Wp/rel/\\.lockbuild\\.[A-Za-z0-9]{8}\\.out/out\$" \
	"relative DEST: LOCKBUILD_STAGING is absolute, next to DEST"
ok "relative DEST: published" test -f "$W/rel/out/x"

# The owner record while COMMAND runs: state building, dest and staging.
"$LB" "$L" ownkey -o "$W/o" sh -c '
	cp "$LOCKBUILD_LOCKDIR/ownkey.lock" "$0/owner"
	printf "%s\n" "$LOCKBUILD_STAGING" >"$0/staging"
	: >"$LOCKBUILD_STAGING/x"' "$T"
is "$?" 0 "owner record: exit 0"
is "$(grep -e '^state=' -e '^dest=' -e '^staging=' "$T/owner" 2>/dev/null)" \
	"state=building
dest=$W/o
staging=$(cat "$T/staging")" "owner record while building: state, dest and staging"

# --- -I STR --------------------------------------------------------------

# The script is a file: inside sh -c '...' its "$@" would be substituted too.
cat >"$T/saveargs" <<'EOF'
#!/bin/sh
printf '%s\n' "$LOCKBUILD_STAGING" >"$SAVE_STAGING"
printf '%s\n' "$@" >"$LOCKBUILD_STAGING/args"
EOF
chmod +x "$T/saveargs"
SAVE_STAGING=$T/staging "$LB" "$L" ikey -o "$W/i" -I @ "$T/saveargs" \
	@ --out=@/x @:@ plain 2>"$T/err"
is "$?" 0 "-I @: exit 0"
S=$(cat "$T/staging")
is "$(sed -n 1p "$W/i/args")" "$S" "-I @: a lone @ becomes the staging path"
is "$(sed -n 2p "$W/i/args")" "--out=$S/x" \
	"-I @: @ inside --out=@/x is replaced too"
is "$(sed -n 3p "$W/i/args")" "$S:$S" "-I @: every occurrence in an argument"
is "$(sed -n 4p "$W/i/args")" "plain" "-I @: other arguments unchanged"

# A longer STR, and COMMAND's name itself is not special.
"$LB" "$L" ikey2 -o "$W/i2" -f -I '{out}' cp "$W/f.txt" '{out}' 2>"$T/err"
is "$?" 0 "-I {out}: exit 0"
is "$(cat "$W/i2")" "$(cat "$W/f.txt")" "-I {out}: cp wrote to the staging path"

# --- permissions ---------------------------------------------------------

for m in 022 027; do
	(umask "$m" && "$LB" "$L" "perm$m" -o "$W/p$m" sh -c \
		': >"$LOCKBUILD_STAGING/x"')
	want=$(printf '%o' $((0777 & ~0$m)))
	is "$(stat -c %a "$W/p$m")" "$want" \
		"umask $m: published directory has mode $want"
done

for m in 755 600; do
	(umask 022 && "$LB" "$L" "fperm$m" -o "$W/fp$m" -f sh -c \
		'echo x >"$LOCKBUILD_STAGING" && chmod "$0" "$LOCKBUILD_STAGING"' "$m")
	is "$(stat -c %a "$W/fp$m")" "$m" \
		"-f: published file keeps the mode COMMAND gave it ($m)"
done

# --- symlinks inside the output -------------------------------------------

mkdir "$T/elsewhere"
echo outside >"$T/elsewhere/file"
"$LB" "$L" linkkey -o "$W/l" sh -c '
	cd "$LOCKBUILD_STAGING" || exit 1
	echo t >target
	ln -s target rel
	ln -s "$0/elsewhere" abs
	ln -s does-not-exist dangling
	mkdir sub && ln -s ../target sub/up' "$T" 2>"$T/err"
is "$?" 0 "symlinks: exit 0"
checklink() {	# checklink NAME TARGET
	ok "symlinks: $1 is still a symlink" test -L "$W/l/$1"
	is "$(readlink "$W/l/$1")" "$2" "symlinks: $1 -> $2"
}
checklink rel target
checklink abs "$T/elsewhere"
checklink dangling does-not-exist
checklink sub/up ../target
is "$(cat "$T/elsewhere/file")" "outside" "symlinks: link target untouched"

# --- nothing left behind -------------------------------------------------

is "$(leftovers "$W")" "" "no .lockbuild.* left next to any DEST"
is "$(leftovers "$W/rel")" "" "no .lockbuild.* left next to the relative DEST"
is "$(ls -A "$L")" "" "no lock or owner file left for any key"

done_testing
