// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the image reader and checker on a small image built here
 * by hand, independent of mkfs.xipfs, so that each corruption can be
 * placed precisely and its message asserted.
 *
 * The image (4 KiB pages):
 *   /        dir  ino 1: a, dev, fifo, link, sub
 *   /a       reg  ino 2: 3 pages + 100 bytes: XIP, hole, zlib cluster 0, tail
 *   /sub     dir  ino 3: b, hard
 *   /link    lnk  ino 4 -> "sub/b"
 *   /dev     chr  ino 5 (1, 3)
 *   /sub/b   reg  ino 6: 2 pages + 10 bytes, stored cluster 1 (3 pages)
 *   /fifo    fifo ino 7
 *   /sub/hard  = ino 2
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
#define META_OFF	PS
#define NINODES		8

static uint8_t img[IMG_PAGES * PS];
static size_t img_len;
/* Where the builder put things, for the corruption cases. */
static uint64_t off_inodes, off_root_dir, off_sub_dir, off_map_a, off_map_b,
		off_clusters, off_link, off_tail, xip_off, comp_off, comp0_off;
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

#define SB(f)	offsetof(struct xipfs_super_block, f)
#define IN(ino, f) (off_inodes + (uint64_t)(ino) * XIPFS_INODE_SIZE + offsetof(struct xipfs_inode, f))

static uint64_t meta_pos;

static uint64_t meta_alloc(uint64_t len)
{
	uint64_t off = (meta_pos + 7) & ~7ULL;

	meta_pos = off + len;
	return off;
}

