// SPDX-License-Identifier: GPL-2.0
/*
 * LZ4: one raw block, the form the kernel's LZ4_decompress_safe() reads.
 * "lz4" is the fast compressor (level = acceleration), "lz4hc" the
 * high-compression one; both write the same on-media format.
 */
#include <limits.h>
#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stdlib.h>

#include "compress_impl.h"

/* The HC state is large (~256 KiB): one per thread, freed at thread exit. */
static pthread_key_t hc_key;
static pthread_once_t hc_once = PTHREAD_ONCE_INIT;

static void hc_key_init(void)
{
	if (pthread_key_create(&hc_key, free))
		abort();
}

static void *hc_state(void)
{
	void *state;

	pthread_once(&hc_once, hc_key_init);
	state = pthread_getspecific(hc_key);
	if (!state) {
		state = malloc(LZ4_sizeofStateHC());
		if (state && pthread_setspecific(hc_key, state)) {
			free(state);
			state = NULL;
		}
	}
	return state;
}

static size_t lz4_compress(const void *src, size_t src_len,
			   void *dst, size_t dst_cap, int level)
{
	int n;

	if (src_len > LZ4_MAX_INPUT_SIZE || dst_cap > INT_MAX)
		return 0;
	n = LZ4_compress_fast(src, dst, (int)src_len, (int)dst_cap, level);
	return n > 0 ? (size_t)n : 0;
}

static size_t lz4hc_compress(const void *src, size_t src_len,
			     void *dst, size_t dst_cap, int level)
{
	int n;

	if (src_len > LZ4_MAX_INPUT_SIZE || dst_cap > INT_MAX)
		return 0;
	void *state = hc_state();

	if (!state)
		return 0;
	n = LZ4_compress_HC_extStateHC(state, src, dst, (int)src_len,
				       (int)dst_cap, level);
	return n > 0 ? (size_t)n : 0;
}

static int lz4_decompress(const void *src, size_t src_len,
			  void *dst, size_t dst_len)
{
	if (src_len > INT_MAX || dst_len > INT_MAX)
		return -1;
	return LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_len) ==
	       (int)dst_len ? 0 : -1;
}

const struct xipfs_compressor xipfs_comp_lz4 = {
	.name = "lz4",
	.alg = XIPFS_COMP_LZ4,
	.min_level = 1, .max_level = 65537, .default_level = 1,
	.compress = lz4_compress,
	.decompress = lz4_decompress,
};

const struct xipfs_compressor xipfs_comp_lz4hc = {
	.name = "lz4hc",
	.alg = XIPFS_COMP_LZ4,
	.min_level = LZ4HC_CLEVEL_MIN, .max_level = LZ4HC_CLEVEL_MAX,
	.default_level = LZ4HC_CLEVEL_DEFAULT,
	.compress = lz4hc_compress,
	.decompress = lz4_decompress,
};
