// SPDX-License-Identifier: GPL-2.0
/*
 * Corruption driver for the checker, in-process so that thousands of
 * damaged images take seconds.  Offsets are drawn per region (superblock,
 * inode table, directory blocks, page maps, other metadata, cluster
 * table, compressed data, unused space), seeded and reproducible; never
 * inside the XIP area, whose pages carry no checksum.
 *
 *   corrupt IMAGE SEED FLIPS [--comp-data]
 *       FLIPS single-byte flips (must all be detected), as many flips with
 *       the checksums recomputed afterwards (must not crash: they reach
 *       the structural checks; counted, not required), and FLIPS/4
 *       truncations (must fail to open).
 *   corrupt --write IMAGE SEED OUT [--comp-data]
 *       write one flipped copy, print "OFFSET REGION".
 *   corrupt --write-fixed IMAGE SEED OUT [--comp-data]
 *       the same with the checksums recomputed after the flip.
 *   corrupt --sweep-clusters IMAGE
 *       every byte of the cluster table flipped in turn (XOR 0x01, 0x80,
 *       0xff), the checksums recomputed: each must be a problem, or
 *       harmless: only shared bits of the descriptors the table stands
 *       for changed, and every page of every file reads as before (a
 *       shared cluster holding one file's pages in order is as good
 *       without the bit).  Prints the undetected ones and counts; exit 1
 *       if one is not harmless.
 *
 * --comp-data includes the compressed data of clusters whose streams carry
 * a checksum (zlib's Adler-32): a flipped LZ4 literal, stored byte or byte
 * of an uncompressed LZMA2 chunk (xz clusters are raw LZMA2, no check)
 * decompresses fine to different bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xipfs_image.h"

enum { R_SB, R_INODES, R_DIRS, R_MAPS, R_META, R_CLUSTERS, R_COMP, R_UNUSED, R_MAX };
static const char *const rname[R_MAX] = {
	"superblock", "inode table", "directory blocks", "page maps",
	"other metadata", "cluster table", "compressed data", "unused space",
};

static uint8_t *cls;		/* region of each byte, R_MAX: don't flip */
static uint64_t rcount[R_MAX];
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void mark(uint64_t off, uint64_t len, int r)
{
	for (uint64_t i = 0; i < len; i++)
		cls[off + i] = (uint8_t)r;
}

static void classify(struct xipfs_image *img, bool comp_data)
{
	const struct xipfs_sb *sb = &img->sb;

	memset(cls, R_MAX, img->len);
	/* Unused space first; the areas overwrite their parts. */
	mark(XIPFS_SB_SIZE, sb->image_size - XIPFS_SB_SIZE, R_UNUSED);
	mark(sb->xip_off, sb->xip_size, R_MAX);
	mark(sb->free_off, sb->free_size, R_MAX);
	mark(sb->comp_off, sb->comp_size, R_UNUSED);
	mark(sb->meta_off, sb->meta_size, R_META);
	mark(0, XIPFS_SB_SIZE, R_SB);
	mark(sb->inode_off, (uint64_t)sb->inode_count * XIPFS_INODE_SLOT, R_INODES);
	/* With the sentinel, or the compact table (header, bases, exceptions, lengths). */
	mark(sb->cluster_off, xipfs_cluster_table_size(img), R_CLUSTERS);
	/* Stored, LZ4, zstd (no frame checksum) and xz clusters can't be checked. */
	for (uint64_t i = 0; i < sb->cluster_count; i++) {
		struct xipfs_cluster_info c;
		bool checked;

		if (xipfs_get_cluster(img, i, &c))
			continue;
		checked = c.alg == XIPFS_COMP_ZLIB;
		mark(c.off, c.clen, comp_data && checked ? R_COMP : R_MAX);
	}
	for (uint32_t ino = 1; ino < sb->inode_count; ino++) {
		struct xipfs_dinode in;

		if (xipfs_read_inode(img, ino, &in))
			continue;
		if (S_ISDIR(in.mode))
			mark(in.data, in.size, R_DIRS);
		else if (S_ISREG(in.mode)) {
			struct xipfs_map m;

			/* A grouped map: fewer entries, i_data without the shift. */
			if (!xipfs_map_get(img, &in, &m))
				mark(m.off, (m.entries + (m.end_run ? 2 : 0)) * 8, R_MAPS);
		}
	}
	for (uint64_t i = 0; i < img->len; i++)
		if (cls[i] < R_MAX)
			rcount[cls[i]]++;
}

/* Offsets of each region, grouped: region r at byidx[rstart[r]...]. */
static uint64_t *byidx, rstart[R_MAX];

