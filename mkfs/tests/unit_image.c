// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the image reader and checker on a small image built here
 * by hand, independent of mkfs.xipfs, so that each corruption can be
 * placed precisely and its message asserted.
 *
 * The image (4 KiB pages), inode numbers as slots of the inode table; in
 * the default layout root, a and b are extended inodes (two slots), the
 * others compact (one slot); with ext_layout (read-write images: no
 * compact inodes) every inode is extended:
 *   /        dir  ino 1: a, dev, fifo, link, sub
 *   /a       reg  ino 3: 3 pages + 100 bytes: XIP, hole, zlib cluster 0, tail
 *   /sub/b   reg  ino 5: 2 pages + 10 bytes, stored cluster 1 (3 pages)
 *   /sub     dir  ino 7: b, hard
 *   /link    lnk  ino 8 (9) -> "sub/b"
 *   /dev     chr  ino 9 (11) (1, 3)
 *   /fifo    fifo ino 10 (13)
 *   /sub/hard  = ino 3
 * With split_b, b is in stored clusters 1 (pages 0-1) and 2 (page 2) and
 * the largest cluster is 2 pages (grouped maps step 2 pages a cluster).
 * With no_xip, a's page 0 is a hole too, the XIP area empty and the
 * compressed area right after the metadata, in its page.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "compress.h"
#include "crc32c.h"
#include "xipfs_image.h"

#define PS		4096
#define IMG_PAGES	16
#define META_OFF	XIPFS_SB_SIZE	/* the metadata right after the superblock */
#define I_A		3
#define I_B		5
#define I_SUB		7

static uint8_t img[IMG_PAGES * PS];
static size_t img_len;
/* Layout choices of build(), and the inode numbers and slots they give. */
static bool ext_layout, split_b, no_xip;
/* Spare zero bytes in the metadata (before the cluster table), at off_spare. */
static uint64_t spare_meta, off_spare;
static uint32_t ino_link, ino_dev, ino_fifo, nslots;
/* Where the builder put things, for the corruption cases. */
static uint64_t off_inodes, off_root_dir, off_sub_dir, off_map_a, off_map_b,
		off_clusters, off_link, off_tail, xip_off, comp_off, comp0_off;
static uint32_t ncl;
static uint8_t content_a[3 * PS + 100], content_b[2 * PS + 10];

static int failures, checks;

#define CHECK(cond, ...) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

static bool all_zero_buf(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void st16(uint64_t off, uint16_t v) { v = htole16(v); memcpy(img + off, &v, 2); }
static void st32(uint64_t off, uint32_t v) { v = htole32(v); memcpy(img + off, &v, 4); }
static void st64(uint64_t off, uint64_t v) { v = htole64(v); memcpy(img + off, &v, 8); }
static uint64_t ld64(uint64_t off) { uint64_t v; memcpy(&v, img + off, 8); return le64toh(v); }

#define SB(f)	offsetof(struct xipfs_super_block, f)
/* A field of extended inode ino, of compact inode ino. */
#define IN(ino, f) (off_inodes + (uint64_t)(ino) * XIPFS_INODE_SLOT + offsetof(struct xipfs_inode, f))
#define CIN(ino, f) (off_inodes + (uint64_t)(ino) * XIPFS_INODE_SLOT + \
		     offsetof(struct xipfs_inode_compact, f))
/* Cluster descriptor i (i == ncl: the sentinel). */
#define CL(i)	(off_clusters + (uint64_t)(i) * XIPFS_CLUSTER_SIZE)

static uint64_t meta_pos;

static uint64_t meta_alloc(uint64_t len)
{
	uint64_t off = (meta_pos + 7) & ~7ULL;

	meta_pos = off + len;
	return off;
}

static bool is_ext(uint32_t ino)
{
	return ext_layout || ino == 1 || ino == I_A || ino == I_B;
}

static void put_inode(uint32_t ino, uint16_t mode, uint32_t nlink, uint64_t size,
		      uint64_t data, uint32_t rdev, uint32_t map_cap)
{
	if (!is_ext(ino)) {
		st16(CIN(ino, i_mode), mode);
		st16(CIN(ino, i_nlink), (uint16_t)nlink);
		st16(CIN(ino, i_uid), (uint16_t)(1000 + ino));
		st16(CIN(ino, i_gid), (uint16_t)(2000 + ino));
		st32(CIN(ino, i_mtime), 1700000000 + ino);
		st32(CIN(ino, i_size), (uint32_t)size);
		st32(CIN(ino, i_map_cap), S_ISCHR(mode) || S_ISBLK(mode) ? rdev : map_cap);
		st64(CIN(ino, i_data), data);
		return;
	}
	st16(IN(ino, i_mode), mode);
	st16(IN(ino, i_flags), XIPFS_INODE_EXTENDED);
	st32(IN(ino, i_nlink), nlink);
	st32(IN(ino, i_uid), 1000 + ino);
	st32(IN(ino, i_gid), 2000 + ino);
	st64(IN(ino, i_size), size);
	st64(IN(ino, i_mtime), 1700000000 + ino);
	st32(IN(ino, i_mtime_nsec), 123456789);
	st32(IN(ino, i_rdev), rdev);
	st64(IN(ino, i_data), data);
	st32(IN(ino, i_map_cap), map_cap);
}

struct ent { const char *name; uint32_t ino; uint8_t type; };

static uint64_t put_dir(uint32_t parent, const struct ent *e, uint32_t n, uint64_t *size)
{
	uint64_t len = XIPFS_DIR_HEADER_SIZE + n * XIPFS_DIRENT_SIZE, names, off;

	for (uint32_t i = 0; i < n; i++)
		len += strlen(e[i].name);
	off = meta_alloc(len);
	st32(off, n);
	st32(off + 4, parent);
	names = XIPFS_DIR_HEADER_SIZE + n * XIPFS_DIRENT_SIZE;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t d = off + XIPFS_DIR_HEADER_SIZE + i * XIPFS_DIRENT_SIZE;
		size_t l = strlen(e[i].name);

		st32(d, e[i].ino);
		st32(d + 4, (uint32_t)names);
		img[d + 8] = (uint8_t)l;
		img[d + 9] = e[i].type;
		memcpy(img + off + names, e[i].name, l);
		names += l;
	}
	*size = len;
	return off;
}

static void build(void)
{
	const struct xipfs_compressor *z = xipfs_compressor_by_name("zlib");
	uint8_t cbuf[2 * PS];
	uint64_t size, meta_size, pos;
	size_t clen;

	ino_link = ext_layout ? 9 : 8;
	ino_dev = ext_layout ? 11 : 9;
	ino_fifo = ext_layout ? 13 : 10;
	nslots = ino_fifo + (is_ext(ino_fifo) ? 2 : 1);
	ncl = split_b ? 3 : 2;

	const struct ent root[] = {
		{ "a", I_A, DT_REG }, { "dev", ino_dev, DT_CHR }, { "fifo", ino_fifo, DT_FIFO },
		{ "link", ino_link, DT_LNK }, { "sub", I_SUB, DT_DIR },
	};
	const struct ent sub[] = { { "b", I_B, DT_REG }, { "hard", I_A, DT_REG } };

	memset(img, 0, sizeof(img));
	for (size_t i = 0; i < sizeof(content_a); i++)
		content_a[i] = (uint8_t)(i * 7 + 1);
	memset(content_a + PS, 0, PS);	/* the hole */
	if (no_xip)
		memset(content_a, 0, PS);
	for (size_t i = 0; i < sizeof(content_b); i++)
		content_b[i] = (uint8_t)(i ^ (i >> 8));

	meta_pos = META_OFF;
	off_inodes = meta_alloc(nslots * XIPFS_INODE_SLOT);
	off_root_dir = put_dir(1, root, 5, &size);
	put_inode(1, S_IFDIR | 0755, 3, size, off_root_dir, 0, 0);
	off_sub_dir = put_dir(1, sub, 2, &size);
	put_inode(I_SUB, S_IFDIR | 0750, 2, size, off_sub_dir, 0, 0);
	off_map_a = meta_alloc(5 * 8);
	put_inode(I_A, S_IFREG | 0644, 2, sizeof(content_a), off_map_a, 0, 5);
	off_map_b = meta_alloc(3 * 8);
	put_inode(I_B, S_IFREG | 0600, 1, sizeof(content_b), off_map_b, 0, 3);
	off_link = meta_alloc(5);
	memcpy(img + off_link, "sub/b", 5);
	put_inode(ino_link, S_IFLNK | 0777, 1, 5, off_link, 0, 0);
	put_inode(ino_dev, S_IFCHR | 0620, 1, 0, 0, makedev(1, 3) & 0xfffff, 0);
	put_inode(ino_fifo, S_IFIFO | 0644, 1, 0, 0, 0, 0);
	off_tail = meta_alloc(100);
	memcpy(img + off_tail, content_a + 3 * PS, 100);
	off_spare = spare_meta ? meta_alloc(spare_meta) : 0;
	off_clusters = meta_alloc((ncl + 1) * XIPFS_CLUSTER_SIZE);
	meta_size = meta_pos - META_OFF;

	xip_off = (meta_pos + PS - 1) / PS * PS;
	memcpy(img + xip_off, content_a, PS);
	comp_off = xip_off + PS;
	if (no_xip) {
		memset(img + xip_off, 0, PS);
		comp_off = meta_pos;
	}
	clen = z->compress(content_a + 2 * PS, PS, cbuf, sizeof(cbuf), 6);
	if (!clen)
		abort();
	comp0_off = comp_off;
	memcpy(img + comp_off, cbuf, clen);
	memcpy(img + comp_off + clen, content_b, sizeof(content_b));
	pos = comp_off + clen + sizeof(content_b);

	/* cluster 0: zlib, page 2 of a; cluster 1: stored, all of b (or 2 pages of it) */
	st64(CL(0), XIPFS_CL_DESC(0, 1, PS, 12, XIPFS_COMP_ZLIB, false));
	if (!split_b) {
		st64(CL(1), XIPFS_CL_DESC(clen, 3, sizeof(content_b), 12, XIPFS_COMP_NONE, false));
		for (int i = 0; i < 3; i++)
			st64(off_map_b + 8 * i, XIPFS_PTE_COMP(1, i));
	} else {
		st64(CL(1), XIPFS_CL_DESC(clen, 2, 2 * PS, 12, XIPFS_COMP_NONE, false));
		st64(CL(2), XIPFS_CL_DESC(clen + 2 * PS, 1, 10, 12, XIPFS_COMP_NONE, false));
		st64(off_map_b, XIPFS_PTE_COMP(1, 0));
		st64(off_map_b + 8, XIPFS_PTE_COMP(1, 1));
		st64(off_map_b + 16, XIPFS_PTE_COMP(2, 0));
	}
	st64(CL(ncl), pos - comp_off);	/* the sentinel */

	st64(off_map_a, no_xip ? 0 : XIPFS_PTE_XIP(xip_off / PS));
	st64(off_map_a + 8, 0);
	st64(off_map_a + 16, XIPFS_PTE_COMP(0, 0));
	st64(off_map_a + 24, XIPFS_PTE_TAIL(off_tail - META_OFF));

	img_len = (pos + PS - 1) / PS * PS;
	st32(SB(s_magic), XIPFS_MAGIC);
	st16(SB(s_version), XIPFS_VERSION);
	img[SB(s_page_shift)] = 12;
	img[SB(s_max_cluster_shift)] = split_b ? 13 : 14;
	st16(SB(s_state), XIPFS_STATE_CLEAN);
	st16(SB(s_comp_algs), 1U << XIPFS_COMP_ZLIB);
	st32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS | XIPFS_FEATURE_INCOMPAT_TAIL |
	     (ext_layout ? 0 : XIPFS_FEATURE_INCOMPAT_COMPACT_INODES));
	st32(SB(s_root_ino), XIPFS_ROOT_INO);
	st64(SB(s_image_size), img_len);
	st32(SB(s_inode_count), nslots);
	st64(SB(s_inode_off), off_inodes);
	st64(SB(s_meta_off), META_OFF);
	st64(SB(s_meta_size), meta_size);
	st64(SB(s_cluster_off), off_clusters);
	st64(SB(s_cluster_count), ncl);
	st64(SB(s_xip_off), xip_off);
	st64(SB(s_xip_size), no_xip ? 0 : PS);
	st64(SB(s_comp_off), comp_off);
	st64(SB(s_comp_size), pos - comp_off);
	st64(SB(s_free_off), img_len);
	memcpy(img + SB(s_volume_name), "unit", 4);
	xipfs_fix_checksums(img, img_len);
}

/* Messages of the last check, one per line. */
static char msgs[16384];
static unsigned int nmsgs;

static void collect(void *arg, const char *msg)
{
	(void)arg;
	nmsgs++;
	if (strlen(msgs) + strlen(msg) + 2 < sizeof(msgs)) {
		strcat(msgs, msg);
		strcat(msgs, "\n");
	}
}

static uint64_t run_check(unsigned int max, struct xipfs_check_stats *st)
{
	struct xipfs_check_opts o = { .report = collect, .max_messages = max };
	struct xipfs_image *im;
	struct xipfs_check_stats dummy;
	char err[256];
	uint64_t n;

	msgs[0] = '\0';
	nmsgs = 0;
	if (xipfs_image_open_mem(img, img_len, &im, err, sizeof(err))) {
		snprintf(msgs, sizeof(msgs), "open: %s\n", err);
		return UINT64_MAX;
	}
	n = xipfs_check(im, &o, st ? st : &dummy);
	xipfs_image_close(im);
	return n;
}

/* After a mutation: checksums fixed, so only the structural check can see it. */
static void expect_problem(const char *what, const char *needle)
{
	uint64_t n;

	xipfs_fix_checksums(img, img_len);
	n = run_check(0, NULL);
	CHECK(n > 0 && n != UINT64_MAX, "%s: expected a problem, got %llu:\n%s", what,
	      (unsigned long long)n, msgs);
	CHECK(strstr(msgs, needle), "%s: no message with \"%s\" in:\n%s", what, needle, msgs);
	build();
}

