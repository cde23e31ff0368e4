/* SPDX-License-Identifier: GPL-2.0 */
/* lib/xz of the kernel built in userspace, as configured in Debian's (BCJ x86). */
#ifndef XZ_CONFIG_H
#define XZ_CONFIG_H
#define XZ_DEC_X86
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/xz.h>

#define kmalloc(size, flags) malloc(size)
#define kfree(ptr) free(ptr)
#define vmalloc(size) malloc(size)
#define vfree(ptr) free(ptr)
#define memeq(a, b, size) (memcmp(a, b, size) == 0)
#define memzero(buf, size) memset(buf, 0, size)
#define min(x, y) ((x) < (y) ? (x) : (y))
#define min_t(type, x, y) min(x, y)
#define fallthrough __attribute__((__fallthrough__))

static inline uint32_t get_unaligned_le32(const uint8_t *b)
{
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint32_t get_unaligned_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static inline void put_unaligned_le32(uint32_t v, uint8_t *b)
{
	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}

static inline void put_unaligned_be32(uint32_t v, uint8_t *b)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

#define get_le32 get_unaligned_le32
#endif
