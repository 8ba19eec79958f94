/* The checksum of POSIX cksum(1), so a record can be checked by hand. */
#ifndef LOCKBUILD_CKSUM_H
#define LOCKBUILD_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* What "cksum" prints first for the len bytes at p. */
uint32_t cksum(const void *p, size_t len);

#endif
