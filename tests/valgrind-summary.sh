#!/bin/sh
# valgrind-summary.sh DIR: sums up the reports that tests/valgrind-wrap.sh
# wrote to DIR (and its subdirectories), one file per lockbuild run:
#   valgrind: N runs, E errors, D bytes definitely lost in B blocks (U unfinished)
# and prints every report with an error or a definite leak.  A run that
# ended without valgrind's final summary is "unfinished": killed by SIGKILL
# (stale_crash.t, lock_signals.t and others do it on purpose), turned into
# COMMAND by -F (exec), or still running; they are counted by directory.
# If such a report shows anything after its header, that counts as an
# error too.  Exits 1 when any error or definite
# leak was found, 2 when DIR holds no report at all.
set -u
dir=${1:?usage: valgrind-summary.sh DIR}

# The list of reports comes on stdin: one awk for all of them, whatever
# their number.
find "$dir" -type f -name 'vg.*' -print | sort | awk '
function scan(f,    l, n, b, k, summary, e, dl, db, other) {
	summary = 0; e = 0; dl = 0; db = 0; other = 0
	while ((getline l < f) > 0) {
		sub(/^==[0-9]+== ?/, "", l)
		if (l ~ /^ERROR SUMMARY: /) {
			summary = 1
			sub(/^ERROR SUMMARY: /, "", l); sub(/ .*/, "", l); e = l + 0
		} else if (l ~ /^ *definitely lost: /) {
			sub(/^ *definitely lost: /, "", l)
			b = l; sub(/ bytes.*/, "", b); gsub(/,/, "", b); dl = b + 0
			k = l; sub(/.* in /, "", k); sub(/ blocks.*/, "", k); gsub(/,/, "", k); db = k + 0
		} else if (l !~ /^(Memcheck, |Copyright |Using Valgrind|Command: |Parent PID: |$)/) {
			other = 1
		}
	}
	close(f)
	runs++
	if (!summary) {
		unfinished++
		d = f; sub(/\/[^\/]*$/, "", d); sub(/.*\//, "", d)
		if (!(d in where)) order[++nwhere] = d
		where[d]++
		if (other) { errs++; bad[++nbad] = f }
	} else if (e > 0 || dl > 0) {
		bad[++nbad] = f
	}
	errs += e; dbytes += dl; dblocks += db
}
{ scan($0) }
END {
	printf "valgrind: %d runs, %d errors, %d bytes definitely lost in %d blocks (%d unfinished)\n", runs, errs, dbytes, dblocks, unfinished
	if (nwhere > 0) {
		printf "valgrind: unfinished (SIGKILL, -F exec, or still running):"
		for (i = 1; i <= nwhere; i++)
			printf "%s %s %d", (i > 1 ? "," : ""), order[i], where[order[i]]
		printf "\n"
	}
	for (i = 1; i <= nbad; i++) {
		printf "valgrind: report with errors: %s\n", bad[i]
		while ((getline l < bad[i]) > 0) print "#   " l
		close(bad[i])
	}
	if (runs == 0) exit 2
	exit (nbad > 0 || errs > 0 || dbytes > 0) ? 1 : 0
}'
