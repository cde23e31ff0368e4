// SPDX-License-Identifier: GPL-2.0
/*
 * dump.xipfs: show what an xipfs image holds: superblock, listings, file
 * contents, page maps; or extract the whole tree.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "compress.h"
#include "xipfs_image.h"

#define VERSION "1.0"

/* Recursion guard for -R on hostile images (a loop is a corruption). */
#define MAX_DEPTH	4096

static int errors;
/* -R: directories listed so far, so a loop or fan-in lists each once. */
static bool *listed;
/* -i: PATH arguments are inode numbers (as fsck.xipfs reports them). */
static bool by_inode;
/* -p: -m shows one line per page instead of runs. */
static bool per_page;

static void usage(FILE *f)
{
	fputs("Usage: dump.xipfs [OPTIONS] IMAGE\n"
	      "Show the contents of an xipfs image.\n"
	      "  -s, --super          superblock summary (the default)\n"
	      "  -l, --list PATH      ls -l style listing of PATH\n"
	      "  -R, --recursive      with -l: list subdirectories too\n"
	      "  -c, --cat PATH       write the file PATH to standard output\n"
	      "  -m, --map PATH       the page map of the file PATH: runs of pages of\n"
	      "                       one kind (with -p, one line per page)\n"
	      "  -p, --pages          with -m: one line per page\n"
	      "  -a, --xattrs PATH    the extended attributes of PATH, getfattr -d style\n"
	      "                       (text values quoted, others in hex)\n"
	      "  -i, --inode          PATH (of -l, -c, -m, -a) is an inode number\n"
	      "  -x, --extract DIR    extract the whole tree into DIR\n"
	      "  -X, --xip-list       the XIP set, as a list for mkfs.xipfs --xip=list:\n"
	      "  -P, --profile=FILE   turn FILE, a kernel profile taken on IMAGE (\"-\":\n"
	      "                       stdin), into a path profile for\n"
	      "                       mkfs.xipfs --xip=profile:\n"
	      "      --no-owners      with --extract: don't chown (default as non-root)\n"
	      "      --no-xattrs      with --extract: set no extended attributes (by\n"
	      "                       default all as root, user.* only otherwise)\n"
	      "  -v, --verbose        with --extract: print each path\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        the version\n"
	      "Exit status: 0 success, 1 error (including a damaged image), 2 usage.\n",
	      f);
}