static void expect_open_error(const char *what, const char *needle, bool fix, int want)
{
	struct xipfs_image *im;
	char err[256] = "";
	int ret;

	if (fix)
		xipfs_fix_checksums(img, img_len);
	ret = xipfs_image_open_mem(img, img_len, &im, err, sizeof(err));
	CHECK(ret == want, "%s: open returned %d, want %d (%s)", what, ret, want, err);
	CHECK(strstr(err, needle), "%s: error \"%s\" lacks \"%s\"", what, err, needle);
	if (!ret)
		xipfs_image_close(im);
	build();
}

static void test_clean(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_dinode in;
	uint8_t page[PS];
	char err[256];
	const char *t;
	size_t tlen;
	uint32_t ino;
	uint64_t n;

	n = run_check(0, &st);
	CHECK(n == 0, "clean image has %llu problems:\n%s", (unsigned long long)n, msgs);
	CHECK(st.inodes == 7 && st.dirs == 2 && st.files == 2 && st.symlinks == 1 &&
	      st.specials == 2, "inode counts %llu/%llu/%llu", (unsigned long long)st.inodes,
	      (unsigned long long)st.dirs, (unsigned long long)st.files);
	CHECK(st.compact_inodes == 4 && st.extended_inodes == 3, "compact %llu, extended %llu",
	      (unsigned long long)st.compact_inodes, (unsigned long long)st.extended_inodes);
	CHECK(st.pages == 7 && st.xip_pages == 1 && st.comp_pages == 4 && st.holes == 1 &&
	      st.tails == 1, "page counts");
	CHECK(st.clusters == 2 && st.cluster_bytes == PS + sizeof(content_b), "clusters");
	CHECK(st.crc_checked, "crc checked");

	CHECK(!xipfs_image_open_mem(img, img_len, &im, err, sizeof(err)), "open: %s", err);
	CHECK(!xipfs_resolve(im, "/sub/hard", &ino) && ino == I_A, "resolve hard link");
	CHECK(!xipfs_resolve(im, "sub/../a", &ino) && ino == I_A, "resolve ..");
	CHECK(xipfs_resolve(im, "/nope", &ino) == -ENOENT, "missing path");
	CHECK(xipfs_resolve(im, "/a/x", &ino) == -ENOTDIR, "file as directory");
	CHECK(!xipfs_read_inode(im, I_A, &in), "inode a");
	CHECK(in.extended && in.mtime_nsec == 123456789 && in.uid == 1000 + I_A &&
	      in.map_cap == 5 && in.nlink == 2, "a decoded (extended)");
	for (uint64_t p = 0; p < 4; p++) {
		size_t len = p < 3 ? PS : 100;

		CHECK(!xipfs_read_page(im, &in, p, page), "read a page %llu: %s",
		      (unsigned long long)p, xipfs_image_error(im));
		CHECK(!memcmp(page, content_a + p * PS, len), "a page %llu content",
		      (unsigned long long)p);
	}
	CHECK(xipfs_read_page(im, &in, 4, page) == -EUCLEAN, "read past EOF fails");
	CHECK(!xipfs_read_inode(im, I_B, &in), "inode b");
	for (uint64_t p = 0; p < 3; p++) {
		size_t len = p < 2 ? PS : 10;

		CHECK(!xipfs_read_page(im, &in, p, page), "read b page %llu",
		      (unsigned long long)p);
		CHECK(!memcmp(page, content_b + p * PS, len), "b page %llu content",
		      (unsigned long long)p);
		CHECK(p < 2 || page[10] == 0, "b zero past EOF");
	}
	CHECK(!xipfs_read_inode(im, ino_link, &in) && !xipfs_read_link(im, &in, &t, &tlen) &&
	      tlen == 5 && !memcmp(t, "sub/b", 5), "symlink target");
	/* Compact inodes: 16-bit ids, whole seconds, the device number in i_map_cap. */
	CHECK(!in.extended && in.uid == 1000 + ino_link && in.gid == 2000 + ino_link &&
	      in.mtime == 1700000000 + ino_link && !in.mtime_nsec && in.size == 5 &&
	      in.nlink == 1 && in.data == off_link && !in.map_cap, "link decoded (compact)");
	CHECK(!xipfs_read_inode(im, ino_dev, &in) && !in.extended &&
	      in.rdev == (makedev(1, 3) & 0xfffff) && !in.map_cap, "dev decoded (compact)");
	CHECK(!xipfs_read_inode(im, I_SUB, &in) && !in.extended && S_ISDIR(in.mode) &&
	      in.data == off_sub_dir, "sub decoded (compact)");
	CHECK(xipfs_read_inode(im, nslots, &in) == -EUCLEAN, "inode out of range");
	{
		struct xipfs_cluster_info c0, c1;
		uint64_t end;

		CHECK(!xipfs_get_cluster(im, 0, &c0) && !xipfs_get_cluster(im, 1, &c1) &&
		      !xipfs_cluster_end(im, &end), "clusters: %s", xipfs_image_error(im));
		CHECK(c0.index == 0 && c0.off == comp_off && c0.clen == c1.off - comp_off &&
		      c0.ulen == PS && c0.pages == 1 && c0.alg == XIPFS_COMP_ZLIB && !c0.shared,
		      "cluster 0 decoded");
		CHECK(c1.index == 1 && c1.clen == sizeof(content_b) && c1.ulen == sizeof(content_b) &&
		      c1.pages == 3 && c1.alg == XIPFS_COMP_NONE && !c1.shared &&
		      c1.desc == ld64(CL(1)), "cluster 1 decoded");
		CHECK(end == c1.off + c1.clen && end == comp_off + ld64(CL(2)), "the sentinel");
		CHECK(xipfs_get_cluster(im, 2, &c0) == -EUCLEAN &&
		      strstr(xipfs_image_error(im), "cluster 2 out of range (2 clusters)"),
		      "the sentinel is no cluster");
		CHECK(xipfs_group_cshift(im) == 2, "cluster shift 16K / 4K");
	}
	CHECK(xipfs_read_inode(im, I_A + 1, &in) == -EUCLEAN &&
	      strstr(xipfs_image_error(im), "second half of extended inode 3"),
	      "the second slot of a is no inode: %s", xipfs_image_error(im));
	CHECK(!xipfs_slot_is_second(im, I_A) && xipfs_slot_is_second(im, I_A + 1) &&
	      xipfs_slot_is_second(im, 2) && !xipfs_slot_is_second(im, I_SUB) &&
	      !xipfs_slot_is_second(im, ino_link) && !xipfs_slot_is_second(im, nslots),
	      "second slots");
	xipfs_image_close(im);
}

static void test_extract(void)
{
	char dir[200], path[256], buf[sizeof(content_a) + 1];
	struct xipfs_extract_opts o = { .owners = false };
	struct xipfs_image *im;
	struct stat sa, sh, sd;
	char err[256];
	int fd;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/xipfs-unit-XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 150 ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	CHECK(!xipfs_image_open_mem(img, img_len, &im, err, sizeof(err)), "open: %s", err);
	snprintf(path, sizeof(path), "%s/x", dir);
	CHECK(!xipfs_extract(im, path, &o), "extract");
	xipfs_image_close(im);
	snprintf(path, sizeof(path), "%s/x/a", dir);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	CHECK(n == (ssize_t)sizeof(content_a) && !memcmp(buf, content_a, sizeof(content_a)),
	      "extracted a content (%zd bytes)", n);
	if (fd >= 0)
		close(fd);
	CHECK(!lstat(path, &sa) && sa.st_mtim.tv_nsec == 123456789 &&
	      sa.st_mtim.tv_sec == 1700000000 + I_A && (sa.st_mode & 07777) == 0644,
	      "a metadata");
	snprintf(path, sizeof(path), "%s/x/sub/hard", dir);
	CHECK(!lstat(path, &sh) && sh.st_ino == sa.st_ino && sh.st_nlink == 2, "hard link");
	snprintf(path, sizeof(path), "%s/x/link", dir);
	n = readlink(path, buf, sizeof(buf));
	CHECK(n == 5 && !memcmp(buf, "sub/b", 5), "symlink");
	snprintf(path, sizeof(path), "%s/x/fifo", dir);
	CHECK(!lstat(path, &sd) && S_ISFIFO(sd.st_mode), "fifo");
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/x/dev", dir);
		CHECK(!lstat(path, &sd) && S_ISCHR(sd.st_mode) && major(sd.st_rdev) == 1 &&
		      minor(sd.st_rdev) == 3, "char device");
	}
	snprintf(path, sizeof(path), "%s/x/sub", dir);
	CHECK(!lstat(path, &sd) && (sd.st_mode & 07777) == 0750 &&
	      sd.st_mtim.tv_sec == 1700000000 + I_SUB && sd.st_mtim.tv_nsec == 0,
	      "sub metadata after its contents (compact: whole seconds)");

	/* Hostile names are skipped, with an error, and never escape. */
	img[off_root_dir + XIPFS_DIR_HEADER_SIZE + 4 * XIPFS_DIRENT_SIZE + 8] = 2; /* "su" */
	{
		/* root entry 0 ("a") becomes ".", sub's "b" becomes "/" */
		uint32_t a_name, b_name;

		memcpy(&a_name, img + off_root_dir + XIPFS_DIR_HEADER_SIZE + 4, 4);
		memcpy(&b_name, img + off_sub_dir + XIPFS_DIR_HEADER_SIZE + 4, 4);
		img[off_root_dir + le32toh(a_name)] = '.';
		img[off_sub_dir + le32toh(b_name)] = '/';
		/* and "link" names the second slot of a: no inode */
		st32(off_root_dir + XIPFS_DIR_HEADER_SIZE + 3 * XIPFS_DIRENT_SIZE, I_A + 1);
	}
	xipfs_fix_checksums(img, img_len);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, err, sizeof(err)), "open: %s", err);
	snprintf(path, sizeof(path), "%s/y", dir);
	CHECK(xipfs_extract(im, path, &o) == -1, "hostile names: extract reports errors");
	xipfs_image_close(im);
	snprintf(path, sizeof(path), "%s/y/su/hard", dir);
	CHECK(!lstat(path, &sh) && S_ISREG(sh.st_mode), "the rest is extracted");
	snprintf(path, sizeof(path), "%s/y/sub", dir);
	CHECK(lstat(path, &sh) && errno == ENOENT, "renamed entry");
	snprintf(path, sizeof(path), "%s/y/link", dir);
	CHECK(lstat(path, &sh) && errno == ENOENT, "an entry naming a second slot is skipped");
	build();

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0, "cleanup");
}

