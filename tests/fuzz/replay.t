#!/bin/sh
# make check: every input of the committed fuzz corpora (tests/fuzz/corpus/
# NAME/) through its harness, built without libFuzzer (tests/fuzz/replay.c):
# the checks each harness makes on every input hold for these.
. "$TESTS_DIR/lib.sh"

for h in keyname owner cli; do
	bin=$TESTS_DIR/fuzz/replay_$h
	for f in "$TESTS_DIR/fuzz/corpus/$h"/*; do
		"$bin" "$f" >"$T/out" 2>&1
		rc=$?
		is "$rc" 0 "fuzz_$h: corpus/$h/${f##*/}"
		[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/out"
	done
done
done_testing
