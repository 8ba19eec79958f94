#!/bin/sh
# The README's recipes, run as a new user would run them: the shell and
# Makefile blocks are cut out of README.md, /tmp/recipes is moved into the
# test's scratch dir, and they must work as written (the Makefile one also
# as two make -j4 at once, and again with nothing rebuilt).
. "$TESTS_DIR/lib.sh"

README=$TESTS_DIR/../README.md
mkdir -p "$T/bin"
ln -s "$LB" "$T/bin/lockbuild"
PATH=$T/bin:$PATH
export PATH

# block LANG N: the Nth fenced block of language LANG, /tmp/recipes moved.
block() {
	awk -v lang="$1" -v want="$2" '
		/^```/ { if (inside) { inside = 0; next }
			 if ($0 == "```" lang) { n++; inside = (n == want); next } }
		inside { print }' "$README" | sed "s|/tmp/recipes|$T/recipes|g"
}

# The 30-second tour, from the top of the repository as the README says.
block sh 2 | sed "s|/tmp/tour|$T/tour|g" >"$T/tour.sh"
out=$(cd "$TESTS_DIR/.." && sh "$T/tour.sh" 2>&1)
is "$?" 0 "the 30-second tour runs"
like "$out" "gave up after 0.5s" "the tour's timeout gives up with a message"
like "$out" "^75$" "and status 75"
like "$out" "^demo: exclusive; holder pid [0-9]+ \(sleep 5\)" "--status shows the holder"
like "$out" "<h1>built" "the published page is there"
is "$(ls -A "$T/tour/locks")" "" "the tour leaves no lock files"

block sh 3 >"$T/shell.sh"
ok "the README has a shell recipe" test -s "$T/shell.sh"
out=$(sh "$T/shell.sh" 2>&1)
is "$?" 0 "the shell recipe runs"
like "$out" "step 2" "it runs the commands under one key"
like "$out" "^done$" "and tells a finished report apart"

block make 1 >"$T/Makefile"
ok "the README has a Makefile recipe" test -s "$T/Makefile"
if command -v make >/dev/null 2>&1; then
	mkdir "$T/w"
	cp "$T/Makefile" "$T/w/Makefile"
	(cd "$T/w" && make -s -j4 >"$T/m1.log" 2>&1) &
	a=$!
	(cd "$T/w" && make -s -j4 >"$T/m2.log" 2>&1) &
	b=$!
	wait "$a"; ra=$?
	wait "$b"; rb=$?
	is "$ra.$rb" "0.0" "two make -j4 at once on the README's Makefile succeed"
	is "$(cat "$T/recipes/cache/tool/VERSION")" "1.0" "the shared directory was published"
	is "$(cat "$T/w/build-info.txt")" "$(uname -sm)" "build-info.txt was published"
	stamp=$(stat -c '%Y.%y %i' "$T/w/build-info.txt")
	(cd "$T/w" && make -s -j4 >"$T/m3.log" 2>&1)
	is "$?" 0 "a second make succeeds"
	is "$(stat -c '%Y.%y %i' "$T/w/build-info.txt")" "$stamp" \
		"and leaves build-info.txt untouched (--if-changed)"
	is "$(ls -A "$T/recipes/cache/locks")" "" "no lock files are left"
else
	skip "GNU make is not installed"
fi
done_testing
