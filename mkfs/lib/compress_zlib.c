// SPDX-License-Identifier: GPL-2.0
/*
 * zlib: one RFC 1950 stream with the default 32 KiB window (windowBits 15),
 * which the kernel's zlib_inflate reads.
 */
#include <stdint.h>
#include <zlib.h>

#include "compress_impl.h"

static size_t zlib_compress(const void *src, size_t src_len,
			    void *dst, size_t dst_cap, int level)
{
	uLongf n = dst_cap;

	if (src_len > UINT32_MAX || dst_cap > UINT32_MAX)
		return 0;
	if (compress2(dst, &n, src, src_len, level) != Z_OK)
		return 0;
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
	.min_level = 1, .max_level = 9, .default_level = 6,
	.compress = zlib_compress,
	.decompress = zlib_decompress,
};
