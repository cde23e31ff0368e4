// SPDX-License-Identifier: GPL-2.0-only
/*
 * zstd clusters: one zstd frame that records its content size.
 *
 * Uses the kernel's zstd_* wrapper API (<linux/zstd.h>, since 5.16), which
 * later kernels kept unchanged: zstd_dctx_workspace_bound(),
 * zstd_init_dctx(), zstd_decompress_dctx(), zstd_get_frame_header(),
 * zstd_find_frame_compressed_size().  (zstd 1.5.7, in 6.15, renamed the
 * struct behind zstd_frame_header but kept the typedef and its fields.)
 * Older kernels had ZSTD_* names instead and are not supported.  The
 * whole output buffer is given at once, so the frame's window size does
 * not matter.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/zstd.h>
#include "decompressor.h"

static void *xipfs_zstd_alloc(gfp_t gfp)
{
	/* Large: kvmalloc falls back to vmalloc rather than fail. */
	return kvmalloc(zstd_dctx_workspace_bound(), gfp);
}

static void xipfs_zstd_free(void *ws)
{
	kvfree(ws);
}

static struct xipfs_ws_pool xipfs_zstd_pool =
	XIPFS_WS_POOL_INIT(xipfs_zstd_pool, xipfs_zstd_alloc, xipfs_zstd_free);

static int xipfs_zstd_decompress(const void *src, unsigned int slen,
				 void *dst, unsigned int dlen)
{
	zstd_frame_header fh;
	zstd_dctx *dctx;
	size_t ret;
	void *ws;
	int err = -EFSCORRUPTED;

	/*
	 * The header must record dlen, so a wrong size fails before any
	 * decoding, and the frame must span exactly slen bytes.  (A
	 * skippable frame decodes to nothing and fails the check below.)
	 */
	if (!dlen || zstd_get_frame_header(&fh, src, slen) ||
	    fh.frameContentSize != dlen)
		return -EFSCORRUPTED;
	ret = zstd_find_frame_compressed_size(src, slen);
	if (zstd_is_error(ret) || ret != slen)
		return -EFSCORRUPTED;

	ws = xipfs_ws_get(&xipfs_zstd_pool);
	if (IS_ERR(ws))
		return PTR_ERR(ws);
	/* Cheap, and leaves no state behind from an earlier bad frame. */
	dctx = zstd_init_dctx(ws, zstd_dctx_workspace_bound());
	if (dctx) {
		ret = zstd_decompress_dctx(dctx, dst, dlen, src, slen);
		if (!zstd_is_error(ret) && ret == dlen)
			err = 0;
	}
	xipfs_ws_put(&xipfs_zstd_pool, ws);
	return err;
}

static void xipfs_zstd_exit(void)
{
	xipfs_ws_pool_destroy(&xipfs_zstd_pool);
}

const struct xipfs_decompressor xipfs_decomp_zstd = {
	.name = "zstd",
	.exit = xipfs_zstd_exit,
	.decompress = xipfs_zstd_decompress,
};
