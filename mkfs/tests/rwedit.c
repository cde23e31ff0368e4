// SPDX-License-Identifier: GPL-2.0
/*
 * Make an image look as a read-write mount may leave it (the rules at the
 * top of include/uapi/linux/xipfs_fs.h), or break those rules, so that
 * t-rw.sh can check fsck.xipfs and dump.xipfs on such images.
 *
 *   rwedit IMAGE OP [ARG...] [-- OP [ARG...]]...
 *
 * Every run sets META_MODIFIED and recomputes only the superblock
 * checksum: s_meta_crc goes stale, as after a mount.  Free pages are
 * taken in order from the start of mkfs's free area (one run, one
 * allocator).  Operations that keep the image valid:
 *   move-map PATH          move PATH's page map to whole free pages; the
 *                          old bytes are poisoned
 *   kill-cluster PATH      PATH's first cluster dies: each COMP entry that
 *                          names it becomes an XIP page (free area, same
 *                          content, junk past EOF); the pages only that
 *                          cluster covered are poisoned and kept for:
 *   xip-to-freed PATH PG   copy page PG of PATH into a page kill-cluster
 *                          freed and point its entry there (an old XIP
 *                          page is poisoned)
 *   shrink PATH SIZE       i_size = SIZE; entries past it stay (stale)
 *   unclean                clear CLEAN (a power cut)
 * and that break them:
 *   xip-dup PATH PG PATH2 PG2    PATH2's entry PG2 = PATH's (XIP) entry PG
 *   xip-on-cluster PATH PG PATH2 PATH's entry PG = XIP of the first page
 *                          of PATH2's first cluster
 *   map-on-xip PATH PATH2  PATH's map copied onto the XIP page of PATH2's
 *                          first XIP entry, i_data pointing there
 *   map-at PATH WHERE      i_data = WHERE: a number, free+N or end-N
 *
 * A file with a grouped page map or an extent map first gets a per-page
 * one in free pages (i_data with G = 0, then XIPFS_INODE_EXTENT_MAP
 * cleared), as a read-write mount writes it before it changes any entry:
 * move-map does only that for such a file.
 *   move-map-cut PATH      the same for an extent map, but the flag stays
 *                          (a power cut between the two stores)
 *
 *   rwedit --fixed IMAGE OP...
 * edits a pristine image instead: META_MODIFIED stays clear and both
 * checksums are recomputed, so that only the structural checks can tell.
 * Its operations (on the stored entries, for grouped maps):
 *   map-shift PATH G       i_data's group shift bits = G
 *   map-cap PATH N         i_map_cap = N
 *   copy-entry PATH I J    stored entry J = stored entry I
 *   set-cindex PATH I IDX  the cluster index of (COMP) stored entry I = IDX
 *   set-cluster PATH I CL  the cluster number of (COMP) stored entry I = CL
 *   set-run PATH R         the start page of the file's end run = R
 *   set-xpage PATH I PG    the first page of extent I of an extent map = PG
 *   set-xcount PATH N      the extent count of an extent map = N
 *   flags-set PATH MASK    set these bits of PATH's i_flags (any type)
 *   incompat-clear MASK    clear these INCOMPAT feature bits
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "xipfs_image.h"

#define MAX_FREED	4096

static uint8_t *buf;
static size_t len;
static struct xipfs_image *img;
static uint64_t ps, next_free, free_end;
static uint64_t freed[MAX_FREED];
static unsigned int nfreed, freed_used;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "rwedit: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "%s%s\n", img && *xipfs_image_error(img) ? ": " : "",
		img ? xipfs_image_error(img) : "");
	exit(2);
}

static void st64(uint64_t off, uint64_t v)
{
	if (off > len || len - off < 8)
		die("store at %s outside the image", "offset");
	v = htole64(v);
	memcpy(buf + off, &v, 8);
}

static uint64_t ld64(uint64_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, 8);
	return le64toh(v);
}

/*
 * Inode fields, in either form: an inode starts at slot ino (32 bytes
 * each); a compact one has a 32-bit i_size and i_map_cap at other offsets.
 * A read-write mount only meets extended inodes (an image with compact
 * ones mounts read-only), but --fixed edits any image.
 */
static uint64_t inode_slot(const struct xipfs_dinode *in)
{
	return img->sb.inode_off + (uint64_t)in->ino * XIPFS_INODE_SLOT;
}

static void set_data(const struct xipfs_dinode *in, uint64_t v)
{
	st64(inode_slot(in) + (in->extended ? offsetof(struct xipfs_inode, i_data) :
			       offsetof(struct xipfs_inode_compact, i_data)), v);
}

