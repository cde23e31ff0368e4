// SPDX-License-Identifier: GPL-2.0
/*
 * The full consistency check behind fsck.xipfs.  It goes on after a
 * problem (counting all of them, printing the first opts->max_messages),
 * so one run shows the extent of a corruption.  Only the accessors of
 * image.c touch the image, plus direct reads of ranges checked here.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "crc32c.h"
#include "xipfs_image.h"

#define NSEC_PER_SEC	1000000000U

/* Per-inode state of the walk. */
struct inode_state {
	uint32_t links;		/* dirents naming it */
	uint32_t subdirs;	/* DIR: subdirectory entries */
	uint32_t parent;	/* first directory naming it (0: none) */
	uint8_t name_len;
	bool used, valid, visited;
	bool shares;		/* uses an identical file's data (SHARED_DATA) */
	const char *name;	/* that dirent's name, in the image */
	/* The last twins() verdict on this inode and another: twin_with. */
	uint32_t twin_with;
	bool twin;
};

struct cluster_state {
	uint32_t ino;		/* owner (0: unused) */
	uint32_t refs;
	uint64_t base;		/* file page of index 0 */
	uint64_t used;		/* SHARED: bit i set when a map entry names page i */
	bool valid;
	struct xipfs_cluster_info c;
};

/* A metadata structure's bytes, to find two structures sharing bytes. */
enum { M_INODES, M_CLUSTERS, M_DIR, M_MAP, M_LINK, M_TAIL, M_XATTR, M_XSHARED,
       M_CSUMS };
static const char *const mkind[] = {
	"the inode table", "the cluster table", "directory block", "page map",
	"symlink target", "tail data", "attribute body", "the shared attribute table",
	"the data checksum table",
};

struct extent {
	uint64_t off, len;
	uint32_t ino;
	int kind;
};

/*
 * Who uses an image page of the data region: an XIP entry (n = the file
 * page), a page map moved there by a read-write mount, or live clusters
 * (n = the first cluster seen; byte-packed clusters may share a page).
 */
enum { U_FREE, U_XIP, U_MAP, U_CLUSTER };

struct page_use {
	uint64_t n;
	uint32_t ino;
	uint8_t kind;
};

struct ck {
	struct xipfs_image *img;
	const struct xipfs_check_opts *opts;
	struct xipfs_check_stats *st;
	unsigned int shown, max;
	uint32_t n;
	struct inode_state *is;
	struct cluster_state *cs;
	struct page_use *use;	/* per image page */
	struct extent *ext;
	size_t next, ext_cap;
	bool ext_oom;
	/* The shared attribute table, per 4-byte index: entry starts, references */
	uint8_t *xstart;
	uint32_t *xrefs;
	uint32_t nxidx;
};

static void path_of(struct ck *ck, uint32_t ino, char *out, size_t cap)
{
	/* Built backwards from the inode to the root. */
	char *end = out + cap - 1, *p = end;
	uint32_t steps = 0;

	*p = '\0';
	if (ino == XIPFS_ROOT_INO) {
		snprintf(out, cap, "/");
		return;
	}
	while (ino != XIPFS_ROOT_INO) {
		struct inode_state *s;
		char comp[4 * 255 + 2], *q = comp;

		if (ino >= ck->n || !ck->is[ino].parent || steps++ > ck->n) {
			snprintf(out, cap, "inode %u", ino);
			return;
		}
		s = &ck->is[ino];
		*q++ = '/';
		for (unsigned int i = 0; i < s->name_len; i++) {
			unsigned char c = (unsigned char)s->name[i];

			if (c < 0x20 || c >= 0x7f || c == '\\')
				q += sprintf(q, "\\x%02x", c);
			else
				*q++ = (char)c;
		}
		if ((size_t)(q - comp) > (size_t)(p - out)) {
			/* Too long to show whole: keep the end. */
			if (p - out >= 3)
				memcpy(p - 3, "...", 3), p -= 3;
			break;
		}
		p -= q - comp;
		memcpy(p, comp, (size_t)(q - comp));
		ino = s->parent;
	}
	memmove(out, p, (size_t)(end - p) + 1);
}