static void index_regions(size_t len)
{
	uint64_t pos[R_MAX], total = 0;

	for (int r = 0; r < R_MAX; r++) {
		rstart[r] = pos[r] = total;
		total += rcount[r];
	}
	byidx = malloc((total ? total : 1) * sizeof(*byidx));
	if (!byidx)
		abort();
	for (uint64_t i = 0; i < len; i++)
		if (cls[i] < R_MAX)
			byidx[pos[cls[i]]++] = i;
}

/* A random byte of region r (rcount[r] > 0). */
static uint64_t pick(int r)
{
	return byidx[rstart[r] + rnd() % rcount[r]];
}

static int next_region(int *r)
{
	for (int tries = 0; tries < R_MAX; tries++) {
		int c = *r;

		*r = (*r + 1) % R_MAX;
		if (rcount[c])
			return c;
	}
	abort();
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Open + full check + read every page: returns problems found (open failure: 1). */
static uint64_t examine(const uint8_t *buf, size_t len)
{
	struct xipfs_check_opts o = { .report = quiet, .max_messages = 1 };
	struct xipfs_check_stats st;
	struct xipfs_image *img;
	uint64_t n;
	static uint8_t page[1 << XIPFS_MAX_PAGE_SHIFT];

	if (xipfs_image_open_mem(buf, len, &img, NULL, 0))
		return 1;
	n = xipfs_check(img, &o, &st);
	for (uint32_t ino = 1; ino < img->sb.inode_count; ino++) {
		struct xipfs_dinode in;
		uint64_t pages;

		if (xipfs_read_inode(img, ino, &in) || !S_ISREG(in.mode))
			continue;
		pages = xipfs_size_pages(img, in.size);
		for (uint64_t p = 0; p < pages && p < 4096; p++)
			if (xipfs_read_page(img, &in, p, page))
				break;
	}
	xipfs_image_close(img);
	return n;
}

static uint8_t *load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(2);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		perror(path);
		exit(2);
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/*
 * Do both images differ only in shared bits of cluster descriptors, and
 * read the same bytes from every page of every regular file?
 */
static bool same_data(const uint8_t *a, const uint8_t *b, size_t len)
{
	static uint8_t pa[1 << XIPFS_MAX_PAGE_SHIFT], pb[1 << XIPFS_MAX_PAGE_SHIFT];
	struct xipfs_image *ia, *ib;
	bool same = true;

	if (xipfs_image_open_mem(a, len, &ia, NULL, 0))
		return false;
	if (xipfs_image_open_mem(b, len, &ib, NULL, 0)) {
		xipfs_image_close(ia);
		return false;
	}
	/* Some descriptor changed, and in its shared bit only. */
	same = false;
	for (uint64_t i = 0; i <= ia->sb.cluster_count; i++) {
		uint64_t x = xipfs_cluster_desc(ia, i) ^ xipfs_cluster_desc(ib, i);

		if (x & ~XIPFS_CL_SHARED) {
			same = false;
			break;
		}
		same |= x != 0;
	}
	for (uint32_t ino = 1; same && ino < ia->sb.inode_count; ino++) {
		struct xipfs_dinode x, y;

		if (xipfs_read_inode(ia, ino, &x) || !S_ISREG(x.mode))
			continue;
		if (xipfs_read_inode(ib, ino, &y))
			same = false;
		for (uint64_t p = 0; same && p < xipfs_size_pages(ia, x.size); p++)
			same = !xipfs_read_page(ia, &x, p, pa) && !xipfs_read_page(ib, &y, p, pb) &&
			       !memcmp(pa, pb, ia->page_size);
	}
	xipfs_image_close(ia);
	xipfs_image_close(ib);
	return same;
}

/* --sweep-clusters: the table's structure alone must reveal every flip. */
static int sweep_clusters(uint8_t *buf, size_t len, uint64_t off, uint64_t size)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	uint8_t *copy = malloc(len);
	unsigned long flips = 0, missed = 0, harmless = 0;

	if (!copy)
		return 2;
	for (uint64_t i = off; i < off + size; i++)
		for (size_t m = 0; m < sizeof(masks); m++) {
			memcpy(copy, buf, len);
			copy[i] ^= masks[m];
			xipfs_fix_checksums(copy, len);
			flips++;
			if (examine(copy, len))
				continue;
			if (same_data(buf, copy, len)) {
				harmless++;
				printf("harmless: cluster table byte %llu (offset %llu) ^ 0x%02x: every file reads the same\n",
				       (unsigned long long)(i - off), (unsigned long long)i, masks[m]);
				continue;
			}
			missed++;
			printf("UNDETECTED: cluster table byte %llu (offset %llu) ^ 0x%02x\n",
			       (unsigned long long)(i - off), (unsigned long long)i, masks[m]);
		}
	printf("cluster table: %llu bytes, %lu flips behind fixed checksums, %lu undetected, %lu of them harmless\n",
	       (unsigned long long)size, flips, missed + harmless, harmless);
	free(copy);
	return missed ? 1 : 0;
}

