// SPDX-License-Identifier: GPL-2.0
/*
 * xz: one .xz stream, LZMA2 only, check CRC32: what the kernel's xz_dec
 * accepts (it knows LZMA2 and BCJ filters, and CRC32 or no check).  The
 * dictionary is the smallest power of two covering the cluster: a bigger
 * one cannot help and would only ask the decoder for more memory.
 */
#include <lzma.h>
#include <stdint.h>

#include "compress_impl.h"

static size_t xz_compress(const void *src, size_t src_len,
			  void *dst, size_t dst_cap, int level)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	size_t out_pos = 0;
	uint32_t dict = LZMA_DICT_SIZE_MIN;

	if (lzma_lzma_preset(&opt, (uint32_t)level))
		return 0;
	while (dict < src_len && dict < (1U << 30))
		dict <<= 1;
	opt.dict_size = dict;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	if (lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, NULL,
				      src, src_len, dst, &out_pos, dst_cap) != LZMA_OK)
		return 0;
	return out_pos;
}

static int xz_decompress(const void *src, size_t src_len,
			 void *dst, size_t dst_len)
{
	const unsigned char *p = src;
	/* A cluster needs at most a 256 KiB dictionary: bound hostile input. */
	uint64_t memlimit = 64 << 20;
	size_t in_pos = 0, out_pos = 0;

	/*
	 * Stream flags (bytes 6 and 7 of the header): refuse a check the
	 * kernel cannot verify, as the kernel would.
	 */
	if (src_len < 12 || p[6] != 0 ||
	    (p[7] != LZMA_CHECK_NONE && p[7] != LZMA_CHECK_CRC32))
		return -1;
	if (lzma_stream_buffer_decode(&memlimit, 0, NULL, src, &in_pos, src_len,
				      dst, &out_pos, dst_len) != LZMA_OK)
		return -1;
	return in_pos == src_len && out_pos == dst_len ? 0 : -1;
}

const struct xipfs_compressor xipfs_comp_xz = {
	.name = "xz",
	.alg = XIPFS_COMP_XZ,
	.min_level = 0, .max_level = 9, .default_level = 6,
	.compress = xz_compress,
	.decompress = xz_decompress,
};