static void test_corruptions(void)
{
	uint64_t e;
	struct xipfs_check_stats st;

	/* Checksums: the one thing a flip without a fix-up must trip. */
	img[SB(s_build_time)] ^= 1;
	expect_open_error("superblock flip", "superblock checksum", false, -EUCLEAN);
	img[CIN(I_SUB, i_mtime)] ^= 1;
	CHECK(run_check(0, NULL) == 1 && strstr(msgs, "metadata checksum mismatch"),
	      "metadata flip:\n%s", msgs);
	build();
	img[0] ^= 0xff;
	expect_open_error("magic", "not an xipfs image", false, -ENOTXIPFS);
	img_len -= PS;
	expect_open_error("truncated", "truncated", false, -EUCLEAN);
	st32(SB(s_feature_incompat), 0x80 | XIPFS_FEATURE_INCOMPAT_ALL);
	expect_open_error("incompat", "unknown incompatible", true, -EUCLEAN);
	st64(SB(s_inode_off), META_OFF + 8 * 1024 * 1024);
	expect_open_error("inode table", "inode table", true, -EUCLEAN);
	st64(SB(s_xip_off), 0);
	expect_open_error("xip area on sb", "superblock", true, -EUCLEAN);
	st64(SB(s_meta_size), UINT64_MAX - 100);
	expect_open_error("meta size overflow", "outside the image", true, -EUCLEAN);
	st64(SB(s_cluster_count), UINT64_MAX / 3);
	expect_open_error("cluster count overflow", "cluster table", true, -EUCLEAN);
	st64(SB(s_cluster_count), UINT64_MAX);
	expect_open_error("cluster count + 1 overflow", "cluster table", true, -EUCLEAN);
	/* The sentinel must be inside the metadata too. */
	st64(SB(s_meta_size), CL(ncl) - META_OFF);
	expect_open_error("no room for the sentinel", "cluster table", true, -EUCLEAN);
	st32(SB(s_inode_count), UINT32_MAX);
	expect_open_error("inode count", "inode table", true, -EUCLEAN);
	/* 32-byte slots: one slot more than the metadata holds. */
	st32(SB(s_inode_count), (uint32_t)((meta_pos - off_inodes) / XIPFS_INODE_SLOT + 1));
	expect_open_error("inode count + 1", "inode table", true, -EUCLEAN);
	img[SB(s_max_cluster_shift)] = 11;
	expect_open_error("max cluster shift below a page", "max cluster shift 11 out of range 12..18",
			  true, -EUCLEAN);
	img[SB(s_max_cluster_shift)] = 19;
	expect_open_error("max cluster shift", "max cluster shift 19", true, -EUCLEAN);
	img[SB(s_max_cluster_shift)] = 200;
	expect_open_error("max cluster shift 200", "max cluster shift 200", true, -EUCLEAN);
	st16(SB(s_version), 1);
	expect_open_error("version 1", "unsupported format version 1", true, -EUCLEAN);

	/* Superblock fields only fsck looks at. */
	st32(SB(s_feature_compat), 0x100);
	expect_problem("compat", "unknown compatible");
	st32(SB(s_feature_ro_compat), 0x100);
	expect_problem("ro_compat", "unknown read-only");
	img[SB(s_reserved) + 5] = 1;
	expect_problem("sb reserved", "superblock: reserved");
	st16(SB(s_state), 0x80);
	expect_problem("state", "unknown state");
	st16(SB(s_comp_algs), 0);
	expect_problem("comp_algs", "not in the superblock's list");
	st32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS);
	expect_problem("tail feature", "TAIL feature");
	img[SB(s_volume_name) + 10] = 'x';
	expect_problem("volume name", "NUL-padded");
	/* Between the metadata and the XIP area. */
	img[xip_off - 1] = 1;
	expect_problem("space before the XIP area", "space between areas: non-zero byte at offset");
	st64(SB(s_meta_off), META_OFF + 4);
	expect_open_error("metadata not 8-byte aligned", "metadata area offset 260 not 8-byte-aligned",
			  true, -EUCLEAN);
	st64(SB(s_meta_off), 128);
	st64(SB(s_meta_size), meta_pos - 128);
	expect_open_error("metadata over the superblock", "metadata area overlaps the superblock",
			  true, -EUCLEAN);
	/* The compressed area may follow the metadata only without XIP pages and free space. */
	st64(SB(s_comp_off), comp_off - 8);
	st64(SB(s_comp_size), ld64(SB(s_comp_size)) + 8);
	expect_open_error("compressed area unaligned with XIP pages",
			  "compressed area offset", true, -EUCLEAN);

	/* Inodes. */
	st64(IN(I_A, i_xattr), 8);
	expect_problem("i_xattr without the feature", "attribute body offset 8 without the XATTRS feature");
	img[SB(s_xattr_reserved) + 1] = 1;
	expect_problem("sb xattr reserved", "superblock: reserved");
	st32(SB(s_xattr_count), 1);
	expect_problem("shared table without the feature", "without the XATTRS feature");
	st32(IN(I_A, i_reserved0), 1);
	expect_problem("inode reserved0", "reserved fields not zero (extended inode)");
	st16(CIN(I_SUB, i_reserved), 1);
	expect_problem("compact inode reserved", "/sub (inode 7): reserved fields not zero (compact inode)");
	st16(IN(I_A, i_flags), XIPFS_INODE_EXTENDED | 8);
	expect_problem("inode flags", "unknown flags 0x9");
	st16(CIN(ino_fifo, i_flags), 8);
	expect_problem("compact inode flags", "/fifo (inode 10): unknown flags 0x8");
	st16(CIN(ino_fifo, i_mode), 0170644);
	expect_problem("bad type", "invalid file type");
	st32(IN(I_A, i_nlink), 1);
	expect_problem("nlink file", "link count 1, expected 2");
	st32(IN(1, i_nlink), 2);
	expect_problem("nlink dir", "link count 2, expected 3");
	st16(CIN(I_SUB, i_nlink), 3);
	expect_problem("nlink compact dir", "/sub (inode 7): link count 3, expected 2");
	st32(IN(I_A, i_map_cap), 3);
	expect_problem("map cap", "capacity 3 < 4 pages");
	st64(IN(I_A, i_data), off_map_a + 4);
	expect_problem("map align", "not 8-byte aligned");
	st32(CIN(ino_link, i_size), 4096);
	expect_problem("symlink size", "symlink target");
	img[off_link + 1] = 0;
	expect_problem("symlink NUL", "NUL");
	st64(CIN(ino_link, i_data), off_inodes + 8);
	expect_problem("symlink in the inode table", "metadata overlap: the symlink target of inode 8");
	st64(IN(I_B, i_data), off_map_a + 8);
	expect_problem("shared page map", "metadata overlap");
	st32(IN(1, i_rdev), 5);
	expect_problem("dir rdev", "device number");
	st32(CIN(ino_fifo, i_map_cap), 5);
	expect_problem("compact fifo rdev", "page map capacity 5 on a non-regular file");
	st16(IN(0, i_mode), S_IFREG);
	expect_problem("slot 0", "inode 0: unused slot not zero");
	img[off_inodes + XIPFS_INODE_SLOT - 1] = 1;
	expect_problem("slot 0 last byte", "inode 0: unused slot not zero");
	/* Compact inodes need the feature. */
	st32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS | XIPFS_FEATURE_INCOMPAT_TAIL);
	expect_problem("compact without the feature",
		       "/sub (inode 7): compact inode (32 bytes, i_flags 0x0 without EXTENDED) but the COMPACT_INODES feature is not set");
	/* Slots: an entry or d_parent naming a second slot, a torn last inode. */
	st32(off_root_dir + XIPFS_DIR_HEADER_SIZE, I_A + 1);
	expect_problem("dirent to a second slot",
		       "entry \"a\" points to inode 4, the second slot of extended inode 3, not an inode");
	st32(off_sub_dir + 4, 2);
	expect_problem("d_parent a second slot",
		       "parent is inode 2 (the second slot of an extended inode, not an inode)");
	st16(CIN(ino_fifo, i_flags), XIPFS_INODE_EXTENDED);
	expect_problem("extended inode in the last slot",
		       "inode 10: extended inode (64 bytes) in the last slot of the 11-slot inode table: its second half is missing");
	/* sub turns extended: slot 8 (link) becomes its second half. */
	st16(CIN(I_SUB, i_flags), XIPFS_INODE_EXTENDED);
	expect_problem("compact inode marked extended",
		       "entry \"link\" points to inode 8, the second slot of extended inode 7");
	/* Every slot after slot 0 belongs to an inode. */
	memset(img + CIN(ino_fifo, i_mode), 0, XIPFS_INODE_SLOT);
	expect_problem("zero slot", "inode 10: zero (unused) slot, but every slot after slot 0 belongs to an inode");
	/* An inode no directory names. */
	memset(img + CIN(ino_fifo, i_mode), 0, XIPFS_INODE_SLOT);
	expect_problem("dirent to free inode", "unused or invalid inode 10");
	st16(CIN(ino_fifo, i_mode), 0);
	expect_problem("mode 0", "inode 10: unused slot not zero (mode 0, flags 0x0)");
	{
		/* Drop "fifo" from the root: count 4, entry 2 replaced by 3, 4. */
		uint64_t d = off_root_dir + XIPFS_DIR_HEADER_SIZE;

		memmove(img + d + 2 * XIPFS_DIRENT_SIZE, img + d + 3 * XIPFS_DIRENT_SIZE,
			2 * XIPFS_DIRENT_SIZE);
		st32(off_root_dir, 4);
		expect_problem("orphan", "not reachable from the root");
	}

	/* Directories. */
	{
		uint8_t tmp[XIPFS_DIRENT_SIZE];
		uint64_t d = off_root_dir + XIPFS_DIR_HEADER_SIZE;

		memcpy(tmp, img + d, XIPFS_DIRENT_SIZE);
		memcpy(img + d, img + d + XIPFS_DIRENT_SIZE, XIPFS_DIRENT_SIZE);
		memcpy(img + d + XIPFS_DIRENT_SIZE, tmp, XIPFS_DIRENT_SIZE);
		expect_problem("unsorted", "out of sorted order");
		/* entry 1 ("dev") gets entry 0's name "a" */
		memcpy(img + d + XIPFS_DIRENT_SIZE + 4, img + d + 4, 5);
		expect_problem("duplicate", "duplicate name");
		img[d + 9] = DT_DIR;
		expect_problem("d_type", "type 4 but inode 3");
		st32(d + 4, 60000);
		expect_problem("name out of block", "outside the");
		img[d + 8] = 0;
		expect_problem("empty name", "empty name");
		st16(d + 10, 1);
		expect_problem("dirent reserved", "reserved field");
		st32(d + 4, 0);
		expect_problem("name over entries", "overlaps the entry table");
		st32(off_root_dir, 1000);
		expect_problem("dir count", "don't fit");
	}
	{
		uint64_t d = off_sub_dir + XIPFS_DIR_HEADER_SIZE;

		/* /sub/b -> the root: a loop */
		st32(d, 1);
		img[d + 9] = DT_DIR;
		expect_problem("loop to root", "reachable twice");
		/* /sub/b -> /sub itself */
		st32(d, I_SUB);
		img[d + 9] = DT_DIR;
		expect_problem("loop to self", "reachable twice");
		st32(off_sub_dir + 4, 3);
		expect_problem("d_parent", "parent is inode 3");
		st32(off_root_dir + 4, 3);
		expect_problem("root d_parent", "parent is inode 3");
		img[off_sub_dir + XIPFS_DIR_HEADER_SIZE + 2 * XIPFS_DIRENT_SIZE] = '/';
		expect_problem("slash in name", "'/'");
	}

	/* Page maps. */
	st64(off_map_a + 8, XIPFS_PTE_XIP(xip_off / PS));
	expect_problem("xip twice",
		       "image page 1 (offset 4096) used twice: by XIP page 0 of /a (inode 3) and by XIP page 1 of /a (inode 3)");
	st64(off_map_a, XIPFS_PTE_XIP(0));
	expect_problem("xip on sb", "outside the XIP area");
	st64(off_map_a, XIPFS_PTE_XIP(1ULL << 40));
	expect_problem("xip beyond", "beyond the image");
	st64(off_map_a + 8, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("tail not last", "not the last");
	st64(off_map_a + 24, XIPFS_PTE_TAIL(img_len));
	expect_problem("tail outside meta", "outside the metadata");
	st64(off_map_a + 8, 1ULL << 57);
	expect_problem("pte reserved", "reserved bits");
	st64(off_map_a + 8, 5);
	expect_problem("hole bits", "hole entry not zero");
	/* Entries past the end of the file are ignored: information only. */
	st64(off_map_a + 32, XIPFS_PTE_XIP(xip_off / PS));
	xipfs_fix_checksums(img, img_len);
	e = run_check(0, &st);
	CHECK(e == 0 && st.stale_entries == 1, "entry past EOF: %llu problems, %llu stale:\n%s",
	      (unsigned long long)e, (unsigned long long)st.stale_entries, msgs);
	build();
	st64(off_map_a + 16, XIPFS_PTE_COMP(99, 0));
	expect_problem("cluster range", "cluster 99 out of range");
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 1));
	expect_problem("cluster index", "inconsistent");
	st64(off_map_b + 8, XIPFS_PTE_COMP(1, 2));
	expect_problem("cluster index before start", "before the start");
	st64(off_map_b + 8, XIPFS_PTE_COMP(1, 7));
	expect_problem("cluster index range", "beyond the 3 pages");
	st64(off_map_a + 16, XIPFS_PTE_COMP(1, 0));
	expect_problem("cluster shared", "inconsistent");

	/* Clusters: descriptors. */
	{
		uint64_t d0 = ld64(CL(0)), d1 = ld64(CL(1)), sent = ld64(CL(2));
		uint64_t clen0 = XIPFS_CL_OFF(d1);
		char want[160];

		st64(CL(0), XIPFS_CL_DESC(0, 1, PS - 1, 12, XIPFS_COMP_ZLIB, false));
		expect_problem("ulen not last", "not the file's last cluster");
		st64(CL(0), XIPFS_CL_DESC(0, 2, 2 * PS, 12, XIPFS_COMP_ZLIB, false));
		expect_problem("cluster pages", "2 pages, but 1 map entries");
		st64(CL(0), XIPFS_CL_DESC(0, 5, 4 * PS + 1, 12, XIPFS_COMP_ZLIB, false));
		expect_problem("cluster over the max shift", "cluster 0: 5 pages exceed the maximum cluster size");
		st64(CL(0), d0 | (XIPFS_CL_PAGES_MASK << XIPFS_CL_PAGES_SHIFT));
		expect_problem("cluster of 64 pages", "cluster 0: 64 pages exceed the maximum cluster size");
		st64(CL(0), d0 | (XIPFS_CL_LAST_MASK << XIPFS_CL_LAST_SHIFT));
		expect_problem("last page bytes",
			       "cluster 0: last page of 65536 bytes, more than a page (4096)");
		st64(CL(0), d0 | (7ULL << XIPFS_CL_ALG_SHIFT));
		expect_problem("cluster alg", "cluster 0: unknown algorithm 7");
		st64(CL(0), d0 | XIPFS_CL_SHARED);
		expect_problem("cluster shared flag",
			       "cluster 0: shared (descriptor bit 63) without the SHARED_CLUSTERS feature");
		/* Back to back, each at least a byte. */
		st64(CL(1), d1 & ~XIPFS_CL_OFF_MASK);
		expect_problem("next cluster at offset 0",
			       "cluster 0: data at offset 0 of the compressed area, but the next cluster starts at 0: clusters must lie back to back, each at least 1 byte");
		st64(CL(0), d0 | clen0);
		snprintf(want, sizeof(want), "cluster 0: data at offset %llu of the compressed area, but the next cluster starts at %llu",
			 (unsigned long long)clen0, (unsigned long long)clen0);
		expect_problem("empty cluster", want);
		st64(CL(0), d0 | 1);
		expect_problem("a gap before the first cluster", "compressed area gap");
		/* The sentinel: only an offset, at most s_comp_size. */
		st64(CL(2), sent | (1ULL << 40));
		expect_problem("sentinel bits",
			       "cluster table sentinel (descriptor 2) 0x00000100");
		st64(CL(2), sent | XIPFS_CL_SHARED);
		expect_problem("sentinel shared bit", "bits other than the offset set");
		st64(CL(2), sent + 1);
		snprintf(want, sizeof(want), "cluster 1: data [%llu, +%llu) outside the compressed area",
			 (unsigned long long)(comp_off + clen0),
			 (unsigned long long)(sent + 1 - clen0));
		expect_problem("sentinel past the area", want);
		st64(CL(2), sent + 1);
		snprintf(want, sizeof(want), "cluster table sentinel (descriptor 2): end of the compressed data %llu past the %llu-byte compressed area",
			 (unsigned long long)(sent + 1), (unsigned long long)sent);
		expect_problem("sentinel past the area: said so", want);
		st64(CL(2), sent - 1);
		expect_problem("sentinel short", "cluster 1: stored cluster with compressed length 8201 != 8202");
		st64(CL(2), sent - 1);
		expect_problem("sentinel short: a tail byte", "compressed area tail");
		st64(CL(1), d1 + 1);
		expect_problem("stored cluster moved by a byte", "cluster 1: stored cluster with compressed length 8201");
		/* No clusters: descriptor 0 is the sentinel. */
		st64(SB(s_cluster_count), 0);
		expect_problem("sentinel 0", "cluster table sentinel (descriptor 0)");
	}
	img[comp0_off + 4] ^= 0x55;
	expect_problem("cluster data", "corrupt");
	st64(off_map_a + 16, 0);
	expect_problem("unused cluster", "cluster 0: not used by any file");
	st64(SB(s_comp_size), img_len - comp_off);
	img[img_len - 1] = 7;
	expect_problem("comp area slack", "compressed area tail");
	img[img_len - 1] = 7;
	expect_problem("after the areas", "space after the last area");
	img[xip_off + 5] ^= 1;
	CHECK(run_check(0, NULL) == 0, "an XIP data flip is undetectable (no data crc):\n%s",
	      msgs);
	build();

	/* A read-write mount refuses compact inodes. */
	st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
	expect_problem("META_MODIFIED with compact inodes",
		       "superblock: metadata modified by a read-write mount, but the COMPACT_INODES feature is set");

	/* META_MODIFIED: the metadata checksum is not expected to match. */
	ext_layout = true;
	build();
	st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
	xipfs_fix_checksums(img, img_len);
	img[IN(I_SUB, i_mtime)] ^= 1;
	st32(SB(s_checksum), 0);
	{
		/* only the superblock checksum: the stale metadata crc stays */
		uint8_t copy[XIPFS_SB_SIZE];

		memcpy(copy, img, sizeof(copy));
		memset(copy + offsetof(struct xipfs_super_block, s_state), 0, 2);
		st32(SB(s_checksum), xipfs_crc32c(copy, sizeof(copy)));
	}
	e = run_check(0, &st);
	CHECK(e == 0 && !st.crc_checked && st.extended_inodes == 7 && !st.compact_inodes,
	      "META_MODIFIED: %llu problems:\n%s", (unsigned long long)e, msgs);
	build();

	/* XIP pages in the free area: only after a read-write mount. */
	{
		uint64_t free_pg = img_len / PS;

		st64(SB(s_free_off), img_len);
		st64(SB(s_free_size), 4 * PS);
		st32(SB(s_feature_compat), XIPFS_FEATURE_COMPAT_FREE_SPACE);
		img_len += 4 * PS;
		st64(SB(s_image_size), img_len);
		memset(img + free_pg * PS, 0x5a, PS);
		st64(off_map_a + 8, XIPFS_PTE_XIP(free_pg));
		xipfs_fix_checksums(img, img_len);
		e = run_check(0, NULL);
		CHECK(e > 0 && strstr(msgs, "outside the XIP area"),
		      "XIP page in the free area of a clean image:\n%s", msgs);
		st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
		xipfs_fix_checksums(img, img_len);
		e = run_check(0, &st);
		CHECK(e == 0, "XIP page in the free area after a rw mount: %llu problems:\n%s",
		      (unsigned long long)e, msgs);
		{
			struct xipfs_image *im;
			struct xipfs_dinode in;
			uint8_t page[PS];

			CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open rw image");
			CHECK(im && !xipfs_read_inode(im, I_A, &in) && !xipfs_read_page(im, &in, 1, page) &&
			      page[0] == 0x5a && page[PS - 1] == 0x5a, "a's page 1 from the free area");
			xipfs_image_close(im);
		}
		st32(SB(s_feature_compat), 0);
		expect_problem("free area without the feature", "FREE_SPACE");
	}
	ext_layout = false;
	build();

	/* The message count is bounded, the problem count is not. */
	{
		const uint32_t inos[] = { 1, I_A, I_B, I_SUB, ino_link, ino_dev, ino_fifo };

		for (size_t i = 0; i < sizeof(inos) / sizeof(inos[0]); i++)
			if (is_ext(inos[i]))
				st32(IN(inos[i], i_reserved0), 1);
			else
				st16(CIN(inos[i], i_reserved), 1);
	}
	xipfs_fix_checksums(img, img_len);
	e = run_check(3, NULL);
	CHECK(e >= 7 && nmsgs == 4 && strstr(msgs, "more problems not shown"),
	      "bounded: %llu problems, %u messages:\n%s", (unsigned long long)e, nmsgs, msgs);
	build();
}