static void put_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void ignore_problem(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Dedupe: what the check finds shared (fsck.xipfs reports damage). */
static void show_shared(struct xipfs_image *img)
{
	struct xipfs_check_opts o = { .report = ignore_problem, .max_messages = 1,
				      .skip_data = true };
	struct xipfs_check_stats st;

	xipfs_check(img, &o, &st);
	printf("shared data:      %llu files (%llu bytes) use an identical file's data%s\n",
	       (unsigned long long)st.shared_files, (unsigned long long)st.shared_bytes,
	       st.errors ? " (the image has problems: see fsck.xipfs)" : "");
}

static void show_super(struct xipfs_image *img)
{
	const struct xipfs_sb *sb = &img->sb;
	char when[64];
	time_t t = (time_t)sb->build_time;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "%lld", (long long)sb->build_time);
	printf("magic:            0x%08x\n", sb->magic);
	printf("version:          %u\n", sb->version);
	printf("volume name:      %s\n", sb->volume_name);
	printf("uuid:             ");
	for (int i = 0; i < 16; i++)
		printf("%02x%s", sb->uuid[i], i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
	printf("\n");
	printf("image size:       %llu\n", (unsigned long long)sb->image_size);
	printf("page size:        %u\n", img->page_size);
	printf("max cluster size: %u\n", sb->max_cluster_shift < 32 ?
	       1U << sb->max_cluster_shift : 0);
	printf("build time:       %s (+%u ns)\n", when, sb->build_time_nsec);
	printf("state:            0x%x%s%s\n", sb->state,
	       sb->state & XIPFS_STATE_CLEAN ? " clean" : "",
	       sb->state & XIPFS_STATE_META_MODIFIED ? " meta-modified" : "");
	printf("features:         compat 0x%x ro_compat 0x%x incompat 0x%x%s%s%s%s%s%s%s%s%s%s\n",
	       sb->feature_compat, sb->feature_ro_compat, sb->feature_incompat,
	       sb->feature_compat & XIPFS_FEATURE_COMPAT_FREE_SPACE ? " free_space" : "",
	       sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA ? " shared_data" : "",
	       sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM ? " data_csum" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_CLUSTERS ? " clusters" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_TAIL ? " tail" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS ?
	       " shared_clusters" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS ? " grouped_maps" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES ?
	       " compact_inodes" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS ? " extent_maps" : "",
	       sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS ?
	       " compact_clusters" : "");
	printf("algorithms:       ");
	for (unsigned int a = 0; a < 16; a++)
		if (sb->comp_algs & (1U << a))
			printf("%s ", xipfs_alg_name(a));
	printf("\n");
	printf("inodes:           %u slots of %d bytes (compact inode: 1, extended: 2)\n",
	       sb->inode_count, XIPFS_INODE_SLOT);
	printf("clusters:         %llu\n", (unsigned long long)sb->cluster_count);
	printf("inode table:      %llu\n", (unsigned long long)sb->inode_off);
	if (img->ct.on)
		printf("cluster table:    %llu +%llu (compact: %llu clusters, %llu exceptions, %u-byte lengths, regular clusters %s)\n",
		       (unsigned long long)sb->cluster_off, (unsigned long long)img->ct.size,
		       (unsigned long long)img->ct.n, (unsigned long long)img->ct.e, img->ct.w,
		       xipfs_alg_name(img->ct.alg));
	else
		printf("cluster table:    %llu +%llu (8-byte descriptors: %llu clusters and the sentinel)\n",
		       (unsigned long long)sb->cluster_off,
		       (unsigned long long)xipfs_cluster_table_size(img),
		       (unsigned long long)sb->cluster_count);
	printf("metadata area:    %llu +%llu (crc 0x%08x)\n", (unsigned long long)sb->meta_off,
	       (unsigned long long)sb->meta_size, sb->meta_crc);
	printf("XIP area:         %llu +%llu\n", (unsigned long long)sb->xip_off,
	       (unsigned long long)sb->xip_size);
	printf("compressed area:  %llu +%llu\n", (unsigned long long)sb->comp_off,
	       (unsigned long long)sb->comp_size);
	printf("free area:        %llu +%llu\n", (unsigned long long)sb->free_off,
	       (unsigned long long)sb->free_size);
	if (sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS)
		printf("shared xattrs:    %llu +%u (%u entries)\n",
		       (unsigned long long)sb->xattr_off, sb->xattr_size, sb->xattr_count);
	if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM)
		printf("data checksums:   %llu +%llu (%llu clusters, %llu XIP pages)%s\n",
		       (unsigned long long)sb->csum_off, (unsigned long long)sb->csum_size,
		       (unsigned long long)sb->cluster_count,
		       (unsigned long long)(sb->xip_size >> sb->page_shift),
		       img->csum ? "" : " (stale: metadata modified)");
	if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA)
		show_shared(img);
}