__attribute__((format(printf, 3, 4)))
static void problem(struct ck *ck, uint32_t ino, const char *fmt, ...)
{
	char msg[1024], path[768];
	va_list ap;
	int n = 0;

	ck->st->errors++;
	if (ck->shown >= ck->max)
		return;
	ck->shown++;
	if (ino) {
		path_of(ck, ino, path, sizeof(path));
		if (strncmp(path, "inode ", 6))
			n = snprintf(msg, sizeof(msg), "%s (inode %u): ", path, ino);
		else
			n = snprintf(msg, sizeof(msg), "inode %u: ", ino);
	}
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (ck->opts && ck->opts->report)
		ck->opts->report(ck->opts->arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* "XIP page 3 of /bin/sh (inode 5)" and the like. */
static void use_desc(struct ck *ck, const struct page_use *u, char *buf, size_t cap)
{
	char path[300], who[340];

	path_of(ck, u->ino, path, sizeof(path));
	if (strncmp(path, "inode ", 6))
		snprintf(who, sizeof(who), "%s (inode %u)", path, u->ino);
	else
		snprintf(who, sizeof(who), "inode %u", u->ino);
	switch (u->kind) {
	case U_XIP:
		snprintf(buf, cap, "XIP page %llu of %s", (unsigned long long)u->n, who);
		break;
	case U_MAP:
		snprintf(buf, cap, "the page map of %s", who);
		break;
	default:
		snprintf(buf, cap, "cluster %llu of %s", (unsigned long long)u->n, who);
		break;
	}
}

/*
 * May inodes a and b share data (RO_COMPAT_SHARED_DATA)?  Only two
 * different regular files of the same size whose page maps give every
 * page the same entry: identical files deduped by mkfs.  Any other
 * sharing, and any sharing without the feature, is damage.
 */
static bool twins(struct ck *ck, uint32_t a, uint32_t b)
{
	struct xipfs_image *img = ck->img;
	struct xipfs_dinode ia, ib;
	struct inode_state *s;
	uint64_t pages;
	bool same = true;

	if (!(img->sb.feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA) ||
	    a == b || a >= ck->n || b >= ck->n)
		return false;
	s = &ck->is[b];
	if (s->twin_with == a)
		return s->twin;
	if (xipfs_read_inode(img, a, &ia) || xipfs_read_inode(img, b, &ib) ||
	    !S_ISREG(ia.mode) || !S_ISREG(ib.mode) || ia.size != ib.size ||
	    !ck->is[a].valid || !ck->is[b].valid) {
		same = false;
	} else {
		pages = xipfs_size_pages(img, ia.size);
		for (uint64_t p = 0; p < pages && same; p++) {
			uint64_t ea, eb;

			if (xipfs_pte_get(img, &ia, p, &ea) || xipfs_pte_get(img, &ib, p, &eb) ||
			    ea != eb)
				same = false;
		}
	}
	s->twin_with = a;
	s->twin = same;
	if (same && !s->shares) {
		s->shares = true;
		ck->st->shared_files++;
		ck->st->shared_bytes += ib.size;
	}
	return same;
}

/*
 * Claim image page pg for one user.  Each page of the data region has at
 * most one (several live clusters count as one; with SHARED_DATA, the
 * same page of identical files, twins(), counts as one); false after
 * reporting a second.
 */
static bool claim_page(struct ck *ck, uint64_t pg, uint8_t kind, uint32_t ino, uint64_t n)
{
	struct page_use *u = &ck->use[pg], mine = { .n = n, .ino = ino, .kind = kind };
	char a[400], b[400];

	if (u->kind == U_FREE) {
		*u = mine;
		return true;
	}
	if (kind == U_CLUSTER && u->kind == U_CLUSTER)
		return true;
	if (kind == U_XIP && u->kind == U_XIP && u->n == n && twins(ck, u->ino, ino))
		return true;
	use_desc(ck, u, a, sizeof(a));
	use_desc(ck, &mine, b, sizeof(b));
	problem(ck, 0, "image page %llu (offset %llu) used twice: by %s and by %s",
		(unsigned long long)pg, (unsigned long long)(pg << ck->img->sb.page_shift), a, b);
	return false;
}

/* Report a failed accessor: its message names the structure. */
static void accessor_problem(struct ck *ck, uint32_t ino)
{
	const char *msg = xipfs_image_error(ck->img);
	char pre[24];
	int n = snprintf(pre, sizeof(pre), "inode %u: ", ino);

	/* problem() names the inode already. */
	if (ino && n > 0 && !strncmp(msg, pre, (size_t)n))
		msg += n;
	problem(ck, ino, "%s", msg);
}

static void add_extent(struct ck *ck, uint64_t off, uint64_t len, uint32_t ino, int kind)
{
	if (!len || ck->ext_oom)
		return;
	if (ck->next == ck->ext_cap) {
		size_t cap = ck->ext_cap ? 2 * ck->ext_cap : 1024;
		struct extent *e = realloc(ck->ext, cap * sizeof(*e));

		if (!e) {
			ck->ext_oom = true;	/* skip the overlap check, not the rest */
			return;
		}
		ck->ext = e;
		ck->ext_cap = cap;
	}
	ck->ext[ck->next++] = (struct extent){ off, len, ino, kind };
}

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void describe(char *buf, size_t cap, const struct extent *e)
{
	if (e->kind == M_INODES || e->kind == M_CLUSTERS || e->kind == M_CSUMS)
		snprintf(buf, cap, "%s", mkind[e->kind]);
	else
		snprintf(buf, cap, "the %s of inode %u", mkind[e->kind], e->ino);
}

/* No two metadata structures share a byte (a rw mount would corrupt both). */
static void check_overlaps(struct ck *ck)
{
	const struct extent *far = NULL;	/* the extent reaching furthest so far */

	if (ck->ext_oom) {
		problem(ck, 0, "out of memory: metadata overlaps not checked");
		return;
	}
	qsort(ck->ext, ck->next, sizeof(*ck->ext), cmp_extent);
	for (size_t i = 0; i < ck->next; i++) {
		const struct extent *e = &ck->ext[i];

		/* The tail data of identical files (SHARED_DATA). */
		if (far && e->kind == M_TAIL && far->kind == M_TAIL && e->off == far->off &&
		    e->len == far->len && twins(ck, far->ino, e->ino))
			continue;
		/* One attribute body for inodes with the same attributes. */
		if (far && e->kind == M_XATTR && far->kind == M_XATTR && e->off == far->off &&
		    e->len == far->len)
			continue;
		if (far && e->off < far->off + far->len) {
			char a[80], b[80];

			describe(a, sizeof(a), e);
			describe(b, sizeof(b), far);
			problem(ck, 0, "metadata overlap: %s [%llu, +%llu) shares bytes with %s [%llu, +%llu)",
				a, (unsigned long long)e->off, (unsigned long long)e->len, b,
				(unsigned long long)far->off, (unsigned long long)far->len);
		}
		if (!far || e->off + e->len > far->off + far->len)
			far = e;
	}
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void check_zero_range(struct ck *ck, uint64_t off, uint64_t len, const char *what)
{
	const uint8_t *p = ck->img->base + off;

	for (uint64_t i = 0; i < len; i++)
		if (p[i]) {
			problem(ck, 0, "%s: non-zero byte at offset %llu", what,
				(unsigned long long)(off + i));
			return;
		}
}

static void check_sb(struct ck *ck)
{
	const struct xipfs_sb *sb = &ck->img->sb;
	const uint8_t *raw = ck->img->base;
	size_t nlen;

	if (sb->state & ~(XIPFS_STATE_CLEAN | XIPFS_STATE_META_MODIFIED))
		problem(ck, 0, "superblock: unknown state bits 0x%x", sb->state);
	if (sb->feature_compat & ~(uint32_t)XIPFS_FEATURE_COMPAT_ALL)
		problem(ck, 0, "superblock: unknown compatible features 0x%x",
			sb->feature_compat & ~(uint32_t)XIPFS_FEATURE_COMPAT_ALL);
	if (sb->feature_ro_compat & ~(uint32_t)XIPFS_FEATURE_RO_COMPAT_ALL)
		problem(ck, 0, "superblock: unknown read-only compatible features 0x%x",
			sb->feature_ro_compat & ~(uint32_t)XIPFS_FEATURE_RO_COMPAT_ALL);
	if (sb->comp_algs & ~((1U << XIPFS_COMP_MAX) - 1))
		problem(ck, 0, "superblock: unknown compression algorithms 0x%x", sb->comp_algs);
	if (sb->cluster_count &&
	    !(sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_CLUSTERS))
		problem(ck, 0, "superblock: %llu clusters but the CLUSTERS feature is not set",
			(unsigned long long)sb->cluster_count);
	if (sb->cluster_count &&
	    (sb->max_cluster_shift < sb->page_shift || sb->max_cluster_shift > 18))
		problem(ck, 0, "superblock: max cluster shift %u out of range %u..18",
			sb->max_cluster_shift, sb->page_shift);
	if (ck->img->ignored_free_size)
		problem(ck, 0, "superblock: free area size %llu without the FREE_SPACE feature",
			(unsigned long long)ck->img->ignored_free_size);
	if (sb->build_time_nsec >= NSEC_PER_SEC)
		problem(ck, 0, "superblock: build time nanoseconds %u out of range",
			sb->build_time_nsec);
	if ((sb->state & XIPFS_STATE_META_MODIFIED) &&
	    (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA))
		problem(ck, 0, "superblock: metadata modified by a read-write mount, but the SHARED_DATA feature is set (such an image mounts read-only only)");
	if ((sb->state & XIPFS_STATE_META_MODIFIED) &&
	    (sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES))
		problem(ck, 0, "superblock: metadata modified by a read-write mount, but the COMPACT_INODES feature is set (such an image mounts read-only only)");
	if (sb->inode_off % 8 || sb->cluster_off % 8)
		problem(ck, 0, "superblock: inode table or cluster table not 8-byte aligned");
	if ((sb->state & XIPFS_STATE_META_MODIFIED) &&
	    (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM))
		problem(ck, 0, "superblock: metadata modified by a read-write mount, but the DATA_CSUM feature is set (such an image mounts read-only only; its data checksums are not checked)");
	if (!(sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM) &&
	    (sb->csum_off || sb->csum_size))
		problem(ck, 0, "superblock: data checksum table fields set without the DATA_CSUM feature");
	if (sb->reserved0 || sb->csum_reserved ||
	    !all_zero(raw + offsetof(struct xipfs_super_block, s_xattr_reserved),
		      sizeof(((struct xipfs_super_block *)0)->s_xattr_reserved)) ||
	    !all_zero(raw + offsetof(struct xipfs_super_block, s_reserved),
		      sizeof(((struct xipfs_super_block *)0)->s_reserved)))
		problem(ck, 0, "superblock: reserved fields not zero");
	if (!(sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS) &&
	    (sb->xattr_off || sb->xattr_size || sb->xattr_count))
		problem(ck, 0, "superblock: shared attribute table fields set without the XATTRS feature");
	nlen = strnlen(sb->volume_name, 16);
	if (!all_zero(raw + offsetof(struct xipfs_super_block, s_volume_name) + nlen, 16 - nlen))
		problem(ck, 0, "superblock: volume name not NUL-padded");

	if (sb->state & XIPFS_STATE_META_MODIFIED) {
		ck->st->crc_checked = false;
	} else {
		uint32_t crc = xipfs_crc32c(raw + sb->meta_off, sb->meta_size);

		ck->st->crc_checked = true;
		if (crc != sb->meta_crc)
			problem(ck, 0, "metadata checksum mismatch (stored 0x%08x, computed 0x%08x)",
				sb->meta_crc, crc);
	}
}

/* Bytes no structure owns are zero: catches damage nothing else covers. */
static void check_gaps(struct ck *ck)
{
	const struct xipfs_sb *sb = &ck->img->sb;
	struct { uint64_t off, size; } a[4] = {
		{ sb->meta_off, sb->meta_size }, { sb->xip_off, sb->xip_size },
		{ sb->comp_off, sb->comp_size }, { sb->free_off, sb->free_size },
	};
	uint64_t pos = XIPFS_SB_SIZE;	/* the metadata may start right there */

	if (ck->img->rw) {
		/*
		 * The data region is one pool of pages after a read-write
		 * mount, its unused bytes anything: only the space between
		 * the metadata and the data region is left to check.
		 */
		check_zero_range(ck, pos, sb->meta_off - pos, "space between areas");
		check_zero_range(ck, ck->img->meta_end, ck->img->data_off - ck->img->meta_end,
				 "space between areas");
		return;
	}
	/* Opening checked that non-empty areas are in order. */
	for (int i = 0; i < 4; i++) {
		if (!a[i].size)
			continue;
		check_zero_range(ck, pos, a[i].off - pos, "space between areas");
		pos = a[i].off + a[i].size;
	}
	check_zero_range(ck, pos, sb->image_size - pos, "space after the last area");
}

static bool check_inode_fields(struct ck *ck, uint32_t ino, const struct xipfs_dinode *inp);

static uint32_t acl_version(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* What every entry must be, wherever it is; @ino 0: the shared table. */
static void check_xattr_entry(struct ck *ck, uint32_t ino, const struct xipfs_xattr *x,
			      mode_t mode)
{
	const uint8_t *pad = x->value + x->value_len;
	char name[XIPFS_XATTR_NAME_BUF];
	char where[48];

	if (ino)
		snprintf(where, sizeof(where), "attribute at %llu", (unsigned long long)x->off);
	else
		snprintf(where, sizeof(where), "shared attribute %u", x->index);
	if (xipfs_xattr_name(x, name)) {
		problem(ck, ino, "%s: unknown name prefix %u or a name (%u bytes) it does not allow",
			where, x->prefix, x->name_len);
		return;
	}
	if (memchr(x->name, 0, x->name_len))
		problem(ck, ino, "%s: NUL byte in the name", where);
	if (!all_zero(pad, x->size - XIPFS_XATTR_ENTRY_HDR - x->name_len - x->value_len))
		problem(ck, ino, "%s (%s): padding not zero", where, name);
	if (x->prefix == XIPFS_XATTR_ACL_ACCESS || x->prefix == XIPFS_XATTR_ACL_DEFAULT) {
		/* struct posix_acl_xattr_header (version 2) and 8-byte entries */
		if (x->value_len < 4 || (x->value_len - 4) % 8 ||
		    acl_version(x->value) != 2)
			problem(ck, ino, "%s (%s): not a POSIX ACL (version 2 header and 8-byte entries)",
				where, name);
		if (ino && x->prefix == XIPFS_XATTR_ACL_DEFAULT && !S_ISDIR(mode))
			problem(ck, ino, "%s: default ACL on a non-directory", where);
	}
}

/*
 * The shared table: entries back to back, exactly s_xattr_count of them
 * filling s_xattr_size bytes; remembers where each starts, so that an
 * inode's index can be checked to name one.
 */
static void check_xattr_table(struct ck *ck)
{
	struct xipfs_image *img = ck->img;
	const struct xipfs_sb *sb = &img->sb;
	struct xipfs_xattr x;
	uint32_t n = 0, idx = 0;

	if (!(sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS) || !sb->xattr_size) {
		if (sb->xattr_count || sb->xattr_off)
			problem(ck, 0, "superblock: %u shared attributes at %llu in an empty table",
				sb->xattr_count, (unsigned long long)sb->xattr_off);
		return;
	}
	if (sb->xattr_off % 4 || sb->xattr_size % 4 ||
	    !xipfs_range_in(sb->xattr_off, sb->xattr_size, sb->meta_off, sb->meta_size)) {
		problem(ck, 0, "superblock: shared attribute table [%llu, +%u) not 4-byte aligned or outside the metadata area",
			(unsigned long long)sb->xattr_off, sb->xattr_size);
		return;
	}
	ck->nxidx = sb->xattr_size / 4;
	ck->xstart = calloc(ck->nxidx / 8 + 1, 1);
	ck->xrefs = calloc(ck->nxidx, sizeof(*ck->xrefs));
	if (!ck->xstart || !ck->xrefs) {
		problem(ck, 0, "out of memory (shared attribute table)");
		ck->nxidx = 0;
		return;
	}
	while (idx < ck->nxidx) {
		if (xipfs_xattr_shared(img, idx, &x)) {
			accessor_problem(ck, 0);
			break;
		}
		ck->xstart[idx / 8] |= (uint8_t)(1U << (idx % 8));
		check_xattr_entry(ck, 0, &x, 0);
		n++;
		idx += x.size / 4;
	}
	if (n != sb->xattr_count)
		problem(ck, 0, "superblock: %u shared attributes, but the table holds %u",
			sb->xattr_count, n);
	ck->st->xattr_shared = n;
	add_extent(ck, sb->xattr_off, sb->xattr_size, 0, M_XSHARED);
}

struct xname {
	uint8_t prefix, len;
	const char *name;
};

static int cmp_xname(const void *a, const void *b)
{
	const struct xname *x = a, *y = b;
	int c;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	return c ? c : (int)x->len - (int)y->len;
}

/* An inode's attribute body: bounds, entries, indices, unique names. */
static void check_xattrs(struct ck *ck, uint32_t ino, const struct xipfs_dinode *in)
{
	struct xipfs_image *img = ck->img;
	struct xipfs_xattrs xs;
	struct xipfs_xattr x;
	struct xname *names;
	uint32_t n = 0;
	int r;

	if (!in->extended)
		return;		/* a compact inode has no i_xattr */
	if (xipfs_xattr_open(img, in, &xs)) {
		accessor_problem(ck, ino);
		return;
	}
	ck->st->xattr_inodes++;
	add_extent(ck, xs.off, xs.size, ino, M_XATTR);
	if (!xs.nshared && !xs.ninline)
		problem(ck, ino, "empty attribute body (i_xattr should be 0)");
	names = calloc((size_t)xs.nshared + xs.ninline + 1, sizeof(*names));
	if (!names) {
		problem(ck, ino, "out of memory");
		return;
	}
	while ((r = xipfs_xattr_next(img, &xs, &x)) > 0) {
		if (x.shared) {
			if (x.index >= ck->nxidx ||
			    !(ck->xstart[x.index / 8] & (1U << (x.index % 8)))) {
				problem(ck, ino, "shared attribute index %u does not start an entry of the table",
					x.index);
				continue;
			}
			ck->xrefs[x.index]++;
		} else {
			check_xattr_entry(ck, ino, &x, in->mode);
		}
		names[n].prefix = x.prefix;
		names[n].len = x.name_len;
		names[n].name = x.name;
		n++;
	}
	if (r < 0)
		accessor_problem(ck, ino);
	else if (xs.pos != xs.off + xs.size)
		problem(ck, ino, "attribute body of %u bytes has %llu bytes after its entries",
			xs.size, (unsigned long long)(xs.off + xs.size - xs.pos));
	ck->st->xattrs += n;
	qsort(names, n, sizeof(*names), cmp_xname);
	for (uint32_t i = 1; i < n; i++)
		if (!cmp_xname(&names[i - 1], &names[i])) {
			char full[XIPFS_XATTR_NAME_BUF];
			struct xipfs_xattr t = { .prefix = names[i].prefix,
						 .name_len = names[i].len,
						 .name = names[i].name };

			if (xipfs_xattr_name(&t, full))
				snprintf(full, sizeof(full), "(prefix %u)", t.prefix);
			problem(ck, ino, "attribute %s twice", full);
		}
	free(names);
}

/* Every shared entry is some inode's (mkfs shares those of two or more). */
static void check_xattr_refs(struct ck *ck)
{
	for (uint32_t i = 0; i < ck->nxidx; i++)
		if ((ck->xstart[i / 8] & (1U << (i % 8))) && !ck->xrefs[i])
			problem(ck, 0, "shared attribute %u: no inode names it", i);
}

/* Check the inode starting at slot ino >= 1; returns the slots it takes. */
static uint32_t check_inode(struct ck *ck, uint32_t ino)
{
	struct xipfs_image *img = ck->img;
	struct inode_state *s = &ck->is[ino];
	const uint8_t *raw = img->base + img->sb.inode_off + (uint64_t)ino * XIPFS_INODE_SLOT;
	struct xipfs_dinode in;

	if (xipfs_read_inode(img, ino, &in)) {
		accessor_problem(ck, ino);
		return 1;
	}
	if (in.mode == 0) {
		if (all_zero(raw, XIPFS_INODE_SLOT))
			problem(ck, 0, "inode %u: zero (unused) slot, but every slot after slot 0 belongs to an inode",
				ino);
		else
			problem(ck, 0, "inode %u: unused slot not zero (mode 0, flags 0x%x)", ino,
				in.flags);
		return xipfs_inode_slots(&in);
	}
	s->used = true;
	ck->st->inodes++;
	if (in.extended) {
		ck->st->extended_inodes++;
	} else {
		ck->st->compact_inodes++;
		if (!(img->sb.feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES))
			problem(ck, ino, "compact inode (32 bytes, i_flags 0x%x without EXTENDED) but the COMPACT_INODES feature is not set",
				in.flags);
	}
	/* The checks of the rest need a valid inode. */
	s->valid = check_inode_fields(ck, ino, &in);
	return xipfs_inode_slots(&in);
}

/* An inode's fields; false if it is too broken to follow further. */
static bool check_inode_fields(struct ck *ck, uint32_t ino, const struct xipfs_dinode *inp)
{
	struct xipfs_image *img = ck->img;
	struct xipfs_dinode in = *inp;

	if (xipfs_mode_dtype(in.mode) == DT_UNKNOWN) {
		problem(ck, ino, "invalid file type (mode 0%o)", in.mode);
		return false;
	}
	if (in.flags & ~XIPFS_INODE_FLAG_ALL)
		problem(ck, ino, "unknown flags 0x%x", in.flags);
	if ((in.flags & XIPFS_INODE_END_RUN) && !S_ISREG(in.mode))
		problem(ck, ino, "end-run flag on a non-regular file");
	if ((in.flags & XIPFS_INODE_EXTENT_MAP) && !S_ISREG(in.mode))
		problem(ck, ino, "extent-map flag on a non-regular file");
	if (in.reserved0)
		problem(ck, ino, "reserved fields not zero (%s inode)",
			in.extended ? "extended" : "compact");
	if (in.xattr && !(img->sb.feature_compat & XIPFS_FEATURE_COMPAT_XATTRS))
		problem(ck, ino, "attribute body offset %llu without the XATTRS feature",
			(unsigned long long)in.xattr);
	else if (in.xattr)
		check_xattrs(ck, ino, &in);
	if (in.mtime_nsec >= NSEC_PER_SEC)
		problem(ck, ino, "mtime nanoseconds %u out of range", in.mtime_nsec);
	if (!S_ISREG(in.mode) && in.map_cap)
		problem(ck, ino, "page map capacity %u on a non-regular file", in.map_cap);
	if (!S_ISCHR(in.mode) && !S_ISBLK(in.mode) && in.rdev)
		problem(ck, ino, "device number 0x%x on a non-device", in.rdev);

	switch (in.mode & S_IFMT) {
	case S_IFREG: {
		uint64_t pages = xipfs_size_pages(img, in.size);

		ck->st->files++;
		/* The low bits are the group shift: only with the feature. */
		if (XIPFS_MAP_SHIFT(in.data) && !(in.flags & XIPFS_INODE_EXTENT_MAP) &&
		    !(img->sb.feature_incompat & XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS)) {
			problem(ck, ino, "page map offset %llu not 8-byte aligned (group shift %u without the GROUPED_MAPS feature)",
				(unsigned long long)in.data, XIPFS_MAP_SHIFT(in.data));
			return false;
		}
		if (pages > in.map_cap) {
			problem(ck, ino, "page map capacity %u < %llu pages", in.map_cap,
				(unsigned long long)pages);
			return false;
		}
		/*
		 * An empty map references nothing (mkfs leaves i_data 0), but
		 * an extent map has at least one extent.
		 */
		if (in.map_cap || (in.flags & XIPFS_INODE_EXTENT_MAP)) {
			struct xipfs_map m;

			if (xipfs_map_get(img, &in, &m)) {
				accessor_problem(ck, ino);
				return false;
			}
			if (m.shift)
				ck->st->grouped_maps++;
			if (m.extents) {
				ck->st->extent_maps++;
				ck->st->extents += m.entries;
			}
			if (!m.moved) {
				add_extent(ck, m.off, xipfs_map_bytes(&m), ino, M_MAP);
				break;
			}
			/* Whole pages of the data region, after a read-write mount. */
			ck->st->moved_maps++;
			for (uint64_t i = 0; i < m.pages; i++)
				if (!claim_page(ck, (m.off >> img->sb.page_shift) + i, U_MAP,
						ino, 0))
					break;
		}
		break;
	}
	case S_IFDIR: {
		struct xipfs_dir d;

		ck->st->dirs++;
		if (in.data % 8)
			problem(ck, ino, "directory block offset %llu not 8-byte aligned",
				(unsigned long long)in.data);
		if (xipfs_dir_open(img, &in, &d)) {
			accessor_problem(ck, ino);
			return false;
		}
		/* Name offsets are 32-bit: a larger block can't be addressed. */
		if (in.size > UINT32_MAX)
			problem(ck, ino, "directory block of %llu bytes, more than 4 GiB",
				(unsigned long long)in.size);
		add_extent(ck, in.data, in.size, ino, M_DIR);
		break;
	}
	case S_IFLNK: {
		const char *t;
		size_t len;

		ck->st->symlinks++;
		if (xipfs_read_link(img, &in, &t, &len)) {
			accessor_problem(ck, ino);
			return false;
		}
		if (memchr(t, '\0', len))
			problem(ck, ino, "symlink target contains a NUL byte");
		add_extent(ck, in.data, len, ino, M_LINK);
		break;
	}
	default:
		ck->st->specials++;
		if (in.data || in.size)
			problem(ck, ino, "special file with non-zero size or data offset");
		break;
	}
	return true;
}

static void check_dir(struct ck *ck, uint32_t ino, uint32_t *queue, uint32_t *qtail)
{
	struct xipfs_image *img = ck->img;
	struct xipfs_dinode in;
	struct xipfs_dir d;
	struct xipfs_dirent_info e, prev = { 0 };
	uint64_t names_start;
	bool have_prev = false;

	if (xipfs_read_inode(img, ino, &in) || xipfs_dir_open(img, &in, &d))
		return;	/* reported by check_inode() */
	if (d.parent != ck->is[ino].parent)
		problem(ck, ino, "parent is inode %u%s, but it is in directory inode %u",
			d.parent, xipfs_slot_is_second(img, d.parent) ?
			" (the second slot of an extended inode, not an inode)" : "",
			ck->is[ino].parent);
	names_start = XIPFS_DIR_HEADER_SIZE + (uint64_t)d.count * XIPFS_DIRENT_SIZE;
	for (uint32_t i = 0; i < d.count; i++) {
		struct inode_state *t;
		struct xipfs_dinode child;

		if (xipfs_dir_entry(img, &d, i, &e)) {
			accessor_problem(ck, ino);
			continue;
		}
		ck->st->dirents++;
		if (e.reserved)
			problem(ck, ino, "entry %u: reserved field not zero", i);
		if (e.name_off < names_start)
			problem(ck, ino, "entry %u: name overlaps the entry table", i);
		if (memchr(e.name, '/', e.name_len) || memchr(e.name, '\0', e.name_len))
			problem(ck, ino, "entry %u: name contains '/' or NUL", i);
		if ((e.name_len == 1 && e.name[0] == '.') ||
		    (e.name_len == 2 && e.name[0] == '.' && e.name[1] == '.'))
			problem(ck, ino, "entry %u: name is \".\" or \"..\"", i);
		if (have_prev) {
			size_t m = prev.name_len < e.name_len ? prev.name_len : e.name_len;
			int c = memcmp(prev.name, e.name, m);

			if (!c)
				c = prev.name_len < e.name_len ? -1 : prev.name_len > e.name_len;
			if (c == 0)
				problem(ck, ino, "entry %u: duplicate name \"%.*s\"", i,
					e.name_len, e.name);
			else if (c > 0)
				problem(ck, ino, "entry %u: \"%.*s\" out of sorted order", i,
					e.name_len, e.name);
		}
		prev = e;
		have_prev = true;

		if (xipfs_slot_is_second(img, e.ino)) {
			problem(ck, ino, "entry \"%.*s\" points to inode %u, the second slot of extended inode %u, not an inode",
				e.name_len, e.name, e.ino, e.ino - 1);
			continue;
		}
		if (e.ino == 0 || e.ino >= ck->n || !ck->is[e.ino].used) {
			problem(ck, ino, "entry \"%.*s\" points to unused or invalid inode %u",
				e.name_len, e.name, e.ino);
			continue;
		}
		t = &ck->is[e.ino];
		if (xipfs_read_inode(img, e.ino, &child))
			continue;
		if (e.type != xipfs_mode_dtype(child.mode))
			problem(ck, ino, "entry \"%.*s\": type %u but inode %u has mode 0%o",
				e.name_len, e.name, e.type, e.ino, child.mode);
		t->links++;
		if (!t->parent) {
			t->parent = ino;
			t->name = e.name;
			t->name_len = e.name_len;
		}
		if (!S_ISDIR(child.mode))
			continue;
		ck->is[ino].subdirs++;
		if (e.ino == XIPFS_ROOT_INO || t->visited) {
			problem(ck, ino, "entry \"%.*s\": directory inode %u is reachable twice (loop or directory hard link)",
				e.name_len, e.name, e.ino);
			continue;
		}
		t->visited = true;
		if (t->valid)
			queue[(*qtail)++] = e.ino;
	}
}

/*
 * Find a name for each inode before checking them, so that messages can
 * say which file is damaged.  Only what check_tree() re-checks is trusted.
 */
static void name_pass(struct ck *ck)
{
	struct xipfs_image *img = ck->img;
	uint32_t *queue, head = 0, tail = 0;
	bool *seen;

	queue = malloc((size_t)ck->n * sizeof(*queue));
	seen = calloc(ck->n, sizeof(*seen));
	if (!queue || !seen)
		goto out;
	ck->is[XIPFS_ROOT_INO].parent = XIPFS_ROOT_INO;
	seen[XIPFS_ROOT_INO] = true;
	queue[tail++] = XIPFS_ROOT_INO;
	while (head < tail) {
		struct xipfs_dinode in;
		struct xipfs_dir d;
		struct xipfs_dirent_info e;
		uint32_t dino = queue[head++];

		if (xipfs_read_inode(img, dino, &in) || xipfs_dir_open(img, &in, &d))
			continue;
		for (uint32_t i = 0; i < d.count; i++) {
			struct inode_state *t;

			if (xipfs_dir_entry(img, &d, i, &e) || !e.ino || e.ino >= ck->n)
				continue;
			t = &ck->is[e.ino];
			if (!t->parent) {
				t->parent = dino;
				t->name = e.name;
				t->name_len = e.name_len;
			}
			if (!seen[e.ino] && !xipfs_read_inode(img, e.ino, &in) && S_ISDIR(in.mode)) {
				seen[e.ino] = true;
				queue[tail++] = e.ino;
			}
		}
	}
out:
	free(queue);
	free(seen);
}

static void check_tree(struct ck *ck)
{
	uint32_t *queue, head = 0, tail = 0;
	struct xipfs_dinode root;

	if (xipfs_read_inode(ck->img, XIPFS_ROOT_INO, &root) || !S_ISDIR(root.mode)) {
		problem(ck, 0, "root inode %d is not a directory", XIPFS_ROOT_INO);
		return;
	}
	/* Each directory is queued at most once: visited guards it. */
	queue = malloc((size_t)ck->n * sizeof(*queue));
	if (!queue) {
		problem(ck, 0, "out of memory");
		return;
	}
	ck->is[XIPFS_ROOT_INO].visited = true;
	ck->is[XIPFS_ROOT_INO].parent = XIPFS_ROOT_INO;
	if (ck->is[XIPFS_ROOT_INO].valid)
		queue[tail++] = XIPFS_ROOT_INO;
	while (head < tail)
		check_dir(ck, queue[head++], queue, &tail);
	free(queue);
	/* path_of() stops at the root: it is its own parent. */
}

static void check_links(struct ck *ck)
{
	for (uint32_t ino = 1; ino < ck->n; ino++) {
		struct inode_state *s = &ck->is[ino];
		struct xipfs_dinode in;
		uint64_t want;

		if (!s->used || xipfs_read_inode(ck->img, ino, &in))
			continue;
		if (ino != XIPFS_ROOT_INO && !s->links) {
			problem(ck, 0, "inode %u (mode 0%o): not reachable from the root", ino,
				in.mode);
			continue;
		}
		want = S_ISDIR(in.mode) ? 2 + (uint64_t)s->subdirs : s->links;
		if (in.nlink != want)
			problem(ck, ino, "link count %u, expected %llu", in.nlink,
				(unsigned long long)want);
	}
}

/*
 * Page p (of pages) of regular file ino has the entry e (derived, for a
 * grouped or an extent map): check what it names, and claim it.
 */
static void check_page_entry(struct ck *ck, uint32_t ino, const struct xipfs_dinode *inp,
			     uint64_t p, uint64_t pages, uint64_t e)
{
	struct xipfs_image *img = ck->img;
	const struct xipfs_sb *sb = &img->sb;
	unsigned int shift = sb->page_shift;
	uint64_t ps = img->page_size;
	const struct xipfs_dinode in = *inp;
	uint64_t valid = p + 1 < pages ? ps : in.size - (p << shift);

	if (e & XIPFS_PTE_RESERVED_MASK) {
		problem(ck, ino, "page %llu: reserved bits set in map entry 0x%016llx",
			(unsigned long long)p, (unsigned long long)e);
		return;
	}
	switch (xipfs_pte_type(e)) {
	case XIPFS_PTE_TYPE_HOLE:
		ck->st->holes++;
		if (e)
			problem(ck, ino, "page %llu: hole entry not zero (0x%016llx)",
				(unsigned long long)p, (unsigned long long)e);
		break;
	case XIPFS_PTE_TYPE_XIP: {
		uint64_t pg = e & ((1ULL << 56) - 1), off;

		ck->st->xip_pages++;
		if (pg > XIPFS_PTE_XIP_MASK || pg >= (sb->image_size >> shift)) {
			problem(ck, ino, "page %llu: XIP page number %llu beyond the image",
				(unsigned long long)p, (unsigned long long)pg);
			break;
		}
		off = pg << shift;
		if (!xipfs_xip_page_ok(img, off)) {
			problem(ck, ino, "page %llu: XIP page %llu outside the %s",
				(unsigned long long)p, (unsigned long long)pg,
				img->rw ? "data region" : "XIP area");
			break;
		}
		if (!claim_page(ck, pg, U_XIP, ino, p))
			break;
		/* After a read-write mount readers zero those bytes. */
		if (!img->rw && valid < ps && !all_zero(img->base + off + valid, ps - valid))
			problem(ck, ino, "page %llu: XIP page %llu not zero past the end of the file",
				(unsigned long long)p, (unsigned long long)pg);
		break;
	}
	case XIPFS_PTE_TYPE_COMP: {
		uint64_t cl = e & XIPFS_PTE_CLUSTER_MASK;
		uint32_t idx = (e >> XIPFS_PTE_CINDEX_SHIFT) & XIPFS_PTE_CINDEX_MASK;
		struct cluster_state *c;

		ck->st->comp_pages++;
		if (cl >= sb->cluster_count) {
			problem(ck, ino, "page %llu: cluster %llu out of range (%llu clusters)",
				(unsigned long long)p, (unsigned long long)cl,
				(unsigned long long)sb->cluster_count);
			break;
		}
		c = &ck->cs[cl];
		if (c->valid && idx >= c->c.pages) {
			problem(ck, ino, "page %llu: index %u beyond the %u pages of cluster %llu",
				(unsigned long long)p, idx, c->c.pages,
				(unsigned long long)cl);
			break;
		}
		if (c->valid && c->c.shared) {
			/* Any file page may name any page of it. */
			if (!c->ino)
				c->ino = ino;
			c->used |= 1ULL << idx;
			c->refs++;
			break;
		}
		if (idx > p) {
			problem(ck, ino, "page %llu: cluster index %u before the start of the file",
				(unsigned long long)p, idx);
			break;
		}
		if (!c->ino) {
			c->ino = ino;
			c->base = p - idx;
		} else if (c->ino != ino && c->base == p - idx && twins(ck, c->ino, ino)) {
			break;	/* an identical file's cluster: its owner counts */
		} else if (c->ino != ino || c->base != p - idx) {
			problem(ck, ino, "page %llu: cluster %llu index %u inconsistent with its use by inode %u page %llu",
				(unsigned long long)p, (unsigned long long)cl, idx, c->ino,
				(unsigned long long)c->base);
			break;
		}
		c->refs++;
		break;
	}
	default: { /* TAIL */
		uint64_t off = xipfs_tail_offset(img, e);

		ck->st->tails++;
		if (!(sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_TAIL))
			problem(ck, ino, "page %llu: tail entry but the TAIL feature is not set",
				(unsigned long long)p);
		if (p + 1 != pages) {
			problem(ck, ino, "page %llu: tail entry on a page that is not the last",
				(unsigned long long)p);
			break;
		}
		if (e & (0xffULL << 48))
			problem(ck, ino, "page %llu: tail entry 0x%016llx has bits 48-55 set",
				(unsigned long long)p, (unsigned long long)e);
		else if (!xipfs_range_in(off, valid, sb->meta_off, sb->meta_size))
			problem(ck, ino, "page %llu: tail data [%llu, +%llu) outside the metadata area",
				(unsigned long long)p, (unsigned long long)off,
				(unsigned long long)valid);
		else
			add_extent(ck, off, valid, ino, M_TAIL);
		break;
	}
	}
}

static uint64_t ext_ld(const uint8_t *x, uint64_t i, unsigned int field)
{
	uint64_t v;

	memcpy(&v, x + i * XIPFS_MAP_EXTENT_SIZE + field * 8, 8);
	return le64toh(v);
}

/*
 * An extent map (xipfs_map_get() checked the flag's rules and that the
 * map lies in the metadata area): its extents sorted strictly by first
 * page from page 0 on, each inside the capacity; then each page's entry
 * as its extent derives it.  An extent whose entry is bad is reported
 * once, not for each of its pages.
 */
static void check_extent_map(struct ck *ck, uint32_t ino, const struct xipfs_dinode *in,
			     const struct xipfs_map *m, uint64_t pages)
{
	const uint8_t *x = ck->img->base + m->off + 8;
	unsigned int cshift = xipfs_group_cshift(ck->img);
	uint64_t n = m->entries, j = 0;
	bool ok = true;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t xp = ext_ld(x, i, 0);

		if (!i && xp) {
			problem(ck, ino, "extent map: extent 0 starts at page %llu, not at page 0",
				(unsigned long long)xp);
			ok = false;
		} else if (i && xp <= ext_ld(x, i - 1, 0)) {
			problem(ck, ino, "extent map: extent %llu (from page %llu) does not start after extent %llu (from page %llu): extents must be sorted by first page",
				(unsigned long long)i, (unsigned long long)xp,
				(unsigned long long)(i - 1), (unsigned long long)ext_ld(x, i - 1, 0));
			ok = false;
		}
		if (xp >= in->map_cap) {
			problem(ck, ino, "extent map: extent %llu starts at page %llu, past the map capacity (%u pages)",
				(unsigned long long)i, (unsigned long long)xp, in->map_cap);
			ok = false;
		} else if (xp >= pages && ext_ld(x, i, 1)) {
			ck->st->stale_entries++;	/* wholly past the end: ignored */
		}
	}
	/* Readers would derive entries from other extents than these say. */
	if (!ok)
		return;
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t xp, xe, e;
		unsigned int k;

		while (j + 1 < n && ext_ld(x, j + 1, 0) <= p)
			j++;
		xp = ext_ld(x, j, 0);
		xe = ext_ld(x, j, 1);
		k = (unsigned int)(p - xp);	/* p < i_map_cap < 2^32 */
		e = xipfs_pte_in_group(xe, k, cshift);
		if (e & XIPFS_PTE_RESERVED_MASK) {
			if (xe & XIPFS_PTE_RESERVED_MASK)
				problem(ck, ino, "page %llu: extent %llu (from page %llu): reserved bits set in its entry 0x%016llx",
					(unsigned long long)p, (unsigned long long)j,
					(unsigned long long)xp, (unsigned long long)xe);
			else
				problem(ck, ino, "page %llu: page %u of extent %llu (from page %llu) whose entry 0x%016llx %s",
					(unsigned long long)p, k, (unsigned long long)j,
					(unsigned long long)xp, (unsigned long long)xe,
					xipfs_pte_type(xe) == XIPFS_PTE_TYPE_TAIL ?
					"is a tail (only the extent's first page may be one)" :
					xipfs_pte_type(xe) == XIPFS_PTE_TYPE_COMP ?
					"runs on past the largest cluster number" :
					"names an XIP page number past the maximum for it");
			/* The rest of the extent is as bad: on to the next one. */
			if (j + 1 >= n)
				break;
			p = ext_ld(x, j + 1, 0) - 1;
			continue;
		}
		check_page_entry(ck, ino, in, p, pages, e);
	}
}

static void check_file_map(struct ck *ck, uint32_t ino)
{
	struct xipfs_image *img = ck->img;
	uint64_t pages;
	struct xipfs_dinode in;
	struct xipfs_map m = { 0 };
	const uint8_t *map;
	unsigned int g;

	if (xipfs_read_inode(img, ino, &in))
		return;
	/* check_inode() validated the map's range and capacity. */
	if ((in.map_cap || (in.flags & XIPFS_INODE_EXTENT_MAP)) && xipfs_map_get(img, &in, &m))
		return;
	map = img->base + m.off;
	g = m.shift;
	pages = xipfs_size_pages(img, in.size);
	ck->st->pages += pages;
	if (m.extents) {
		check_extent_map(ck, ino, &in, &m, pages);
		return;
	}
	/*
	 * Readers ignore entries past the end of the file (a power cut during
	 * a read-write truncate may leave them): information.  For a grouped
	 * map those are the entries of groups wholly past the end.
	 */
	for (uint64_t i = xipfs_map_groups(pages, g); i < m.entries; i++) {
		uint64_t e;

		memcpy(&e, map + i * 8, 8);
		if (e)
			ck->st->stale_entries++;
	}
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t e;
		unsigned int k;
		uint64_t slot = xipfs_map_slot(p, g, m.end_run ? m.run_start : XIPFS_MAP_NO_RUN, &k);
		bool in_run = slot == XIPFS_MAP_RUN_SLOT;

		if (in_run) {
			e = m.run_entry;	/* xipfs_map_get() checked R */
		} else {
			memcpy(&e, map + slot * 8, 8);
			e = le64toh(e);
		}
		if (k) {
			uint64_t ge = e;

			/* Derived entries are checked like stored ones, below. */
			e = xipfs_pte_in_group(ge, k, xipfs_group_cshift(img));
			if (e == XIPFS_PTE_INVALID && !(ge & XIPFS_PTE_RESERVED_MASK)) {
				char what[64];

				if (in_run)
					snprintf(what, sizeof(what), "the end run from page %llu",
						 (unsigned long long)m.run_start);
				else
					snprintf(what, sizeof(what), "a %llu-page group", 1ULL << g);
				problem(ck, ino, "page %llu: page %llu of %s whose entry 0x%016llx %s",
					(unsigned long long)p, (unsigned long long)k, what,
					(unsigned long long)ge,
					xipfs_pte_type(ge) == XIPFS_PTE_TYPE_TAIL ?
					(in_run ? "is a tail (only the run's first page may be one)" :
					 "is a tail (only the group's first page may be one)") :
					xipfs_pte_type(ge) == XIPFS_PTE_TYPE_COMP ?
					"runs on past the largest cluster number" :
					"names an XIP page number past the maximum for it");
				continue;
			}
		}
		check_page_entry(ck, ino, &in, p, pages, e);
	}
}

/* A shared cluster: every page is named by some map entry. */
static void check_shared_cluster(struct ck *ck, uint64_t i, struct cluster_state *c)
{
	uint64_t all = c->c.pages >= 64 ? ~0ULL : (1ULL << c->c.pages) - 1;

	if (!ck->img->rw && c->used != all)
		problem(ck, 0, "shared cluster %llu: page %u used by no file",
			(unsigned long long)i, __builtin_ctzll(~c->used & all));
	if (!(ck->opts && ck->opts->skip_data)) {
		const uint8_t *data;
		uint32_t ulen;

		if (xipfs_cluster_load(ck->img, i, &data, &ulen)) {
			accessor_problem(ck, c->ino);
		} else {
			ck->st->cluster_bytes += ulen;
			ck->st->csum_clusters += ck->img->csum;
		}
	}
}

static void check_clusters(struct ck *ck)
{
	struct xipfs_image *img = ck->img;
	const struct xipfs_sb *sb = &img->sb;
	unsigned int shift = sb->page_shift;
	uint64_t comp_end = sb->comp_off + sb->comp_size, first, end;

	for (uint64_t i = 0; i < sb->cluster_count; i++) {
		struct cluster_state *c = &ck->cs[i];
		struct xipfs_dinode in;
		uint64_t fpages;

		if (!c->valid)
			continue;	/* reported when the table was read */
		ck->st->clusters++;
		/*
		 * After a read-write mount a cluster no COMP entry names is
		 * dead: its bytes may have been reused, so only its descriptor
		 * is checked.
		 */
		if (!c->ino && img->rw)
			ck->st->dead_clusters++;
		if (c->c.shared && !(sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS))
			problem(ck, 0, "cluster %llu: shared (descriptor bit 63) without the SHARED_CLUSTERS feature",
				(unsigned long long)i);
		if (c->c.alg != XIPFS_COMP_NONE && !(sb->comp_algs & (1U << c->c.alg)))
			problem(ck, 0, "cluster %llu: algorithm %u not in the superblock's list 0x%x",
				(unsigned long long)i, c->c.alg, sb->comp_algs);
		if (sb->max_cluster_shift <= 18 &&
		    ((uint64_t)c->c.pages << shift) > (1ULL << sb->max_cluster_shift))
			problem(ck, 0, "cluster %llu: %u pages exceed the maximum cluster size",
				(unsigned long long)i, c->c.pages);
		if (!c->ino) {
			if (!img->rw)
				problem(ck, 0, "cluster %llu: not used by any file",
					(unsigned long long)i);
			/* Nothing loads it, so its checksum is checked here. */
			if (img->csum && !(ck->opts && ck->opts->skip_data)) {
				if (xipfs_cluster_csum_verify(img, i))
					accessor_problem(ck, 0);
				else
					ck->st->csum_clusters++;
			}
			continue;
		}
		/* Live: its bytes are the pages it overlaps. */
		for (uint64_t pg = c->c.off >> shift; pg <= (c->c.off + c->c.clen - 1) >> shift; pg++)
			if (!claim_page(ck, pg, U_CLUSTER, c->ino, i))
				break;
		if (c->c.shared) {
			check_shared_cluster(ck, i, c);
			continue;
		}
		if (!img->rw && c->refs != c->c.pages)
			problem(ck, c->ino, "cluster %llu: %u pages, but %u map entries use it",
				(unsigned long long)i, c->c.pages, c->refs);
		if (xipfs_read_inode(img, c->ino, &in))
			continue;
		fpages = xipfs_size_pages(img, in.size);
		/*
		 * A read-write mount may rewrite some of a cluster's pages
		 * elsewhere, truncate the file inside it or grow it past it.
		 * (The descriptor cannot leave the last page empty.)
		 */
		if (!img->rw && c->base + c->c.pages > fpages)
			problem(ck, c->ino, "cluster %llu: pages %llu..%llu beyond the end of the file",
				(unsigned long long)i, (unsigned long long)c->base,
				(unsigned long long)(c->base + c->c.pages - 1));
		else if (!img->rw && c->base + c->c.pages < fpages &&
			 c->c.ulen != ((uint32_t)c->c.pages << shift))
			problem(ck, c->ino, "cluster %llu: %u bytes for %u pages, but it is not the file's last cluster",
				(unsigned long long)i, c->c.ulen, c->c.pages);
		if (!(ck->opts && ck->opts->skip_data)) {
			const uint8_t *data;
			uint32_t ulen;

			/* With data checksums, this checks the cluster's. */
			if (xipfs_cluster_load(img, i, &data, &ulen)) {
				accessor_problem(ck, c->ino);
			} else {
				ck->st->cluster_bytes += ulen;
				ck->st->csum_clusters += img->csum;
			}
		}
	}
	/*
	 * The sentinel ends the compressed data; clusters lie back to back
	 * from the first one's offset (xipfs_get_cluster() checked each
	 * against the next), so the only bytes no cluster owns are before
	 * the first and after the sentinel's end: zero.  After a read-write
	 * mount dead clusters' bytes may have been reused: not checked.
	 */
	if (xipfs_cluster_end(img, &end)) {
		accessor_problem(ck, 0);
		return;
	}
	if (img->rw)
		return;
	/* Descriptor 0 is the sentinel when there are no clusters. */
	first = sb->comp_off + XIPFS_CL_OFF(xipfs_cluster_desc(img, 0));
	/* Else some descriptor is out of order: reported already. */
	if (first <= end)
		check_zero_range(ck, sb->comp_off, first - sb->comp_off, "compressed area gap");
	check_zero_range(ck, end, comp_end - end, "compressed area tail");
}

static void check_unused_xip(struct ck *ck)
{
	const struct xipfs_sb *sb = &ck->img->sb;
	unsigned int shift = sb->page_shift;

	/* A read-write mount may leave stale data behind. */
	if (sb->state & XIPFS_STATE_META_MODIFIED)
		return;
	for (uint64_t pg = sb->xip_off >> shift; pg < (sb->xip_off + sb->xip_size) >> shift; pg++)
		if (ck->use[pg].kind == U_FREE && !all_zero(ck->img->base + (pg << shift), 1ULL << shift)) {
			problem(ck, 0, "XIP page %llu is used by no file but not zero",
				(unsigned long long)pg);
			return;
		}
}

/*
 * Data checksums of the XIP area: every page, used or not (an unused one
 * is zero, and its checksum that of a zero page).  Each bad page is a
 * problem of its own, so that a count says how many.
 */
static void check_xip_csums(struct ck *ck)
{
	struct xipfs_image *img = ck->img;

	if (!img->csum || (ck->opts && ck->opts->skip_data))
		return;
	for (uint64_t k = 0; k < img->sb.xip_size >> img->sb.page_shift; k++) {
		if (xipfs_xip_csum_verify(img, k))
			accessor_problem(ck, 0);
		else
			ck->st->csum_xip_pages++;
	}
}

/*
 * The compact cluster table (INCOMPAT_COMPACT_CLUSTERS) beyond what
 * opening checked: what the rebuilt descriptors cannot show.  Each
 * group's base must be where the clusters before it end (else a
 * cluster's length and its place disagree), the exception words sorted
 * by index (readers search them), each naming a cluster.
 */
static void check_ct(struct ck *ck)
{
	struct xipfs_image *img = ck->img;
	const struct xipfs_ctab *ct = &img->ct;
	uint64_t prev = 0, end = 0;

	if (!ct->on)
		return;
	for (uint64_t i = 0; i < ct->n; i++) {
		if (!(i & ((1U << XIPFS_CT_GROUP_SHIFT) - 1))) {
			uint64_t b = xipfs_ct_base(img, i >> XIPFS_CT_GROUP_SHIFT);

			if (b != end)
				problem(ck, 0, i ? "compact cluster table: base %llu (cluster %llu) is %llu, but the clusters before it end at %llu" :
					"compact cluster table: base %llu (cluster %llu) is %llu, not %llu",
					(unsigned long long)(i >> XIPFS_CT_GROUP_SHIFT),
					(unsigned long long)i, (unsigned long long)b,
					(unsigned long long)end);
			end = b;
		}
		end += xipfs_ct_len(img, i);
	}
	for (uint64_t k = 0; k < ct->e; k++) {
		uint64_t x = xipfs_ct_exception(img, k), i = XIPFS_CL_OFF(x);

		if (i >= ct->n)
			problem(ck, 0, "compact cluster table: exception %llu names cluster %llu, past the %llu clusters",
				(unsigned long long)k, (unsigned long long)i,
				(unsigned long long)ct->n);
		else if (XIPFS_CL_ALG(x) == XIPFS_COMP_NONE &&
			 xipfs_ct_len(img, i) != XIPFS_CL_ULEN(x, img->sb.page_shift))
			problem(ck, 0, "compact cluster table: exception %llu (cluster %llu): stored, but its length %u is not its %llu bytes",
				(unsigned long long)k, (unsigned long long)i,
				xipfs_ct_len(img, i),
				(unsigned long long)XIPFS_CL_ULEN(x, img->sb.page_shift));
		if (k && i <= prev)
			problem(ck, 0, "compact cluster table: exception %llu (cluster %llu) does not follow exception %llu (cluster %llu): not sorted by index",
				(unsigned long long)k, (unsigned long long)i,
				(unsigned long long)(k - 1), (unsigned long long)prev);
		prev = i;
	}
}

uint64_t xipfs_check(struct xipfs_image *img, const struct xipfs_check_opts *opts,
		     struct xipfs_check_stats *stats)
{
	struct ck ck = { .img = img, .opts = opts, .st = stats };
	uint64_t npages = img->sb.image_size >> img->sb.page_shift;

	memset(stats, 0, sizeof(*stats));
	ck.max = opts && opts->max_messages ? opts->max_messages : 100;
	ck.n = img->sb.inode_count;
	ck.is = calloc(ck.n, sizeof(*ck.is));
	ck.cs = calloc(img->sb.cluster_count ? img->sb.cluster_count : 1, sizeof(*ck.cs));
	ck.use = calloc(npages, sizeof(*ck.use));
	if (!ck.is || !ck.cs || !ck.use) {
		problem(&ck, 0, "out of memory");
		goto out;
	}
	check_sb(&ck);
	check_gaps(&ck);
	check_ct(&ck);
	for (uint64_t i = 0; i < img->sb.cluster_count; i++) {
		if (xipfs_get_cluster(img, i, &ck.cs[i].c))
			accessor_problem(&ck, 0);
		else
			ck.cs[i].valid = true;
	}
	check_xattr_table(&ck);
	name_pass(&ck);
	/* Slot 0 is unused; each inode then takes one slot or two. */
	if (!all_zero(img->base + img->sb.inode_off, XIPFS_INODE_SLOT))
		problem(&ck, 0, "inode 0: unused slot not zero");
	for (uint32_t ino = 1; ino < ck.n; ) {
		if (ino == img->cut_ino) {
			problem(&ck, 0, "inode %u: extended inode (64 bytes) in the last slot of the %u-slot inode table: its second half is missing",
				ino, ck.n);
			break;
		}
		ino += check_inode(&ck, ino);
	}
	check_xattr_refs(&ck);
	check_tree(&ck);
	check_links(&ck);
	for (uint32_t ino = 1; ino < ck.n; ino++) {
		struct xipfs_dinode in;

		if (ck.is[ino].valid && !xipfs_read_inode(img, ino, &in) && S_ISREG(in.mode))
			check_file_map(&ck, ino);
	}
	check_clusters(&ck);
	check_unused_xip(&ck);
	check_xip_csums(&ck);
	for (uint64_t pg = img->data_off >> img->sb.page_shift; pg < npages; pg++) {
		stats->data_pages++;
		if (ck.use[pg].kind == U_FREE)
			stats->free_pages++;
	}
	add_extent(&ck, img->sb.inode_off, (uint64_t)ck.n * XIPFS_INODE_SLOT, 0, M_INODES);
	/* With the sentinel, or the compact table (opening checked its place). */
	add_extent(&ck, img->sb.cluster_off, xipfs_cluster_table_size(img), 0, M_CLUSTERS);
	if (img->sb.feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM)
		add_extent(&ck, img->sb.csum_off, img->sb.csum_size, 0, M_CSUMS);
	check_overlaps(&ck);
out:
	if (ck.st->errors > ck.shown) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%llu more problems not shown",
			 (unsigned long long)(ck.st->errors - ck.shown));
		if (opts && opts->report)
			opts->report(opts->arg, msg);
		else
			fprintf(stderr, "%s\n", msg);
	}
	free(ck.is);
	free(ck.cs);
	free(ck.use);
	free(ck.ext);
	free(ck.xstart);
	free(ck.xrefs);
	return stats->errors;
}