static void set_size(const struct xipfs_dinode *in, uint64_t v)
{
	uint32_t v32 = htole32((uint32_t)v);

	if (in->extended)
		st64(inode_slot(in) + offsetof(struct xipfs_inode, i_size), v);
	else
		memcpy(buf + inode_slot(in) + offsetof(struct xipfs_inode_compact, i_size), &v32, 4);
}

static void set_map_cap(const struct xipfs_dinode *in, uint32_t v)
{
	v = htole32(v);
	memcpy(buf + inode_slot(in) + (in->extended ? offsetof(struct xipfs_inode, i_map_cap) :
				       offsetof(struct xipfs_inode_compact, i_map_cap)), &v, 4);
}

static void set_flags(const struct xipfs_dinode *in, uint16_t v)
{
	v = htole16(v);
	/* i_flags is where both forms have it. */
	memcpy(buf + inode_slot(in) + offsetof(struct xipfs_inode, i_flags), &v, 2);
}

static void get_file(const char *path, struct xipfs_dinode *in)
{
	uint32_t ino;

	if (xipfs_resolve(img, path, &ino) || xipfs_read_inode(img, ino, in))
		die("%s", path);
	if (!S_ISREG(in->mode))
		die("%s: not a regular file", path);
}

static uint64_t alloc_page(void)
{
	uint64_t off = next_free;

	if (next_free + ps > free_end)
		die("%s", "out of free pages");
	next_free += ps;
	return off;
}

/*
 * A grouped map becomes a per-page map in free pages (as a read-write
 * mount does before it changes an entry); *in is re-read.
 */
static void ungroup_cut(struct xipfs_dinode *in, bool keep_flag)
{
	uint64_t bytes = (uint64_t)in->map_cap * 8, np = (bytes + ps - 1) / ps, off, e;

	if (!XIPFS_MAP_SHIFT(in->data) && !(in->flags & XIPFS_INODE_EXTENT_MAP))
		return;
	if (!np)
		die("%s", "empty grouped map");
	off = alloc_page();
	for (uint64_t i = 1; i < np; i++)
		alloc_page();
	memset(buf + off, 0x99, np * ps);
	for (uint64_t p = 0; p < in->map_cap; p++) {
		if (xipfs_map_read(img, in, p, &e))
			die("%s", "map entry");
		st64(off + p * 8, e);
	}
	set_data(in, off);
	if (!keep_flag)
		set_flags(in, in->flags & ~XIPFS_INODE_EXTENT_MAP);
	if (xipfs_read_inode(img, in->ino, in))
		die("%s", "inode");
}

static void ungroup(struct xipfs_dinode *in)
{
	ungroup_cut(in, false);
}

static uint64_t entry_off(struct xipfs_dinode *in, uint64_t pg)
{
	uint64_t e;

	ungroup(in);
	if (xipfs_map_read(img, in, pg, &e))
		die("%s", "map entry");
	return in->data + pg * 8;
}

/*
 * Image offset of stored entry i (a group's entry in a grouped map, an
 * extent's x_entry in an extent map).
 */
static uint64_t raw_off(const struct xipfs_dinode *in, uint64_t i)
{
	uint64_t e;

	if (xipfs_map_raw(img, in, i, &e))
		die("%s", "map entry");
	if (in->flags & XIPFS_INODE_EXTENT_MAP)
		return in->data + 8 + i * XIPFS_MAP_EXTENT_SIZE + 8;
	return XIPFS_MAP_OFF(in->data) + i * 8;
}

/* Is any page map entry below EOF, of any file, naming cluster cl? */
static bool cluster_live(uint64_t cl)
{
	for (uint32_t ino = 1; ino < img->sb.inode_count; ino++) {
		struct xipfs_dinode in;
		uint64_t e;

		if (xipfs_read_inode(img, ino, &in) || !S_ISREG(in.mode))
			continue;
		for (uint64_t p = 0; p < xipfs_size_pages(img, in.size); p++)
			if (!xipfs_pte_get(img, &in, p, &e) &&
			    xipfs_pte_type(e) == XIPFS_PTE_TYPE_COMP &&
			    (e & XIPFS_PTE_CLUSTER_MASK) == cl)
				return true;
	}
	return false;
}