/*
 * An image as a read-write mount may leave it (the rules of the header's
 * top comment), made from the hand-built one:
 *  - RW_FREE free-area pages F0.. follow the image;
 *  - a's page map moved to F0 (its old bytes poisoned);
 *  - b's stored cluster 1 made dead: its COMP entries rewritten to XIP
 *    pages F1, F2, F3 with the same content (garbage past EOF);
 *  - a's XIP page 0 moved into the page the dead cluster freed, the old
 *    XIP page poisoned;
 *  - b shrunk to PS + 5 bytes, its entry 2 left behind (stale);
 *  - CLEAN clear (a power cut), META_MODIFIED set, s_meta_crc stale.
 * Every inode is extended (ext_layout): a read-write mount refuses an
 * image with compact inodes.
 */
#define RW_FREE	6
static uint64_t rw_free_pg, rw_freed_pg;

static void rw_setup(void)
{
	uint64_t b_off;

	ext_layout = true;
	build();
	rw_free_pg = img_len / PS;
	st64(SB(s_free_off), img_len);
	st64(SB(s_free_size), RW_FREE * PS);
	st32(SB(s_feature_compat), XIPFS_FEATURE_COMPAT_FREE_SPACE);
	img_len += RW_FREE * PS;
	st64(SB(s_image_size), img_len);
	xipfs_fix_checksums(img, img_len);	/* s_meta_crc of the "mkfs" image */

	/* a's map to F0 */
	memcpy(img + rw_free_pg * PS, img + off_map_a, 5 * 8);
	memset(img + off_map_a, 0xff, 5 * 8);
	st64(IN(I_A, i_data), rw_free_pg * PS);
	/* b's cluster 1 dies: its pages go to F1..F3 */
	for (int i = 0; i < 3; i++) {
		size_t n = i < 2 ? PS : 10;

		memcpy(img + (rw_free_pg + 1 + i) * PS, content_b + i * PS, n);
		memset(img + (rw_free_pg + 1 + i) * PS + n, 0xee, PS - n);
		st64(off_map_b + 8 * i, XIPFS_PTE_XIP(rw_free_pg + 1 + i));
	}
	/* The page after cluster 0's holds only dead cluster 1's bytes. */
	b_off = comp_off + XIPFS_CL_OFF(ld64(CL(1)));
	rw_freed_pg = comp_off / PS + 1;
	if (b_off > rw_freed_pg * PS || b_off + sizeof(content_b) < (rw_freed_pg + 1) * PS)
		abort();	/* the hand-built layout changed */
	memcpy(img + rw_freed_pg * PS, content_a, PS);
	memset(img + xip_off, 0x33, PS);
	st64(rw_free_pg * PS, XIPFS_PTE_XIP(rw_freed_pg));
	/* b shrinks: entry 2 (XIP F3) stays behind */
	st64(IN(I_B, i_size), PS + 5);
	/* Only the superblock checksum is redone, as by a mount. */
	st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
	{
		uint8_t copy[XIPFS_SB_SIZE];

		memcpy(copy, img, sizeof(copy));
		memset(copy + SB(s_checksum), 0, 4);
		memset(copy + SB(s_state), 0, 2);
		st32(SB(s_checksum), xipfs_crc32c(copy, sizeof(copy)));
	}
}

/* A mutation of the rw image: the checker must name it, not crash. */
static void expect_rw_problem(const char *what, const char *needle)
{
	uint64_t n;

	xipfs_fix_checksums(img, img_len);
	n = run_check(0, NULL);
	CHECK(n > 0 && n != UINT64_MAX, "%s: expected a problem, got %llu:\n%s", what,
	      (unsigned long long)n, msgs);
	CHECK(strstr(msgs, needle), "%s: no message with \"%s\" in:\n%s", what, needle, msgs);
	rw_setup();
}

static void test_rw(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_dinode in;
	struct xipfs_extract_opts o = { .owners = false };
	uint8_t page[PS];
	char dir[200], path[256], buf[sizeof(content_a) + 1], want[80];
	uint64_t n, e, np;
	bool moved;
	int fd;
	ssize_t got;

	rw_setup();
	n = run_check(0, &st);
	CHECK(n == 0, "rw image: %llu problems:\n%s", (unsigned long long)n, msgs);
	CHECK(!st.crc_checked && st.stale_entries == 1 && st.moved_maps == 1 &&
	      st.dead_clusters == 1 && st.clusters == 2,
	      "rw stats: crc %d stale %llu moved %llu dead %llu", st.crc_checked,
	      (unsigned long long)st.stale_entries, (unsigned long long)st.moved_maps,
	      (unsigned long long)st.dead_clusters);
	/*
	 * Used: cluster 0's page, a's XIP page, a's map, b's 2 XIP pages;
	 * free: the old XIP page, the dead cluster's last page, F3 (stale), F4, F5.
	 */
	CHECK(st.data_pages == img_len / PS - xip_off / PS && st.free_pages == 5,
	      "rw: %llu data pages, %llu free", (unsigned long long)st.data_pages,
	      (unsigned long long)st.free_pages);
	/* Dead clusters are not even decompressed: their bytes were reused. */
	CHECK(st.cluster_bytes == PS, "rw: only cluster 0 decompressed (%llu bytes)",
	      (unsigned long long)st.cluster_bytes);

	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open rw image");
	if (!im)
		return;
	CHECK(!xipfs_read_inode(im, I_A, &in) && in.extended, "inode a");
	CHECK(!xipfs_map_locate(im, &in, &moved, &np) && moved && np == 1, "a's map moved");
	for (uint64_t p = 0; p < 4; p++) {
		size_t len = p < 3 ? PS : 100;

		CHECK(!xipfs_read_page(im, &in, p, page), "rw: read a page %llu: %s",
		      (unsigned long long)p, xipfs_image_error(im));
		CHECK(!memcmp(page, content_a + p * PS, len), "rw: a page %llu content",
		      (unsigned long long)p);
	}
	CHECK(!xipfs_read_inode(im, I_B, &in), "inode b");
	CHECK(!xipfs_read_page(im, &in, 0, page) && !memcmp(page, content_b, PS), "rw: b page 0");
	CHECK(!xipfs_read_page(im, &in, 1, page) && !memcmp(page, content_b + PS, 5) &&
	      all_zero_buf(page + 5, PS - 5), "rw: b page 1 zero past the new EOF");
	CHECK(xipfs_read_page(im, &in, 2, page) == -EUCLEAN, "rw: b page 2 is past EOF");
	CHECK(!xipfs_map_read(im, &in, 2, &e) && e == XIPFS_PTE_XIP(rw_free_pg + 3),
	      "rw: the stale entry is still there");

	snprintf(dir, sizeof(dir), "%s/xipfs-unit-rw-XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 150 ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		xipfs_image_close(im);
		return;
	}
	snprintf(path, sizeof(path), "%s/x", dir);
	CHECK(!xipfs_extract(im, path, &o), "rw: extract");
	xipfs_image_close(im);
	snprintf(path, sizeof(path), "%s/x/a", dir);
	fd = open(path, O_RDONLY);
	got = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	CHECK(got == (ssize_t)sizeof(content_a) && !memcmp(buf, content_a, sizeof(content_a)),
	      "rw: extracted a (%zd bytes)", got);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/x/sub/b", dir);
	fd = open(path, O_RDONLY);
	got = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	CHECK(got == PS + 5 && !memcmp(buf, content_b, PS + 5), "rw: extracted b (%zd bytes)", got);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0, "cleanup");

	/* The same image without META_MODIFIED breaks the mkfs rules. */
	st16(SB(s_state), XIPFS_STATE_CLEAN);
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, NULL);
	CHECK(n > 0 && strstr(msgs, "outside the metadata area") &&
	      strstr(msgs, "cluster 1: not used by any file"),
	      "rw layout in a pristine image:\n%s", msgs);
	rw_setup();

	/* One page, two users. */
	st64(off_map_b + 8, XIPFS_PTE_XIP(rw_freed_pg));
	snprintf(want, sizeof(want), "image page %llu (offset %llu) used twice: ",
		 (unsigned long long)rw_freed_pg, (unsigned long long)rw_freed_pg * PS);
	expect_rw_problem("xip twice", want);
	st64(off_map_b + 8, XIPFS_PTE_XIP(rw_freed_pg));
	expect_rw_problem("xip twice: names both",
			  "by XIP page 0 of /a (inode 3) and by XIP page 1 of /sub/b (inode 5)");
	st64(off_map_b, XIPFS_PTE_XIP(comp_off / PS));
	expect_rw_problem("xip on a live cluster",
			  "by XIP page 0 of /sub/b (inode 5) and by cluster 0 of /a (inode 3)");
	memcpy(img + (rw_free_pg + 1) * PS, img + rw_free_pg * PS, 5 * 8);
	st64(IN(I_A, i_data), (rw_free_pg + 1) * PS);
	expect_rw_problem("map on an XIP page",
			  "by the page map of /a (inode 3) and by XIP page 0 of /sub/b (inode 5)");
	memcpy(img + comp_off, img + rw_free_pg * PS, 5 * 8);
	st64(IN(I_A, i_data), comp_off);
	expect_rw_problem("map on a live cluster",
			  "by the page map of /a (inode 3) and by cluster 0 of /a (inode 3)");
	st64(IN(I_B, i_data), rw_free_pg * PS);
	expect_rw_problem("two maps on a page",
			  "by the page map of /a (inode 3) and by the page map of /sub/b (inode 5)");
	st64(IN(I_A, i_data), rw_free_pg * PS + 8);
	expect_rw_problem("map not page-aligned", "in the data region is not page-aligned");
	st64(IN(I_A, i_data), img_len - PS);
	st32(IN(I_A, i_map_cap), PS / 8 + 1);
	expect_rw_problem("map past the end", "runs past the end of the image");
	st64(IN(I_A, i_data), img_len);
	expect_rw_problem("map at the end", "outside the metadata area and the data region");
	st64(IN(I_A, i_data), UINT64_MAX - 7);
	expect_rw_problem("map offset overflow", "outside the metadata area and the data region");
	st64(rw_free_pg * PS, XIPFS_PTE_XIP(0));
	expect_rw_problem("xip in the metadata", "outside the data region");
	/* A live cluster's data is still checked. */
	img[comp0_off + 4] ^= 0x55;
	expect_rw_problem("live cluster data", "corrupt");
	/* Dead clusters: descriptors still checked, data not. */
	st64(CL(1), ld64(CL(1)) | (7ULL << XIPFS_CL_ALG_SHIFT));
	expect_rw_problem("dead cluster descriptor", "cluster 1: unknown algorithm 7");
	st64(CL(2), ld64(CL(2)) + PS);
	expect_rw_problem("dead cluster bounds", "cluster 1: data [");
	/* Back to back still, dead or alive: no two clusters share a byte. */
	st64(CL(1), ld64(CL(1)) & ~XIPFS_CL_OFF_MASK);
	expect_rw_problem("clusters overlap",
			  "cluster 0: data at offset 0 of the compressed area, but the next cluster starts at 0");
	/* The data region must not reach into the metadata. */
	st64(SB(s_xip_size), 0);
	st64(SB(s_xip_off), 0);
	expect_open_error("rw: data region in the metadata", "starts inside the metadata area",
			  true, -EUCLEAN);
	ext_layout = false;
	build();
}

