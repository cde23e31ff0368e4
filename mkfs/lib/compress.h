/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compression algorithms as a table of operations, one source file per
 * algorithm (compress_lz4.c, compress_zstd.c, ...), each a thin wrapper
 * over the algorithm's own library.
 */
#ifndef XIPFS_COMPRESS_H
#define XIPFS_COMPRESS_H

#include <stddef.h>
#include <linux/xipfs_fs.h>

struct xipfs_compressor {
	const char *name;		/* "lz4", "lz4hc", "zstd", "zlib", "xz" */
	enum xipfs_comp_alg alg;	/* what goes on the media */
	int min_level, max_level, default_level;
	/*
	 * Compress src into dst.  Returns the compressed size, or 0 when the
	 * result would not fit in dst_cap (the caller then stores the data
	 * uncompressed).  Thread-safe: may be called from several threads.
	 */
	size_t (*compress)(const void *src, size_t src_len,
			   void *dst, size_t dst_cap, int level);
	/*
	 * Decompress exactly dst_len bytes.  Returns 0 on success, -1 when the
	 * input is corrupt or does not produce exactly dst_len bytes.  Must be
	 * safe on hostile input.
	 */
	int (*decompress)(const void *src, size_t src_len,
			  void *dst, size_t dst_len);
};

/* By the name given to mkfs -z; NULL if unknown. */
const struct xipfs_compressor *xipfs_compressor_by_name(const char *name);
/* The decompressor for an on-media algorithm; NULL if unknown. */
const struct xipfs_compressor *xipfs_compressor_by_alg(unsigned int alg);
/* Name of an on-media algorithm, for messages ("lz4", ..., "unknown"). */
const char *xipfs_alg_name(unsigned int alg);

#endif
