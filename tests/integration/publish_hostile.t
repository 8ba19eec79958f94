# Publishing next to DEST in a directory that others can write (a sticky,
# world-writable /tmp/shared): what another user plants there must not
# make our build touch anything of theirs or of ours through it.  A
# container named like ours (.lockbuild.XXXXXXXX.BASE) but planted by
# someone else is neither entered, nor removed, nor reported on each
# build; and no chmod of a directory that a build cannot read follows a
# name that its owner keeps swapping with a symlink (RENAME_EXCHANGE in
# a loop) to a file of ours.  The two-user checks run as root, with
# setpriv and raw uids that need no account, and are skipped otherwise.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

VU=61234	# the user who builds
AU=61235	# the user who plants containers
# Traversable by both users; what is in it stays root's.
chmod 755 "$T"

as() {	# as UID COMMAND...: runs COMMAND as that uid and gid
	_u=$1; shift
	setpriv --reuid="$_u" --regid="$_u" --clear-groups "$@"
}

if [ "$(id -u)" -ne 0 ] || ! as "$VU" "$LB" --version >/dev/null 2>&1; then
	skip_n 11 "two users: needs root and setpriv"
	done_testing
	exit
fi

S=$T/shared
mkdir -m 1777 "$S"
mkdir -m 755 "$T/home" "$T/home/web"
echo hello >"$T/home/web/index.html"
chmod 644 "$T/home/web/index.html"
mkdir -m 700 "$T/home/locks"
chown -R "$VU:$VU" "$T/home"
VL=$T/home/locks

# --- a planted container is not ours ------------------------------------------

C=$S/.lockbuild.Plant000.out
as "$AU" sh -c 'mkdir -m 755 "$0" && echo theirs >"$0/f" &&
	mkdir -m 000 "$0/d" && ln -s "$1" "$0/l"' "$C" "$T/home/web/index.html"
as "$VU" "$LB" "$VL" k -f -o "$S/out" sh -c 'echo v >"$LOCKBUILD_STAGING"' \
	2>"$T/err"
is "$?" 0 "a planted container: the build publishes, exit 0"
is "$(cat "$T/err")" "" "a planted container: not reported as a leftover"
is "$(cat "$C/f" 2>/dev/null)" theirs "a planted container: left alone"
is "$(cat "$S/out")" v "a planted container: DEST published"

# Root builds: a container of another user is not root's to delete.
C2=$S/.lockbuild.Plant000.out2
as "$AU" sh -c 'mkdir -m 700 "$0" && echo theirs >"$0/f"' "$C2"
"$LB" "$T/locks" k -f -o "$S/out2" sh -c 'echo r >"$LOCKBUILD_STAGING"' \
	2>"$T/err"
is "$?" 0 "root, a planted container: exit 0"
is "$(cat "$C2/f" 2>/dev/null)" theirs \
	"root, another user's container: left alone"

# A container of ours that is no longer 0700 was not made by lockbuild.
C3=$S/.lockbuild.Plant000.out3
mkdir -m 755 "$C3"
echo mine >"$C3/f"
"$LB" "$T/locks" k -f -o "$S/out3" sh -c 'echo r >"$LOCKBUILD_STAGING"' \
	2>"$T/err"
is "$(cat "$C3/f" 2>/dev/null)" mine "a container of ours not 0700: left alone"

# Our own leftover with a directory we cannot read is still removed: the
# directory is made readable through a descriptor of it.
C4=$S/.lockbuild.Mine0000.out
as "$VU" sh -c 'mkdir -m 700 "$0" && mkdir "$0/d" && echo x >"$0/d/x" &&
	chmod 000 "$0/d"' "$C4"
as "$VU" "$LB" "$VL" k -f -o "$S/out" sh -c 'echo w >"$LOCKBUILD_STAGING"' \
	2>"$T/err"
like "$(cat "$T/err")" "removed leftover staging dir '$C4'" \
	"our leftover with an unreadable dir: removed and reported"
ok "our leftover with an unreadable dir: gone" test ! -e "$C4"

# --- swapping a dir for a link to our file while we clean up ---------------------

# renameat2(RENAME_EXCHANGE) from perl: the syscall number is per
# architecture.
case $(uname -m) in
x86_64) nr=316 ;;
aarch64) nr=276 ;;
*) nr= ;;
esac
if [ -z "$nr" ] || ! command -v perl >/dev/null 2>&1; then
	skip_n 2 "renameat2 from perl: unknown syscall number here"
else
	# Twenty unreadable dirs of the planter, each swapped again and
	# again with a link to the builder's file.
	C=$S/.lockbuild.Swap0000.sw
	as "$AU" sh -c 'mkdir -m 755 "$0" && i=1 && while [ $i -le 20 ]; do
		mkdir -m 000 "$0/d$i" && ln -s "$1" "$0/l$i" && i=$((i + 1))
		done' "$C" "$T/home/web/index.html"
	as "$AU" perl -e '
		my ($nr, $c, $stop) = @ARGV;
		my $end = time + 60;
		while (time < $end && ! -e $stop) {
			for my $i (1 .. 20) {
				syscall($nr, -100, "$c/d$i", -100, "$c/l$i", 2);
			}
		}' "$nr" "$C" "$T/stop" &
	swapper=$!
	i=0
	while [ "$i" -lt 150 ]; do
		as "$VU" "$LB" "$VL" k -f -o "$S/sw" \
			sh -c 'echo v >"$LOCKBUILD_STAGING"' 2>/dev/null
		i=$((i + 1))
		[ "$(stat -c %a "$T/home/web/index.html")" = 644 ] || break
	done
	: >"$T/stop"
	reap "$swapper"
	is "$(stat -c %a "$T/home/web/index.html")" 644 \
		"150 builds while dirs and links are swapped: our file keeps 644"
	is "$(ls -A "$C" | wc -l)" 40 "the swapped container is left alone"
fi

done_testing