/* xipfs_pte_in_group(): what a group's entry derives for page k. */
static void test_pte_in_group(void)
{
	const uint64_t xmax = XIPFS_PTE_XIP_MASK, cmax = XIPFS_PTE_CLUSTER_MASK;
	const uint64_t tail = XIPFS_PTE_TAIL(1234);

	for (unsigned int c = 0; c <= 6; c++) {
		for (unsigned int k = 0; k < 128; k++)
			CHECK(xipfs_pte_in_group(0, k, c) == 0, "hole group, page %u, cshift %u", k, c);
		/* XIP and TAIL entries ignore the cluster shift. */
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(5), 0, c) == XIPFS_PTE_XIP(5), "xip k=0");
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(5), 127, c) == XIPFS_PTE_XIP(132), "xip k=127");
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax - 127), 127, c) == XIPFS_PTE_XIP(xmax),
		      "xip up to the largest page number");
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax), 0, c) == XIPFS_PTE_XIP(xmax),
		      "xip max k=0");
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax), 1, c) == XIPFS_PTE_INVALID,
		      "xip page number overflow");
		CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax - 3), 4, c) == XIPFS_PTE_INVALID,
		      "xip page number overflow by one");
		CHECK(xipfs_pte_in_group(tail, 0, c) == tail, "tail k=0");
		CHECK(xipfs_pte_in_group(tail, 1, c) == XIPFS_PTE_INVALID, "tail k=1");
		CHECK(xipfs_pte_in_group(tail, 127, c) == XIPFS_PTE_INVALID, "tail k=127");
		/* k = 0 is the entry itself, whatever its index. */
		CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 200), 0, c) == XIPFS_PTE_COMP(7, 200),
		      "comp k=0, cshift %u", c);
		CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(cmax, 0), (1U << c) - 1, c) ==
		      XIPFS_PTE_COMP(cmax, (1U << c) - 1), "comp: last page of the last cluster, cshift %u", c);
		CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(cmax, 0), 1U << c, c) == XIPFS_PTE_INVALID,
		      "comp: past the largest cluster number, cshift %u", c);
		CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0) | (1ULL << 57), 1, c) == XIPFS_PTE_INVALID,
		      "comp with reserved bits, cshift %u", c);
		CHECK(xipfs_pte_in_group(XIPFS_PTE_INVALID, 3, c) == XIPFS_PTE_INVALID,
		      "an invalid group entry stays invalid, cshift %u", c);
	}
	/* Clusters of 4 pages: on into the next clusters. */
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 3), 1, 2) == XIPFS_PTE_COMP(8, 0), "COMP(7,3) k=1");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 3), 4, 2) == XIPFS_PTE_COMP(8, 3), "COMP(7,3) k=4");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 3), 5, 2) == XIPFS_PTE_COMP(9, 0), "COMP(7,3) k=5");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 1), 2, 2) == XIPFS_PTE_COMP(7, 3), "COMP(7,1) k=2");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 127, 2) == XIPFS_PTE_COMP(38, 3),
	      "COMP(7,0) k=127, cshift 2");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(cmax - 1, 3), 1, 2) == XIPFS_PTE_COMP(cmax, 0),
	      "up to the largest cluster number");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(cmax, 3), 1, 2) == XIPFS_PTE_INVALID,
	      "one past the largest cluster number");
	/* An index past the cluster's pages (a shared one's): the same rule. */
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 200), 1, 2) == XIPFS_PTE_COMP(57, 1),
	      "COMP(7,200) k=1, cshift 2");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 255), 127, 6) == XIPFS_PTE_COMP(12, 62),
	      "index 255 + 127, cshift 6");
	/* One-page clusters (cshift 0): each page its own cluster. */
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 3, 0) == XIPFS_PTE_COMP(10, 0), "cshift 0");
	/* 64-page clusters. */
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 63, 6) == XIPFS_PTE_COMP(7, 63), "k=63, cshift 6");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 64, 6) == XIPFS_PTE_COMP(8, 0), "k=64, cshift 6");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 127, 6) == XIPFS_PTE_COMP(8, 63),
	      "k=127, cshift 6");
	CHECK(XIPFS_PTE_INVALID & XIPFS_PTE_RESERVED_MASK, "invalid entries have reserved bits");
	CHECK(xipfs_pte_type(XIPFS_PTE_INVALID) == XIPFS_PTE_TYPE_HOLE, "invalid: a hole's type");
	CHECK(XIPFS_MAP_SHIFT(0x1005) == 5 && XIPFS_MAP_OFF(0x1005) == 0x1000, "i_data split");
}

/* xipfs_map_slot() and friends: which stored entry, and which k, per page. */
static void test_map_slot(void)
{
	unsigned int k = 99;

	/* Per-page: the page's own entry, whatever the run says. */
	CHECK(xipfs_map_slot(5, 0, XIPFS_MAP_NO_RUN, &k) == 5 && k == 0, "G=0: own entry");
	CHECK(xipfs_map_slot(5, 0, 2, &k) == 5 && k == 0, "G=0: no end run");
	/* Groups of 4 pages. */
	CHECK(xipfs_map_slot(0, 2, XIPFS_MAP_NO_RUN, &k) == 0 && k == 0, "G=2, page 0");
	CHECK(xipfs_map_slot(7, 2, XIPFS_MAP_NO_RUN, &k) == 1 && k == 3, "G=2, page 7");
	CHECK(xipfs_map_slot(127, 7, XIPFS_MAP_NO_RUN, &k) == 0 && k == 127, "G=7, page 127");
	/* An end run from page 9 (10 pages, groups of 4: the last from 8). */
	CHECK(xipfs_map_slot(8, 2, 9, &k) == 2 && k == 0, "before the run: its group");
	CHECK(xipfs_map_slot(9, 2, 9, &k) == XIPFS_MAP_RUN_SLOT && k == 0, "run start");
	CHECK(xipfs_map_slot(10, 2, 9, &k) == XIPFS_MAP_RUN_SLOT && k == 1, "run page 1");
	/* No page reaches XIPFS_MAP_NO_RUN: i_map_cap is 32-bit. */
	CHECK(xipfs_map_slot(UINT32_MAX - 1, 7, XIPFS_MAP_NO_RUN, &k) ==
	      (UINT32_MAX - 1) >> 7 && k == 126, "last page, no run");
	CHECK(xipfs_map_groups(10, 2) == 3 && xipfs_map_groups(8, 2) == 2 &&
	      xipfs_map_groups(0, 3) == 0 && xipfs_map_groups(UINT32_MAX, 0) == UINT32_MAX &&
	      xipfs_map_groups(UINT32_MAX, 7) == (1ULL << 25), "group counts");
	CHECK(xipfs_map_run_ok(8, 10, 2) && xipfs_map_run_ok(9, 10, 2) &&
	      !xipfs_map_run_ok(7, 10, 2) && !xipfs_map_run_ok(10, 10, 2) &&
	      !xipfs_map_run_ok(0, 0, 2), "end run inside the last group");
}

/* Cluster descriptors: XIPFS_CL_DESC() and the field macros agree. */
static void test_cluster_desc(void)
{
	static const uint64_t offs[] = { 0, 1, 12345, 1ULL << 37, XIPFS_CL_OFF_MASK };
	unsigned int bad = 0, n = 0;

	for (unsigned int ps = XIPFS_MIN_PAGE_SHIFT; ps <= XIPFS_MAX_PAGE_SHIFT; ps++)
		for (unsigned int pages = 1; pages <= 64; pages++)
			for (int u = 0; u < 3; u++) {
				uint64_t lo = ((uint64_t)(pages - 1) << ps) + 1, hi = (uint64_t)pages << ps;
				uint64_t ulen = u == 0 ? lo : u == 1 ? hi : (lo + hi) / 2;

				for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
					for (unsigned int alg = 0; alg < 8; alg++)
						for (int sh = 0; sh < 2; sh++) {
							uint64_t d = XIPFS_CL_DESC(offs[o], pages, ulen, ps,
										   alg, sh);

							n++;
							bad += XIPFS_CL_OFF(d) != offs[o] ||
							       XIPFS_CL_PAGES(d) != pages ||
							       XIPFS_CL_ULEN(d, ps) != ulen ||
							       XIPFS_CL_ALG(d) != alg ||
							       !!(d & XIPFS_CL_SHARED) != sh;
						}
			}
	CHECK(!bad, "%u of %u descriptors do not round-trip", bad, n);
	CHECK(XIPFS_CL_DESC(0, 1, 1, 12, 0, 0) == 0, "the smallest descriptor is 0");
	CHECK(XIPFS_CL_DESC(5, 64, 64 << 16, 16, 7, 1) ==
	      (5 | (0xffffULL << 38) | (63ULL << 54) | (7ULL << 60) | (1ULL << 63)),
	      "the largest fields");
	CHECK(XIPFS_CL_ULEN(XIPFS_CL_DESC(0, 3, 8202, 12, 0, 0), 12) == 8202, "8202 bytes, 3 pages");
}

/* b's map as one group of 4 pages: COMP(1, 0) derives its 3 pages. */
static void make_b_grouped(void)
{
	uint32_t f;

	memcpy(&f, img + SB(s_feature_incompat), 4);
	st32(SB(s_feature_incompat), le32toh(f) | XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS);
	st64(off_map_b, XIPFS_PTE_COMP(1, 0));
	st64(off_map_b + 8, 0);
	st64(off_map_b + 16, 0);
	st64(IN(I_B, i_data), off_map_b | 2);
	xipfs_fix_checksums(img, img_len);
}

/* b's three pages: each derives COMP(1, p) and reads back b's bytes. */
static void check_b_pages(struct xipfs_image *im, const struct xipfs_dinode *in,
			  const char *what)
{
	uint8_t page[PS];
	uint64_t e;

	for (uint64_t p = 0; p < 3; p++) {
		size_t len = p < 2 ? PS : 10;

		CHECK(!xipfs_map_read(im, in, p, &e) && e == XIPFS_PTE_COMP(1, p),
		      "%s: b's entry %llu", what, (unsigned long long)p);
		CHECK(!xipfs_read_page(im, in, p, page) &&
		      !memcmp(page, content_b + p * PS, len), "%s: b page %llu", what,
		      (unsigned long long)p);
	}
}