/* The first COMP entry of a file: its cluster. */
static uint64_t first_cluster(const char *path, const struct xipfs_dinode *in)
{
	uint64_t e;

	for (uint64_t p = 0; p < xipfs_size_pages(img, in->size); p++)
		if (!xipfs_pte_get(img, in, p, &e) && xipfs_pte_type(e) == XIPFS_PTE_TYPE_COMP)
			return e & XIPFS_PTE_CLUSTER_MASK;
	die("%s: no compressed page", path);
	return 0;
}

/* A page's data as XIP: copy it to off, junk past EOF, point the entry. */
static void page_to(struct xipfs_dinode *in, uint64_t pg, uint64_t off)
{
	uint64_t valid = in->size - pg * ps < ps ? in->size - pg * ps : ps, e;

	if (xipfs_read_page(img, in, pg, buf + off))
		die("%s", "read page");
	memset(buf + off + valid, 0xee, ps - valid);
	/* An XIP page it leaves is free now: poison it. */
	e = ld64(entry_off(in, pg));
	if (xipfs_pte_type(e) == XIPFS_PTE_TYPE_XIP)
		memset(buf + ((e & XIPFS_PTE_XIP_MASK) * ps), 0xc3, ps);
	st64(entry_off(in, pg), XIPFS_PTE_XIP(off / ps));
}

static void move_map(const char *path)
{
	struct xipfs_dinode in;
	uint64_t bytes, off, np;

	get_file(path, &in);
	if (XIPFS_MAP_SHIFT(in.data) || (in.flags & XIPFS_INODE_EXTENT_MAP)) {
		ungroup(&in);
		return;
	}
	bytes = (uint64_t)in.map_cap * 8;
	np = (bytes + ps - 1) / ps;
	if (!np)
		die("%s: empty map", path);
	off = alloc_page();
	for (uint64_t i = 1; i < np; i++)
		alloc_page();
	memcpy(buf + off, buf + in.data, bytes);
	memset(buf + off + bytes, 0x99, np * ps - bytes);
	memset(buf + in.data, 0xa5, bytes);
	set_data(&in, off);
}

static void kill_cluster(const char *path)
{
	struct xipfs_dinode in;
	struct xipfs_cluster_info c;
	uint64_t cl, e;

	get_file(path, &in);
	cl = first_cluster(path, &in);
	if (xipfs_get_cluster(img, cl, &c))
		die("%s: cluster", path);
	for (uint64_t p = 0; p < xipfs_size_pages(img, in.size); p++)
		if (!xipfs_pte_get(img, &in, p, &e) && xipfs_pte_type(e) == XIPFS_PTE_TYPE_COMP &&
		    (e & XIPFS_PTE_CLUSTER_MASK) == cl)
			page_to(&in, p, alloc_page());
	/* Whole pages of its data that no live cluster touches are free. */
	for (uint64_t pg = (c.off + ps - 1) / ps; (pg + 1) * ps <= c.off + c.clen; pg++) {
		bool shared = false;

		for (uint64_t i = 0; i < img->sb.cluster_count && !shared; i++) {
			struct xipfs_cluster_info o;

			if (i == cl || xipfs_get_cluster(img, i, &o))
				continue;
			shared = o.off < (pg + 1) * ps && o.off + o.clen > pg * ps &&
				 cluster_live(i);
		}
		if (shared || nfreed == MAX_FREED)
			continue;
		memset(buf + pg * ps, 0xdb, ps);
		freed[nfreed++] = pg * ps;
	}
	if (!nfreed)
		die("%s: the cluster freed no whole page", path);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s)
		die("bad number %s", s);
	return v;
}

static uint64_t where(const char *s)
{
	if (!strncmp(s, "free+", 5))
		return img->sb.free_off + num(s + 5);
	if (!strncmp(s, "end-", 4))
		return img->sb.image_size - num(s + 4);
	return num(s);
}

/* Number of arguments of each operation. */
static int nargs(const char *op)
{
	static const struct { const char *op; int n; } ops[] = {
		{ "move-map", 1 }, { "kill-cluster", 1 }, { "xip-to-freed", 2 },
		{ "shrink", 2 }, { "unclean", 0 }, { "xip-dup", 4 },
		{ "xip-on-cluster", 3 }, { "map-on-xip", 2 }, { "map-at", 2 },
		{ "map-shift", 2 }, { "map-cap", 2 }, { "copy-entry", 3 },
		{ "set-cindex", 3 }, { "set-cluster", 3 }, { "incompat-clear", 1 },
		{ "set-run", 2 }, { "set-xpage", 3 }, { "set-xcount", 2 }, { "flags-set", 2 },
		{ "move-map-cut", 1 },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i].op))
			return ops[i].n;
	die("unknown operation %s", op);
	return -1;
}