static void put_inode(uint32_t ino, uint16_t mode, uint32_t nlink, uint64_t size,
		      uint64_t data, uint32_t rdev, uint32_t map_cap)
{
	st16(IN(ino, i_mode), mode);
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
	static const struct ent root[] = {
		{ "a", 2, DT_REG }, { "dev", 5, DT_CHR }, { "fifo", 7, DT_FIFO },
		{ "link", 4, DT_LNK }, { "sub", 3, DT_DIR },
	};
	static const struct ent sub[] = { { "b", 6, DT_REG }, { "hard", 2, DT_REG } };
	uint8_t cbuf[2 * PS];
	uint64_t size, meta_size, pos;
	size_t clen;

	memset(img, 0, sizeof(img));
	for (size_t i = 0; i < sizeof(content_a); i++)
		content_a[i] = (uint8_t)(i * 7 + 1);
	memset(content_a + PS, 0, PS);	/* the hole */
	for (size_t i = 0; i < sizeof(content_b); i++)
		content_b[i] = (uint8_t)(i ^ (i >> 8));

	meta_pos = META_OFF;
	off_inodes = meta_alloc(NINODES * XIPFS_INODE_SIZE);
	off_root_dir = put_dir(1, root, 5, &size);
	put_inode(1, S_IFDIR | 0755, 3, size, off_root_dir, 0, 0);
	off_sub_dir = put_dir(1, sub, 2, &size);
	put_inode(3, S_IFDIR | 0750, 2, size, off_sub_dir, 0, 0);
	off_map_a = meta_alloc(5 * 8);
	put_inode(2, S_IFREG | 0644, 2, sizeof(content_a), off_map_a, 0, 5);
	off_map_b = meta_alloc(3 * 8);
	put_inode(6, S_IFREG | 0600, 1, sizeof(content_b), off_map_b, 0, 3);
	off_link = meta_alloc(5);
	memcpy(img + off_link, "sub/b", 5);
	put_inode(4, S_IFLNK | 0777, 1, 5, off_link, 0, 0);
	put_inode(5, S_IFCHR | 0620, 1, 0, 0, makedev(1, 3) & 0xfffff, 0);
	put_inode(7, S_IFIFO | 0644, 1, 0, 0, 0, 0);
	off_tail = meta_alloc(100);
	memcpy(img + off_tail, content_a + 3 * PS, 100);
	off_clusters = meta_alloc(2 * XIPFS_CLUSTER_SIZE);
	meta_size = meta_pos - META_OFF;

	xip_off = (meta_pos + PS - 1) / PS * PS;
	memcpy(img + xip_off, content_a, PS);
	comp_off = xip_off + PS;
	clen = z->compress(content_a + 2 * PS, PS, cbuf, sizeof(cbuf), 6);
	if (!clen)
		abort();
	comp0_off = comp_off;
	memcpy(img + comp_off, cbuf, clen);
	memcpy(img + comp_off + clen, content_b, sizeof(content_b));
	pos = comp_off + clen + sizeof(content_b);

	/* cluster 0: zlib, page 2 of a; cluster 1: stored, all of b */
	st64(off_clusters, comp_off);
	st32(off_clusters + 8, (uint32_t)clen);
	st32(off_clusters + 12, PS);
	img[off_clusters + 16] = XIPFS_COMP_ZLIB;
	img[off_clusters + 17] = 1;
	st64(off_clusters + 24, comp_off + clen);
	st32(off_clusters + 24 + 8, sizeof(content_b));
	st32(off_clusters + 24 + 12, sizeof(content_b));
	img[off_clusters + 24 + 16] = XIPFS_COMP_NONE;
	img[off_clusters + 24 + 17] = 3;

	st64(off_map_a, XIPFS_PTE_XIP(xip_off / PS));
	st64(off_map_a + 8, 0);
	st64(off_map_a + 16, XIPFS_PTE_COMP(0, 0));
	st64(off_map_a + 24, XIPFS_PTE_TAIL(off_tail - META_OFF));
	for (int i = 0; i < 3; i++)
		st64(off_map_b + 8 * i, XIPFS_PTE_COMP(1, i));

	img_len = (pos + PS - 1) / PS * PS;
	st32(SB(s_magic), XIPFS_MAGIC);
	st16(SB(s_version), XIPFS_VERSION);
	img[SB(s_page_shift)] = 12;
	img[SB(s_max_cluster_shift)] = 14;
	st16(SB(s_state), XIPFS_STATE_CLEAN);
	st16(SB(s_comp_algs), 1U << XIPFS_COMP_ZLIB);
	st32(SB(s_feature_incompat), XIPFS_FEATURE_INCOMPAT_CLUSTERS | XIPFS_FEATURE_INCOMPAT_TAIL);
	st32(SB(s_root_ino), XIPFS_ROOT_INO);
	st64(SB(s_image_size), img_len);
	st32(SB(s_inode_count), NINODES);
	st64(SB(s_inode_off), off_inodes);
	st64(SB(s_meta_off), META_OFF);
	st64(SB(s_meta_size), meta_size);
	st64(SB(s_cluster_off), off_clusters);
	st64(SB(s_cluster_count), 2);
	st64(SB(s_xip_off), xip_off);
	st64(SB(s_xip_size), PS);
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
	struct xipfs_inode_info in;
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
	CHECK(st.pages == 7 && st.xip_pages == 1 && st.comp_pages == 4 && st.holes == 1 &&
	      st.tails == 1, "page counts");
	CHECK(st.clusters == 2 && st.cluster_bytes == PS + sizeof(content_b), "clusters");
	CHECK(st.crc_checked, "crc checked");

	CHECK(!xipfs_image_open_mem(img, img_len, &im, err, sizeof(err)), "open: %s", err);
	CHECK(!xipfs_resolve(im, "/sub/hard", &ino) && ino == 2, "resolve hard link");
	CHECK(!xipfs_resolve(im, "sub/../a", &ino) && ino == 2, "resolve ..");
	CHECK(xipfs_resolve(im, "/nope", &ino) == -ENOENT, "missing path");
	CHECK(xipfs_resolve(im, "/a/x", &ino) == -ENOTDIR, "file as directory");
	CHECK(!xipfs_inode_get(im, 2, &in), "inode 2");
	for (uint64_t p = 0; p < 4; p++) {
		size_t len = p < 3 ? PS : 100;

		CHECK(!xipfs_read_page(im, &in, p, page), "read a page %llu: %s",
		      (unsigned long long)p, xipfs_image_error(im));
		CHECK(!memcmp(page, content_a + p * PS, len), "a page %llu content",
		      (unsigned long long)p);
	}
	CHECK(xipfs_read_page(im, &in, 4, page) == -EUCLEAN, "read past EOF fails");
	CHECK(!xipfs_inode_get(im, 6, &in), "inode 6");
	for (uint64_t p = 0; p < 3; p++) {
		size_t len = p < 2 ? PS : 10;

		CHECK(!xipfs_read_page(im, &in, p, page), "read b page %llu",
		      (unsigned long long)p);
		CHECK(!memcmp(page, content_b + p * PS, len), "b page %llu content",
		      (unsigned long long)p);
		CHECK(p < 2 || page[10] == 0, "b zero past EOF");
	}
	CHECK(!xipfs_inode_get(im, 4, &in) && !xipfs_read_link(im, &in, &t, &tlen) &&
	      tlen == 5 && !memcmp(t, "sub/b", 5), "symlink target");
	CHECK(xipfs_inode_get(im, NINODES, &in) == -EUCLEAN, "inode out of range");
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
	      sa.st_mtim.tv_sec == 1700000002 && (sa.st_mode & 07777) == 0644,
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
	      sd.st_mtim.tv_sec == 1700000003, "sub metadata after its contents");

	/* Hostile names are skipped, with an error, and never escape. */
	img[off_root_dir + XIPFS_DIR_HEADER_SIZE + 4 * XIPFS_DIRENT_SIZE + 8] = 2; /* "su" */
	{
		/* root entry 0 ("a") becomes ".", sub's "b" becomes "/" */
		uint32_t a_name, b_name;

		memcpy(&a_name, img + off_root_dir + XIPFS_DIR_HEADER_SIZE + 4, 4);
		memcpy(&b_name, img + off_sub_dir + XIPFS_DIR_HEADER_SIZE + 4, 4);
		img[off_root_dir + le32toh(a_name)] = '.';
		img[off_sub_dir + le32toh(b_name)] = '/';
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
	img[IN(3, i_mtime)] ^= 1;
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

	/* Superblock fields only fsck looks at. */
	st32(SB(s_feature_compat), 0x100);
	expect_problem("compat", "unknown compatible");
	st32(SB(s_feature_ro_compat), 1);
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
	img[300] = 1;
	expect_problem("superblock padding", "superblock padding");

	/* Inodes. */
	st64(IN(2, i_reserved1), 1);
	expect_problem("inode reserved", "reserved fields not zero");
	st16(IN(2, i_flags), 4);
	expect_problem("inode flags", "unknown flags");
	st16(IN(7, i_mode), 0170644);
	expect_problem("bad type", "invalid file type");
	st32(IN(2, i_nlink), 1);
	expect_problem("nlink file", "link count 1, expected 2");
	st32(IN(1, i_nlink), 2);
	expect_problem("nlink dir", "link count 2, expected 3");
	st32(IN(2, i_map_cap), 3);
	expect_problem("map cap", "capacity 3 < 4 pages");
	st64(IN(2, i_data), off_map_a + 4);
	expect_problem("map align", "not 8-byte aligned");
	st64(IN(4, i_size), 4096);
	expect_problem("symlink size", "symlink target");
	img[off_link + 1] = 0;
	expect_problem("symlink NUL", "NUL");
	st64(IN(4, i_data), off_inodes + 8);
	expect_problem("symlink in the inode table", "metadata overlap: the symlink target of inode 4");
	st64(IN(6, i_data), off_map_a + 8);
	expect_problem("shared page map", "metadata overlap");
	st32(IN(7, i_rdev), 5);
	expect_problem("fifo rdev", "device number");
	st16(IN(0, i_mode), S_IFREG);
	expect_problem("slot 0", "unused slot");
	/* An inode no directory names. */
	st16(IN(7, i_mode), 0);
	st32(IN(7, i_nlink), 0);
	st64(IN(7, i_mtime), 0);
	st32(IN(7, i_mtime_nsec), 0);
	st32(IN(7, i_uid), 0);
	st32(IN(7, i_gid), 0);
	expect_problem("dirent to free inode", "unused or invalid inode 7");
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
		expect_problem("d_type", "type 4 but inode 2");
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
		st32(d, 3);
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
		       "image page 2 (offset 8192) used twice: by XIP page 0 of /a (inode 2) and by XIP page 1 of /a (inode 2)");
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

	/* Clusters. */
	st32(off_clusters + 12, PS - 1);
	expect_problem("ulen not last", "not the file's last cluster");
	img[off_clusters + 17] = 2;
	expect_problem("cluster pages", "2 pages, but 1 map entries");
	img[off_clusters + 16] = 9;
	expect_problem("cluster alg", "unknown algorithm");
	st16(off_clusters + 18, 1);
	expect_problem("cluster flags", "flags or reserved");
	st64(off_clusters, 0);
	expect_problem("cluster off", "outside the compressed area");
	img[comp0_off + 4] ^= 0x55;
	expect_problem("cluster data", "corrupt");
	st32(off_clusters + 24 + 8, 100);
	expect_problem("stored clen", "stored cluster");
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

	/* META_MODIFIED: the metadata checksum is not expected to match. */
	st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
	xipfs_fix_checksums(img, img_len);
	img[IN(3, i_mtime)] ^= 1;
	st32(SB(s_checksum), 0);
	{
		/* only the superblock checksum: the stale metadata crc stays */
		uint8_t copy[XIPFS_SB_SIZE];

		memcpy(copy, img, sizeof(copy));
		memset(copy + offsetof(struct xipfs_super_block, s_state), 0, 2);
		st32(SB(s_checksum), xipfs_crc32c(copy, sizeof(copy)));
	}
	e = run_check(0, &st);
	CHECK(e == 0 && !st.crc_checked, "META_MODIFIED: %llu problems:\n%s",
	      (unsigned long long)e, msgs);
	build();

	/* XIP pages in the free area: only after a read-write mount. */
	{
		uint64_t free_pg = img_len / PS;

		uint64_t old_b;

		st64(SB(s_free_off), img_len);
		st64(SB(s_free_size), 4 * PS);
		st32(SB(s_feature_compat), XIPFS_FEATURE_COMPAT_FREE_SPACE);
		img_len += 4 * PS;
		st64(SB(s_image_size), img_len);
		memset(img + free_pg * PS, 0x5a, PS);
		st64(off_map_a + 8, XIPFS_PTE_XIP(free_pg));
		/* b's stored cluster moves to the free area, as a rw mount might. */
		memcpy(&old_b, img + off_clusters + 24, 8);
		old_b = le64toh(old_b);
		memcpy(img + (free_pg + 1) * PS, content_b, sizeof(content_b));
		memset(img + old_b, 0, sizeof(content_b));
		st64(SB(s_comp_size), old_b - comp_off);
		st64(off_clusters + 24, (free_pg + 1) * PS);
		xipfs_fix_checksums(img, img_len);
		e = run_check(0, NULL);
		CHECK(e > 0 && strstr(msgs, "outside the XIP area") &&
		      strstr(msgs, "cluster 1: data"),
		      "XIP page and cluster in the free area of a clean image:\n%s", msgs);
		st16(SB(s_state), XIPFS_STATE_META_MODIFIED);
		xipfs_fix_checksums(img, img_len);
		e = run_check(0, &st);
		CHECK(e == 0, "XIP page in the free area after a rw mount: %llu problems:\n%s",
		      (unsigned long long)e, msgs);
		{
			struct xipfs_image *im;
			struct xipfs_inode_info in;
			uint8_t page[PS];

			CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open rw image");
			CHECK(im && !xipfs_inode_get(im, 6, &in) && !xipfs_read_page(im, &in, 1, page) &&
			      !memcmp(page, content_b + PS, PS), "b read from the free area");
			CHECK(im && !xipfs_inode_get(im, 2, &in) && !xipfs_read_page(im, &in, 1, page) &&
			      page[0] == 0x5a && page[PS - 1] == 0x5a, "a's page 1 from the free area");
			xipfs_image_close(im);
		}
		st32(SB(s_feature_compat), 0);
		expect_problem("free area without the feature", "FREE_SPACE");
	}

	/* The message count is bounded, the problem count is not. */
	for (uint32_t i = 1; i < NINODES; i++)
		st64(IN(i, i_reserved1), 1);
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
 */