static void test_grouped(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_dinode in;
	struct xipfs_map m;
	uint8_t page[PS];
	uint64_t n, e;

	build();
	make_b_grouped();
	n = run_check(0, &st);
	CHECK(n == 0 && st.grouped_maps == 1 && st.comp_pages == 4,
	      "grouped b: %llu problems, %llu grouped:\n%s", (unsigned long long)n,
	      (unsigned long long)st.grouped_maps, msgs);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open grouped image");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_B, &in) && !xipfs_map_get(im, &in, &m) &&
		      m.off == off_map_b && m.shift == 2 && m.entries == 1 && !m.moved,
		      "b's map: one entry of a 4-page group");
		check_b_pages(im, &in, "grouped");
		CHECK(!xipfs_map_raw(im, &in, 0, &e) && e == XIPFS_PTE_COMP(1, 0), "raw entry 0");
		CHECK(xipfs_map_raw(im, &in, 1, &e) == -EUCLEAN, "raw entry past the map");
		CHECK(xipfs_map_read(im, &in, 3, &e) == -EUCLEAN, "entry past the capacity");
		xipfs_image_close(im);
	}

	/* Group entries wholly past the end: stale, information only. */
	make_b_grouped();
	st32(IN(I_B, i_map_cap), 8);
	st64(off_map_b + 8, XIPFS_PTE_COMP(1, 0));
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, &st);
	CHECK(n == 0 && st.stale_entries == 1, "grouped stale: %llu problems, %llu stale:\n%s",
	      (unsigned long long)n, (unsigned long long)st.stale_entries, msgs);
	build();

	/* The shift bits without the feature: a misaligned map to old readers. */
	st64(IN(I_B, i_data), off_map_b | 2);
	expect_problem("shift without the feature",
		       "not 8-byte aligned (group shift 2 without the GROUPED_MAPS feature)");
	st64(IN(I_B, i_data), off_map_b | 2);
	xipfs_fix_checksums(img, img_len);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_B, &in) && xipfs_read_page(im, &in, 0, page) == -EUCLEAN &&
		      strstr(xipfs_image_error(im), "GROUPED_MAPS"),
		      "readers refuse the shift without the feature: %s", xipfs_image_error(im));
		xipfs_image_close(im);
	}
	build();
	/* A zero-capacity map too (nothing to read, still a bad i_data). */
	st64(IN(I_B, i_size), 0);
	st32(IN(I_B, i_map_cap), 0);
	st64(IN(I_B, i_data), off_map_b | 1);
	expect_problem("shift on an empty map without the feature", "without the GROUPED_MAPS");

	/* The map must lie in the metadata: a huge capacity takes it out. */
	make_b_grouped();
	st32(IN(I_B, i_map_cap), UINT32_MAX);
	expect_problem("grouped map out of the metadata",
		       "grouped page map [");
	make_b_grouped();
	st32(IN(I_B, i_map_cap), 8);	/* 2 entries, 16 bytes from 8 before the end */
	st64(IN(I_B, i_data), ((meta_pos - 8) & ~7ULL) | 2);
	expect_problem("grouped map across the end of the metadata", "outside the metadata area");

	/* Derived entries are checked like stored ones. */
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_COMP(XIPFS_PTE_CLUSTER_MASK, 3));
	expect_problem("cluster number overflow",
		       "page 1: page 1 of a 4-page group whose entry 0x8003ffffffffffff runs on past the largest cluster number");
	/* On into the next cluster: 4-page clusters, b's has 3 pages. */
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_COMP(1, 2));
	expect_problem("group into the next cluster", "page 0: cluster index 2 before the start of the file");
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_COMP(1, 2));
	expect_problem("group into the next cluster: derived", "page 2: cluster 2 out of range (2 clusters)");
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("tail at k > 0", "page 1: page 1 of a 4-page group whose entry");
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("tail at k > 0: said so", "is a tail (only the group's first page may be one)");
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_XIP(xip_off / PS));
	expect_problem("xip group over another page", "used twice");
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_COMP(1, 0) | (1ULL << 57));
	expect_problem("reserved bits in a group entry", "page 2: reserved bits set");
	make_b_grouped();
	st64(IN(I_B, i_data), off_map_a | 2);
	expect_problem("grouped map over another map", "metadata overlap");

	/*
	 * An end run: b's group entry derives pages 0 and 1, then R = 2 and
	 * page 2's entry (three words: all of b's map).
	 */
	make_b_grouped();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(off_map_b + 8, 2);
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 2));
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, &st);
	CHECK(n == 0 && st.grouped_maps == 1 && st.comp_pages == 4,
	      "end run: %llu problems:\n%s", (unsigned long long)n, msgs);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open end-run image");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_B, &in) && !xipfs_map_get(im, &in, &m) &&
		      m.shift == 2 && m.entries == 1 && m.end_run && m.run_start == 2 &&
		      m.run_entry == XIPFS_PTE_COMP(1, 2), "b's map: a group and an end run");
		check_b_pages(im, &in, "end run");
		xipfs_image_close(im);
	}
	/* The run's entry is checked like a group's. */
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(off_map_b + 8, 2);
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 1));
	expect_problem("end run entry wrong", "inconsistent");
	make_b_grouped();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(off_map_b + 8, 3);
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 2));
	expect_problem("end run past the capacity", "end run from page 3 outside the last group");
	make_b_grouped();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(off_map_b + 8, 1);
	st64(off_map_b + 16, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("end run of a tail", "page 2: page 1 of the end run from page 1 whose entry 0xc");
	make_b_grouped();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(off_map_b + 8, 1);
	st64(off_map_b + 16, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("end run of a tail: said so", "is a tail (only the run's first page may be one)");
	/* Two more words: past the metadata with the largest map. */
	make_b_grouped();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	st64(IN(I_B, i_data), ((meta_pos - 16) & ~7ULL) | 2);
	expect_problem("end run past the metadata", "outside the metadata area");
	/* Only regular files have one; with G = 0 it means nothing. */
	st16(CIN(ino_fifo, i_flags), XIPFS_INODE_END_RUN);
	expect_problem("end run on a fifo", "/fifo (inode 10): end-run flag on a non-regular file");
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN);
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, NULL);
	CHECK(n == 0, "end-run flag with G = 0: %llu problems:\n%s", (unsigned long long)n, msgs);
	/* A compact inode may have it. */
	st16(CIN(I_SUB, i_flags), XIPFS_INODE_END_RUN);
	expect_problem("end run on a compact dir", "/sub (inode 7): end-run flag on a non-regular file");

	/* After a read-write mount grouped maps still stay in the metadata. */
	rw_setup();
	{
		uint32_t f;

		memcpy(&f, img + SB(s_feature_incompat), 4);
		st32(SB(s_feature_incompat), le32toh(f) | XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS);
	}
	st64(IN(I_A, i_data), rw_free_pg * PS | 3);
	expect_rw_problem("grouped map in the data region",
			  "grouped page map [");
	ext_layout = false;

	/*
	 * b in two clusters of at most 2 pages (cshift 1): one group entry
	 * runs on from cluster 1 into cluster 2.
	 */
	split_b = true;
	build();
	n = run_check(0, &st);
	CHECK(n == 0 && st.clusters == 3, "split b, flat: %llu problems:\n%s", (unsigned long long)n,
	      msgs);
	make_b_grouped();
	n = run_check(0, &st);
	CHECK(n == 0 && st.grouped_maps == 1 && st.clusters == 3 && st.comp_pages == 4,
	      "split b, grouped: %llu problems:\n%s", (unsigned long long)n, msgs);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open split grouped image");
	if (im) {
		static const uint64_t want[3] = {
			XIPFS_PTE_COMP(1, 0), XIPFS_PTE_COMP(1, 1), XIPFS_PTE_COMP(2, 0),
		};

		CHECK(xipfs_group_cshift(im) == 1, "cluster shift 8K / 4K");
		CHECK(!xipfs_read_inode(im, I_B, &in), "inode b");
		for (uint64_t p = 0; p < 3; p++) {
			size_t len = p < 2 ? PS : 10;

			CHECK(!xipfs_map_read(im, &in, p, &e) && e == want[p],
			      "split b's derived entry %llu: 0x%016llx", (unsigned long long)p,
			      (unsigned long long)e);
			CHECK(!xipfs_read_page(im, &in, p, page) &&
			      !memcmp(page, content_b + p * PS, len) && (p < 2 || all_zero_buf(page + 10, PS - 10)),
			      "split grouped b page %llu: %s", (unsigned long long)p,
			      xipfs_image_error(im));
		}
		xipfs_image_close(im);
	}
	/* Without CLUSTERS the cluster shift is 0: one page a cluster. */
	{
		uint32_t f;

		memcpy(&f, img + SB(s_feature_incompat), 4);
		st32(SB(s_feature_incompat), le32toh(f) & ~XIPFS_FEATURE_INCOMPAT_CLUSTERS);
	}
	expect_problem("split b grouped without CLUSTERS",
		       "page 2: cluster 3 out of range (3 clusters)");
	/* The largest cluster is 2 pages here. */
	st64(CL(1), XIPFS_CL_DESC(XIPFS_CL_OFF(ld64(CL(1))), 3, 2 * PS + 1, 12, XIPFS_COMP_ZLIB, false));
	expect_problem("cluster above the max cluster shift", "cluster 1: 3 pages exceed the maximum cluster size");
	split_b = false;
	build();
}

/* Spare metadata for extent maps (the hand-built maps have no room). */
#define SPARE	512

static void set_incompat(uint32_t set, uint32_t clear)
{
	uint32_t f;

	memcpy(&f, img + SB(s_feature_incompat), 4);
	st32(SB(s_feature_incompat), (le32toh(f) | set) & ~clear);
}

/*
 * Inode ino's map: an extent map of n extents (first pages x, entries e)
 * at off (the spare metadata), flag and feature set, checksums fixed.
 */
