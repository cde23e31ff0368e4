// SPDX-License-Identifier: GPL-2.0
/*
 * List an image's clusters, or damage one behind valid checksums, for
 * t-clusters.sh:
 *
 *   clusteredit IMAGE
 *       one line per cluster: INDEX ALG CLEN ULEN FIRST LAST, FIRST being
 *       the first (up to) 6 bytes of its data and LAST its last byte, in hex
 *   clusteredit IMAGE OUT INDEX OP
 *       write a copy with cluster INDEX changed by OP, checksums fixed:
 *       clen-1, clen+1 (the offset of the next descriptor, the sentinel's
 *       for the last cluster: the next cluster moves too), ulen-1, ulen+1
 *       (the descriptor's last-page bytes, and pages when they run out),
 *       or flip:N (byte N of the data, N < 0 from its end, XOR 0xff)
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "xipfs_image.h"

static void *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc(n ? n : 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*len = n;
out:
	if (f)
		fclose(f);
	if (!buf)
		perror(path);
	return buf;
}

static void put_desc(uint8_t *buf, const struct xipfs_image *img, uint64_t i, uint64_t d)
{
	d = htole64(d);
	memcpy(buf + img->sb.cluster_off + i * XIPFS_CLUSTER_SIZE, &d, 8);
}

static int edit(uint8_t *buf, const struct xipfs_image *img,
		const struct xipfs_cluster_info *c, const char *op)
{
	unsigned int shift = img->sb.page_shift;
	/* The next descriptor's offset ends this cluster (the sentinel's for the last). */
	uint64_t next = xipfs_cluster_desc(img, c->index + 1), ulen;
	long long n;

	if (!strcmp(op, "clen-1") || !strcmp(op, "clen+1")) {
		next += op[4] == '-' ? -1 : 1;
		put_desc(buf, img, c->index + 1, next);
	} else if (!strcmp(op, "ulen-1") || !strcmp(op, "ulen+1")) {
		/* One page fewer or more when the last page's bytes run out. */
		ulen = c->ulen + (op[4] == '-' ? -1 : 1);
		if (!ulen)
			return -1;
		put_desc(buf, img, c->index,
			 XIPFS_CL_DESC(XIPFS_CL_OFF(c->desc), ((ulen - 1) >> shift) + 1, ulen, shift,
				       c->alg, c->shared));
	} else if (!strncmp(op, "flip:", 5)) {
		n = strtoll(op + 5, NULL, 0);
		if (n < 0)
			n += c->clen;
		if (n < 0 || n >= c->clen)
			return -1;
		buf[c->off + n] ^= 0xff;
	} else {
		return -1;
	}
	xipfs_fix_checksums(buf, img->sb.image_size);
	return 0;
}

int main(int argc, char **argv)
{
	struct xipfs_cluster_info c;
	struct xipfs_image *img;
	uint8_t *buf;
	size_t len;
	char err[256];
	FILE *f;

	if (argc != 2 && argc != 5) {
		fprintf(stderr, "usage: clusteredit IMAGE\n"
				"       clusteredit IMAGE OUT INDEX OP\n");
		return 2;
	}
	buf = load(argv[1], &len);
	if (!buf)
		return 2;
	if (xipfs_image_open_mem(buf, len, &img, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 2;
	}
	if (argc == 2) {
		for (uint64_t i = 0; i < img->sb.cluster_count; i++) {
			if (xipfs_get_cluster(img, i, &c))
				return 2;
			printf("%llu %s %u %u ", (unsigned long long)i,
			       xipfs_alg_name(c.alg), c.clen, c.ulen);
			for (uint32_t j = 0; j < 6 && j < c.clen; j++)
				printf("%02x", buf[c.off + j]);
			printf(" %02x\n", c.clen ? buf[c.off + c.clen - 1] : 0);
		}
		xipfs_image_close(img);
		free(buf);
		return 0;
	}
	if (xipfs_get_cluster(img, strtoull(argv[3], NULL, 0), &c) ||
	    edit(buf, img, &c, argv[4])) {
		fprintf(stderr, "clusteredit: cannot apply %s to cluster %s\n", argv[4], argv[3]);
		return 2;
	}
	xipfs_image_close(img);
	f = fopen(argv[2], "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(argv[2]);
		return 2;
	}
	free(buf);
	return 0;
}
