/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structure-aware mutation of xipfs images, shared by mutate.c (the
 * command that feeds the kernel's fuzz runs, tests/xipfs/061 and
 * `make fuzz`) and fuzz_image.c (libFuzzer's custom mutator).
 *
 * xipfs_mutate() opens a valid image with the image library, lists its
 * structures (superblock fields, inode slots, compact and extended inode
 * fields, directory headers, entries and names, page map entries, group
 * entries and end runs, extent map counts, first pages and entries,
 * cluster descriptors and the sentinel, or the compact cluster table's
 * header, bases, exception words and lengths, symlink
 * targets, compressed streams, extended attribute bodies, shared indices,
 * entries and names, the image's length), picks a kind of
 * structure and one of that kind, and changes it the way a hostile or
 * buggy writer would: boundary values, off-by-one offsets and lengths,
 * offsets of other structures (overlaps) or of itself (self-references),
 * huge counts, swapped and duplicated entries, truncation.  Then it
 * recomputes the superblock and metadata checksums, so that the damage
 * gets past the first check and reaches the structural ones.
 *
 * One (image, seed) gives one result, on every host: a private PRNG,
 * no other input.  The description says what changed ("inode 7
 * (compact) i_size: 0x1f4 -> 0xffffffff"), to name regressions by.
 *
 * Header-only (static functions) because both users are single-file
 * programs the Makefile builds its own way.
 */
#ifndef XIPFS_MUTATOR_H
#define XIPFS_MUTATOR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xipfs_image.h"

enum mut_kind {
	MK_SB, MK_SLOT, MK_INODE, MK_DIRHDR, MK_DIRENT, MK_NAME, MK_MAP,
	MK_GROUP, MK_ENDRUN, MK_CLUSTER, MK_SENTINEL, MK_SYMLINK, MK_STREAM,
	MK_XHDR, MK_XIDX, MK_XENTRY, MK_XNAME, MK_CSUM, MK_XCOUNT, MK_XPAGE,
	MK_XMAP, MK_TRUNC, MK_CTHDR, MK_CTBASE, MK_CTEXC, MK_CTLEN, MK_MAX
};

static const char *const mut_kind_name[MK_MAX] = {
	"superblock", "inode slot", "inode field", "directory header",
	"directory entry", "name", "page map entry", "group entry",
	"end run", "cluster descriptor", "cluster sentinel",
	"symlink target", "compressed stream", "xattr body header",
	"shared xattr index", "xattr entry", "xattr name", "data checksum",
	"extent count", "extent first page", "extent entry", "truncation",
	"compact cluster table header", "compact cluster table base",
	"compact cluster table exception", "compact cluster table length",
};

struct mut_target {
	uint8_t kind;
	uint8_t width;		/* field bytes: 1, 2, 4, 8; 0: a byte range */
	const char *field;	/* field name, or NULL */
	uint32_t ino;		/* owning inode (0: none) */
	uint64_t idx;		/* entry / cluster / slot index */
	uint64_t off, len;	/* image bytes */
};

struct mut_state {
	uint64_t rng;
	uint8_t *buf;
	size_t len, maxlen;
	struct mut_target *t;
	size_t nt, capt;
	size_t bykind[MK_MAX];
	/* From the valid image, for values that mean something there. */
	struct xipfs_sb sb;
	uint32_t page_size;
	uint64_t *offs;		/* offsets of structures: overlap targets */
	size_t noffs, capoffs;
	uint32_t dirs[64];	/* directory inode numbers */
	unsigned int ndirs;
	char *what;
	size_t whatlen, whatpos;
	/*
	 * Data checksum entries changed: put back after the checksums are
	 * recomputed, which would otherwise undo the change.
	 */
	struct { uint64_t off; uint8_t v[4]; } keep[8];
	unsigned int nkeep;
};

static uint64_t mut_rnd(struct mut_state *s)
{
	/* splitmix64: fixed, portable, good enough to spread the seeds. */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mut_below(struct mut_state *s, uint64_t n)
{
	return n ? mut_rnd(s) % n : 0;
}

__attribute__((format(printf, 2, 3)))
static void mut_say(struct mut_state *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!s->what || s->whatpos + 1 >= s->whatlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->what + s->whatpos, s->whatlen - s->whatpos, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->whatpos += (size_t)n;
	if (s->whatpos >= s->whatlen)
		s->whatpos = s->whatlen - 1;
}

static void mut_add(struct mut_state *s, int kind, uint8_t width, const char *field,
		    uint32_t ino, uint64_t idx, uint64_t off, uint64_t len)
{
	struct mut_target *t;

	if (!len || off > s->len || len > s->len - off)
		return;
	if (s->nt == s->capt) {
		size_t n = s->capt ? s->capt * 2 : 256;
		void *p = realloc(s->t, n * sizeof(*s->t));

		if (!p)
			return;
		s->t = p;
		s->capt = n;
	}
	t = &s->t[s->nt++];
	t->kind = (uint8_t)kind;
	t->width = width;
	t->field = field;
	t->ino = ino;
	t->idx = idx;
	t->off = off;
	t->len = len;
	s->bykind[kind]++;
}

static void mut_off(struct mut_state *s, uint64_t off)
{
	if (s->noffs == s->capoffs) {
		size_t n = s->capoffs ? s->capoffs * 2 : 256;
		void *p = realloc(s->offs, n * sizeof(*s->offs));

		if (!p)
			return;
		s->offs = p;
		s->capoffs = n;
	}
	s->offs[s->noffs++] = off;
}

static uint64_t mut_ld(const uint8_t *p, unsigned int w)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < w; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void mut_st(uint8_t *p, unsigned int w, uint64_t v)
{
	for (unsigned int i = 0; i < w; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#define MUT_SB(f) { #f, offsetof(struct xipfs_super_block, f), \
		    sizeof(((struct xipfs_super_block *)0)->f) }
#define MUT_EI(f) { #f, offsetof(struct xipfs_inode, f), \
		    sizeof(((struct xipfs_inode *)0)->f) }
#define MUT_CI(f) { #f, offsetof(struct xipfs_inode_compact, f), \
		    sizeof(((struct xipfs_inode_compact *)0)->f) }
struct mut_field { const char *name; size_t off, size; };

/* s_checksum and s_meta_crc are left out: they are recomputed anyway. */
static const struct mut_field mut_sb_fields[] = {
	MUT_SB(s_version), MUT_SB(s_page_shift), MUT_SB(s_max_cluster_shift),
	MUT_SB(s_state), MUT_SB(s_comp_algs), MUT_SB(s_feature_compat),
	MUT_SB(s_feature_ro_compat), MUT_SB(s_feature_incompat),
	MUT_SB(s_root_ino), MUT_SB(s_image_size), MUT_SB(s_inode_count),
	MUT_SB(s_inode_off), MUT_SB(s_meta_off), MUT_SB(s_meta_size),
	MUT_SB(s_cluster_off), MUT_SB(s_cluster_count), MUT_SB(s_xip_off),
	MUT_SB(s_xip_size), MUT_SB(s_comp_off), MUT_SB(s_comp_size),
	MUT_SB(s_free_off), MUT_SB(s_free_size), MUT_SB(s_build_time),
	MUT_SB(s_xattr_off), MUT_SB(s_xattr_size), MUT_SB(s_xattr_count),
	MUT_SB(s_csum_off), MUT_SB(s_csum_size), MUT_SB(s_csum_reserved),
};
static const struct mut_field mut_ext_fields[] = {
	MUT_EI(i_mode), MUT_EI(i_flags), MUT_EI(i_nlink), MUT_EI(i_uid),
	MUT_EI(i_size), MUT_EI(i_mtime), MUT_EI(i_mtime_nsec), MUT_EI(i_rdev),
	MUT_EI(i_data), MUT_EI(i_map_cap), MUT_EI(i_reserved0), MUT_EI(i_xattr),
};
static const struct mut_field mut_cpt_fields[] = {
	MUT_CI(i_mode), MUT_CI(i_flags), MUT_CI(i_nlink), MUT_CI(i_uid),
	MUT_CI(i_reserved), MUT_CI(i_mtime), MUT_CI(i_size), MUT_CI(i_map_cap),
	MUT_CI(i_data),
};
static const struct mut_field mut_dirent_fields[] = {
	{ "d_ino", offsetof(struct xipfs_dirent, d_ino), 4 },
	{ "d_name_off", offsetof(struct xipfs_dirent, d_name_off), 4 },
	{ "d_name_len", offsetof(struct xipfs_dirent, d_name_len), 1 },
	{ "d_type", offsetof(struct xipfs_dirent, d_type), 1 },
	{ "d_reserved", offsetof(struct xipfs_dirent, d_reserved), 2 },
};
static const struct mut_field mut_xhdr_fields[] = {
	{ "h_shared", offsetof(struct xipfs_xattr_header, h_shared), 2 },
	{ "h_count", offsetof(struct xipfs_xattr_header, h_count), 2 },
	{ "h_size", offsetof(struct xipfs_xattr_header, h_size), 4 },
};
static const struct mut_field mut_xentry_fields[] = {
	{ "e_prefix", offsetof(struct xipfs_xattr_entry, e_prefix), 1 },
	{ "e_name_len", offsetof(struct xipfs_xattr_entry, e_name_len), 1 },
	{ "e_value_len", offsetof(struct xipfs_xattr_entry, e_value_len), 2 },
};
#define MUT_N(a) (sizeof(a) / sizeof((a)[0]))

/* An attribute entry's fields and name (ino 0: the shared table's). */
static void mut_xentry(struct mut_state *s, const struct xipfs_image *img, uint32_t ino,
		       uint64_t idx, const struct xipfs_xattr *x)
{
	for (size_t f = 0; f < MUT_N(mut_xentry_fields); f++)
		mut_add(s, MK_XENTRY, (uint8_t)mut_xentry_fields[f].size,
			mut_xentry_fields[f].name, ino, idx, x->off + mut_xentry_fields[f].off,
			mut_xentry_fields[f].size);
	mut_add(s, MK_XNAME, 0, NULL, ino, idx,
		(uint64_t)((const uint8_t *)x->name - img->base), x->name_len);
	mut_off(s, x->off);
}

/* The attribute bodies and the shared table. */
static void mut_collect_xattrs(struct mut_state *s, struct xipfs_image *img,
			       const struct xipfs_dinode *in)
{
	struct xipfs_xattrs xs;
	struct xipfs_xattr x;
	uint64_t i = 0;

	if (xipfs_xattr_open(img, in, &xs) || !xs.off)
		return;
	mut_off(s, xs.off);
	for (size_t f = 0; f < MUT_N(mut_xhdr_fields); f++)
		mut_add(s, MK_XHDR, (uint8_t)mut_xhdr_fields[f].size, mut_xhdr_fields[f].name,
			in->ino, 0, xs.off + mut_xhdr_fields[f].off, mut_xhdr_fields[f].size);
	for (uint32_t k = 0; k < xs.nshared; k++)
		mut_add(s, MK_XIDX, 4, NULL, in->ino, k,
			xs.off + XIPFS_XATTR_HEADER_SIZE + 4ULL * k, 4);
	while (xipfs_xattr_next(img, &xs, &x) > 0)
		if (!x.shared)
			mut_xentry(s, img, in->ino, i++, &x);
}

/* List the structures of an image the library can open. */
static void mut_collect(struct mut_state *s, struct xipfs_image *img)
{
	const struct xipfs_sb *sb = &img->sb;
	uint32_t budget = 20000;	/* targets of one kind per inode, bounded */

	s->sb = *sb;
	s->page_size = img->page_size;
	for (size_t i = 0; i < MUT_N(mut_sb_fields); i++)
		mut_add(s, MK_SB, (uint8_t)mut_sb_fields[i].size, mut_sb_fields[i].name,
			0, 0, mut_sb_fields[i].off, mut_sb_fields[i].size);
	mut_off(s, 0);
	mut_off(s, sb->inode_off);
	mut_off(s, sb->meta_off);
	mut_off(s, sb->meta_off + sb->meta_size);
	mut_off(s, sb->cluster_off);
	mut_off(s, sb->xip_off);
	mut_off(s, sb->comp_off);
	mut_off(s, sb->free_off);
	mut_off(s, sb->image_size);
	for (uint32_t ino = 1; ino < sb->inode_count && budget; ino++) {
		struct xipfs_dinode in;
		uint64_t slot = sb->inode_off + (uint64_t)ino * XIPFS_INODE_SLOT;

		if (xipfs_read_inode(img, ino, &in))
			continue;
		mut_add(s, MK_SLOT, 0, NULL, ino, ino, slot, XIPFS_INODE_SLOT *
			xipfs_inode_slots(&in));
		mut_off(s, slot);
		if (in.extended) {
			for (size_t i = 0; i < MUT_N(mut_ext_fields); i++)
				mut_add(s, MK_INODE, (uint8_t)mut_ext_fields[i].size,
					mut_ext_fields[i].name, ino, 1, slot + mut_ext_fields[i].off,
					mut_ext_fields[i].size);
		} else {
			for (size_t i = 0; i < MUT_N(mut_cpt_fields); i++)
				mut_add(s, MK_INODE, (uint8_t)mut_cpt_fields[i].size,
					mut_cpt_fields[i].name, ino, 0, slot + mut_cpt_fields[i].off,
					mut_cpt_fields[i].size);
		}
		if (in.extended && in.xattr)
			mut_collect_xattrs(s, img, &in);
		if (S_ISDIR(in.mode)) {
			struct xipfs_dir d;

			if (xipfs_dir_open(img, &in, &d))
				continue;
			if (s->ndirs < MUT_N(s->dirs))
				s->dirs[s->ndirs++] = ino;
			mut_off(s, in.data);
			mut_add(s, MK_DIRHDR, 4, "d_count", ino, 0, in.data, 4);
			mut_add(s, MK_DIRHDR, 4, "d_parent", ino, 0, in.data + 4, 4);
			for (uint32_t i = 0; i < d.count && budget; i++, budget--) {
				struct xipfs_dirent_info e;
				uint64_t eo = in.data + XIPFS_DIR_HEADER_SIZE +
					      (uint64_t)i * XIPFS_DIRENT_SIZE;

				for (size_t f = 0; f < MUT_N(mut_dirent_fields); f++)
					mut_add(s, MK_DIRENT, (uint8_t)mut_dirent_fields[f].size,
						mut_dirent_fields[f].name, ino, i,
						eo + mut_dirent_fields[f].off,
						mut_dirent_fields[f].size);
				/* The whole entry: swaps and copies. */
				mut_add(s, MK_DIRENT, 0, NULL, ino, i, eo, XIPFS_DIRENT_SIZE);
				if (!xipfs_dir_entry(img, &d, i, &e))
					mut_add(s, MK_NAME, 0, NULL, ino, i, in.data + e.name_off,
						e.name_len);
			}
		} else if (S_ISLNK(in.mode)) {
			const char *tg;
			size_t tl;

			if (!xipfs_read_link(img, &in, &tg, &tl))
				mut_add(s, MK_SYMLINK, 0, NULL, ino, 0,
					(uint64_t)((const uint8_t *)tg - img->base), tl);
		} else if (S_ISREG(in.mode)) {
			struct xipfs_map m;

			if (xipfs_map_get(img, &in, &m))
				continue;
			mut_off(s, m.off);
			if (m.extents) {
				uint64_t x = m.off + 8;

				mut_add(s, MK_XCOUNT, 8, NULL, ino, 0, m.off, 8);
				for (uint64_t i = 0; i < m.entries && budget; i++, budget--) {
					mut_add(s, MK_XPAGE, 8, NULL, ino, i,
						x + i * XIPFS_MAP_EXTENT_SIZE, 8);
					mut_add(s, MK_XMAP, 8, NULL, ino, i,
						x + i * XIPFS_MAP_EXTENT_SIZE + 8, 8);
				}
				continue;
			}
			for (uint64_t i = 0; i < m.entries && budget; i++, budget--)
				mut_add(s, m.shift ? MK_GROUP : MK_MAP, 8, NULL, ino, i,
					m.off + i * 8, 8);
			if (m.end_run) {
				mut_add(s, MK_ENDRUN, 8, "R", ino, 0, m.off + m.entries * 8, 8);
				mut_add(s, MK_ENDRUN, 8, "entry", ino, 1, m.off + m.entries * 8 + 8, 8);
			}
		}
	}
	if (img->ct.on) {
		const struct xipfs_ctab *ct = &img->ct;

		mut_add(s, MK_CTHDR, 4, "ct_exceptions", 0, 0, sb->cluster_off, 4);
		mut_add(s, MK_CTHDR, 1, "ct_alg", 0, 0, sb->cluster_off + 4, 1);
		for (unsigned int b = 5; b < 8; b++)
			mut_add(s, MK_CTHDR, 1, "ct_reserved", 0, 0, sb->cluster_off + b, 1);
		for (uint64_t j = 0; j < (ct->n + 63) / 64 && j < 1000; j++)
			mut_add(s, MK_CTBASE, 8, NULL, 0, j, ct->base_off + j * 8, 8);
		for (uint64_t k = 0; k < ct->e && k < 20000; k++)
			mut_add(s, MK_CTEXC, 8, NULL, 0, k, ct->exc_off + k * 8, 8);
		for (uint64_t i = 0; i < ct->n && i < 20000; i++)
			mut_add(s, MK_CTLEN, (uint8_t)ct->w, NULL, 0, i, ct->len_off + i * ct->w,
				ct->w);
	}
	for (uint64_t i = 0; i < sb->cluster_count && i < 20000; i++) {
		struct xipfs_cluster_info c;

		if (!img->ct.on)
			mut_add(s, MK_CLUSTER, 8, NULL, 0, i, sb->cluster_off + i * 8, 8);
		if (!xipfs_get_cluster(img, i, &c)) {
			mut_add(s, MK_STREAM, 0, NULL, 0, i, c.off, c.clen);
			mut_off(s, c.off);
		}
	}
	if (sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS) {
		struct xipfs_xattr x;

		mut_off(s, sb->xattr_off);
		for (uint32_t idx = 0; idx < sb->xattr_size / 4 && idx < 20000 &&
		     !xipfs_xattr_shared(img, idx, &x); idx += x.size / 4)
			mut_xentry(s, img, 0, idx, &x);
	}
	if (sb->cluster_count && !img->ct.on)
		mut_add(s, MK_SENTINEL, 8, NULL, 0, sb->cluster_count,
			sb->cluster_off + sb->cluster_count * 8, 8);
	if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM) {
		mut_off(s, sb->csum_off);
		mut_off(s, sb->csum_off + sb->csum_size);
		/* Opening checked the table's place: entries are in the image. */
		for (uint64_t i = 0; i < sb->csum_size / XIPFS_CSUM_SIZE && i < 20000; i++)
			mut_add(s, MK_CSUM, 4, NULL, 0, i,
				sb->csum_off + i * XIPFS_CSUM_SIZE, 4);
	}
	mut_add(s, MK_TRUNC, 0, NULL, 0, 0, 0, s->len);
}

/* An offset of some structure of the image, or one next to it. */
static uint64_t mut_some_off(struct mut_state *s)
{
	uint64_t o = s->noffs ? s->offs[mut_below(s, s->noffs)] : 0;

	switch (mut_below(s, 6)) {
	case 0: return o + 1;
	case 1: return o - 1;
	case 2: return o + 8;
	case 3: return o - 8;
	default: return o;
	}
}

/* A value for an integer field of w bytes that held v. */
static uint64_t mut_value(struct mut_state *s, unsigned int w, uint64_t v, uint64_t self)
{
	uint64_t max = w == 8 ? UINT64_MAX : (1ULL << (8 * w)) - 1;
	uint64_t x;

	switch (mut_below(s, 18)) {
	case 0: x = 0; break;
	case 1: x = 1; break;
	case 2: x = max; break;
	case 3: x = max - 1; break;
	case 4: x = max >> 1; break;
	case 5: x = (max >> 1) + 1; break;
	case 6: x = v + 1; break;
	case 7: x = v - 1; break;
	case 8: x = v << 1; break;
	case 9: x = v ^ (1ULL << mut_below(s, 8 * w)); break;
	case 10: x = mut_rnd(s); break;
	case 11: x = mut_some_off(s); break;
	case 12: x = self; break;		/* points at itself */
	case 13: x = v + s->page_size; break;
	case 14: x = v - s->page_size; break;
	case 15: x = s->sb.image_size; break;
	case 16: x = s->sb.inode_count - mut_below(s, 2); break;
	default: x = v + 2 + mut_below(s, 64); break;
	}
	return x & max;
}

static const uint64_t mut_cindex[] = { 63, 64, 255, 1 };

/* A page map or group entry that meant e. */
static uint64_t mut_pte(struct mut_state *s, uint64_t e)
{
	uint64_t ps = s->page_size, xp0 = s->sb.xip_off / ps;
	uint64_t xpe = (s->sb.xip_off + s->sb.xip_size) / ps, n = s->sb.cluster_count;

	switch (mut_below(s, 16)) {
	case 0: return 0;					/* a hole */
	case 1: return e ^ (mut_below(s, 3) + 1) << XIPFS_PTE_TYPE_SHIFT; /* other type */
	case 2: return e | (1ULL << (56 + mut_below(s, 6)));	/* reserved bit */
	case 3: return XIPFS_PTE_XIP(xpe);			/* one past the XIP area */
	case 4: return XIPFS_PTE_XIP(xp0 ? xp0 - 1 : 0);	/* one before it */
	case 5: return XIPFS_PTE_XIP(s->sb.image_size / ps - mut_below(s, 2));
	case 6: return XIPFS_PTE_XIP(XIPFS_PTE_XIP_MASK - mut_below(s, 2));
	case 7: return XIPFS_PTE_COMP(n - mut_below(s, 2), 0);	/* last, or past the table */
	case 8: return XIPFS_PTE_COMP(n + 1 + mut_below(s, 1000), mut_below(s, 4));
	case 9: return XIPFS_PTE_COMP(e & XIPFS_PTE_CLUSTER_MASK, mut_cindex[mut_below(s, 4)]);
	case 10: return XIPFS_PTE_COMP(XIPFS_PTE_CLUSTER_MASK, 0);
	case 11: return XIPFS_PTE_TAIL(s->sb.meta_size - mut_below(s, 3));
	case 12: return XIPFS_PTE_TAIL(mut_below(s, s->sb.meta_size + 1));
	case 13: return XIPFS_PTE_TAIL(XIPFS_PTE_TAIL_MASK);
	case 14: return e + 1;
	default: return e - 1;
	}
}

/* A cluster descriptor that was d (the sentinel when sentinel). */
static uint64_t mut_desc(struct mut_state *s, uint64_t d, bool sentinel)
{
	uint64_t off = XIPFS_CL_OFF(d);

	switch (mut_below(s, sentinel ? 6 : 13)) {
	case 0: return (d & ~XIPFS_CL_OFF_MASK) | ((off + 1) & XIPFS_CL_OFF_MASK);
	case 1: return (d & ~XIPFS_CL_OFF_MASK) | ((off - 1) & XIPFS_CL_OFF_MASK);
	case 2: return (d & ~XIPFS_CL_OFF_MASK) | (s->sb.comp_size + mut_below(s, 2));
	case 3: return (d & ~XIPFS_CL_OFF_MASK) | XIPFS_CL_OFF_MASK;
	case 4: return d & ~XIPFS_CL_OFF_MASK;		/* offset 0 */
	case 5: return d | (1ULL << (38 + mut_below(s, 26)));	/* a stray bit */
	case 6: return d ^ XIPFS_CL_SHARED;
	case 7: return d | (XIPFS_CL_PAGES_MASK << XIPFS_CL_PAGES_SHIFT); /* 64 pages */
	case 8: return d & ~(XIPFS_CL_PAGES_MASK << XIPFS_CL_PAGES_SHIFT); /* 1 page */
	case 9: return (d & ~(XIPFS_CL_ALG_MASK << XIPFS_CL_ALG_SHIFT)) |
		       (mut_below(s, 8) << XIPFS_CL_ALG_SHIFT);
	case 10: return d | (XIPFS_CL_LAST_MASK << XIPFS_CL_LAST_SHIFT); /* last 64 KiB */
	case 11: return d & ~(XIPFS_CL_LAST_MASK << XIPFS_CL_LAST_SHIFT); /* last 1 byte */
	default: return (d & ~(XIPFS_CL_LAST_MASK << XIPFS_CL_LAST_SHIFT)) |
			((uint64_t)s->page_size << XIPFS_CL_LAST_SHIFT);
	}
}

/* Swap n bytes at a and b (distinct ranges or equal). */
static void mut_swap(struct mut_state *s, uint64_t a, uint64_t b, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint8_t x = s->buf[a + i];

		s->buf[a + i] = s->buf[b + i];
		s->buf[b + i] = x;
	}
}

/* A random target of a kind that has some. */
static const struct mut_target *mut_of_kind(struct mut_state *s, int kind)
{
	size_t n = mut_below(s, s->bykind[kind]), k;

	for (k = 0; k < s->nt; k++)
		if (s->t[k].kind == kind && !n--)
			break;
	return &s->t[k];
}

/* Another target of the same kind and size (for swaps and copies), or t. */
static const struct mut_target *mut_peer(struct mut_state *s, const struct mut_target *t)
{
	for (int tries = 0; tries < 32; tries++) {
		const struct mut_target *u = mut_of_kind(s, t->kind);

		if (u != t && u->len == t->len && u->width == t->width &&
		    (u->off + u->len <= t->off || t->off + t->len <= u->off))
			return u;
	}
	return t;
}

static void mut_field(struct mut_state *s, const struct mut_target *t)
{
	uint8_t *p = s->buf + t->off;
	uint64_t v = mut_ld(p, t->width), x;
	const struct mut_target *u;

	switch (t->kind) {
	case MK_XCOUNT:
		/* None, one too few or many, past the capacity, huge. */
		x = mut_below(s, 2) ? (uint64_t[]){ 0, v - 1, v + 1, v * 2, UINT32_MAX,
						    1ULL << 32 }[mut_below(s, 6)] :
		    mut_value(s, 8, v, t->off);
		break;
	case MK_XPAGE:
		if (mut_below(s, 4) == 0) {
			/* Two extents' first pages swapped: unsorted. */
			u = mut_peer(s, t);
			mut_swap(s, t->off, u->off, 8);
			mut_say(s, "first pages of extents %llu and %llu swapped",
				(unsigned long long)t->idx, (unsigned long long)u->idx);
			return;
		}
		/* Not at 0, onto a neighbour's, past the capacity, far. */
		x = mut_below(s, 2) ? (uint64_t[]){ 0, v - 1, v + 1, v * 2 + 1, UINT32_MAX,
						    1ULL << 32 }[mut_below(s, 6)] :
		    mut_value(s, 8, v, t->off);
		break;
	case MK_MAP:
	case MK_GROUP:
	case MK_ENDRUN:
	case MK_XMAP:
		if (t->kind == MK_ENDRUN && t->idx == 0) {
			x = mut_value(s, 8, v, t->off);
			break;
		}
		if (mut_below(s, 5) == 0) {
			/* Another file's (or page's) entry: shared pages. */
			u = mut_peer(s, t);
			x = mut_ld(s->buf + u->off, 8);
			mut_say(s, "%s %llu of inode %u copied over ", mut_kind_name[u->kind],
				(unsigned long long)u->idx, u->ino);
			break;
		}
		x = mut_pte(s, v);
		break;
	case MK_CLUSTER:
	case MK_SENTINEL:
		if (t->kind == MK_CLUSTER && mut_below(s, 6) == 0) {
			u = mut_peer(s, t);
			mut_swap(s, t->off, u->off, 8);
			mut_say(s, "cluster descriptors %llu and %llu swapped",
				(unsigned long long)t->idx, (unsigned long long)u->idx);
			return;
		}
		x = mut_desc(s, v, t->kind == MK_SENTINEL);
		break;
	case MK_CTEXC:
		switch (mut_below(s, 4)) {
		case 0:		/* out of order, or twice */
			u = mut_peer(s, t);
			if (mut_below(s, 2))
				mut_swap(s, t->off, u->off, 8);
			else
				memcpy(p, s->buf + u->off, 8);
			mut_say(s, "exceptions %llu and %llu swapped or copied",
				(unsigned long long)t->idx, (unsigned long long)u->idx);
			return;
		case 1:		/* another cluster, or none */
			x = (v & XIPFS_CL_DESC_MASK) |
			    (mut_value(s, 8, XIPFS_CL_OFF(v), t->off) & XIPFS_CL_OFF_MASK);
			break;
		default:	/* its descriptor bits */
			x = (mut_desc(s, v, false) & XIPFS_CL_DESC_MASK) | XIPFS_CL_OFF(v);
			break;
		}
		break;
	case MK_CTLEN:
		/* A full cluster's length (stored), one off, or anything. */
		switch (mut_below(s, 3)) {
		case 0: x = (1ULL << s->sb.max_cluster_shift) - 1; break;
		case 1: x = v + (mut_below(s, 2) ? 1 : -1); break;
		default: x = mut_value(s, t->width, v, t->off); break;
		}
		break;
	case MK_CTHDR:
		if (t->width == 1 && t->off % 8 == 4) {
			x = mut_below(s, 9);	/* ct_alg: each algorithm, and past them */
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	case MK_DIRENT:
		if (!strcmp(t->field, "d_ino") && s->ndirs && mut_below(s, 2)) {
			/* A loop: a directory's entry naming the directory or an ancestor. */
			x = mut_below(s, 2) ? t->ino : s->dirs[mut_below(s, s->ndirs)];
			break;
		}
		if (!strcmp(t->field, "d_type")) {
			x = (uint64_t[]){ 0, 1, 2, 4, 6, 8, 10, 12, 14, 255 }[mut_below(s, 10)];
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	case MK_DIRHDR:
		if (t->off % 8 == 4 && mut_below(s, 2)) {	/* d_parent */
			x = mut_below(s, 2) ? t->ino : (s->ndirs ? s->dirs[mut_below(s, s->ndirs)] : 0);
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	case MK_INODE:
		if (!strcmp(t->field, "i_mode") && mut_below(s, 2)) {
			static const uint16_t fmt[] = { 0, 0010000, 0020000, 0040000, 0060000,
							0100000, 0120000, 0140000, 0170000 };
			x = (v & 07777) | fmt[mut_below(s, MUT_N(fmt))];
			break;
		}
		if (!strcmp(t->field, "i_flags")) {
			x = (uint64_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 0x8000, 0xffff }[mut_below(s, 10)];
			break;
		}
		if (!strcmp(t->field, "i_data") && mut_below(s, 3) == 0) {
			/* Keep the pointer, change the group shift. */
			x = (v & ~XIPFS_MAP_SHIFT_MASK) | mut_below(s, 8);
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	case MK_XENTRY:
		if (!strcmp(t->field, "e_prefix")) {
			x = (uint64_t[]){ 0, 1, 2, 3, 4, 5, 6, 255 }[mut_below(s, 8)];
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	case MK_XIDX:
		if (mut_below(s, 2)) {
			/* An index one entry header off, past the table, or huge. */
			x = (uint64_t[]){ v + 1, v - 1, s->sb.xattr_size / 4,
					  s->sb.xattr_size / 4 - 1, 0x3fffffff }[mut_below(s, 5)];
			break;
		}
		x = mut_value(s, t->width, v, t->off);
		break;
	default:
		x = mut_value(s, t->width, v, t->off);
		break;
	}
	mut_st(p, t->width, x);
	mut_say(s, "0x%llx -> 0x%llx", (unsigned long long)v,
		(unsigned long long)mut_ld(p, t->width));
}

/* Byte ranges: slots, whole directory entries, names, targets, streams. */
static void mut_range(struct mut_state *s, const struct mut_target *t)
{
	uint8_t *p = s->buf + t->off;
	const struct mut_target *u;
	uint64_t i = mut_below(s, t->len);

	switch (t->kind) {
	case MK_SLOT:
	case MK_DIRENT:
		switch (mut_below(s, 4)) {
		case 0:
			memset(p, 0, t->len);
			mut_say(s, "zeroed");
			return;
		case 1:
			memset(p, 0xff, t->len);
			mut_say(s, "all ones");
			return;
		case 2:
			u = mut_peer(s, t);
			memcpy(p, s->buf + u->off, t->len);
			mut_say(s, "copied from %llu", (unsigned long long)u->idx);
			return;
		default:
			u = mut_peer(s, t);
			mut_swap(s, t->off, u->off, t->len);
			mut_say(s, "swapped with %llu", (unsigned long long)u->idx);
			return;
		}
	case MK_NAME:
	case MK_XNAME:
	case MK_SYMLINK: {
		static const uint8_t bad[] = { '/', 0, '.', 0xff, '\n', 0x80 };
		uint8_t b;

		if (mut_below(s, 3) == 0 && t->len >= 2) {
			memcpy(p, "..", 2);
			if (t->len > 2)
				p[2] = '/';
			mut_say(s, "starts with \"..\"");
			return;
		}
		b = bad[mut_below(s, MUT_N(bad))];
		p[i] = b;
		mut_say(s, "byte %llu = 0x%02x", (unsigned long long)i, b);
		return;
	}
	case MK_STREAM:
		switch (mut_below(s, 5)) {
		case 0:
			p[i] ^= (uint8_t)(1 + mut_below(s, 255));
			mut_say(s, "byte %llu flipped", (unsigned long long)i);
			return;
		case 1:
			memset(p + i, 0, t->len - i);
			mut_say(s, "zeroed from byte %llu", (unsigned long long)i);
			return;
		case 2:
			memset(p + i, 0xff, t->len - i < 16 ? t->len - i : 16);
			mut_say(s, "16 bytes of 0xff at %llu", (unsigned long long)i);
			return;
		case 3:
			/* A length or offset field of the stream: make it huge. */
			p[i] = 0xff;
			if (i + 1 < t->len)
				p[i + 1] = 0xff;
			mut_say(s, "0xffff at %llu", (unsigned long long)i);
			return;
		default: {
			uint64_t n = mut_below(s, 64) + 1;

			u = mut_of_kind(s, MK_STREAM);
			if (n > t->len - i)
				n = t->len - i;
			if (n > u->len)
				n = u->len;
			memmove(p + i, s->buf + u->off, n);
			mut_say(s, "%llu bytes of cluster %llu copied in at %llu",
				(unsigned long long)n, (unsigned long long)u->idx,
				(unsigned long long)i);
			return;
		}
		}
	default:
		return;
	}
}

static void mut_truncate(struct mut_state *s)
{
	uint64_t ps = s->page_size, n;

	switch (mut_below(s, 6)) {
	case 0: n = s->len - ps; break;
	case 1: n = s->len - 1; break;
	case 2: n = s->len / 2; break;
	case 3: n = s->sb.meta_off + s->sb.meta_size; break;
	case 4: n = XIPFS_SB_SIZE + mut_below(s, ps); break;
	default: n = mut_below(s, s->len); break;
	}
	if (n > s->len)
		n = s->len - 1;
	if (n < XIPFS_SB_SIZE)
		n = XIPFS_SB_SIZE;
	mut_say(s, "%zu -> %llu bytes", s->len, (unsigned long long)n);
	s->len = n;
}

static void mut_one(struct mut_state *s)
{
	const struct mut_target *t;
	int kind;

	/* A kind first, so that rare structures get their share. */
	/* Truncation at half weight: most of it is refused at once. */
	do
		kind = (int)mut_below(s, MK_MAX);
	while (!s->bykind[kind] || (kind == MK_TRUNC && mut_below(s, 2)));
	t = mut_of_kind(s, kind);
	mut_say(s, "%s", mut_kind_name[kind]);
	if (t->ino)
		mut_say(s, " (inode %u)", t->ino);
	if (kind == MK_INODE)
		mut_say(s, " %s %s", t->idx ? "extended" : "compact", t->field);
	else if (kind == MK_SB || kind == MK_DIRHDR || (t->field && t->width))
		mut_say(s, " %s", t->field);
	if (kind != MK_SB && kind != MK_INODE && kind != MK_DIRHDR && kind != MK_TRUNC)
		mut_say(s, " #%llu", (unsigned long long)t->idx);
	mut_say(s, " @%llu: ", (unsigned long long)t->off);
	if (kind == MK_TRUNC)
		mut_truncate(s);
	else if (t->width)
		mut_field(s, t);
	else
		mut_range(s, t);
	if (kind == MK_CSUM && s->nkeep < MUT_N(s->keep)) {
		s->keep[s->nkeep].off = t->off;
		memcpy(s->keep[s->nkeep++].v, s->buf + t->off, 4);
	}
}

/*
 * Mutate the valid image buf[0, *len) in place (it may get shorter), with
 * its checksums recomputed.  what (may be NULL) receives the description.
 * Returns 0, or -1 if the library cannot open the image (nothing done).
 */
static int xipfs_mutate(uint8_t *buf, size_t *len, uint64_t seed, char *what, size_t whatlen)
{
	struct mut_state s = { .buf = buf, .len = *len, .what = what, .whatlen = whatlen };
	struct xipfs_image *img;
	unsigned int n;

	if (what && whatlen)
		what[0] = '\0';
	if (xipfs_image_open_mem(buf, *len, &img, NULL, 0))
		return -1;
	/*
	 * The image's own checksum goes in too: the same seed picks other
	 * structures in other bases, not the same slot of each.
	 */
	s.rng = seed * 0x2545f4914f6cdd1dULL + img->sb.checksum;
	mut_collect(&s, img);
	xipfs_image_close(img);
	/* Mostly one change; sometimes a few, which interact. */
	n = (unsigned int[]){ 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 }[mut_below(&s, 10)];
	for (unsigned int i = 0; i < n && s.nt; i++) {
		if (i)
			mut_say(&s, "; ");
		mut_one(&s);
	}
	xipfs_fix_checksums(buf, s.len);
	if (s.nkeep) {
		/* A bad data checksum: the readers' EIO path, not a bad table. */
		for (unsigned int i = 0; i < s.nkeep; i++)
			if (s.keep[i].off + 4 <= s.len)
				memcpy(buf + s.keep[i].off, s.keep[i].v, 4);
		xipfs_fix_meta_checksums(buf, s.len);
	}
	*len = s.len;
	free(s.t);
	free(s.offs);
	return 0;
}

#endif