static void mode_string(uint16_t mode, char *s)
{
	static const char types[] = "?pc?d?b?-?l?s???";
	const char *rwx = "rwxrwxrwx";

	s[0] = types[(mode >> 12) & 15];
	for (int i = 0; i < 9; i++)
		s[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		s[3] = mode & 0100 ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = mode & 0010 ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = mode & 0001 ? 't' : 'T';
	s[10] = '\0';
}

static void list_one(struct xipfs_image *img, const struct xipfs_dinode *in,
		     const char *name, size_t len)
{
	char mode[11], when[32];
	time_t t = (time_t)in->mtime;
	struct tm tm;

	mode_string(in->mode, mode);
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(when, sizeof(when), "%lld", (long long)in->mtime);
	printf("%s %3u %5u %5u ", mode, in->nlink, in->uid, in->gid);
	if (S_ISCHR(in->mode) || S_ISBLK(in->mode))
		printf("%5u, %5u", (in->rdev & 0xfff00) >> 8,
		       (in->rdev & 0xff) | ((in->rdev >> 12) & 0xfff00));
	else
		printf("%12llu", (unsigned long long)in->size);
	printf(" %s.%09u ", when, in->mtime_nsec);
	put_name(name, len);
	if (S_ISLNK(in->mode)) {
		const char *target;
		size_t tlen;

		if (!xipfs_read_link(img, in, &target, &tlen)) {
			printf(" -> ");
			put_name(target, tlen);
		}
	}
	printf("\n");
}

static void list_dir(struct xipfs_image *img, const struct xipfs_dinode *dir,
		     char *path, size_t plen, bool recursive, unsigned int depth)
{
	struct xipfs_dir d;
	struct xipfs_dirent_info e;
	struct xipfs_dinode in;

	if (xipfs_dir_open(img, dir, &d)) {
		fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
		errors++;
		return;
	}
	if (recursive) {
		put_name(path, plen ? plen : 1);
		printf(":\n");
	}
	for (uint32_t i = 0; i < d.count; i++) {
		if (xipfs_dir_entry(img, &d, i, &e) || xipfs_read_inode(img, e.ino, &in)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			errors++;
			continue;
		}
		list_one(img, &in, e.name, e.name_len);
	}
	if (!recursive)
		return;
	if (depth >= MAX_DEPTH) {
		fprintf(stderr, "dump.xipfs: directories nested too deep (a loop?)\n");
		errors++;
		return;
	}
	for (uint32_t i = 0; i < d.count; i++) {
		if (xipfs_dir_entry(img, &d, i, &e) || xipfs_read_inode(img, e.ino, &in) ||
		    !S_ISDIR(in.mode))
			continue;
		if (listed[e.ino]) {
			fprintf(stderr, "dump.xipfs: directory inode %u reached twice (a loop?)\n",
				e.ino);
			errors++;
			continue;
		}
		listed[e.ino] = true;
		if (plen + 1 + e.name_len >= 65536) {
			fprintf(stderr, "dump.xipfs: path too long\n");
			errors++;
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, e.name, e.name_len);
		printf("\n");
		list_dir(img, &in, path, plen + 1 + e.name_len, true, depth + 1);
	}
}

/* PATH, or with -i an inode number, to an inode number. */
static int resolve(struct xipfs_image *img, const char *path, uint32_t *ino)
{
	char *end;
	unsigned long v;

	if (!by_inode)
		return xipfs_resolve(img, path, ino);
	errno = 0;
	v = strtoul(path, &end, 10);
	if (errno || end == path || *end || v == 0 || v > UINT32_MAX) {
		snprintf(img->err, sizeof(img->err), "%s: not an inode number", path);
		return -1;
	}
	*ino = (uint32_t)v;
	return 0;
}

static int do_list(struct xipfs_image *img, const char *path, bool recursive)
{
	struct xipfs_dinode in;
	uint32_t ino;
	char *buf;
	size_t plen;

	if (resolve(img, path, &ino) || xipfs_read_inode(img, ino, &in)) {
		fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
		return 1;
	}
	if (!S_ISDIR(in.mode)) {
		list_one(img, &in, path, strlen(path));
		return 0;
	}
	buf = malloc(65536 + 256);
	listed = calloc(img->sb.inode_count, sizeof(*listed));
	if (!buf || !listed) {
		free(buf);
		return 1;
	}
	listed[ino] = true;
	plen = strlen(path);
	if (plen > 4096)
		plen = 4096;
	memcpy(buf, path, plen);
	while (plen > 1 && buf[plen - 1] == '/')
		plen--;
	if (plen == 1 && buf[0] == '/')
		plen = 0;
	list_dir(img, &in, buf, plen, recursive, 0);
	free(buf);
	free(listed);
	return errors ? 1 : 0;
}

/* A value as getfattr -d shows it: "text" if printable, else 0xHEX. */
static void put_value(const uint8_t *v, size_t len)
{
	size_t n = len && !v[len - 1] ? len - 1 : len;
	bool text = true;

	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
			text = false;
	if (text) {
		printf("\"");
		put_name((const char *)v, n);
		printf("\"");
		return;
	}
	printf("0x");
	for (size_t i = 0; i < len; i++)
		printf("%02x", v[i]);
}

static int do_xattrs(struct xipfs_image *img, const char *path)
{
	struct xipfs_dinode in;
	struct xipfs_xattrs xs;
	struct xipfs_xattr x;
	char name[XIPFS_XATTR_NAME_BUF];
	uint32_t ino;
	int r;

	if (resolve(img, path, &ino) || xipfs_read_inode(img, ino, &in) ||
	    xipfs_xattr_open(img, &in, &xs)) {
		fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
		return 1;
	}
	while ((r = xipfs_xattr_next(img, &xs, &x)) > 0) {
		if (xipfs_xattr_name(&x, name)) {
			fprintf(stderr, "dump.xipfs: %s: attribute with unknown prefix %u\n",
				path, x.prefix);
			errors++;
			continue;
		}
		put_name(name, strlen(name));
		printf("=");
		put_value(x.value, x.value_len);
		if (x.shared)
			printf("  (shared %u)", x.index);
		printf("\n");
	}
	if (r < 0) {
		fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
		return 1;
	}
	return errors ? 1 : 0;
}

static int open_file(struct xipfs_image *img, const char *path,
		     struct xipfs_dinode *in)
{
	uint32_t ino;

	if (resolve(img, path, &ino) || xipfs_read_inode(img, ino, in)) {
		fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
		return -1;
	}
	if (!S_ISREG(in->mode)) {
		fprintf(stderr, "dump.xipfs: %s: not a regular file\n", path);
		return -1;
	}
	return 0;
}

static int do_cat(struct xipfs_image *img, const char *path)
{
	struct xipfs_dinode in;
	uint64_t pages, ps = img->page_size;
	uint8_t *buf;

	if (open_file(img, path, &in))
		return 1;
	buf = malloc(ps);
	if (!buf)
		return 1;
	pages = xipfs_size_pages(img, in.size);
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t n = p + 1 < pages ? ps : in.size - p * ps;

		if (xipfs_read_page(img, &in, p, buf)) {
			fprintf(stderr, "dump.xipfs: %s: %s\n", path, xipfs_image_error(img));
			free(buf);
			return 1;
		}
		if (fwrite(buf, 1, n, stdout) != n) {
			fprintf(stderr, "dump.xipfs: write: %s\n", strerror(errno));
			free(buf);
			return 1;
		}
	}
	free(buf);
	return fflush(stdout) ? 1 : 0;
}