#define RW_FREE	6
static uint64_t rw_free_pg, rw_freed_pg;

static void rw_setup(void)
{
	uint64_t b_off;

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
	st64(IN(2, i_data), rw_free_pg * PS);
	/* b's cluster 1 dies: its pages go to F1..F3 */
	for (int i = 0; i < 3; i++) {
		size_t n = i < 2 ? PS : 10;

		memcpy(img + (rw_free_pg + 1 + i) * PS, content_b + i * PS, n);
		memset(img + (rw_free_pg + 1 + i) * PS + n, 0xee, PS - n);
		st64(off_map_b + 8 * i, XIPFS_PTE_XIP(rw_free_pg + 1 + i));
	}
	/* The page after cluster 0's holds only dead cluster 1's bytes. */
	memcpy(&b_off, img + off_clusters + 24, 8);
	b_off = le64toh(b_off);
	rw_freed_pg = comp_off / PS + 1;
	if (b_off > rw_freed_pg * PS || b_off + sizeof(content_b) < (rw_freed_pg + 1) * PS)
		abort();	/* the hand-built layout changed */
	memcpy(img + rw_freed_pg * PS, content_a, PS);
	memset(img + xip_off, 0x33, PS);
	st64(rw_free_pg * PS, XIPFS_PTE_XIP(rw_freed_pg));
	/* b shrinks: entry 2 (XIP F3) stays behind */
	st64(IN(6, i_size), PS + 5);
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
	struct xipfs_inode_info in;
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
	CHECK(!xipfs_inode_get(im, 2, &in), "inode 2");
	CHECK(!xipfs_map_locate(im, &in, &moved, &np) && moved && np == 1, "a's map moved");
	for (uint64_t p = 0; p < 4; p++) {
		size_t len = p < 3 ? PS : 100;

		CHECK(!xipfs_read_page(im, &in, p, page), "rw: read a page %llu: %s",
		      (unsigned long long)p, xipfs_image_error(im));
		CHECK(!memcmp(page, content_a + p * PS, len), "rw: a page %llu content",
		      (unsigned long long)p);
	}
	CHECK(!xipfs_inode_get(im, 6, &in), "inode 6");
	CHECK(!xipfs_read_page(im, &in, 0, page) && !memcmp(page, content_b, PS), "rw: b page 0");
	CHECK(!xipfs_read_page(im, &in, 1, page) && !memcmp(page, content_b + PS, 5) &&
	      all_zero_buf(page + 5, PS - 5), "rw: b page 1 zero past the new EOF");
	CHECK(xipfs_read_page(im, &in, 2, page) == -EUCLEAN, "rw: b page 2 is past EOF");
	CHECK(!xipfs_map_entry(im, &in, 2, &e) && e == XIPFS_PTE_XIP(rw_free_pg + 3),
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
			  "by XIP page 0 of /a (inode 2) and by XIP page 1 of /sub/b (inode 6)");
	st64(off_map_b, XIPFS_PTE_XIP(comp_off / PS));
	expect_rw_problem("xip on a live cluster",
			  "by XIP page 0 of /sub/b (inode 6) and by cluster 0 of /a (inode 2)");
	memcpy(img + (rw_free_pg + 1) * PS, img + rw_free_pg * PS, 5 * 8);
	st64(IN(2, i_data), (rw_free_pg + 1) * PS);
	expect_rw_problem("map on an XIP page",
			  "by the page map of /a (inode 2) and by XIP page 0 of /sub/b (inode 6)");
	memcpy(img + comp_off, img + rw_free_pg * PS, 5 * 8);
	st64(IN(2, i_data), comp_off);
	expect_rw_problem("map on a live cluster",
			  "by the page map of /a (inode 2) and by cluster 0 of /a (inode 2)");
	st64(IN(6, i_data), rw_free_pg * PS);
	expect_rw_problem("two maps on a page",
			  "by the page map of /a (inode 2) and by the page map of /sub/b (inode 6)");
	st64(IN(2, i_data), rw_free_pg * PS + 8);
	expect_rw_problem("map not page-aligned", "in the data region is not page-aligned");
	st64(IN(2, i_data), img_len - PS);
	st32(IN(2, i_map_cap), PS / 8 + 1);
	expect_rw_problem("map past the end", "runs past the end of the image");
	st64(IN(2, i_data), img_len);
	expect_rw_problem("map at the end", "outside the metadata area and the data region");
	st64(IN(2, i_data), UINT64_MAX - 7);
	expect_rw_problem("map offset overflow", "outside the metadata area and the data region");
	st64(rw_free_pg * PS, XIPFS_PTE_XIP(1));
	expect_rw_problem("xip in the metadata", "outside the data region");
	/* A live cluster's data is still checked. */
	img[comp0_off + 4] ^= 0x55;
	expect_rw_problem("live cluster data", "corrupt");
	/* Dead clusters: descriptors still checked, data not. */
	img[off_clusters + 24 + 16] = 9;
	expect_rw_problem("dead cluster descriptor", "cluster 1: unknown algorithm");
	st64(off_clusters + 24, img_len);
	expect_rw_problem("dead cluster bounds",
			  "cluster 1: data [");
	st64(off_clusters + 24, xip_off);
	expect_rw_problem("cluster in the XIP area",
			  "cluster 1: data [8192, +8202) outside the compressed area and the free area");
	/* Two live clusters sharing bytes. */
	st64(off_map_b, XIPFS_PTE_COMP(1, 0));
	st64(off_clusters + 24, comp0_off);
	expect_rw_problem("live clusters overlap", "compressed data of two clusters overlap");
	/* The data region must not reach into the metadata. */
	st64(SB(s_xip_size), 0);
	st64(SB(s_xip_off), META_OFF);
	expect_open_error("rw: data region in the metadata", "starts inside the metadata area",
			  true, -EUCLEAN);
	build();
}

