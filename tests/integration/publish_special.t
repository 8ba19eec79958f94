# Special files in the output.  A FIFO, socket or device cannot be the
# whole output of -f (refused with 65, DEST left alone, nothing left
# behind, with or without --no-fsync), and lockbuild never waits on one:
# such files inside a directory output are published as they are, never
# opened (neither to flush nor to compare for --if-changed).  Every run
# is bounded by timeout(1): a hang fails instead of blocking the suite.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
P=$T/pub
mkdir "$P"
TO=$((10 * TIME_SCALE))

timeout "$TO" "$LB" "$L" ff -f -o "$P/fifo" \
	sh -c 'mkfifo "$LOCKBUILD_STAGING"' 2>"$T/err"
is "$?" 65 "-f output that is a FIFO: refused with 65, without hanging"
like "$(cat "$T/err")" "LOCKBUILD_STAGING is a FIFO, not a regular file" \
	"-f output that is a FIFO: says so"
ok "-f output that is a FIFO: not published" test ! -e "$P/fifo"
is "$(leftovers "$P")" "" "-f output that is a FIFO: no staging left"

timeout "$TO" "$LB" --no-fsync "$L" ff -f -o "$P/fifo" \
	sh -c 'mkfifo "$LOCKBUILD_STAGING"' 2>/dev/null
is "$?" 65 "-f --no-fsync output that is a FIFO: refused with 65 too"
ok "-f --no-fsync output that is a FIFO: not published" test ! -e "$P/fifo"

echo old >"$P/file"
timeout "$TO" "$LB" --if-changed "$L" ff -f -o "$P/file" \
	sh -c 'mkfifo "$LOCKBUILD_STAGING"' 2>/dev/null
is "$?" 65 "-f --if-changed, a FIFO replacing a file: refused with 65"
is "$(cat "$P/file")" old "-f --if-changed, a FIFO: DEST left as it was"

if [ "$(id -u)" -eq 0 ]; then
	timeout "$TO" "$LB" "$L" ff -f -o "$P/dev" \
		sh -c 'mknod "$LOCKBUILD_STAGING" c 1 3' 2>"$T/err"
	is "$?" 65 "-f output that is a device: refused with 65"
	like "$(cat "$T/err")" "is a device, not a regular file" \
		"-f output that is a device: says so"
else
	skip_n 2 "mknod needs root"
fi

# Inside a directory: published as they are, never opened.
timeout "$TO" "$LB" "$L" ff -o "$P/d" sh -c 'cd "$LOCKBUILD_STAGING" &&
	mkfifo p && mkdir sub && mkfifo sub/q && echo x >f' 2>"$T/err"
is "$?" 0 "a tree with FIFOs: published, exit 0"
ok "a tree with FIFOs: the FIFOs are there" test -p "$P/d/p" -a -p "$P/d/sub/q"
ino=$(stat -c %i "$P/d")
timeout "$TO" "$LB" --if-changed "$L" ff -o "$P/d" sh -c '
	cd "$LOCKBUILD_STAGING" && mkfifo p && mkdir sub && mkfifo sub/q &&
	echo x >f' 2>"$T/err"
is "$?" 0 "--if-changed, the same tree with FIFOs: exit 0"
is "$(stat -c %i "$P/d")" "$ino" "--if-changed, the same tree: left alone"
timeout "$TO" "$LB" --if-changed "$L" ff -o "$P/d" sh -c '
	cd "$LOCKBUILD_STAGING" && echo p >p && mkdir sub && mkfifo sub/q &&
	echo x >f' 2>"$T/err"
is "$?" 0 "--if-changed, a FIFO become a file: exit 0"
is "$(cat "$P/d/p")" p "--if-changed, a FIFO become a file: published"
is "$(leftovers "$P")" "" "no staging left"

done_testing