/*
 * -m without -p: consecutive pages of one kind in one line: holes; XIP
 * pages at consecutive image pages; compressed pages in one cluster or
 * consecutive ones.  A tail or an invalid entry is a line of its own.
 */
struct run {
	uint64_t first, len;	/* file pages [first, first + len) */
	uint64_t e0, last;	/* the first entry; the last XIP page or cluster */
	unsigned int type;
	bool bad;
	const struct xipfs_dinode *in;
};

static void run_flush(struct xipfs_image *img, struct run *r)
{
	const struct xipfs_dinode *in = r->in;
	uint64_t end = r->first + r->len - 1;

	if (!r->len)
		return;
	if (r->len == 1)
		printf("page %llu: ", (unsigned long long)r->first);
	else
		printf("pages %llu-%llu: ", (unsigned long long)r->first,
		       (unsigned long long)end);
	if (r->bad) {
		printf("invalid entry 0x%016llx (reserved bits set)\n", (unsigned long long)r->e0);
	} else if (r->type == XIPFS_PTE_TYPE_HOLE) {
		printf("hole%s\n", r->len == 1 ? "" : "s");
	} else if (r->type == XIPFS_PTE_TYPE_XIP) {
		uint64_t x = r->e0 & XIPFS_PTE_XIP_MASK;

		if (r->len == 1)
			printf("xip image page %llu (offset %llu)\n", (unsigned long long)x,
			       (unsigned long long)(x << img->sb.page_shift));
		else
			printf("xip image pages %llu-%llu (offset %llu)\n", (unsigned long long)x,
			       (unsigned long long)r->last,
			       (unsigned long long)(x << img->sb.page_shift));
	} else if (r->type == XIPFS_PTE_TYPE_COMP) {
		uint64_t cl = r->e0 & XIPFS_PTE_CLUSTER_MASK;
		struct xipfs_cluster_info c;
		const char *alg = xipfs_get_cluster(img, cl, &c) ? "bad cluster" :
				  xipfs_alg_name(c.alg);

		if (cl == r->last)
			printf("compressed cluster %llu (%s)\n", (unsigned long long)cl, alg);
		else
			printf("compressed clusters %llu-%llu (%s)\n", (unsigned long long)cl,
			       (unsigned long long)r->last, alg);
	} else {
		printf("tail at offset %llu, %llu bytes\n",
		       (unsigned long long)xipfs_tail_offset(img, r->e0),
		       (unsigned long long)(in->size - (r->first << img->sb.page_shift)));
	}
	r->len = 0;
}