static void put_extents(uint32_t ino, uint64_t off, uint64_t n, const uint64_t *x,
			const uint64_t *e)
{
	set_incompat(XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS, 0);
	st64(off, n);
	for (uint64_t i = 0; i < n; i++) {
		st64(off + 8 + i * XIPFS_MAP_EXTENT_SIZE, x[i]);
		st64(off + 16 + i * XIPFS_MAP_EXTENT_SIZE, e[i]);
	}
	st16(IN(ino, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_EXTENT_MAP);
	st64(IN(ino, i_data), off);
	xipfs_fix_checksums(img, img_len);
}

/* a's four pages as four one-page extents, b's three as one extent. */
static void make_extents(void)
{
	const uint64_t xa[4] = { 0, 1, 2, 3 };
	const uint64_t ea[4] = { XIPFS_PTE_XIP(xip_off / PS), 0, XIPFS_PTE_COMP(0, 0),
				 XIPFS_PTE_TAIL(off_tail - META_OFF) };
	const uint64_t xb[1] = { 0 }, eb[1] = { XIPFS_PTE_COMP(1, 0) };

	build();
	put_extents(I_A, off_spare, 4, xa, ea);
	/* Where b's per-page map was: 24 bytes, one extent exactly. */
	put_extents(I_B, off_map_b, 1, xb, eb);
}

/* b's map (at its own place) as the extents given, expecting a problem. */
static void expect_b_extents(const char *what, const char *needle, uint64_t n,
			     const uint64_t *x, const uint64_t *e)
{
	make_extents();
	put_extents(I_B, off_spare + 256, n, x, e);
	expect_problem(what, needle);
	make_extents();
}

static void test_extents(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_dinode in;
	struct xipfs_map m;
	uint8_t page[PS];
	uint64_t n, e, xp;

	spare_meta = SPARE;
	make_extents();
	n = run_check(0, &st);
	CHECK(n == 0 && st.extent_maps == 2 && st.extents == 5 && st.grouped_maps == 0 &&
	      st.xip_pages == 1 && st.comp_pages == 4 && st.holes == 1 && st.tails == 1,
	      "extent maps: %llu problems, %llu maps, %llu extents:\n%s", (unsigned long long)n,
	      (unsigned long long)st.extent_maps, (unsigned long long)st.extents, msgs);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open extent image");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_B, &in) && !xipfs_map_get(im, &in, &m) &&
		      m.extents && m.off == off_map_b && m.shift == 0 && m.entries == 1 &&
		      !m.moved && xipfs_map_bytes(&m) == 24, "b's map: one extent");
		check_b_pages(im, &in, "extent");
		CHECK(!xipfs_map_raw(im, &in, 0, &e) && e == XIPFS_PTE_COMP(1, 0), "raw extent 0");
		CHECK(!xipfs_map_extent(im, &in, 0, &xp, &e) && xp == 0 &&
		      e == XIPFS_PTE_COMP(1, 0), "extent 0 of b");
		CHECK(xipfs_map_extent(im, &in, 1, &xp, &e) == -EUCLEAN, "extent past the map");
		CHECK(xipfs_map_read(im, &in, 3, &e) == -EUCLEAN, "entry past the capacity");
		/* a: each page at an extent boundary. */
		CHECK(!xipfs_read_inode(im, I_A, &in) && !xipfs_map_get(im, &in, &m) &&
		      m.extents && m.entries == 4 && xipfs_map_bytes(&m) == 72, "a's map: 4 extents");
		for (uint64_t p = 0; p < 4; p++) {
			size_t len = p < 3 ? PS : 100;

			CHECK(!xipfs_read_page(im, &in, p, page) &&
			      !memcmp(page, content_a + p * PS, len), "extent a page %llu: %s",
			      (unsigned long long)p, xipfs_image_error(im));
		}
		CHECK(!xipfs_map_read(im, &in, 1, &e) && e == 0, "a's hole extent");
		CHECK(!xipfs_map_read(im, &in, 4, &e) && e == XIPFS_PTE_INVALID,
		      "past the end: page 1 of the tail's extent is invalid");
		xipfs_image_close(im);
	}

	/*
	 * Long extents, as readers see them (past the end of the file, so
	 * only derived): capacity 2^32 - 1, extents from page 0 (XIP),
	 * 1000 (COMP: 4 pages a cluster), 100000 (hole), 4000000000 (XIP).
	 */
	{
		const uint64_t x[4] = { 0, 1000, 100000, 4000000000ULL };
		const uint64_t ex[4] = { XIPFS_PTE_XIP(xip_off / PS), XIPFS_PTE_COMP(0, 0), 0,
					 XIPFS_PTE_XIP(7) };
		const struct { uint64_t p, want; } at[] = {
			{ 999, XIPFS_PTE_XIP(xip_off / PS + 999) }, { 1000, XIPFS_PTE_COMP(0, 0) },
			{ 1001, XIPFS_PTE_COMP(0, 1) }, { 1004, XIPFS_PTE_COMP(1, 0) },
			{ 99999, XIPFS_PTE_COMP(24749, 3) }, { 100000, 0 }, { 3999999999ULL, 0 },
			{ 4000000000ULL, XIPFS_PTE_XIP(7) },
			{ 4294967294ULL, XIPFS_PTE_XIP(7 + 294967294ULL) },
		};

		make_extents();
		put_extents(I_A, off_spare, 4, x, ex);
		st32(IN(I_A, i_map_cap), UINT32_MAX);
		xipfs_fix_checksums(img, img_len);
		CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open long extents");
		if (im) {
			CHECK(!xipfs_read_inode(im, I_A, &in), "inode a");
			for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
				CHECK(!xipfs_map_read(im, &in, at[i].p, &e) && e == at[i].want,
				      "long extents: page %llu: 0x%016llx, want 0x%016llx",
				      (unsigned long long)at[i].p, (unsigned long long)e,
				      (unsigned long long)at[i].want);
			xipfs_image_close(im);
		}
		/* Unsorted: the search stays in bounds; before the first: invalid. */
		{
			const uint64_t ux[4] = { 5, 1, 3, 2 };

			put_extents(I_A, off_spare, 4, ux, ex);
			CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open unsorted");
			if (im) {
				CHECK(!xipfs_read_inode(im, I_A, &in) &&
				      !xipfs_map_read(im, &in, 0, &e) && e == XIPFS_PTE_INVALID,
				      "no extent from page 0 or before: invalid (0x%016llx)",
				      (unsigned long long)e);
				for (uint64_t p = 1; p < 10; p++)
					CHECK(!xipfs_map_read(im, &in, p, &e), "unsorted page %llu",
					      (unsigned long long)p);
				xipfs_image_close(im);
			}
		}
	}

	/* The extents' order and range. */
	{
		const uint64_t e3[3] = { XIPFS_PTE_COMP(1, 0), XIPFS_PTE_COMP(1, 1),
					 XIPFS_PTE_COMP(1, 2) };
		const uint64_t unsorted[3] = { 0, 2, 1 }, dup[3] = { 0, 1, 1 };
		const uint64_t first1[1] = { 1 }, past[2] = { 0, 3 }, ok3[3] = { 0, 1, 2 };

		expect_b_extents("unsorted extents", "/sub/b (inode 5): extent map: extent 2 (from page 1) does not start after extent 1 (from page 2)",
				 3, unsorted, e3);
		expect_b_extents("two extents from one page", "extent 2 (from page 1) does not start after extent 1 (from page 1)",
				 3, dup, e3);
		expect_b_extents("first extent not at page 0",
				 "extent map: extent 0 starts at page 1, not at page 0", 1, first1, e3);
		expect_b_extents("extent past the capacity",
				 "extent map: extent 1 starts at page 3, past the map capacity (3 pages)",
				 2, past, e3);
		/* Three one-page extents are as good as one. */
		make_extents();
		put_extents(I_B, off_spare + 256, 3, ok3, e3);
		n = run_check(0, &st);
		CHECK(n == 0 && st.extents == 7, "three extents of b: %llu problems:\n%s",
		      (unsigned long long)n, msgs);
		expect_b_extents("no extents", "extent map of 0 extents (must be 1 to the capacity, 3)",
				 0, ok3, e3);
		make_extents();
		put_extents(I_B, off_spare + 256, 3, ok3, e3);
		st64(off_spare + 256, 4);
		expect_problem("more extents than pages",
			       "extent map of 4 extents (must be 1 to the capacity, 3)");
	}
	/* Where the map is. */
	make_extents();
	st64(IN(I_B, i_data), (meta_pos - 16) & ~7ULL);
	st64((meta_pos - 16) & ~7ULL, 1);
	expect_problem("extent map across the end of the metadata", "runs past the metadata area");
	make_extents();
	st64(IN(I_B, i_data), xip_off);
	expect_problem("extent map out of the metadata", "outside the metadata area");
	/* a's map for b too (capacity raised to a's 4 extents). */
	make_extents();
	st64(IN(I_B, i_data), off_spare);
	st32(IN(I_B, i_map_cap), 5);
	expect_problem("extent map over another map", "metadata overlap");
	/* a's tail data over b's extent map. */
	make_extents();
	st64(off_spare + 16 + 3 * XIPFS_MAP_EXTENT_SIZE, XIPFS_PTE_TAIL(off_map_b - META_OFF));
	expect_problem("tail data over an extent map", "metadata overlap");
	/* The flag's rules. */
	make_extents();
	set_incompat(0, XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS);
	expect_problem("flag without the feature", "/a (inode 3): extent map flag without the EXTENT_MAPS feature");
	make_extents();
	set_incompat(0, XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS);
	xipfs_fix_checksums(img, img_len);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_B, &in) && xipfs_read_page(im, &in, 0, page) == -EUCLEAN &&
		      strstr(xipfs_image_error(im), "EXTENT_MAPS"),
		      "readers refuse the flag without the feature: %s", xipfs_image_error(im));
		xipfs_image_close(im);
	}
	make_extents();
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_EXTENT_MAP | XIPFS_INODE_END_RUN);
	expect_problem("flag with END_RUN", "/sub/b (inode 5): extent map flag together with the end-run flag");
	make_extents();
	set_incompat(XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS, 0);
	st64(IN(I_B, i_data), off_map_b | 2);
	expect_problem("flag with G != 0", "extent map with group shift 2 in i_data");
	make_extents();
	st64(IN(I_B, i_data), off_map_b | 2);
	expect_problem("flag with G != 0, no GROUPED_MAPS", "extent map with group shift 2 in i_data");
	make_extents();
	st16(CIN(ino_fifo, i_flags), XIPFS_INODE_EXTENT_MAP);
	expect_problem("flag on a fifo", "/fifo (inode 10): extent-map flag on a non-regular file");
	make_extents();
	st16(CIN(I_SUB, i_flags), XIPFS_INODE_EXTENT_MAP);
	expect_problem("flag on a directory", "/sub (inode 7): extent-map flag on a non-regular file");
	make_extents();
	st64(IN(I_B, i_size), 0);
	st32(IN(I_B, i_map_cap), 0);
	expect_problem("flag on an empty map", "extent map of 1 extents (must be 1 to the capacity, 0)");
	/* Entries, derived ones too, are checked as stored ones are. */
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 0) | (1ULL << 57));
	expect_problem("reserved bits in an extent's entry",
		       "page 0: extent 0 (from page 0): reserved bits set in its entry 0x8200000000000001");
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_COMP(XIPFS_PTE_CLUSTER_MASK, 3));
	expect_problem("cluster number overflow",
		       "page 1: page 1 of extent 0 (from page 0) whose entry 0x8003ffffffffffff runs on past the largest cluster number");
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("tail at k > 0", "page 1: page 1 of extent 0 (from page 0) whose entry 0xc");
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_TAIL(off_tail - META_OFF));
	expect_problem("tail at k > 0: said so", "is a tail (only the extent's first page may be one)");
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_COMP(1, 1));
	expect_problem("extent into the next cluster", "page 2: index 3 beyond the 3 pages of cluster 1");
	make_extents();
	st64(off_map_b + 16, XIPFS_PTE_XIP(xip_off / PS));
	expect_problem("xip extent over another page", "used twice");
	/* An extent wholly past the end: stale, information only. */
	{
		const uint64_t x[2] = { 0, 3 };
		const uint64_t ex[2] = { XIPFS_PTE_COMP(1, 0), XIPFS_PTE_COMP(1, 0) };

		make_extents();
		put_extents(I_B, off_spare + 256, 2, x, ex);
		st32(IN(I_B, i_map_cap), 8);
		xipfs_fix_checksums(img, img_len);
		n = run_check(0, &st);
		CHECK(n == 0 && st.stale_entries == 1, "stale extent: %llu problems, %llu stale:\n%s",
		      (unsigned long long)n, (unsigned long long)st.stale_entries, msgs);
	}

	/*
	 * Extent-map images mount read-only only, so nothing moves an extent
	 * map: on a read-write image, the flag on a map moved to the data
	 * region is damage; b's extent map in the metadata is read as one.
	 */
	rw_setup();
	set_incompat(XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS, 0);
	st16(IN(I_A, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_EXTENT_MAP);
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, &st);
	CHECK(n == 1 && strstr(msgs, "extent map at offset") &&
	      strstr(msgs, "outside the metadata area"),
	      "rw: flag on a moved map: %llu problems:\n%s", (unsigned long long)n, msgs);
	st16(IN(I_A, i_flags), XIPFS_INODE_EXTENDED);
	st64(off_map_b, 1);	/* 2 of b's pages are XIP now: page 1 follows page 0 */
	st64(off_map_b + 8, 0);
	st64(off_map_b + 16, XIPFS_PTE_XIP(rw_free_pg + 1));
	st16(IN(I_B, i_flags), XIPFS_INODE_EXTENDED | XIPFS_INODE_EXTENT_MAP);
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, &st);
	CHECK(n == 0 && st.extent_maps == 1 && st.xip_pages == 3,
	      "rw: b's extent map: %llu problems:\n%s", (unsigned long long)n, msgs);
	ext_layout = false;
	spare_meta = 0;
	build();
}

/* Without XIP pages and free space the compressed area follows the metadata. */
static void test_no_xip(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_dinode in;
	uint8_t page[PS];
	uint64_t n;

	no_xip = true;
	build();
	CHECK(comp_off % 8 == 0 && comp_off < PS && xip_off == PS && img_len == 3 * PS,
	      "no_xip layout: comp_off %llu, %zu bytes", (unsigned long long)comp_off, img_len);
	n = run_check(0, &st);
	CHECK(n == 0 && st.xip_pages == 0 && st.holes == 2 && st.comp_pages == 4 &&
	      st.cluster_bytes == PS + sizeof(content_b),
	      "no_xip: %llu problems:\n%s", (unsigned long long)n, msgs);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open no_xip image");
	if (im) {
		CHECK(!xipfs_read_inode(im, I_A, &in), "inode a");
		for (uint64_t p = 0; p < 4; p++)
			CHECK(!xipfs_read_page(im, &in, p, page) &&
			      !memcmp(page, content_a + p * PS, p < 3 ? PS : 100),
			      "no_xip: a page %llu", (unsigned long long)p);
		CHECK(!xipfs_read_inode(im, I_B, &in) && !xipfs_read_page(im, &in, 2, page) &&
		      !memcmp(page, content_b + 2 * PS, 10), "no_xip: b page 2");
		xipfs_image_close(im);
	}
	/* Not with free space; and it must not reach into the metadata. */
	st64(SB(s_free_off), img_len);
	st64(SB(s_free_size), PS);
	st32(SB(s_feature_compat), XIPFS_FEATURE_COMPAT_FREE_SPACE);
	img_len += PS;
	st64(SB(s_image_size), img_len);
	expect_open_error("no_xip with free space", "compressed area offset", true, -EUCLEAN);
	st64(SB(s_comp_off), comp_off - 8);
	st64(SB(s_comp_size), ld64(SB(s_comp_size)) + 8);
	expect_open_error("compressed area in the metadata", "overlaps or follows", true, -EUCLEAN);
	/* The first cluster may start later: the bytes before it are zero. */
	st64(CL(0), ld64(CL(0)) | 8);
	expect_problem("no_xip: a gap before the first cluster", "compressed area gap");
	no_xip = false;
	build();
}

/*
 * A compact cluster table (INCOMPAT_COMPACT_CLUSTERS), built by hand in
 * its own buffer: /f spans ct_n clusters of 2 pages (C = 1), the last
 * one shared with /g.  Cluster i is
 *   i == n - 1       shared: f's last (partial) page and g's page (exception)
 *   i == 70          1 page only: partial (exception)
 *   i % 13 == 6      LZ4 while ct_alg is zlib: another algorithm (exception)
 *   i % 9 == 4       stored, 2 pages: regular (its length tells)
 *   else             zlib, 2 pages: regular
 * The same image with the 8-byte table (ct_full) must read the same.
 */
static uint8_t *ct;
static size_t ct_len_img;
static unsigned int ct_ps;		/* page shift */
static uint64_t ct_n, ct_exc_n, ct_fpages, ct_fsize, ct_tab, ct_meta_size, ct_comp_off;
static uint64_t ct_base_at, ct_exc_at, ct_len_at;
static bool ct_full;

#define CT_GSIZE	50
#define CT_IN(ino, f)	(ct_ino_off + (uint64_t)(ino) * XIPFS_INODE_SLOT + \
			 offsetof(struct xipfs_inode, f))
static uint64_t ct_ino_off;

static void cst16(uint64_t o, uint16_t v) { v = htole16(v); memcpy(ct + o, &v, 2); }
static void cst32(uint64_t o, uint32_t v) { v = htole32(v); memcpy(ct + o, &v, 4); }
static void cst64(uint64_t o, uint64_t v) { v = htole64(v); memcpy(ct + o, &v, 8); }
static uint64_t cld64(uint64_t o) { uint64_t v; memcpy(&v, ct + o, 8); return le64toh(v); }

static uint8_t ct_byte(uint64_t ino, uint64_t pos)
{
	return ino == 3 ? (uint8_t)((pos >> 4) * 7 + (pos >> 12)) : (uint8_t)(pos * 3 + 1);
}

static unsigned int ct_pages_of(uint64_t i)
{
	return i == 70 && i + 1 < ct_n ? 1 : 2;
}

static unsigned int ct_alg_of(uint64_t i)
{
	if (i + 1 == ct_n)
		return XIPFS_COMP_ZLIB;
	if (i % 13 == 6)
		return XIPFS_COMP_LZ4;
	return i % 9 == 4 ? XIPFS_COMP_NONE : XIPFS_COMP_ZLIB;
}

static void ct_put_inode(uint32_t ino, uint16_t mode, uint32_t nlink, uint64_t size,
			 uint64_t data, uint32_t cap)
{
	cst16(CT_IN(ino, i_mode), mode);
	cst16(CT_IN(ino, i_flags), XIPFS_INODE_EXTENDED);
	cst32(CT_IN(ino, i_nlink), nlink);
	cst64(CT_IN(ino, i_size), size);
	cst64(CT_IN(ino, i_mtime), 1700000000);
	cst64(CT_IN(ino, i_data), data);
	cst32(CT_IN(ino, i_map_cap), cap);
}

