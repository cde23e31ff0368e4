/* SPDX-License-Identifier: GPL-2.0 */
/* The per-algorithm tables, private to compress*.c. */
#ifndef XIPFS_COMPRESS_IMPL_H
#define XIPFS_COMPRESS_IMPL_H

#include "compress.h"

extern const struct xipfs_compressor xipfs_comp_lz4;
extern const struct xipfs_compressor xipfs_comp_lz4hc;
extern const struct xipfs_compressor xipfs_comp_zstd;
extern const struct xipfs_compressor xipfs_comp_zlib;
extern const struct xipfs_compressor xipfs_comp_xz;

#endif