static void run(char **a)
{
	struct xipfs_dinode in, in2;
	uint64_t e;

	if (!strcmp(a[0], "move-map")) {
		move_map(a[1]);
	} else if (!strcmp(a[0], "move-map-cut")) {
		get_file(a[1], &in);
		if (!(in.flags & XIPFS_INODE_EXTENT_MAP))
			die("%s: no extent map", a[1]);
		ungroup_cut(&in, true);
	} else if (!strcmp(a[0], "kill-cluster")) {
		kill_cluster(a[1]);
	} else if (!strcmp(a[0], "xip-to-freed")) {
		get_file(a[1], &in);
		if (freed_used == nfreed)
			die("%s: no freed page left (kill-cluster first)", a[1]);
		page_to(&in, num(a[2]), freed[freed_used++]);
	} else if (!strcmp(a[0], "shrink")) {
		get_file(a[1], &in);
		if (num(a[2]) > in.size)
			die("%s: shrink must not grow", a[1]);
		set_size(&in, num(a[2]));
	} else if (!strcmp(a[0], "unclean")) {
		uint16_t s;

		memcpy(&s, buf + offsetof(struct xipfs_super_block, s_state), 2);
		s = htole16(le16toh(s) & ~XIPFS_STATE_CLEAN);
		memcpy(buf + offsetof(struct xipfs_super_block, s_state), &s, 2);
	} else if (!strcmp(a[0], "xip-dup")) {
		get_file(a[1], &in);
		get_file(a[3], &in2);
		e = ld64(entry_off(&in, num(a[2])));
		if (xipfs_pte_type(e) != XIPFS_PTE_TYPE_XIP)
			die("%s: that page is not XIP", a[1]);
		st64(entry_off(&in2, num(a[4])), e);
	} else if (!strcmp(a[0], "xip-on-cluster")) {
		struct xipfs_cluster_info c;

		get_file(a[1], &in);
		get_file(a[3], &in2);
		if (xipfs_get_cluster(img, first_cluster(a[3], &in2), &c))
			die("%s: cluster", a[3]);
		st64(entry_off(&in, num(a[2])), XIPFS_PTE_XIP(c.off / ps));
	} else if (!strcmp(a[0], "map-on-xip")) {
		uint64_t off = 0;

		get_file(a[1], &in);
		get_file(a[2], &in2);
		for (uint64_t p = 0; p < xipfs_size_pages(img, in2.size) && !off; p++)
			if (!xipfs_pte_get(img, &in2, p, &e) &&
			    xipfs_pte_type(e) == XIPFS_PTE_TYPE_XIP)
				off = (e & XIPFS_PTE_XIP_MASK) * ps;
		if (!off || (uint64_t)in.map_cap * 8 > ps)
			die("%s: no XIP page, or a map of more than a page", a[2]);
		ungroup(&in);
		memmove(buf + off, buf + in.data, (uint64_t)in.map_cap * 8);
		set_data(&in, off);
	} else if (!strcmp(a[0], "map-at")) {
		get_file(a[1], &in);
		set_data(&in, where(a[2]));
	} else if (!strcmp(a[0], "map-shift")) {
		get_file(a[1], &in);
		set_data(&in, XIPFS_MAP_OFF(in.data) | (num(a[2]) & XIPFS_MAP_SHIFT_MASK));
	} else if (!strcmp(a[0], "map-cap")) {
		get_file(a[1], &in);
		set_map_cap(&in, (uint32_t)num(a[2]));
	} else if (!strcmp(a[0], "copy-entry")) {
		get_file(a[1], &in);
		st64(raw_off(&in, num(a[3])), ld64(raw_off(&in, num(a[2]))));
	} else if (!strcmp(a[0], "set-cindex")) {
		get_file(a[1], &in);
		e = ld64(raw_off(&in, num(a[2])));
		if (xipfs_pte_type(e) != XIPFS_PTE_TYPE_COMP)
			die("%s: that entry is not COMP", a[1]);
		e &= ~(XIPFS_PTE_CINDEX_MASK << XIPFS_PTE_CINDEX_SHIFT);
		st64(raw_off(&in, num(a[2])),
		     e | ((num(a[3]) & XIPFS_PTE_CINDEX_MASK) << XIPFS_PTE_CINDEX_SHIFT));
	} else if (!strcmp(a[0], "set-cluster")) {
		get_file(a[1], &in);
		e = ld64(raw_off(&in, num(a[2])));
		if (xipfs_pte_type(e) != XIPFS_PTE_TYPE_COMP)
			die("%s: that entry is not COMP", a[1]);
		st64(raw_off(&in, num(a[2])),
		     (e & ~XIPFS_PTE_CLUSTER_MASK) | (num(a[3]) & XIPFS_PTE_CLUSTER_MASK));
	} else if (!strcmp(a[0], "set-run")) {
		struct xipfs_map m;

		get_file(a[1], &in);
		if (xipfs_map_get(img, &in, &m) || !m.end_run)
			die("%s: no end run", a[1]);
		st64(m.off + m.entries * 8, num(a[2]));
	} else if (!strcmp(a[0], "set-xpage")) {
		uint64_t first;

		get_file(a[1], &in);
		if (xipfs_map_extent(img, &in, num(a[2]), &first, &e))
			die("%s: no such extent", a[1]);
		st64(in.data + 8 + num(a[2]) * XIPFS_MAP_EXTENT_SIZE, num(a[3]));
	} else if (!strcmp(a[0], "set-xcount")) {
		struct xipfs_map m;

		get_file(a[1], &in);
		if (xipfs_map_get(img, &in, &m) || !m.extents)
			die("%s: no extent map", a[1]);
		st64(m.off, num(a[2]));
	} else if (!strcmp(a[0], "flags-set")) {
		uint32_t ino;

		/* Any inode: the flags' rules are per type. */
		if (xipfs_resolve(img, a[1], &ino) || xipfs_read_inode(img, ino, &in))
			die("%s", a[1]);
		set_flags(&in, in.flags | (uint16_t)num(a[2]));
	} else if (!strcmp(a[0], "incompat-clear")) {
		uint32_t v;

		memcpy(&v, buf + offsetof(struct xipfs_super_block, s_feature_incompat), 4);
		v = htole32(le32toh(v) & ~(uint32_t)num(a[1]));
		memcpy(buf + offsetof(struct xipfs_super_block, s_feature_incompat), &v, 4);
	}
}