int main(int argc, char **argv)
{
	bool fixed = argc >= 2 && !strcmp(argv[1], "--write-fixed");
	bool write_mode = fixed || (argc >= 2 && !strcmp(argv[1], "--write"));
	bool comp_data = !strcmp(argv[argc - 1], "--comp-data");
	int nargs = argc - write_mode - comp_data;
	struct xipfs_image *img;
	uint8_t *buf;
	size_t len;
	char err[256];
	int r = 0;

	if (argc == 3 && !strcmp(argv[1], "--sweep-clusters")) {
		uint64_t off, size;

		buf = load(argv[2], &len);
		if (xipfs_image_open_mem(buf, len, &img, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", argv[2], err);
			return 2;
		}
		off = img->sb.cluster_off;
		size = xipfs_cluster_table_size(img);
		len = img->sb.image_size;
		xipfs_image_close(img);
		if (examine(buf, len)) {
			fprintf(stderr, "%s: not clean to begin with\n", argv[2]);
			return 2;
		}
		r = sweep_clusters(buf, len, off, size);
		free(buf);
		return r;
	}
	if (nargs != 4) {
		fprintf(stderr, "usage: corrupt IMAGE SEED FLIPS [--comp-data]\n"
				"       corrupt --write[-fixed] IMAGE SEED OUT [--comp-data]\n");
		return 2;
	}
	argv += write_mode;
	buf = load(argv[1], &len);
	rng = strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	if (xipfs_image_open_mem(buf, len, &img, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 2;
	}
	cls = malloc(len);
	if (!cls)
		return 2;
	classify(img, comp_data);
	len = img->sb.image_size;
	xipfs_image_close(img);
	index_regions(len);
	if (examine(buf, len)) {
		fprintf(stderr, "%s: not clean to begin with\n", argv[1]);
		return 2;
	}

	if (write_mode) {
		int c = next_region(&r);
		uint64_t off;
		FILE *f;

		for (uint64_t skip = rnd() % R_MAX; skip; skip--)
			c = next_region(&r);
		off = pick(c);
		buf[off] ^= (uint8_t)(1 + rnd() % 255);
		if (fixed)
			xipfs_fix_checksums(buf, len);
		f = fopen(argv[3], "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(argv[3]);
			return 2;
		}
		printf("%llu %s\n", (unsigned long long)off, rname[c]);
		free(buf);
		free(cls);
		free(byidx);
		return 0;
	}

	unsigned long flips = strtoul(argv[3], NULL, 0), missed = 0, caught_fixed = 0;
	unsigned long per[R_MAX] = { 0 }, per_fixed[R_MAX] = { 0 }, tried[R_MAX] = { 0 };
	uint8_t *copy = malloc(len);

	if (!copy)
		return 2;
	for (unsigned long i = 0; i < flips; i++) {
		int c = next_region(&r);
		uint64_t off = pick(c);
		uint8_t x = (uint8_t)(1 + rnd() % 255);

		tried[c]++;
		buf[off] ^= x;
		if (examine(buf, len)) {
			per[c]++;
		} else {
			missed++;
			printf("UNDETECTED: flip 0x%02x at offset %llu (%s)\n", x,
			       (unsigned long long)off, rname[c]);
		}
		/* The same damage behind valid checksums: only structure can tell. */
		memcpy(copy, buf, len);
		xipfs_fix_checksums(copy, len);
		if (examine(copy, len)) {
			per_fixed[c]++;
			caught_fixed++;
		}
		buf[off] ^= x;
	}
	for (int c = 0; c < R_MAX; c++)
		if (tried[c])
			printf("%-17s %5lu flips: %5lu detected; with checksums fixed up: %5lu detected\n",
			       rname[c], tried[c], per[c], per_fixed[c]);

	unsigned long truncs = flips / 4 + 1, opened = 0;

	for (unsigned long i = 0; i < truncs; i++) {
		size_t l = rnd() % len;
		uint8_t *t = malloc(l ? l : 1);

		/* A separate allocation, so ASan sees any read past its end. */
		memcpy(t, buf, l);
		if (!xipfs_image_open_mem(t, l, &img, NULL, 0)) {
			opened++;
			printf("UNDETECTED: truncation to %zu bytes opened\n", l);
			xipfs_image_close(img);
		}
		free(t);
	}
	printf("%lu flips: %lu undetected; %lu caught behind fixed checksums; "
	       "%lu truncations: %lu undetected\n",
	       flips, missed, caught_fixed, truncs, opened);
	free(copy);
	free(buf);
	free(cls);
	free(byidx);
	return missed || opened ? 1 : 0;
}