/* Add page p's entry e to the run, printing the run it ends.  1: invalid. */
static int run_add(struct xipfs_image *img, struct run *r, uint64_t p, uint64_t e)
{
	bool bad = e & XIPFS_PTE_RESERVED_MASK;
	unsigned int type = xipfs_pte_type(e);
	uint64_t key = type == XIPFS_PTE_TYPE_XIP ? e & XIPFS_PTE_XIP_MASK :
		       type == XIPFS_PTE_TYPE_COMP ? e & XIPFS_PTE_CLUSTER_MASK : 0;

	if (r->len && !bad && !r->bad && type == r->type && type != XIPFS_PTE_TYPE_TAIL &&
	    (type == XIPFS_PTE_TYPE_HOLE ||
	     (type == XIPFS_PTE_TYPE_XIP && key == r->last + 1) ||
	     (type == XIPFS_PTE_TYPE_COMP && (key == r->last || key == r->last + 1)))) {
		r->len++;
		r->last = key;
		return 0;
	}
	if (r->len)
		run_flush(img, r);
	r->first = p;
	r->len = 1;
	r->e0 = e;
	r->last = key;
	r->type = type;
	r->bad = bad;
	return bad;
}

static int do_map(struct xipfs_image *img, const char *path)
{
	struct xipfs_dinode in;
	struct xipfs_map m = { 0 };
	uint64_t pages, n[4] = { 0 }, last_cl = UINT64_MAX, nclusters = 0, stale = 0;
	static const char *const names[4] = { "hole", "xip", "compressed", "tail" };
	struct run run = { .in = &in };
	int ret = 0;

	if (open_file(img, path, &in))
		return 1;
	pages = xipfs_size_pages(img, in.size);
	printf("%s: inode %u, %llu bytes, %llu pages, map capacity %u, %s inode\n", path, in.ino,
	       (unsigned long long)in.size, (unsigned long long)pages, in.map_cap,
	       in.extended ? "extended" : "compact");
	if (in.map_cap) {
		if (xipfs_map_get(img, &in, &m)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			return 1;
		}
		if (m.moved)
			printf("map: offset %llu, %llu page%s of the data region (moved by a read-write mount)\n",
			       (unsigned long long)m.off, (unsigned long long)m.pages,
			       m.pages == 1 ? "" : "s");
		else if (m.extents)
			printf("map: offset %llu, in the metadata area, extent map: %llu extent%s (%llu bytes)\n",
			       (unsigned long long)m.off, (unsigned long long)m.entries,
			       m.entries == 1 ? "" : "s",
			       (unsigned long long)xipfs_map_bytes(&m));
		else if (m.shift && m.end_run)
			printf("map: offset %llu, in the metadata area, grouped: 1 entry per %u pages (%llu entr%s, end run from page %llu)\n",
			       (unsigned long long)m.off, 1U << m.shift,
			       (unsigned long long)m.entries, m.entries == 1 ? "y" : "ies",
			       (unsigned long long)m.run_start);
		else if (m.shift)
			printf("map: offset %llu, in the metadata area, grouped: 1 entry per %u pages (%llu entr%s)\n",
			       (unsigned long long)m.off, 1U << m.shift,
			       (unsigned long long)m.entries, m.entries == 1 ? "y" : "ies");
		else
			printf("map: offset %llu, in the metadata area\n",
			       (unsigned long long)m.off);
	}
	/* -p: the extents as stored, before the pages they derive. */
	for (uint64_t i = 0; per_page && m.extents && i < m.entries; i++) {
		uint64_t first, e;

		if (xipfs_map_extent(img, &in, i, &first, &e)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			return 1;
		}
		printf("extent %llu: from page %llu, entry 0x%016llx\n", (unsigned long long)i,
		       (unsigned long long)first, (unsigned long long)e);
	}
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t e;

		if (xipfs_pte_get(img, &in, p, &e)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			return 1;
		}
		if (!per_page) {
			if (run_add(img, &run, p, e))
				ret = 1;
			if (!(e & XIPFS_PTE_RESERVED_MASK)) {
				n[xipfs_pte_type(e)]++;
				if (xipfs_pte_type(e) == XIPFS_PTE_TYPE_COMP) {
					uint64_t cl = e & XIPFS_PTE_CLUSTER_MASK;

					if (cl != last_cl)
						nclusters++;
					last_cl = cl;
				}
			}
			continue;
		}
		printf("page %llu: ", (unsigned long long)p);
		/* Also what a group's entry derives for a page it can't describe. */
		if (e & XIPFS_PTE_RESERVED_MASK) {
			printf("invalid entry 0x%016llx (reserved bits set)\n", (unsigned long long)e);
			ret = 1;
			continue;
		}
		n[xipfs_pte_type(e)]++;
		switch (xipfs_pte_type(e)) {
		case XIPFS_PTE_TYPE_HOLE:
			printf("hole\n");
			break;
		case XIPFS_PTE_TYPE_XIP:
			printf("xip image page %llu (offset %llu)\n",
			       (unsigned long long)(e & XIPFS_PTE_XIP_MASK),
			       (unsigned long long)((e & XIPFS_PTE_XIP_MASK) << img->sb.page_shift));
			break;
		case XIPFS_PTE_TYPE_COMP: {
			uint64_t cl = e & XIPFS_PTE_CLUSTER_MASK;
			unsigned int idx = (e >> XIPFS_PTE_CINDEX_SHIFT) & XIPFS_PTE_CINDEX_MASK;
			struct xipfs_cluster_info c;

			if (cl != last_cl)
				nclusters++;
			last_cl = cl;
			printf("compressed cluster %llu index %u", (unsigned long long)cl, idx);
			if (xipfs_get_cluster(img, cl, &c)) {
				printf(" (bad cluster: %s)\n", xipfs_image_error(img));
				ret = 1;
			} else {
				printf(" (%s, %u pages, %u -> %u bytes at %llu)\n",
				       xipfs_alg_name(c.alg), c.pages, c.ulen, c.clen,
				       (unsigned long long)c.off);
			}
			break;
		}
		default:
			printf("tail at offset %llu, %llu bytes\n",
			       (unsigned long long)xipfs_tail_offset(img, e),
			       (unsigned long long)(in.size - (p << img->sb.page_shift)));
			break;
		}
	}
	if (!per_page)
		run_flush(img, &run);
	/*
	 * Entries past the end of the file read as holes: shown, not used.
	 * Of a grouped map, those of groups wholly past the end; of an extent
	 * map, the extents that start past it.
	 */
	for (uint64_t i = 0; m.extents && i < m.entries; i++) {
		uint64_t first, e;

		if (xipfs_map_extent(img, &in, i, &first, &e)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			return 1;
		}
		if (first < pages || !e)
			continue;
		stale++;
		printf("stale extent %llu (from page %llu): 0x%016llx (past the end of the file: ignored)\n",
		       (unsigned long long)i, (unsigned long long)first, (unsigned long long)e);
	}
	for (uint64_t i = m.extents ? m.entries : xipfs_map_groups(pages, m.shift);
	     i < m.entries; i++) {
		uint64_t e;

		if (xipfs_map_raw(img, &in, i, &e)) {
			fprintf(stderr, "dump.xipfs: %s\n", xipfs_image_error(img));
			return 1;
		}
		if (!e)
			continue;
		stale++;
		if (m.shift)
			printf("stale group entry %llu (pages %llu-%llu): 0x%016llx (past the end of the file: ignored)\n",
			       (unsigned long long)i, (unsigned long long)(i << m.shift),
			       (unsigned long long)(((i + 1) << m.shift) - 1),
			       (unsigned long long)e);
		else
			printf("stale entry %llu: 0x%016llx (past the end of the file: ignored)\n",
			       (unsigned long long)i, (unsigned long long)e);
	}
	printf("summary: %llu pages: %llu %s, %llu %s (%llu clusters), %llu %s, %llu %s",
	       (unsigned long long)pages, (unsigned long long)n[1], names[1],
	       (unsigned long long)n[2], names[2], (unsigned long long)nclusters,
	       (unsigned long long)n[0], n[0] == 1 ? names[0] : "holes",
	       (unsigned long long)n[3], n[3] == 1 ? names[3] : "tails");
	if (stale)
		printf("; %llu stale entr%s past the end", (unsigned long long)stale,
		       stale == 1 ? "y" : "ies");
	printf("\n");
	return ret;
}

