/* SHA-256 (FIPS 180-4), used to shorten keys that do not fit in a name. */
#ifndef LOCKBUILD_SHA256_H
#define LOCKBUILD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

#endif
