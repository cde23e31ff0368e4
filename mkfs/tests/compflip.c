// SPDX-License-Identifier: GPL-2.0
/*
 * How often fsck catches a single-byte corruption of compressed data:
 * flip each of N random bytes of the image's clusters in turn, run the
 * full check on the damaged image, and sort the flip by what the
 * cluster's own decoder makes of it:
 *
 *   fails     the cluster does not decompress, or not to its length
 *   differs   it decompresses to its length, but to other bytes
 *   same      it decompresses to the same bytes (unused bits, say)
 *
 *   compflip [-x] IMAGE SEED N
 *
 * Prints one line:
 *   ALG: N flips, D detected (P%): fails F (Fd detected), differs X
 *   (Xd detected), same S (Sd detected)
 * Without data checksums stored clusters are left out (nothing can tell
 * their bytes are wrong), and the exit status is 1 if a flip that fails
 * to decompress went undetected (fsck must decompress every cluster and
 * check its length): "differs" flips are expected to pass.  With data
 * checksums (RO_COMPAT_DATA_CSUM) stored clusters are flipped too, and
 * the exit status is 1 if any flip went undetected.
 *
 * -x flips bytes of the XIP area instead and prints
 *   xip: N flips, D detected (P%)
 * exiting 1 if, with data checksums, one went undetected.  Exit status
 * 2: a usage or I/O error.
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

/* Is the damaged image (still) a problem for open or fsck? */
static bool detected(const uint8_t *buf, size_t len)
{
	struct xipfs_check_opts co = { .report = quiet, .max_messages = 1 };
	struct xipfs_check_stats st;
	struct xipfs_image *img;
	bool found;

	if (xipfs_image_open_mem(buf, len, &img, NULL, 0))
		return true;
	found = xipfs_check(img, &co, &st) > 0;
	xipfs_image_close(img);
	return found;
}

static int xip_flips(uint8_t *buf, size_t len, uint64_t xoff, uint64_t xsize,
		     uint64_t n, bool csum)
{
	uint64_t det = 0;

	if (!xsize) {
		fprintf(stderr, "no XIP page\n");
		return 2;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint64_t off = xoff + rnd() % xsize;
		uint8_t old = buf[off];

		buf[off] ^= (uint8_t)(1 + rnd() % 255);
		det += detected(buf, len);
		buf[off] = old;
	}
	printf("xip: %llu flips, %llu detected (%.1f%%)\n", (unsigned long long)n,
	       (unsigned long long)det, n ? 100.0 * (double)det / (double)n : 0.0);
	free(buf);
	return csum && det != n ? 1 : 0;
}

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
	bool xip = false, csum;
	int fd;

	if (argc == 5 && !strcmp(argv[1], "-x")) {
		xip = true;
		argv++;
		argc--;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: compflip [-x] IMAGE SEED N\n");
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
	csum = img->csum;
	if (xip) {
		uint64_t xoff = img->sb.xip_off, xsize = img->sb.xip_size;

		xipfs_image_close(img);
		return xip_flips(buf, len, xoff, xsize, n, csum);
	}
	cls = calloc(img->sb.cluster_count + 1, sizeof(*cls));
	if (!cls)
		return 2;
	for (uint64_t i = 0; i < img->sb.cluster_count; i++) {
		struct cl *c = &cls[ncl];
		const uint8_t *data;
		uint32_t ulen;

		if (xipfs_get_cluster(img, i, &c->c) || (c->c.alg == XIPFS_COMP_NONE && !csum))
			continue;
		if (xipfs_cluster_load(img, i, &data, &ulen))
			return 2;
		c->orig = malloc(ulen);
		if (!c->orig)
			return 2;
		memcpy(c->orig, data, ulen);
		c->start = total;
		total += c->c.clen;
		if (c->c.alg != XIPFS_COMP_NONE)
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
		/* A stored cluster "decompresses" to its flipped self. */
		if (c->c.alg == XIPFS_COMP_NONE)
			kind = 1;
		else if (!z || z->decompress(buf + c->c.off, c->c.clen, out, c->c.ulen))
			kind = 0;
		else
			kind = memcmp(out, c->orig, c->c.ulen) ? 1 : 2;
		found = detected(buf, len);
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
	if (csum)
		return det[0] + det[1] + det[2] == n ? 0 : 1;
	return det[0] == cnt[0] ? 0 : 1;
}
