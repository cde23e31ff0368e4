// SPDX-License-Identifier: GPL-2.0-only
/*
 * LZ4 clusters: one raw LZ4 block (no frame), as written by both the lz4
 * and lz4hc compressors.  No workspace: the block decoder needs none.
 */
#include <linux/kernel.h>
#include <linux/lz4.h>
#include "decompressor.h"

static int xipfs_lz4_decompress(const void *src, unsigned int slen,
				void *dst, unsigned int dlen)
{
	int ret;

	/* The LZ4 API counts in int. */
	if (!dlen || slen > INT_MAX || dlen > INT_MAX)
		return -EFSCORRUPTED;
	/* The safe decoder never reads or writes outside the two buffers. */
	ret = LZ4_decompress_safe(src, dst, slen, dlen);
	if (ret < 0 || ret != dlen)
		return -EFSCORRUPTED;
	return 0;
}

const struct xipfs_decompressor xipfs_decomp_lz4 = {
	.name = "lz4",
	.decompress = xipfs_lz4_decompress,
};
