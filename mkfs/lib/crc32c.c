// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C as the format defines it (initial ~0, final xor ~0), on top of
 * ISA-L's crc32_iscsi(), which does neither inversion itself.
 */
#include <isa-l/crc.h>
#include <limits.h>

#include "crc32c.h"

uint32_t xipfs_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= n;
	}
	return crc;
}

uint32_t xipfs_crc32c(const void *buf, size_t len)
{
	return ~xipfs_crc32c_update(~0U, buf, len);
}
