// SPDX-License-Identifier: GPL-2.0
/*
 * xz: raw LZMA2 chunks (the .xz format's LZMA2 filter data), without the
 * .xz container: no stream header or footer, block header, index or
 * check, which would cost about 60 bytes per cluster.  The kernel frames
 * the chunks itself (fs/xipfs/decompressor_xz.c); c_clen and c_ulen are
 * the sizes, and the data must end with the LZMA2 end marker.
 *
 * The kernel's decoder has a fixed dictionary of XIPFS_MAX_CLUSTER_SIZE,
 * so neither side may use a larger one: the encoder's dictionary is the
 * smallest power of two covering the cluster (a bigger one cannot help),
 * the decoder's is the kernel's.
 */
#include <lzma.h>
#include <stdint.h>

#include "compress_impl.h"

/* LZMA2 with the given dictionary and preset (or the decoder's defaults). */
static int xz_filters(lzma_filter filters[2], lzma_options_lzma *opt,
		      uint32_t dict, int level)
{
	if (lzma_lzma_preset(opt, (uint32_t)level))
		return -1;
	opt->dict_size = dict;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	return 0;
}

static size_t xz_compress(const void *src, size_t src_len,
			  void *dst, size_t dst_cap, int level)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	size_t out_pos = 0;
	uint32_t dict = LZMA_DICT_SIZE_MIN;

	/* More would need a dictionary larger than the kernel's. */
	if (src_len > XIPFS_MAX_CLUSTER_SIZE)
		return 0;
	while (dict < src_len)
		dict <<= 1;
	if (xz_filters(filters, &opt, dict, level))
		return 0;
	if (lzma_raw_buffer_encode(filters, NULL, src, src_len,
				   dst, &out_pos, dst_cap) != LZMA_OK)
		return 0;
	return out_pos;
}

static int xz_decompress(const void *src, size_t src_len,
			 void *dst, size_t dst_len)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	size_t in_pos = 0, out_pos = 0;

	if (!dst_len || dst_len > XIPFS_MAX_CLUSTER_SIZE)
		return -1;
	if (xz_filters(filters, &opt, XIPFS_MAX_CLUSTER_SIZE, LZMA_PRESET_DEFAULT))
		return -1;
	/*
	 * LZMA_OK only once the end marker is decoded, without writing past
	 * dst_len; the end must also be the last byte of the input.
	 */
	if (lzma_raw_buffer_decode(filters, NULL, src, &in_pos, src_len,
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
