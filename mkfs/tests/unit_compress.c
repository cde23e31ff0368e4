// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the compressors (compress.h): every algorithm round-trips
 * at its level bounds, says "does not fit" instead of overflowing a small
 * output buffer, and its decompressor refuses truncated, corrupted,
 * too-short and too-long input without reading or writing out of bounds
 * (run under ASan for the last part to mean something).  Also the forms
 * the kernel needs: a zstd frame with its content size, raw LZMA2 for xz,
 * a zlib stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

/* Compressible but not trivial: text-like with some noise. */
static void fill(unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (seed >> 16) % 7 == 0 ? (unsigned char)(seed >> 8) : "xipfs page "[i % 11];
	}
}

static void one(const struct xipfs_compressor *c, int level, size_t len)
{
	unsigned char *src = calloc(1, len), *dst = malloc(len), *back = malloc(len + 1);
	unsigned char *copy;
	size_t n, m;

	if (!src || !dst || !back)
		abort();
	fill(src, len, (unsigned int)len);
	n = c->compress(src, len, dst, len, level);
	CHECK(n > 0 && n < len, "%s,%d len %zu: compressed to %zu", c->name, level, len, n);
	if (!n)
		goto out;
	CHECK(!c->decompress(dst, n, back, len) && !memcmp(src, back, len),
	      "%s,%d len %zu: round trip", c->name, level, len);
	/* Exactly: one byte more or less than the content is an error. */
	CHECK(c->decompress(dst, n, back, len - 1), "%s: accepted a short output", c->name);
	CHECK(c->decompress(dst, n, back, len + 1), "%s: accepted a long output", c->name);
	/* Truncated input, in separate buffers so ASan sees any overread. */
	for (m = 0; m < n; m += n / 7 + 1) {
		copy = malloc(m ? m : 1);
		memcpy(copy, dst, m);
		CHECK(c->decompress(copy, m, back, len), "%s: accepted %zu of %zu bytes",
		      c->name, m, n);
		free(copy);
	}
	/* Corrupted input must never crash; most flips must be caught. */
	copy = malloc(n);
	for (size_t i = 0; i < n; i += n / 13 + 1) {
		memcpy(copy, dst, n);
		copy[i] ^= 0x5a;
		(void)c->decompress(copy, n, back, len);
	}
	free(copy);
	/* No room: 0, not an overflow (dst is exactly that big). */
	copy = malloc(n / 2);
	CHECK(c->compress(src, len, copy, n / 2, level) == 0, "%s: overflowed a small buffer",
	      c->name);
	free(copy);
out:
	free(src);
	free(dst);
	free(back);
}

int main(void)
{
	static const char *const names[] = { "lz4", "lz4hc", "zstd", "zlib", "xz" };
	static const size_t lens[] = { 100, 4096, 65536, 256 * 1024 };
	unsigned char src[4096], dst[4096];
	size_t n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct xipfs_compressor *c = xipfs_compressor_by_name(names[i]);

		CHECK(c, "no compressor %s", names[i]);
		if (!c)
			continue;
		CHECK(xipfs_compressor_by_alg(c->alg) &&
		      xipfs_compressor_by_alg(c->alg)->alg == c->alg, "%s: by_alg", c->name);
		CHECK(!strcmp(xipfs_alg_name(c->alg), !strcmp(c->name, "lz4hc") ? "lz4" : c->name),
		      "%s: alg name", c->name);
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			one(c, c->default_level, lens[l]);
			if (lens[l] <= 65536) {
				one(c, c->min_level, lens[l]);
				if (c->max_level < 100)
					one(c, c->max_level, lens[l]);
			}
		}
	}
	CHECK(!xipfs_compressor_by_name("lzo"), "unknown name found");
	CHECK(!xipfs_compressor_by_alg(XIPFS_COMP_MAX), "unknown alg found");
	CHECK(!strcmp(xipfs_alg_name(99), "unknown"), "alg name 99");

	fill(src, sizeof(src), 1);
	/* zstd: single frame, content size in the header (bit 5: single segment). */
	n = xipfs_compressor_by_name("zstd")->compress(src, sizeof(src), dst, sizeof(dst), 3);
	CHECK(n > 6 && (dst[4] & 0x20), "zstd frame is not single-segment");
	/* Two frames back to back are refused. */
	if (n && 2 * n <= sizeof(dst)) {
		unsigned char two[8192], back[4096];

		memcpy(two, dst, n);
		memcpy(two + n, dst, n);
		CHECK(xipfs_compressor_by_name("zstd")->decompress(two, 2 * n, back, sizeof(back)),
		      "zstd: accepted two frames");
	}
	/*
	 * xz: raw LZMA2, no .xz container: it starts with a chunk that resets
	 * the dictionary (control 0x01 or >= 0xe0), not the .xz magic, and
	 * ends with the end marker, which must be there and be the last byte.
	 */
	n = xipfs_compressor_by_name("xz")->compress(src, sizeof(src), dst, sizeof(dst), 6);
	CHECK(n > 6 && memcmp(dst, "\xfd" "7zXZ", 6) && (dst[0] == 1 || dst[0] >= 0xe0) &&
	      dst[n - 1] == 0, "xz: not one raw LZMA2 stream");
	if (n > 6 && n < sizeof(dst)) {
		unsigned char back[4096];

		/* Without the end marker, the data is all there but must not do. */
		CHECK(xipfs_compressor_by_name("xz")->decompress(dst, n - 1, back, sizeof(back)),
		      "xz: accepted a stream without its end marker");
		dst[n] = 0;
		CHECK(xipfs_compressor_by_name("xz")->decompress(dst, n + 1, back, sizeof(back)),
		      "xz: accepted a byte after the end marker");
	}
	/* xz: the kernel's dictionary is a cluster: no more in one stream. */
	{
		size_t big = XIPFS_MAX_CLUSTER_SIZE + 4096;
		unsigned char *in = calloc(1, big), *out = malloc(big);

		if (!in || !out)
			abort();
		CHECK(!xipfs_compressor_by_name("xz")->compress(in, big, out, big, 6),
		      "xz: compressed more than a cluster");
		free(in);
		free(out);
	}
	/* zlib: deflate with a window of at most 32 KiB, no preset dictionary. */
	n = xipfs_compressor_by_name("zlib")->compress(src, sizeof(src), dst, sizeof(dst), 12);
	CHECK(n > 6 && (dst[0] & 0x0f) == 8 && (dst[0] >> 4) <= 7 && !(dst[1] & 0x20) &&
	      (dst[0] * 256 + dst[1]) % 31 == 0, "zlib: not an RFC 1950 stream");
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	return 0;
}