int main(int argc, char **argv)
{
	uint8_t sb[XIPFS_SB_SIZE];
	uint16_t state;
	uint32_t crc;
	char err[256];
	struct stat st;
	bool fixed = false;
	int fd, i;

	if (argc >= 2 && !strcmp(argv[1], "--fixed")) {
		fixed = true;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: rwedit [--fixed] IMAGE OP [ARG...] [-- OP [ARG...]]...\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) || !(buf = malloc((size_t)st.st_size + 1)) ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		die("%s: can't read", argv[1]);
	len = (size_t)st.st_size;
	/* META_MODIFIED first: the reader then follows the read-write rules. */
	if (len < XIPFS_SB_SIZE)
		die("%s: too small", argv[1]);
	memcpy(&state, buf + offsetof(struct xipfs_super_block, s_state), 2);
	if (!fixed)
		state = htole16(le16toh(state) | XIPFS_STATE_META_MODIFIED);
	memcpy(buf + offsetof(struct xipfs_super_block, s_state), &state, 2);
	if (xipfs_image_open_mem(buf, len, &img, err, sizeof(err)))
		die("open: %s", err);
	if (!fixed && (img->sb.feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES))
		die("%s: compact inodes (INCOMPAT_COMPACT_INODES): such an image mounts read-only only (make it with --free-space or -E inodes=full)",
		    argv[1]);
	ps = img->page_size;
	next_free = img->sb.free_off;
	free_end = img->sb.free_off + img->sb.free_size;

	for (i = 2; i < argc; ) {
		int n = nargs(argv[i]);

		if (argc - i - 1 < n)
			die("%s: missing arguments", argv[i]);
		run(argv + i);
		i += n + 1;
		if (i < argc) {
			if (strcmp(argv[i], "--"))
				die("expected -- before %s", argv[i]);
			i++;
		}
	}

	if (fixed)
		xipfs_fix_checksums(buf, len);
	/* Only the superblock checksum, s_checksum and s_state taken as zero. */
	memcpy(sb, buf, sizeof(sb));
	memset(sb + offsetof(struct xipfs_super_block, s_checksum), 0, 4);
	memset(sb + offsetof(struct xipfs_super_block, s_state), 0, 2);
	crc = htole32(xipfs_crc32c(sb, sizeof(sb)));
	memcpy(buf + offsetof(struct xipfs_super_block, s_checksum), &crc, 4);
	xipfs_image_close(img);
	img = NULL;
	if (pwrite(fd, buf, len, 0) != (ssize_t)len || close(fd))
		die("%s: can't write", argv[1]);
	free(buf);
	return 0;
}
