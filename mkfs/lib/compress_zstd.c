// SPDX-License-Identifier: GPL-2.0
/*
 * zstd: one frame with the content size in its header.  A one-shot
 * compression of a known-size input writes a single-segment frame, whose
 * window is the content size: no bigger than the kernel needs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

#include "compress_impl.h"

/* One context per thread, freed when the thread exits. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void cctx_free(void *p)
{
	ZSTD_freeCCtx(p);
}

static void cctx_key_init(void)
{
	if (pthread_key_create(&cctx_key, cctx_free))
		abort();
}

static size_t zstd_compress(const void *src, size_t src_len,
			    void *dst, size_t dst_cap, int level)
{
	ZSTD_CCtx *cctx;
	size_t n;

	pthread_once(&cctx_once, cctx_key_init);
	cctx = pthread_getspecific(cctx_key);
	if (!cctx) {
		cctx = ZSTD_createCCtx();
		if (!cctx)
			return 0;
		if (pthread_setspecific(cctx_key, cctx)) {
			ZSTD_freeCCtx(cctx);
			return 0;
		}
	}
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)))
		return 0;
	n = ZSTD_compress2(cctx, dst, dst_cap, src, src_len);
	return ZSTD_isError(n) ? 0 : n;
}

static int zstd_decompress(const void *src, size_t src_len,
			   void *dst, size_t dst_len)
{
	unsigned long long csize = ZSTD_getFrameContentSize(src, src_len);
	size_t n;

	/* Exactly one frame, which says how much it holds. */
	if (csize != dst_len || ZSTD_findFrameCompressedSize(src, src_len) != src_len)
		return -1;
	n = ZSTD_decompress(dst, dst_len, src, src_len);
	return !ZSTD_isError(n) && n == dst_len ? 0 : -1;
}

const struct xipfs_compressor xipfs_comp_zstd = {
	.name = "zstd",
	.alg = XIPFS_COMP_ZSTD,
	.min_level = 1, .max_level = 22, .default_level = 15,
	.compress = zstd_compress,
	.decompress = zstd_decompress,
};
