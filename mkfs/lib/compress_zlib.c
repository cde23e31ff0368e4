// SPDX-License-Identifier: GPL-2.0
/*
 * zlib: one RFC 1950 stream with a window of at most 32 KiB, which the
 * kernel's zlib_inflate reads.  Written by libdeflate, whose whole-buffer
 * parser (levels 10-12: near-optimal) makes smaller streams than zlib's
 * deflate at any level; levels 1-12, default 9 (zlib's -9, and squashfs's
 * gzip default).  Read back with zlib, the kernel's inflate's ancestor.
 */
#include <libdeflate.h>
#include <stdint.h>
#include <zlib.h>

#include "compress_impl.h"

static size_t zlib_compress(const void *src, size_t src_len,
			    void *dst, size_t dst_cap, int level)
{
	struct libdeflate_compressor *c;
	size_t n;

	/* Per call: a compressor is not thread-safe, and cheap next to 9+. */
	c = libdeflate_alloc_compressor(level);
	if (!c)
		return 0;
	/* 0 when it does not fit */
	n = libdeflate_zlib_compress(c, src, src_len, dst, dst_cap);
	libdeflate_free_compressor(c);
	return n;
}

static int zlib_decompress(const void *src, size_t src_len,
			   void *dst, size_t dst_len)
{
	z_stream zs = { 0 };
	unsigned char spare;
	int ret;

	if (src_len > UINT32_MAX || dst_len > UINT32_MAX)
		return -1;
	if (inflateInit(&zs) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)src;
	zs.avail_in = src_len;
	zs.next_out = dst;
	zs.avail_out = dst_len;
	ret = inflate(&zs, Z_FINISH);
	if (ret == Z_BUF_ERROR && zs.avail_out == 0) {
		/* Output full but stream not ended: it is too long. */
		zs.next_out = &spare;
		zs.avail_out = 1;
		ret = inflate(&zs, Z_FINISH);
		if (ret == Z_STREAM_END)
			ret = Z_DATA_ERROR;
	}
	inflateEnd(&zs);
	if (ret != Z_STREAM_END || zs.avail_out || zs.avail_in)
		return -1;
	return 0;
}

const struct xipfs_compressor xipfs_comp_zlib = {
	.name = "zlib",
	.alg = XIPFS_COMP_ZLIB,
	.min_level = 1, .max_level = 12, .default_level = 9,
	.compress = zlib_compress,
	.decompress = zlib_decompress,
};
