// SPDX-License-Identifier: GPL-2.0-only
/*
 * zlib clusters: one zlib (RFC 1950) stream, inflated in one call with
 * Z_FINISH; its Adler-32 is checked by zlib_inflate().
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/zlib.h>
#include "decompressor.h"

static void *xipfs_zlib_alloc(gfp_t gfp)
{
	return kvmalloc(zlib_inflate_workspacesize(), gfp);
}

static void xipfs_zlib_free(void *ws)
{
	kvfree(ws);
}

static struct xipfs_ws_pool xipfs_zlib_pool =
	XIPFS_WS_POOL_INIT(xipfs_zlib_pool, xipfs_zlib_alloc, xipfs_zlib_free);

static int xipfs_zlib_decompress(const void *src, unsigned int slen,
				 void *dst, unsigned int dlen)
{
	struct z_stream_s strm = {};
	int err = -EFSCORRUPTED;
	int ret;

	if (!dlen)
		return -EFSCORRUPTED;

	strm.workspace = xipfs_ws_get(&xipfs_zlib_pool);
	if (IS_ERR(strm.workspace))
		return PTR_ERR(strm.workspace);
	/* Any window the header asks for, up to zlib's maximum. */
	if (zlib_inflateInit2(&strm, MAX_WBITS) != Z_OK)
		goto out;
	strm.next_in = src;
	strm.avail_in = slen;
	strm.next_out = dst;
	strm.avail_out = dlen;
	ret = zlib_inflate(&strm, Z_FINISH);
	/* The stream must end exactly at dlen, and so must the input. */
	if (ret == Z_STREAM_END && strm.total_out == dlen && !strm.avail_in)
		err = 0;
	zlib_inflateEnd(&strm);
out:
	xipfs_ws_put(&xipfs_zlib_pool, strm.workspace);
	return err;
}

static void xipfs_zlib_exit(void)
{
	xipfs_ws_pool_destroy(&xipfs_zlib_pool);
}

const struct xipfs_decompressor xipfs_decomp_zlib = {
	.name = "zlib",
	.exit = xipfs_zlib_exit,
	.decompress = xipfs_zlib_decompress,
};
