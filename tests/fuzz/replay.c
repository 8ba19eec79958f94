/*
 * Replays fuzz inputs through a libFuzzer harness without libFuzzer, so
 * that make check runs the committed corpus (tests/fuzz/corpus/NAME/) on
 * every build: linked with one tests/fuzz/fuzz_NAME.c, it feeds each FILE
 * to LLVMFuzzerTestOneInput once.  A harness reports a failed check by
 * aborting, so exit status 0 means every input passed.
 * Usage: replay_NAME FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0, n;

		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		/* The size libFuzzer would pass: exactly the file's bytes. */
		do {
			if (len == cap) {
				cap = cap ? 2 * cap : 4096;
				if ((buf = realloc(buf, cap)) == NULL) {
					perror("realloc");
					return 1;
				}
			}
			n = fread(buf + len, 1, cap - len, f);
			len += n;
		} while (n > 0);
		if (ferror(f)) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
	}
	return 0;
}
