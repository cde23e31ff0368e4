// SPDX-License-Identifier: GPL-2.0
/*
 * How often fsck catches a single-byte corruption of compressed data
 * without data checksums: flip each of N random bytes of the image's
 * compressed clusters in turn (stored clusters excluded: nothing can
 * tell their bytes are wrong), run the full check on the damaged image,
 * and sort the flip by what the cluster's own decoder makes of it:
 *
 *   fails     the cluster does not decompress, or not to its length
 *   differs   it decompresses to its length, but to other bytes
 *   same      it decompresses to the same bytes (unused bits, say)
 *
 *   compflip IMAGE SEED N
 *
 * Prints one line:
 *   ALG: N flips, D detected (P%): fails F (Fd detected), differs X
 *   (Xd detected), same S (Sd detected)
 * and exits 1 if a flip that fails to decompress went undetected (fsck
 * must decompress every cluster and check its length), 2 on a usage or
 * I/O error.  Without checksums "differs" flips are expected to pass.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "xipfs_image.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

struct cl {
	struct xipfs_cluster_info c;
	uint8_t *orig;		/* decompressed, before any flip */
	uint64_t start;		/* first of its bytes in the pick order */
};

int main(int argc, char **argv)
{
	struct xipfs_check_opts co = { .report = quiet, .max_messages = 1 };
	struct xipfs_check_stats st;
	struct xipfs_image *img;
	uint64_t n, total = 0, cnt[3] = { 0 }, det[3] = { 0 };
	static uint8_t out[XIPFS_MAX_CLUSTER_SIZE];
	static const char *const cname[3] = { "fails", "differs", "same" };
	struct cl *cls;
	size_t ncl = 0, len;
	struct stat sb;
	uint8_t *buf;
	const char *alg = "none";
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: compflip IMAGE SEED N\n");
		return 2;
	}
	rng = strtoull(argv[2], NULL, 0) * 2654435761ULL + 88172645463325252ULL;
	n = strtoull(argv[3], NULL, 0);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &sb)) {
		perror(argv[1]);
		return 2;
	}
	len = (size_t)sb.st_size;
	buf = malloc(len ? len : 1);
	if (!buf || read(fd, buf, len) != (ssize_t)len) {
		perror(argv[1]);
		return 2;
	}
	close(fd);
	if (xipfs_image_open_mem(buf, len, &img, NULL, 0)) {
		fprintf(stderr, "%s: not an xipfs image\n", argv[1]);
		return 2;
	}
	if (xipfs_check(img, &co, &st)) {
		fprintf(stderr, "%s: not clean before any flip\n", argv[1]);
		return 2;
	}
	cls = calloc(img->sb.cluster_count + 1, sizeof(*cls));
	if (!cls)
		return 2;
	for (uint64_t i = 0; i < img->sb.cluster_count; i++) {
		struct cl *c = &cls[ncl];
		const uint8_t *data;
		uint32_t ulen;

		if (xipfs_get_cluster(img, i, &c->c) || c->c.alg == XIPFS_COMP_NONE)
			continue;
		if (xipfs_cluster_load(img, i, &data, &ulen))
			return 2;
		c->orig = malloc(ulen);
		if (!c->orig)
			return 2;
		memcpy(c->orig, data, ulen);
		c->start = total;
		total += c->c.clen;
		alg = xipfs_alg_name(c->c.alg);
		ncl++;
	}
	xipfs_image_close(img);
	if (!total) {
		fprintf(stderr, "%s: no compressed cluster\n", argv[1]);
		return 2;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint64_t r = rnd() % total, off;
		const struct xipfs_compressor *z;
		size_t lo = 0, hi = ncl;
		struct cl *c;
		uint8_t old;
		int kind;
		bool found;

		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;

			if (cls[mid].start <= r)
				lo = mid;
			else
				hi = mid;
		}
		c = &cls[lo];
		off = c->c.off + (r - c->start);
		old = buf[off];
		buf[off] ^= (uint8_t)(1 + rnd() % 255);
		z = xipfs_compressor_by_alg(c->c.alg);
		if (!z || z->decompress(buf + c->c.off, c->c.clen, out, c->c.ulen))
			kind = 0;
		else
			kind = memcmp(out, c->orig, c->c.ulen) ? 1 : 2;
		found = xipfs_image_open_mem(buf, len, &img, NULL, 0) != 0;
		if (!found) {
			found = xipfs_check(img, &co, &st) > 0;
			xipfs_image_close(img);
		}
		cnt[kind]++;
		det[kind] += found;
		buf[off] = old;
	}
	printf("%s: %llu flips, %llu detected (%.1f%%)", alg, (unsigned long long)n,
	       (unsigned long long)(det[0] + det[1] + det[2]),
	       n ? 100.0 * (double)(det[0] + det[1] + det[2]) / (double)n : 0.0);
	for (int i = 0; i < 3; i++)
		printf("%s %s %llu (%llu detected)", i ? "," : ":", cname[i],
		       (unsigned long long)cnt[i], (unsigned long long)det[i]);
	printf("\n");
	for (size_t i = 0; i < ncl; i++)
		free(cls[i].orig);
	free(cls);
	free(buf);
	return det[0] == cnt[0] ? 0 : 1;
}
