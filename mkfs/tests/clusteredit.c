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
 *       or flip:N (byte N of the data, N < 0 from its end, XOR 0xff).
 *       In a compact cluster table (INCOMPAT_COMPACT_CLUSTERS) clen-1 and
 *       clen+1 move the next cluster's start as well: the cluster's length
 *       changes and the next one's (or the next group's base) makes up for
 *       it; ulen-1 and ulen+1 need the cluster to have an exception word.
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

/* Compact table: add delta to cluster i's stored length (false if it leaves the W bytes). */
static bool ct_add_len(uint8_t *buf, const struct xipfs_image *img, uint64_t i, int delta)
{
	uint8_t *q = buf + img->ct.len_off + i * img->ct.w;
	uint64_t v = 0;

	for (unsigned int b = 0; b < img->ct.w; b++)
		v |= (uint64_t)q[b] << (8 * b);
	v += delta;
	if (v >> (8 * img->ct.w))
		return false;
	for (unsigned int b = 0; b < img->ct.w; b++)
		q[b] = (uint8_t)(v >> (8 * b));
	return true;
}

/* The compact table's clen-1 / clen+1 (see the top). */
static int ct_edit_clen(uint8_t *buf, const struct xipfs_image *img, uint64_t i, int delta)
{
	uint64_t next = i + 1, b;

	if (!ct_add_len(buf, img, i, delta))
		return -1;
	if (next == img->ct.n)
		return 0;	/* the end of the data moves */
	if (next & ((1U << XIPFS_CT_GROUP_SHIFT) - 1))
		return ct_add_len(buf, img, next, -delta) ? 0 : -1;
	b = htole64(xipfs_ct_base(img, next >> XIPFS_CT_GROUP_SHIFT) + delta);
	memcpy(buf + img->ct.base_off + (next >> XIPFS_CT_GROUP_SHIFT) * 8, &b, 8);
	return 0;
}

/* The compact table's exception word of cluster i: its offset in buf, or 0. */
static uint64_t ct_exception_at(const struct xipfs_image *img, uint64_t i)
{
	for (uint64_t k = 0; k < img->ct.e; k++)
		if (XIPFS_CL_OFF(xipfs_ct_exception(img, k)) == i)
			return img->ct.exc_off + k * 8;
	return 0;
}

static int edit(uint8_t *buf, const struct xipfs_image *img,
		const struct xipfs_cluster_info *c, const char *op)
{
	unsigned int shift = img->sb.page_shift;
	/* The next descriptor's offset ends this cluster (the sentinel's for the last). */
	uint64_t next = xipfs_cluster_desc(img, c->index + 1), ulen;
	long long n;

	if (!strcmp(op, "clen-1") || !strcmp(op, "clen+1")) {
		if (img->ct.on) {
			if (ct_edit_clen(buf, img, c->index, op[4] == '-' ? -1 : 1))
				return -1;
		} else {
			next += op[4] == '-' ? -1 : 1;
			put_desc(buf, img, c->index + 1, next);
		}
	} else if (!strcmp(op, "ulen-1") || !strcmp(op, "ulen+1")) {
		uint64_t at = img->ct.on ? ct_exception_at(img, c->index) : 0, d;

		/* One page fewer or more when the last page's bytes run out. */
		ulen = c->ulen + (op[4] == '-' ? -1 : 1);
		if (!ulen || (img->ct.on && !at))
			return -1;
		d = XIPFS_CL_DESC(XIPFS_CL_OFF(c->desc), ((ulen - 1) >> shift) + 1, ulen, shift,
				  c->alg, c->shared);
		if (at) {
			d = htole64(c->index | (d & XIPFS_CL_DESC_MASK));
			memcpy(buf + at, &d, 8);
		} else {
			put_desc(buf, img, c->index, d);
		}
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