static void ct_build(unsigned int pshift, uint64_t n, bool full)
{
	const struct xipfs_compressor *zl = xipfs_compressor_by_name("zlib");
	const struct xipfs_compressor *l4 = xipfs_compressor_by_name("lz4");
	uint64_t ps = 1ULL << pshift, cs = 2 * ps, pos, dir, fmap, gmap, page = 0, comp = 0;
	uint64_t *clen = calloc(n, sizeof(*clen)), *ulen = calloc(n, sizeof(*ulen));
	uint8_t *ubuf = malloc(cs), *cbuf = malloc(2 * cs), *data;
	unsigned int w = XIPFS_CT_LEN_BYTES(pshift + 1);

	ct_ps = pshift;
	ct_n = n;
	ct_full = full;
	ct_fpages = 0;
	for (uint64_t i = 0; i + 1 < n; i++)
		ct_fpages += ct_pages_of(i);
	ct_fpages++;	/* its last page, in the shared cluster */
	ct_fsize = (ct_fpages - 1) * ps + 100;
	data = malloc(n * cs);
	if (!clen || !ulen || !ubuf || !cbuf || !data)
		abort();
	/* The clusters' data, and which are exceptions. */
	ct_exc_n = 0;
	for (uint64_t i = 0; i < n; i++) {
		unsigned int pages = ct_pages_of(i), alg = ct_alg_of(i);
		const struct xipfs_compressor *z = alg == XIPFS_COMP_LZ4 ? l4 : zl;

		ulen[i] = pages * ps;
		for (uint64_t k = 0; k < pages * ps; k++)
			ubuf[k] = ct_byte(3, page * ps + k);
		if (i + 1 == n) {	/* f's last 100 bytes, zeros, g's page */
			memset(ubuf + 100, 0, cs - 100);
			for (uint64_t k = 0; k < CT_GSIZE; k++)
				ubuf[ps + k] = ct_byte(5, k);
			ulen[i] = ps + CT_GSIZE;
		}
		if (alg == XIPFS_COMP_NONE) {
			memcpy(data + comp, ubuf, ulen[i]);
			clen[i] = ulen[i];
		} else {
			clen[i] = z->compress(ubuf, ulen[i], cbuf, 2 * cs, 6);
			if (!clen[i] || clen[i] >= ulen[i])
				abort();
			memcpy(data + comp, cbuf, clen[i]);
		}
		comp += clen[i];
		page += pages;
		ct_exc_n += !(pages == 2 && i + 1 < n &&
			      (alg == XIPFS_COMP_ZLIB || (alg == XIPFS_COMP_NONE && clen[i] == cs)));
	}

	/* Metadata: inode table (root 1, f 3, g 5; extended), dir, maps, cluster table. */
	ct_tab = XIPFS_SB_SIZE + 7 * XIPFS_INODE_SLOT;
	ct_len_img = (ct_tab + 4096 + ct_fpages * 8 + n * 16 + comp + ps - 1) / ps * ps + ps;
	ct = calloc(1, ct_len_img);
	if (!ct)
		abort();
	ct_ino_off = XIPFS_SB_SIZE;
	dir = ct_tab;
	cst32(dir, 2);
	cst32(dir + 4, 1);
	cst32(dir + 8, 3);
	cst32(dir + 12, 32);
	ct[dir + 16] = 1;
	ct[dir + 17] = DT_REG;
	cst32(dir + 20, 5);
	cst32(dir + 24, 33);
	ct[dir + 28] = 1;
	ct[dir + 29] = DT_REG;
	ct[dir + 32] = 'f';
	ct[dir + 33] = 'g';
	ct_put_inode(1, S_IFDIR | 0755, 2, 34, dir, 0);
	fmap = dir + 40;
	page = 0;
	for (uint64_t i = 0; i < n; i++)
		for (unsigned int k = 0; k < ct_pages_of(i) && page < ct_fpages; k++)
			cst64(fmap + 8 * page++, XIPFS_PTE_COMP(i, k));
	ct_put_inode(3, S_IFREG | 0644, 1, ct_fsize, fmap, (uint32_t)ct_fpages);
	gmap = fmap + 8 * ct_fpages;
	cst64(gmap, XIPFS_PTE_COMP(n - 1, 1));
	ct_put_inode(5, S_IFREG | 0644, 1, CT_GSIZE, gmap, 1);
	ct_tab = gmap + 8;
	if (full) {
		ct_meta_size = ct_tab + (n + 1) * 8 - XIPFS_SB_SIZE;
	} else {
		ct_meta_size = (ct_tab + xipfs_ct_size(n, ct_exc_n, pshift + 1) + 7) / 8 * 8 -
			       XIPFS_SB_SIZE;
		cst32(ct_tab, (uint32_t)ct_exc_n);
		ct[ct_tab + 4] = XIPFS_COMP_ZLIB;
	}
	ct_base_at = ct_tab + XIPFS_CT_HEADER_SIZE;
	ct_exc_at = ct_base_at + (n + 63) / 64 * 8;
	ct_len_at = ct_exc_at + ct_exc_n * 8;
	ct_comp_off = XIPFS_SB_SIZE + ct_meta_size;
	memcpy(ct + ct_comp_off, data, comp);
	pos = 0;
	for (uint64_t i = 0, k = 0; i < n; i++) {
		uint64_t d = XIPFS_CL_DESC(pos, ct_pages_of(i), ulen[i], pshift, ct_alg_of(i),
					   i + 1 == n);
		bool regular = ct_pages_of(i) == 2 && i + 1 < n &&
			       (ct_alg_of(i) == XIPFS_COMP_ZLIB ||
				(ct_alg_of(i) == XIPFS_COMP_NONE && clen[i] == cs));

		if (full) {
			cst64(ct_tab + 8 * i, d);
		} else {
			if (!(i % 64))
				cst64(ct_base_at + i / 64 * 8, pos);
			if (!regular)
				cst64(ct_exc_at + 8 * k++, i | (d & XIPFS_CL_DESC_MASK));
			for (unsigned int b = 0; b < w; b++)
				ct[ct_len_at + i * w + b] = (uint8_t)((clen[i] - 1) >> (8 * b));
		}
		pos += clen[i];
	}
	if (full)
		cst64(ct_tab + 8 * n, pos);

	memcpy(ct + SB(s_magic), &(uint32_t){ htole32(XIPFS_MAGIC) }, 4);
	cst16(SB(s_version), XIPFS_VERSION);
	ct[SB(s_page_shift)] = (uint8_t)pshift;
	ct[SB(s_max_cluster_shift)] = (uint8_t)(pshift + 1);
	cst16(SB(s_state), XIPFS_STATE_CLEAN);
	cst16(SB(s_comp_algs), 1U << XIPFS_COMP_NONE | 1U << XIPFS_COMP_ZLIB | 1U << XIPFS_COMP_LZ4);
	cst32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS |
	      XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS |
	      (full ? 0 : XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS));
	cst32(SB(s_root_ino), XIPFS_ROOT_INO);
	ct_len_img = (ct_comp_off + pos + ps - 1) / ps * ps;
	cst64(SB(s_image_size), ct_len_img);
	cst32(SB(s_inode_count), 7);
	cst64(SB(s_inode_off), ct_ino_off);
	cst64(SB(s_meta_off), XIPFS_SB_SIZE);
	cst64(SB(s_meta_size), ct_meta_size);
	cst64(SB(s_cluster_off), ct_tab);
	cst64(SB(s_cluster_count), n);
	cst64(SB(s_comp_off), ct_comp_off);
	cst64(SB(s_comp_size), pos);
	xipfs_fix_checksums(ct, ct_len_img);
	free(clen);
	free(ulen);
	free(ubuf);
	free(cbuf);
	free(data);
}

/* Open + full check of the compact image; UINT64_MAX: open failed (msgs says why). */
static uint64_t ct_check(void)
{
	struct xipfs_check_opts o = { .report = collect };
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	char err[256];
	uint64_t n;

	xipfs_fix_checksums(ct, ct_len_img);
	msgs[0] = '\0';
	if (xipfs_image_open_mem(ct, ct_len_img, &im, err, sizeof(err))) {
		snprintf(msgs, sizeof(msgs), "open: %s\n", err);
		return UINT64_MAX;
	}
	n = xipfs_check(im, &o, &st);
	xipfs_image_close(im);
	return n;
}

/* After a mutation of the compact image: want a problem (or open error) with needle. */
static void ct_expect(const char *what, const char *needle, bool at_open)
{
	uint64_t n = ct_check();

	CHECK(at_open ? n == UINT64_MAX : n > 0 && n != UINT64_MAX,
	      "%s: expected %s, got %llu:\n%s", what, at_open ? "an open error" : "a problem",
	      (unsigned long long)n, msgs);
	CHECK(strstr(msgs, needle), "%s: no message with \"%s\" in:\n%s", what, needle, msgs);
	free(ct);
	ct_build(ct_ps, ct_n, false);
}

static void test_compact_clusters_one(unsigned int pshift, uint64_t n)
{
	uint64_t *full_desc = malloc((n + 1) * sizeof(*full_desc)), bad = 0, bad_pages = 0;
	unsigned int w = XIPFS_CT_LEN_BYTES(pshift + 1);
	uint64_t ps = 1ULL << pshift, full_meta;
	struct xipfs_image *im;
	uint8_t *buf = malloc(ps);
	char err[256];

	if (!full_desc || !buf)
		abort();
	ct_build(pshift, n, true);
	full_meta = ct_meta_size;
	CHECK(ct_check() == 0, "page shift %u, 8-byte table: not clean:\n%s", pshift, msgs);
	if (!xipfs_image_open_mem(ct, ct_len_img, &im, err, sizeof(err))) {
		for (uint64_t i = 0; i <= n; i++)
			full_desc[i] = xipfs_cluster_desc(im, i);
		xipfs_image_close(im);
	}
	free(ct);

	ct_build(pshift, n, false);
	printf("compact cluster table, %llu clusters, W = %u: %llu bytes (%llu exceptions), 8-byte table %llu; metadata %llu vs %llu\n",
	       (unsigned long long)n, w, (unsigned long long)xipfs_ct_size(n, ct_exc_n, pshift + 1),
	       (unsigned long long)ct_exc_n, (unsigned long long)(n + 1) * 8,
	       (unsigned long long)ct_meta_size, (unsigned long long)full_meta);
	CHECK(ct_check() == 0, "page shift %u, compact table: not clean:\n%s", pshift, msgs);
	if (xipfs_image_open_mem(ct, ct_len_img, &im, err, sizeof(err))) {
		CHECK(0, "compact table, page shift %u: open: %s", pshift, err);
	} else {
		struct xipfs_dinode in;

		CHECK(im->ct.on && im->ct.w == w && im->ct.n == n && im->ct.e == ct_exc_n &&
		      im->ct.alg == XIPFS_COMP_ZLIB &&
		      xipfs_cluster_table_size(im) == xipfs_ct_size(n, ct_exc_n, pshift + 1),
		      "table geometry: on %d w %u n %llu e %llu alg %u", im->ct.on, im->ct.w,
		      (unsigned long long)im->ct.n, (unsigned long long)im->ct.e, im->ct.alg);
		/* Every descriptor (sentinel included) as the 8-byte table has it. */
		for (uint64_t i = 0; i <= n; i++)
			bad += xipfs_cluster_desc(im, i) != full_desc[i];
		CHECK(!bad, "W = %u: %llu of %llu rebuilt descriptors differ from the 8-byte table's",
		      w, (unsigned long long)bad, (unsigned long long)n + 1);
		CHECK(xipfs_cluster_desc(im, n + 1) == 0, "past the sentinel: 0");
		CHECK(!xipfs_read_inode(im, 3, &in), "read /f");
		for (uint64_t p = 0; p < ct_fpages; p++) {
			if (xipfs_read_page(im, &in, p, buf)) {
				bad_pages++;
				continue;
			}
			for (uint64_t k = 0; k < ps; k++)
				if (buf[k] != (p * ps + k < ct_fsize ? ct_byte(3, p * ps + k) : 0)) {
					bad_pages++;
					break;
				}
		}
		CHECK(!xipfs_read_inode(im, 5, &in) && !xipfs_read_page(im, &in, 0, buf) &&
		      buf[0] == ct_byte(5, 0) && buf[CT_GSIZE - 1] == ct_byte(5, CT_GSIZE - 1) &&
		      !buf[CT_GSIZE], "/g through the shared cluster's exception");
		CHECK(!bad_pages, "W = %u: %llu of /f's %llu pages read wrong", w,
		      (unsigned long long)bad_pages, (unsigned long long)ct_fpages);
		xipfs_image_close(im);
	}

	/* Refused at open: placement, header, the end of the data. */
	cst64(SB(s_cluster_off), XIPFS_SB_SIZE + ct_meta_size - 8);
	ct_expect("table past the metadata", "compact cluster table [", true);
	cst64(SB(s_cluster_off), ct_tab + 4);
	ct_expect("misaligned table", "not 8-byte aligned", true);
	ct[ct_tab + 6] = 1;
	ct_expect("reserved byte", "reserved bytes 0x000100 not zero", true);
	ct[ct_tab + 4] = 7;
	ct_expect("unknown ct_alg", "algorithm 7 of regular clusters unknown", true);
	ct[ct_tab + 4] = XIPFS_COMP_XZ;
	ct_expect("ct_alg not listed", "not in the superblock's list", true);
	ct[ct_len_at + (n - 1) * w + 1] ^= 0x10;	/* the last cluster 4 KiB longer */
	ct_expect("end past the compressed area", "past the", true);
	/* Found by fsck: what the rebuilt descriptors cannot show. */
	{
		uint64_t x0 = cld64(ct_exc_at), x1 = cld64(ct_exc_at + 8);

		cst64(ct_exc_at, x1);
		cst64(ct_exc_at + 8, x0);
		ct_expect("unsorted exceptions", "exception 1 (cluster 6) does not follow exception 0", false);
	}
	cst64(ct_exc_at, (cld64(ct_exc_at) & XIPFS_CL_DESC_MASK) | (n + 3));
	ct_expect("exception index >= N", "past the", false);
	cst64(ct_base_at, 1);
	ct_expect("base 0 not 0", "base 0 (cluster 0) is 1, not 0", false);
	cst64(ct_base_at + 8, cld64(ct_base_at + 8) - 1);	/* the end stays inside */
	ct_expect("inconsistent base", "base 1 (cluster 64) is", false);
	/* Exception 0 is cluster 6, LZ4: stored now, but its length is not its ulen. */
	cst64(ct_exc_at, cld64(ct_exc_at) & ~(XIPFS_CL_ALG_MASK << XIPFS_CL_ALG_SHIFT));
	ct_expect("stored exception", "exception 0 (cluster 6): stored, but its length", false);
	/* The shared cluster's exception loses its shared bit. */
	cst64(ct_exc_at + (ct_exc_n - 1) * 8, cld64(ct_exc_at + (ct_exc_n - 1) * 8) & ~XIPFS_CL_SHARED);
	ct_expect("unshared", "cluster", false);
	/* Without the feature the table reads as 8-byte descriptors: refused. */
	cst32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS |
	      XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS);
	{
		uint64_t r = ct_check();

		CHECK(r > 0, "compact table read as 8-byte descriptors: clean");
		free(ct);
		ct_build(ct_ps, ct_n, false);
	}
	free(ct);
	free(full_desc);
	free(buf);
}

static void test_compact_clusters(void)
{
	test_compact_clusters_one(12, 200);	/* W = 2: 8 KiB clusters, 4 groups */
	test_compact_clusters_one(16, 72);	/* W = 3: 128 KiB clusters, 2 groups */
}

int main(void)
{
	build();
	test_clean();
	test_extract();
	test_corruptions();
	test_rw();
	test_pte_in_group();
	test_map_slot();
	test_cluster_desc();
	test_grouped();
	test_extents();
	test_no_xip();
	test_compact_clusters();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