/* xipfs_pte_in_group(): what a group's entry derives for page k. */
static void test_pte_in_group(void)
{
	const uint64_t xmax = XIPFS_PTE_XIP_MASK, cmax = XIPFS_PTE_CLUSTER_MASK;
	const uint64_t tail = XIPFS_PTE_TAIL(1234);

	for (unsigned int k = 0; k < 128; k++)
		CHECK(xipfs_pte_in_group(0, k) == 0, "hole group, page %u", k);
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(5), 0) == XIPFS_PTE_XIP(5), "xip k=0");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(5), 127) == XIPFS_PTE_XIP(132), "xip k=127");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax - 127), 127) == XIPFS_PTE_XIP(xmax),
	      "xip up to the largest page number");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax), 0) == XIPFS_PTE_XIP(xmax), "xip max k=0");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax), 1) == XIPFS_PTE_INVALID,
	      "xip page number overflow");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_XIP(xmax - 3), 4) == XIPFS_PTE_INVALID,
	      "xip page number overflow by one");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 0), 127) == XIPFS_PTE_COMP(7, 127), "comp k=127");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 128), 127) == XIPFS_PTE_COMP(7, 255),
	      "comp up to index 255");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 250), 6) == XIPFS_PTE_INVALID,
	      "comp index overflow (not into the reserved bits)");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(7, 255), 1) == XIPFS_PTE_INVALID,
	      "comp index 255 + 1");
	CHECK(xipfs_pte_in_group(XIPFS_PTE_COMP(cmax, 3), 4) == XIPFS_PTE_COMP(cmax, 7),
	      "comp: the cluster number is left alone");
	CHECK(xipfs_pte_in_group(tail, 0) == tail, "tail k=0");
	CHECK(xipfs_pte_in_group(tail, 1) == XIPFS_PTE_INVALID, "tail k=1");
	CHECK(xipfs_pte_in_group(tail, 127) == XIPFS_PTE_INVALID, "tail k=127");
	CHECK(XIPFS_PTE_INVALID & XIPFS_PTE_RESERVED_MASK, "invalid entries have reserved bits");
	CHECK(xipfs_pte_type(XIPFS_PTE_INVALID) == XIPFS_PTE_TYPE_HOLE &&
	      xipfs_pte_in_group(XIPFS_PTE_INVALID, 3) == XIPFS_PTE_INVALID,
	      "an invalid group entry stays invalid");
	CHECK(XIPFS_MAP_SHIFT(0x1005) == 5 && XIPFS_MAP_OFF(0x1005) == 0x1000, "i_data split");
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
	st64(IN(6, i_data), off_map_b | 2);
	xipfs_fix_checksums(img, img_len);
}

