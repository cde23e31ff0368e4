// SPDX-License-Identifier: GPL-2.0
/*
 * The table of compressors.  Each algorithm lives in its own
 * compress_*.c; this file only finds them by name or by on-media id.
 */
#include <string.h>

#include "compress.h"
#include "compress_impl.h"

static const struct xipfs_compressor *const compressors[] = {
	&xipfs_comp_lz4,
	&xipfs_comp_lz4hc,
	&xipfs_comp_zstd,
	&xipfs_comp_zlib,
	&xipfs_comp_xz,
};

const struct xipfs_compressor *xipfs_compressor_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(compressors) / sizeof(compressors[0]); i++)
		if (!strcmp(compressors[i]->name, name))
			return compressors[i];
	return NULL;
}

const struct xipfs_compressor *xipfs_compressor_by_alg(unsigned int alg)
{
	/* lz4 comes before lz4hc: both write the same format. */
	for (size_t i = 0; i < sizeof(compressors) / sizeof(compressors[0]); i++)
		if ((unsigned int)compressors[i]->alg == alg)
			return compressors[i];
	return NULL;
}

const char *xipfs_alg_name(unsigned int alg)
{
	static const char *const names[XIPFS_COMP_MAX] = {
		[XIPFS_COMP_NONE] = "none",
		[XIPFS_COMP_LZ4] = "lz4",
		[XIPFS_COMP_ZSTD] = "zstd",
		[XIPFS_COMP_ZLIB] = "zlib",
		[XIPFS_COMP_XZ] = "xz",
	};

	return alg < XIPFS_COMP_MAX ? names[alg] : "unknown";
}
