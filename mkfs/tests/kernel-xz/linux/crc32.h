/* SPDX-License-Identifier: GPL-2.0 */
#include "../kshim.h"
#include <zlib.h>
/* The kernel's crc32_le(seed, ...) is zlib's crc32() without the inversions. */
static inline u32 crc32_le(u32 seed, const void *p, size_t len)
{
	return ~(u32)crc32(~seed & 0xffffffffUL, p, len);
}
