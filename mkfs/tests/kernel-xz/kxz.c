// SPDX-License-Identifier: GPL-2.0
/*
 * fs/xipfs/decompressor_xz.c with the kernel's own lib/xz, in userspace
 * under ASan (t-kernel-xz.sh builds it): the kernel accepts a raw LZMA2
 * cluster exactly when liblzma's raw decoder (fsck) does, and then to the
 * same bytes, never reading or writing outside the cluster or the output
 * (each call gets exact-size copies).  One known difference, harmless:
 * xz_dec ignores the first range coder byte of an LZMA chunk, which
 * liblzma requires to be 0; the data then decodes to the same bytes.
 * Also: header + cluster + the trailer the kernel makes is a valid .xz
 * stream for liblzma and for xz_dec's single-call mode.
 */
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statics (head, trailer) are tested too. */
#include "decompressor_xz.c"

static long decodes, benign, accepted;
static int failures;
static const unsigned char *orig;	/* the data, when a change may keep it */

static int kdec(const unsigned char *src, size_t slen, unsigned char *dst, size_t dlen)
{
	unsigned char *s = malloc(slen ? slen : 1), *d = malloc(dlen ? dlen : 1);
	int r;

	if (!s || !d)
		abort();
	memcpy(s, src, slen);
	r = xipfs_decomp_xz.decompress(s, slen, d, dlen);
	if (!r)
		memcpy(dst, d, dlen);
	free(s);
	free(d);
	decodes++;
	return r;
}

/* What fsck does (mkfs/lib/compress_xz.c). */
static int udec(const unsigned char *src, size_t slen, unsigned char *dst, size_t dlen)
{
	lzma_options_lzma opt;
	lzma_filter f[2] = { { LZMA_FILTER_LZMA2, &opt }, { LZMA_VLI_UNKNOWN, NULL } };
	size_t ip = 0, op = 0;

	if (!dlen || dlen > XIPFS_MAX_CLUSTER_SIZE || lzma_lzma_preset(&opt, 6))
		return -1;
	opt.dict_size = XIPFS_MAX_CLUSTER_SIZE;
	if (lzma_raw_buffer_decode(f, NULL, src, &ip, slen, dst, &op, dlen) != LZMA_OK)
		return -1;
	return ip == slen && op == dlen ? 0 : -1;
}

/* expect: 1 accept, 0 refuse, -1 either (but as liblzma does). */
static void both(const char *what, size_t at, const unsigned char *src, size_t slen,
		 size_t dlen, int expect)
{
	unsigned char *a = malloc(dlen + 1), *b = malloc(dlen + 1);
	int rk = kdec(src, slen, a, dlen), ru = udec(src, slen, b, dlen);

	if (!rk && ru && orig && !memcmp(a, orig, dlen)) {
		benign++;
	} else if (!rk != !ru) {
		printf("FAIL %s %zu: slen %zu dlen %zu: kernel %d, liblzma %d\n",
		       what, at, slen, dlen, rk, ru);
		failures++;
	} else if (!rk && memcmp(a, b, dlen)) {
		printf("FAIL %s %zu: kernel and liblzma decode differently\n", what, at);
		failures++;
	}
	if (expect >= 0 && (!rk) != expect) {
		printf("FAIL %s %zu: kernel %s\n", what, at, rk ? "refused" : "accepted");
		failures++;
	}
	accepted += !rk;
	free(a);
	free(b);
}

static void fill(unsigned char *p, size_t len, unsigned int seed, int noise)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = noise || (seed >> 16) % 7 == 0 ? (unsigned char)(seed >> 8)
						       : "xipfs page "[i % 11];
	}
}

