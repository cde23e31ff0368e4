// SPDX-License-Identifier: GPL-2.0-only
/*
 * xz clusters: one .xz stream, LZMA2 with an optional BCJ filter, check
 * NONE or CRC32 (the kernel's xz_dec verifies CRC32 and supports no
 * other check; a BCJ filter the kernel was built without is reported as
 * corruption too).
 *
 * Single-call mode decodes straight into dst, which doubles as the LZMA2
 * dictionary, so the state is only the decoder itself (about 30 KiB).
 * xz_dec_init() allocates that with kmalloc; it cannot take our gfp.
 * The API is the same from 2.6.38 to 6.12 and later (6.12 only dropped
 * the XZ_EXTERN markers).
 */
#include <linux/err.h>
#include <linux/xz.h>
#include "decompressor.h"

static void *xipfs_xz_alloc(gfp_t gfp)
{
	return xz_dec_init(XZ_SINGLE, 0);
}

static void xipfs_xz_free(void *ws)
{
	xz_dec_end(ws);
}

static struct xipfs_ws_pool xipfs_xz_pool =
	XIPFS_WS_POOL_INIT(xipfs_xz_pool, xipfs_xz_alloc, xipfs_xz_free);

static int xipfs_xz_decompress(const void *src, unsigned int slen,
			       void *dst, unsigned int dlen)
{
	struct xz_buf b = {
		.in = src,
		.in_size = slen,
		.out = dst,
		.out_size = dlen,
	};
	struct xz_dec *s;
	enum xz_ret ret;

	if (!dlen)
		return -EFSCORRUPTED;

	s = xipfs_ws_get(&xipfs_xz_pool);
	if (IS_ERR(s))
		return PTR_ERR(s);
	/* Single-call mode resets the decoder itself on every call. */
	ret = xz_dec_run(s, &b);
	xipfs_ws_put(&xipfs_xz_pool, s);

	/* Exactly one stream, nothing after it (not even padding). */
	if (ret != XZ_STREAM_END || b.out_pos != dlen || b.in_pos != slen)
		return -EFSCORRUPTED;
	return 0;
}

static void xipfs_xz_exit(void)
{
	xipfs_ws_pool_destroy(&xipfs_xz_pool);
}

const struct xipfs_decompressor xipfs_decomp_xz = {
	.name = "xz",
	.exit = xipfs_xz_exit,
	.decompress = xipfs_xz_decompress,
};
