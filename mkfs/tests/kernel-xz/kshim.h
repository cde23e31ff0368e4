/* SPDX-License-Identifier: GPL-2.0 */
/* Just enough of the kernel for fs/xipfs/decompressor_xz.c in userspace. */
#ifndef KSHIM_H
#define KSHIM_H
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;
#define cpu_to_le32(x) ((__le32)htole32(x))
#endif