static void one(size_t len, int level, int noise)
{
	unsigned char *src = malloc(len), *z = malloc(len + 1024);
	unsigned char *cp = malloc(len + 1024), *x = malloc(len + 1024), *o = malloc(len);
	lzma_options_lzma opt;
	lzma_filter f[2] = { { LZMA_FILTER_LZMA2, &opt }, { LZMA_VLI_UNKNOWN, NULL } };
	uint32_t dict = LZMA_DICT_SIZE_MIN;
	uint64_t memlimit = UINT64_MAX;
	size_t n = 0, ip = 0, op = 0, m, i;
	unsigned int tl;

	if (!src || !z || !cp || !x || !o)
		abort();
	fill(src, len, (unsigned int)len + level, noise);
	while (dict < len)
		dict <<= 1;
	lzma_lzma_preset(&opt, level);
	opt.dict_size = dict;
	if (lzma_raw_buffer_encode(f, NULL, src, len, z, &n, len + 1024) != LZMA_OK)
		abort();

	orig = src;
	both("valid", 0, z, n, len, 1);
	if (kdec(z, n, o, len) || memcmp(o, src, len)) {
		printf("FAIL len %zu level %d: round trip\n", len, level);
		failures++;
	}
	/* Framed as the kernel frames it: a valid .xz stream, for both. */
	memcpy(x, xipfs_xz_head, sizeof(xipfs_xz_head));
	memcpy(x + sizeof(xipfs_xz_head), z, n);
	tl = xipfs_xz_tail(x + sizeof(xipfs_xz_head) + n, n, len);
	m = sizeof(xipfs_xz_head) + n + tl;
	if (lzma_stream_buffer_decode(&memlimit, 0, NULL, x, &ip, m, o, &op, len) != LZMA_OK ||
	    ip != m || op != len || memcmp(o, src, len)) {
		printf("FAIL len %zu: liblzma refuses the framed stream\n", len);
		failures++;
	} else {
		struct xz_dec *s = xz_dec_init(XZ_SINGLE, 0);
		struct xz_buf xb = { .in = x, .in_size = m, .out = o, .out_size = len };

		if (!s || xz_dec_run(s, &xb) != XZ_STREAM_END || xb.out_pos != len) {
			printf("FAIL len %zu: single-call xz_dec refuses the framed stream\n", len);
			failures++;
		}
		xz_dec_end(s);
	}
	/* The cluster with a trailer of its own: the stream ends inside it. */
	memcpy(cp, z, n);
	memcpy(cp + n, x + sizeof(xipfs_xz_head) + n, tl);
	both("own trailer", 0, cp, n + tl, len, 0);

	orig = NULL;
	both("ulen-1", 0, z, n, len - 1, 0);
	both("ulen+1", 0, z, n, len + 1, 0);
	both("no end marker", 0, z, n - 1, len, 0);
	for (i = 1; i <= 8; i++) {
		memcpy(cp, z, n);
		memset(cp + n, 0, i);
		both("zeros after", i, cp, n + i, len, 0);
		cp[n + i - 1] = 0x5a;
		both("byte after", i, cp, n + i, len, 0);
	}
	for (m = 0; m < n; m += n < 200 ? 1 : n / 97 + 1)
		both("truncated to", m, z, m, len, 0);
	orig = src;
	for (i = 0; i < n; i += n < 300 ? 1 : n / 151 + 1) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(cp, z, n);
			cp[i] ^= 1 << bit;
			both("flip", i, cp, n, len, -1);
		}
	}
	orig = NULL;
	free(src);
	free(z);
	free(cp);
	free(x);
	free(o);
}

int main(void)
{
	static const size_t lens[] = { 1, 100, 4096, 65536 + 77, 128 * 1024, 256 * 1024 };
	static const int levels[] = { 0, 6, 9 };
	unsigned char g[64], src[4096], z[8192];
	unsigned int seed = 1;
	size_t n = 0;

	xz_crc32_init();
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (size_t v = 0; v < sizeof(levels) / sizeof(levels[0]); v++)
			one(lens[l], levels[v], 0);
	/* Noise: uncompressed LZMA2 chunks. */
	one(65536, 6, 1);
	one(256 * 1024, 6, 1);

	/* A whole .xz stream (the old format) is not a raw LZMA2 cluster. */
	fill(src, sizeof(src), 3, 0);
	if (lzma_easy_buffer_encode(6, LZMA_CHECK_NONE, NULL, src, sizeof(src),
				    z, &n, sizeof(z)) != LZMA_OK)
		abort();
	both(".xz stream", 0, z, n, sizeof(src), 0);

	/* Garbage after a plausible first control byte. */
	for (int t = 0; t < 20000; t++) {
		size_t gl;

		seed = seed * 1103515245 + 12345;
		gl = 1 + (seed >> 16) % sizeof(g);
		fill(g, gl, seed, 1);
		g[0] = t & 1 ? 0xe0 | (g[0] & 31) : 1 + (g[0] & 1);
		both("garbage", t, g, gl, 1 + (seed >> 8) % 300, -1);
	}
	xipfs_decomp_xz.exit();
	printf("%ld decodes, %ld accepted, %ld benign differences, %d failures\n",
	       decodes, accepted, benign, failures);
	return failures != 0;
}
