/*
 * CRC-32 as POSIX specifies it for cksum(1): polynomial 0x04C11DB7,
 * most significant bit first, the length appended in as few bytes as
 * it needs (least significant first), the result complemented.  A
 * record is a few hundred bytes, so a table would buy nothing.
 */
#include "cksum.h"

static uint32_t
step(uint32_t crc, unsigned char c)
{
	int i;

	crc ^= (uint32_t)c << 24;
	for (i = 0; i < 8; i++)
		crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u : crc << 1;
	return crc;
}

uint32_t
cksum(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint32_t crc = 0;
	size_t i, n;

	for (i = 0; i < len; i++)
		crc = step(crc, s[i]);
	for (n = len; n != 0; n >>= 8)
		crc = step(crc, (unsigned char)(n & 0xff));
	return ~crc;
}