static void test_grouped(void)
{
	struct xipfs_check_stats st;
	struct xipfs_image *im;
	struct xipfs_inode_info in;
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
		CHECK(!xipfs_inode_get(im, 6, &in) && !xipfs_map_get(im, &in, &m) &&
		      m.off == off_map_b && m.shift == 2 && m.entries == 1 && !m.moved,
		      "b's map: one entry of a 4-page group");
		for (uint64_t p = 0; p < 3; p++) {
			size_t len = p < 2 ? PS : 10;

			CHECK(!xipfs_map_entry(im, &in, p, &e) && e == XIPFS_PTE_COMP(1, p),
			      "b's derived entry %llu", (unsigned long long)p);
			CHECK(!xipfs_read_page(im, &in, p, page) &&
			      !memcmp(page, content_b + p * PS, len), "grouped b page %llu",
			      (unsigned long long)p);
		}
		CHECK(!xipfs_map_raw(im, &in, 0, &e) && e == XIPFS_PTE_COMP(1, 0), "raw entry 0");
		CHECK(xipfs_map_raw(im, &in, 1, &e) == -EUCLEAN, "raw entry past the map");
		CHECK(xipfs_map_entry(im, &in, 3, &e) == -EUCLEAN, "entry past the capacity");
		xipfs_image_close(im);
	}

	/* Group entries wholly past the end: stale, information only. */
	make_b_grouped();
	st32(IN(6, i_map_cap), 8);
	st64(off_map_b + 8, XIPFS_PTE_COMP(1, 0));
	xipfs_fix_checksums(img, img_len);
	n = run_check(0, &st);
	CHECK(n == 0 && st.stale_entries == 1, "grouped stale: %llu problems, %llu stale:\n%s",
	      (unsigned long long)n, (unsigned long long)st.stale_entries, msgs);
	build();

	/* The shift bits without the feature: a misaligned map to old readers. */
	st64(IN(6, i_data), off_map_b | 2);
	expect_problem("shift without the feature",
		       "not 8-byte aligned (group shift 2 without the GROUPED_MAPS feature)");
	st64(IN(6, i_data), off_map_b | 2);
	xipfs_fix_checksums(img, img_len);
	CHECK(!xipfs_image_open_mem(img, img_len, &im, NULL, 0), "open");
	if (im) {
		CHECK(!xipfs_inode_get(im, 6, &in) && xipfs_read_page(im, &in, 0, page) == -EUCLEAN &&
		      strstr(xipfs_image_error(im), "GROUPED_MAPS"),
		      "readers refuse the shift without the feature: %s", xipfs_image_error(im));
		xipfs_image_close(im);
	}
	build();
	/* A zero-capacity map too (nothing to read, still a bad i_data). */
	st64(IN(6, i_size), 0);
	st32(IN(6, i_map_cap), 0);
	st64(IN(6, i_data), off_map_b | 1);
	st64(off_clusters + 24, 0);
	expect_problem("shift on an empty map without the feature", "without the GROUPED_MAPS");

	/* The map must lie in the metadata: a huge capacity takes it out. */
	make_b_grouped();
	st32(IN(6, i_map_cap), UINT32_MAX);
	expect_problem("grouped map out of the metadata",
		       "grouped page map [");
	make_b_grouped();
	st32(IN(6, i_map_cap), 8);	/* 2 entries, 16 bytes from 8 before the end */
	st64(IN(6, i_data), ((meta_pos - 8) & ~7ULL) | 2);
	expect_problem("grouped map across the end of the metadata", "outside the metadata area");

	/* Derived entries are checked like stored ones. */
	make_b_grouped();
	st64(off_map_b, XIPFS_PTE_COMP(1, 254));
	expect_problem("cluster index overflow", "names a cluster index past 255 for it");
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
	st64(IN(6, i_data), off_map_a | 2);
	expect_problem("grouped map over another map", "metadata overlap");

	/* After a read-write mount grouped maps still stay in the metadata. */
	rw_setup();
	{
		uint32_t f;

		memcpy(&f, img + SB(s_feature_incompat), 4);
		st32(SB(s_feature_incompat), le32toh(f) | XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS);
	}
	st64(IN(2, i_data), rw_free_pg * PS | 3);
	expect_rw_problem("grouped map in the data region",
			  "grouped page map [");
	build();
}

int main(void)
{
	build();
	test_clean();
	test_extract();
	test_corruptions();
	test_rw();
	test_pte_in_group();
	test_grouped();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
