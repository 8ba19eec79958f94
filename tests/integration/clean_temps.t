#!/bin/sh
# --clean and the temporary names of lock files (.NAME.lock.XXXXXXXX)
# that a lockbuild killed while making a lock file leaves where
# O_TMPFILE is missing (NFS): removed once unlocked and an hour old;
# a recent one, a key's named form and anything not of that shape stay.
. "$TESTS_DIR/lib.sh"

L=$T/locks
mkdir -p "$L"
printf 'lockbuild-owner\n' >"$L/.old.lock.AbCd1234"
touch -d '2 hours ago' "$L/.old.lock.AbCd1234"
printf 'lockbuild-owner\n' >"$L/.new.lock.AbCd1234"
printf 'x\n' >"$L/.old.lock.AbCd12345"
touch -d '2 hours ago' "$L/.old.lock.AbCd12345"

out=$("$LB" --clean "$L"); rc=$?
is "$rc" 0 "--clean exits 0"
is "$out" "removed leftover temporary lock file '.old.lock.AbCd1234'" \
	"and names the leftover it removed"
ok "the old temporary name is gone" test ! -e "$L/.old.lock.AbCd1234"
ok "a recent one stays (its maker may be alive on another host)" \
	test -e "$L/.new.lock.AbCd1234"
ok "a name of another shape stays" test -e "$L/.old.lock.AbCd12345"

# Named keys only: the temporary names are swept with the whole LOCKDIR.
touch -d '2 hours ago' "$L/.new.lock.AbCd1234"
"$LB" --clean "$L" new >/dev/null
ok "--clean LOCKDIR KEY leaves temporary names alone" \
	test -e "$L/.new.lock.AbCd1234"
done_testing