static void show_uuid(const struct xipfs_image *img)
{
	for (int i = 0; i < 16; i++)
		printf("%02x", img->sb.uuid[i]);
}

/* -X: the XIP set in the list format. */
static int do_xip_list(struct xipfs_image *img, const char *image)
{
	uint64_t files, pages;

	printf("# XIP pages of %s (uuid ", image);
	show_uuid(img);
	printf("), from dump.xipfs --xip-list\n");
	if (xipfs_xip_list(img, stdout, &files, &pages)) {
		fprintf(stderr, "dump.xipfs: %s\n", errno == ENOMEM ? "out of memory" :
			xipfs_image_error(img));
		return 1;
	}
	printf("# %llu files, %llu pages\n", (unsigned long long)files,
	       (unsigned long long)pages);
	return 0;
}

/* -P: a kernel profile taken on this image, as a path profile. */
static int do_profile(struct xipfs_image *img, const char *image, const char *file)
{
	struct xipfs_profile_stats st;
	FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin, *mem;
	char err[512], *buf = NULL;
	size_t len = 0;
	int ret;

	if (!in) {
		fprintf(stderr, "dump.xipfs: %s: %s\n", file, strerror(errno));
		return 1;
	}
	/* Nothing on stdout unless the whole profile is good. */
	mem = open_memstream(&buf, &len);
	if (!mem) {
		fprintf(stderr, "dump.xipfs: out of memory\n");
		if (in != stdin)
			fclose(in);
		return 1;
	}
	ret = xipfs_profile_convert(img, in, file, mem, &st, err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (ret) {
		fprintf(stderr, "dump.xipfs: %s\n", ret == -ENOMEM ? "out of memory" : err);
		free(buf);
		return 1;
	}
	printf("# path profile of %s (uuid ", image);
	show_uuid(img);
	printf(") from %s, by dump.xipfs --profile\n", file);
	fwrite(buf, 1, len, stdout);
	free(buf);
	printf("# %llu files, %llu pages\n", (unsigned long long)st.files,
	       (unsigned long long)st.pages);
	if (st.missing_inodes)
		fprintf(stderr, "dump.xipfs: warning: %s: %llu inode%s (%llu line%s, the first at line %u) %s of %s: ignored\n",
			file, (unsigned long long)st.missing_inodes,
			st.missing_inodes == 1 ? "" : "s",
			(unsigned long long)st.missing_lines, st.missing_lines == 1 ? "" : "s",
			st.first_missing_line,
			st.missing_inodes == 1 ? "is not a regular file" : "are not regular files",
			image);
	if (st.past_eof_pages)
		fprintf(stderr, "dump.xipfs: warning: %s: %llu page%s (%llu line%s, the first at line %u) past the end of %s file: ignored\n",
			file, (unsigned long long)st.past_eof_pages,
			st.past_eof_pages == 1 ? "" : "s",
			(unsigned long long)st.past_eof_lines, st.past_eof_lines == 1 ? "" : "s",
			st.first_past_eof_line, st.past_eof_lines == 1 ? "its" : "their");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "super", no_argument, NULL, 's' },
		{ "list", required_argument, NULL, 'l' },
		{ "recursive", no_argument, NULL, 'R' },
		{ "cat", required_argument, NULL, 'c' },
		{ "map", required_argument, NULL, 'm' },
		{ "xattrs", required_argument, NULL, 'a' },
		{ "extract", required_argument, NULL, 'x' },
		{ "xip-list", no_argument, NULL, 'X' },
		{ "profile", required_argument, NULL, 'P' },
		{ "no-owners", no_argument, NULL, 'O' },
		{ "no-xattrs", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pages", no_argument, NULL, 'p' },
		{ "inode", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct xipfs_extract_opts xopts = {
		.owners = geteuid() == 0,
		.xattrs = geteuid() == 0 ? XIPFS_EXTRACT_XATTRS_ALL : XIPFS_EXTRACT_XATTRS_USER,
	};
	struct xipfs_image *img;
	const char *arg = NULL;
	char err[512];
	bool super = false, recursive = false;
	int c, action = 0, ret = 0;

	while ((c = getopt_long(argc, argv, "sl:Rc:m:a:x:XP:vhpiV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			super = true;
			break;
		case 'l': case 'c': case 'm': case 'a': case 'x': case 'X': case 'P':
			if (action) {
				fprintf(stderr, "dump.xipfs: -l, -c, -m, -a, --extract, --xip-list and --profile exclude each other\n");
				return 2;
			}
			action = c;
			arg = optarg;
			break;
		case 'R':
			recursive = true;
			break;
		case 'O':
			xopts.owners = false;
			break;
		case 'N':
			xopts.xattrs = XIPFS_EXTRACT_XATTRS_NONE;
			break;
		case 'v':
			xopts.verbose = true;
			break;
		case 'p':
			per_page = true;
			break;
		case 'i':
			by_inode = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dump.xipfs %s (format version %d)\n", VERSION, XIPFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (recursive && action != 'l') {
		fprintf(stderr, "dump.xipfs: -R goes with -l\n");
		return 2;
	}
	if (xipfs_image_open(argv[optind], &img, err, sizeof(err))) {
		fprintf(stderr, "dump.xipfs: %s\n", err);
		return 1;
	}
	if (super && (action == 'X' || action == 'P')) {
		fprintf(stderr, "dump.xipfs: -s does not go with --xip-list or --profile\n");
		xipfs_image_close(img);
		return 2;
	}
	if (super || !action)
		show_super(img);
	switch (action) {
	case 'l':
		ret = do_list(img, arg, recursive);
		break;
	case 'c':
		ret = do_cat(img, arg);
		break;
	case 'm':
		ret = do_map(img, arg);
		break;
	case 'a':
		ret = do_xattrs(img, arg);
		break;
	case 'x':
		ret = xipfs_extract(img, arg, &xopts) ? 1 : 0;
		break;
	case 'X':
		ret = do_xip_list(img, argv[optind]);
		break;
	case 'P':
		ret = do_profile(img, argv[optind], arg);
		break;
	}
	xipfs_image_close(img);
	if (fflush(stdout)) {
		fprintf(stderr, "dump.xipfs: write: %s\n", strerror(errno));
		ret = 1;
	}
	return ret;
}
