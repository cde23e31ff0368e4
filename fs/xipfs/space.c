// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: free space of a read-write mount.
 *
 * Nothing about free space is stored on the medium.  At a read-write mount
 * the page maps are walked once: a page of the data region is used by an
 * XIP entry, by a page map that moved there, or by the live clusters that
 * overlap it (a cluster is live while a COMP entry names it); every other
 * page is free.  So a power cut between writing a page and publishing it,
 * or between unpublishing a page and reusing it, cannot leak space or hand
 * it out twice: the next mount simply counts again.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sort.h>
#include "internal.h"

/* The free-space map, space_lock held; NULL when not read-write. */
static struct xipfs_space *xipfs_space(struct super_block *sb)
{
	lockdep_assert_held(&XIPFS_SB(sb)->space_lock);
	return XIPFS_SB(sb)->space;
}

/* Index of the data-region page holding image byte @off. */
static u64 xipfs_space_idx(struct xipfs_space *sp, u64 off)
{
	return (off >> PAGE_SHIFT) - sp->first;
}

enum xipfs_walk_pass { XIPFS_COUNT_REFS, XIPFS_MARK_OWNED, XIPFS_RECOVER };

/*
 * Read inode @ino for a walk: its slots, or a negative errno.  @di->i_mode
 * says whether it is a regular file; for one, the map is checked as iget
 * checks it, and *@form what its map is besides its shift.
 */
static int xipfs_walk_inode(struct super_block *sb, u64 ino,
			    struct xipfs_inode *di, struct xipfs_map_form *form)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	int slots;
	u64 size, data;
	u32 cap;

	slots = xipfs_read_inode(sb, ino, di);
	if (slots < 0) {
		xipfs_err(sb, "inode %llu: bad inode", ino);
		return slots;
	}
	if (!S_ISREG(le16_to_cpu(di->i_mode)))
		return slots;
	size = le64_to_cpu(di->i_size);
	data = le64_to_cpu(di->i_data);
	cap = le32_to_cpu(di->i_map_cap);
	if (size > (u64)cap << PAGE_SHIFT ||
	    !xipfs_map_ok(sbi, data, cap, le16_to_cpu(di->i_flags), form)) {
		xipfs_err(sb, "inode %llu: bad page map (%u pages at %llu)",
			  ino, cap, data);
		return -EFSCORRUPTED;
	}
	return slots;
}

/*
 * The metadata area's structures, for the check that a read-write mount
 * stores only into bytes nothing else uses.
 */
enum xipfs_meta_kind {
	XIPFS_META_INODES,	/* written: every inode's attributes */
	XIPFS_META_CLUSTERS,
	XIPFS_META_DIR,
	XIPFS_META_SYMLINK,
	XIPFS_META_TAIL,
	XIPFS_META_MAP,		/* written: entries change in place */
	XIPFS_META_GROUPED,	/* read only: map_grow copies it elsewhere */
};

static const char * const xipfs_meta_names[] = {
	[XIPFS_META_INODES]	= "the inode table",
	[XIPFS_META_CLUSTERS]	= "the cluster table",
	[XIPFS_META_DIR]	= "directory block",
	[XIPFS_META_SYMLINK]	= "symlink target",
	[XIPFS_META_TAIL]	= "tail data",
	[XIPFS_META_MAP]	= "page map",
	[XIPFS_META_GROUPED]	= "grouped page map",
};

struct xipfs_meta_range {
	u64 start, end;		/* image bytes [start, end) */
	u32 ino;		/* owner; 0 for the two tables */
	u8 kind;		/* enum xipfs_meta_kind */
};

struct xipfs_meta_book {
	struct xipfs_meta_range *r;
	size_t n, cap;		/* ranges found; room in r (0: count only) */
};

static bool xipfs_meta_written(const struct xipfs_meta_range *r)
{
	return r->kind == XIPFS_META_INODES || r->kind == XIPFS_META_MAP;
}

static bool xipfs_meta_is_map(const struct xipfs_meta_range *r)
{
	return r->kind == XIPFS_META_MAP || r->kind == XIPFS_META_GROUPED;
}

static void xipfs_meta_add(struct xipfs_meta_book *bk, u64 start, u64 len,
			   u64 ino, enum xipfs_meta_kind kind)
{
	if (!len)
		return;
	if (bk->n < bk->cap)
		bk->r[bk->n] = (struct xipfs_meta_range){
			.start = start, .end = start + len, .ino = ino,
			.kind = kind,
		};
	bk->n++;
}

static int xipfs_meta_cmp(const void *a, const void *b)
{
	const struct xipfs_meta_range *x = a, *y = b;

	/* Then by end and owner: the same message for the same image. */
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void xipfs_meta_describe(char *buf, size_t size,
				const struct xipfs_meta_range *r)
{
	if (r->ino)
		snprintf(buf, size, "inode %u's %s", r->ino,
			 xipfs_meta_names[r->kind]);
	else
		snprintf(buf, size, "%s", xipfs_meta_names[r->kind]);
}

static int xipfs_meta_overlap(struct super_block *sb,
			      const struct xipfs_meta_range *a,
			      const struct xipfs_meta_range *b)
{
	char da[48], db[48];

	/* Name an inode first when one of the two has one. */
	if (!a->ino && b->ino)
		swap(a, b);
	xipfs_meta_describe(da, sizeof(da), a);
	xipfs_meta_describe(db, sizeof(db), b);
	xipfs_err(sb, "%s [%llu, +%llu) overlaps %s [%llu, +%llu): cannot mount read-write",
		  da, a->start, a->end - a->start, db, b->start,
		  b->end - b->start);
	return -EFSCORRUPTED;
}

/*
 * Sorted by start: each range against the one reaching furthest among
 * those before it, of the kinds it may not share bytes with.  What a
 * read-write mount stores into (the inode table, per-page maps) shares
 * bytes with nothing; maps share none with each other either, which
 * bounds the page walks by the size of the image.
 */
static int xipfs_meta_check(struct super_block *sb, struct xipfs_meta_book *bk)
{
	const struct xipfs_meta_range *any = NULL, *wr = NULL, *map = NULL;
	const struct xipfs_meta_range *r;
	size_t i;

	sort(bk->r, bk->n, sizeof(*bk->r), xipfs_meta_cmp, NULL);
	for (i = 0; i < bk->n; i++) {
		r = &bk->r[i];
		if (xipfs_meta_written(r) && any && r->start < any->end)
			return xipfs_meta_overlap(sb, r, any);
		if (wr && r->start < wr->end)
			return xipfs_meta_overlap(sb, r, wr);
		if (xipfs_meta_is_map(r) && map && r->start < map->end)
			return xipfs_meta_overlap(sb, r, map);
		if (!any || r->end > any->end)
			any = r;
		if (xipfs_meta_written(r) && (!wr || r->end > wr->end))
			wr = r;
		if (xipfs_meta_is_map(r) && (!map || r->end > map->end))
			map = r;
	}
	return 0;
}

/*
 * Book the page maps of every regular file: those in the data region in
 * sp->users (once: when @bk->r is there to fill), the metadata area's
 * structures in @bk.  Before any walk over the entries: a map that two inodes share
 * would be walked once per inode.
 */
static int xipfs_space_book_maps(struct super_block *sb,
				 struct xipfs_meta_book *bk)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp = sbi->space;
	u64 ino, size, data, len, npages, e, idx, i, n;
	struct xipfs_map_form form;
	struct xipfs_inode di;
	unsigned int shift;
	int slots;
	u32 cap;

	bk->n = 0;
	xipfs_meta_add(bk, sbi->inode_off,
		       (u64)sbi->inode_count * XIPFS_INODE_SLOT, 0,
		       XIPFS_META_INODES);
	if (sbi->cluster_count)
		xipfs_meta_add(bk, sbi->cluster_off,
			       sbi->ct_len_bytes ?
			       xipfs_ct_size(sbi->cluster_count,
					     sbi->ct_exceptions,
					     sbi->max_cluster_shift) :
			       (sbi->cluster_count + 1) * XIPFS_CLUSTER_SIZE,
			       0, XIPFS_META_CLUSTERS);

	for (ino = 1; ino < sbi->inode_count; ino += slots) {
		slots = xipfs_walk_inode(sb, ino, &di, &form);
		if (slots < 0)
			return slots;
		cond_resched();
		size = le64_to_cpu(di.i_size);
		data = le64_to_cpu(di.i_data);
		switch (le16_to_cpu(di.i_mode) & S_IFMT) {
		case S_IFDIR:
			/* Elsewhere iget refuses it: nothing stores there. */
			if (xipfs_meta(sbi, data, size))
				xipfs_meta_add(bk, data, size, ino,
					       XIPFS_META_DIR);
			continue;
		case S_IFLNK:
			if (xipfs_meta(sbi, data, size))
				xipfs_meta_add(bk, data, size, ino,
					       XIPFS_META_SYMLINK);
			continue;
		case S_IFREG:
			break;
		default:
			continue;
		}
		cap = le32_to_cpu(di.i_map_cap);
		shift = XIPFS_MAP_SHIFT(data);
		data = XIPFS_MAP_OFF(data);
		if (shift) {
			/* map_ok: the groups and an end run's two words. */
			len = xipfs_map_groups(cap, shift) * 8;
			if (form.start != XIPFS_MAP_NO_RUN)
				len += 16;
			xipfs_meta_add(bk, data, len, ino, XIPFS_META_GROUPED);
		} else if (xipfs_meta(sbi, data, (u64)cap * 8)) {
			xipfs_meta_add(bk, data, (u64)cap * 8, ino,
				       XIPFS_META_MAP);
		} else if (cap && bk->r) {
			/* A moved map: whole pages of the data region (map_ok). */
			idx = xipfs_space_idx(sp, data);
			n = DIV_ROUND_UP((u64)cap * 8, PAGE_SIZE);
			for (i = 0; i < n; i++) {
				if (sp->users[idx + i]) {
					xipfs_err(sb, "inode %llu: page map on a page used twice",
						  ino);
					return -EFSCORRUPTED;
				}
				sp->users[idx + i] = XIPFS_PAGE_OWNED;
			}
		}

		/* Only the last page may be TAIL (page_lookup). */
		npages = DIV_ROUND_UP(size, PAGE_SIZE);
		if (!npages)
			continue;
		e = xipfs_map_derive(sbi, sbi->virt + data, shift, &form,
				     npages - 1);
		if (XIPFS_PTE_TYPE(e) != XIPFS_PTE_TYPE_TAIL)
			continue;
		data = sbi->meta_off + (e & XIPFS_PTE_TAIL_MASK);
		len = size - ((npages - 1) << PAGE_SHIFT);
		if (xipfs_meta(sbi, data, len))
			xipfs_meta_add(bk, data, len, ino, XIPFS_META_TAIL);
	}
	return 0;
}

/*
 * Book the page maps: count the metadata ranges, then fill and check
 * them.  The ranges cost 24 bytes per directory, symlink, map and tail:
 * at most about what the metadata itself takes, and only during the mount.
 */
static int xipfs_space_book(struct super_block *sb)
{
	struct xipfs_meta_book bk = {};
	int err;

	err = xipfs_space_book_maps(sb, &bk);
	if (err)
		return err;
	bk.cap = bk.n;
	/* A crafted image may ask for more than kvmalloc() gives: no WARN. */
	bk.r = kvmalloc_array(bk.cap, sizeof(*bk.r),
			      GFP_KERNEL | __GFP_NOWARN);
	if (!bk.r)
		return -ENOMEM;
	err = xipfs_space_book_maps(sb, &bk);
	if (!err && bk.n != bk.cap) {
		/* The image changed between the two passes. */
		xipfs_err(sb, "metadata changed during the mount");
		err = -EFSCORRUPTED;
	}
	if (!err)
		err = xipfs_meta_check(sb, &bk);
	kvfree(bk.r);
	return err;
}

/*
 * One pass over every regular file's page map.  COUNT_REFS counts the COMP
 * entries naming each cluster; MARK_OWNED books the pages of XIP entries,
 * which nothing else may use; RECOVER clears the entries past EOF that a
 * power cut left behind (readers ignore them; a writer must not find them
 * when the file grows).  The maps do not share bytes (xipfs_space_book()),
 * so a pass costs at most one step per 8 bytes of per-page map and per
 * page of a grouped one (128 per 8 bytes): linear in the image.
 */
static int xipfs_space_walk(struct super_block *sb, enum xipfs_walk_pass pass,
			    u64 *stale)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp = sbi->space;
	u64 ino;
	int slots;

	/* Slot by slot: an extended inode's second slot is not an inode. */
	for (ino = 1; ino < sbi->inode_count; ino += slots) {
		u64 size, data, npages, i, idx, end;
		struct xipfs_inode di;
		struct xipfs_map_form form;
		unsigned int shift;
		__le64 *map;
		u32 cap;

		slots = xipfs_walk_inode(sb, ino, &di, &form);
		if (slots < 0)
			return slots;
		cond_resched();
		if (!S_ISREG(le16_to_cpu(di.i_mode)))
			continue;
		size = le64_to_cpu(di.i_size);
		data = le64_to_cpu(di.i_data);
		cap = le32_to_cpu(di.i_map_cap);
		npages = DIV_ROUND_UP(size, PAGE_SIZE);
		shift = XIPFS_MAP_SHIFT(data);
		data = XIPFS_MAP_OFF(data);
		map = sbi->virt + data;

		/* Nothing changes a grouped map: no stale entries to clear. */
		end = shift ? npages : cap;
		for (i = 0; i < end; i++) {
			u64 e = xipfs_map_derive(sbi, map, shift, &form, i), v;

			if (!(i & 4095)) {
				/* Still long on a large image: let it be killed. */
				if (fatal_signal_pending(current))
					return -EINTR;
				cond_resched();
			}
			if (i >= npages) {
				if (e && pass == XIPFS_RECOVER) {
					WRITE_ONCE(map[i], 0);
					xipfs_persist(&map[i], 8);
					(*stale)++;
				}
				continue;
			}
			switch (XIPFS_PTE_TYPE(e)) {
			case XIPFS_PTE_TYPE_COMP:
				if (pass != XIPFS_COUNT_REFS)
					break;
				v = e & XIPFS_PTE_CLUSTER_MASK;
				if (v >= sbi->cluster_count ||
				    sp->cl_refs[v] == U32_MAX) {
					xipfs_err(sb, "inode %llu: page %llu: bad cluster %llu",
						  ino, i, v);
					return -EFSCORRUPTED;
				}
				sp->cl_refs[v]++;
				break;
			case XIPFS_PTE_TYPE_XIP:
				if (pass != XIPFS_MARK_OWNED)
					break;
				v = (e & XIPFS_PTE_XIP_MASK) << PAGE_SHIFT;
				if (e & XIPFS_PTE_RESERVED_MASK ||
				    !xipfs_in_data(sbi, v, PAGE_SIZE)) {
					xipfs_err(sb, "inode %llu: page %llu: XIP page outside the data region",
						  ino, i);
					return -EFSCORRUPTED;
				}
				idx = xipfs_space_idx(sp, v);
				if (sp->users[idx]) {
					xipfs_err(sb, "inode %llu: page %llu: image page %llu used twice",
						  ino, i, v >> PAGE_SHIFT);
					return -EFSCORRUPTED;
				}
				sp->users[idx] = XIPFS_PAGE_OWNED;
				break;
			}
		}
	}
	return 0;
}

/* Book (@delta 1) or give back (-1) the pages under live cluster @idx. */
static int xipfs_space_cluster(struct super_block *sb, struct xipfs_space *sp,
			       u64 idx, int delta)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_cl c;
	u64 first, last, p;
	int err;

	err = xipfs_get_cluster(sb, idx, &c);
	if (err)
		return err;
	/* The pages its compressed bytes touch, in the data region. */
	if (!xipfs_in_data(sbi, c.off, c.clen))
		return -EFSCORRUPTED;
	first = xipfs_space_idx(sp, c.off);
	last = xipfs_space_idx(sp, c.off + c.clen - 1);
	for (p = first; p <= last; p++) {
		if (delta > 0) {
			if (sp->users[p] >= XIPFS_PAGE_OWNED - 1)
				return -EFSCORRUPTED;
			sp->users[p]++;
		} else if (!WARN_ON_ONCE(!sp->users[p] ||
					 sp->users[p] == XIPFS_PAGE_OWNED)) {
			if (!--sp->users[p]) {
				__clear_bit(p, sp->busy);
				sp->nfree++;
			}
		}
	}
	return 0;
}

void xipfs_space_free(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;

	spin_lock(&sbi->space_lock);
	sp = sbi->space;
	sbi->space = NULL;
	spin_unlock(&sbi->space_lock);
	if (!sp)
		return;
	kvfree(sp->users);
	kvfree(sp->busy);
	kvfree(sp->cl_refs);
	kfree(sp);
}

/*
 * Count who uses each page of the data region, then clear stale entries.
 * Refuses (-EFSCORRUPTED) an image whose maps use a page twice: writing to
 * it would corrupt another file.
 */
int xipfs_space_build(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;
	u64 i;
	int err;

	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return -ENOMEM;
	sp->first = sbi->xip_off >> PAGE_SHIFT;
	sp->npages = (sbi->image_size - sbi->xip_off) >> PAGE_SHIFT;
	/* Published at once: the walk reaches it through sbi. */
	spin_lock(&sbi->space_lock);
	sbi->space = sp;
	spin_unlock(&sbi->space_lock);
	/* kvcalloc() takes size_t counts: never cut one (xipfs_fits_size_t). */
	if (!xipfs_fits_size_t(sp->npages) ||
	    !xipfs_fits_size_t(sbi->cluster_count)) {
		xipfs_err(sb, "image too large for this kernel's free-space map");
		err = -EFBIG;
		goto fail;
	}
	sp->users = kvcalloc(sp->npages, sizeof(*sp->users), GFP_KERNEL);
	sp->busy = kvcalloc(BITS_TO_LONGS(sp->npages), sizeof(long),
			    GFP_KERNEL);
	if (sbi->cluster_count)
		sp->cl_refs = kvcalloc(sbi->cluster_count,
				       sizeof(*sp->cl_refs), GFP_KERNEL);
	err = -ENOMEM;
	if (!sp->users || !sp->busy ||
	    (sbi->cluster_count && !sp->cl_refs))
		goto fail;

	err = xipfs_space_book(sb);
	if (err)
		goto fail;
	err = xipfs_space_walk(sb, XIPFS_COUNT_REFS, NULL);
	if (err)
		goto fail;
	for (i = 0; i < sbi->cluster_count; i++) {
		if (!sp->cl_refs[i])
			continue;
		err = xipfs_space_cluster(sb, sp, i, 1);
		if (err) {
			xipfs_err(sb, "cluster %llu: bad or overlapping descriptor",
				  i);
			goto fail;
		}
	}
	err = xipfs_space_walk(sb, XIPFS_MARK_OWNED, NULL);
	if (err)
		goto fail;
	/* The walk counted users; searches run over the busy bitmap. */
	for (i = 0; i < sp->npages; i++) {
		if (sp->users[i])
			__set_bit(i, sp->busy);
		else
			sp->nfree++;
	}
	return 0;
fail:
	xipfs_space_free(sb);
	return err;
}

/* After the state says "modified": clear what a power cut left. */
int xipfs_space_recover(struct super_block *sb)
{
	u64 stale = 0;
	int err;

	err = xipfs_space_walk(sb, XIPFS_RECOVER, &stale);
	if (!err && stale)
		xipfs_info(sb, "cleared %llu stale page map entries past EOF",
			   stale);
	return err;
}

/* Free pages not promised to dirty folios; 0 when not read-write. */
u64 xipfs_space_free_pages(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;
	u64 n = 0;

	spin_lock(&sbi->space_lock);
	sp = xipfs_space(sb);
	if (sp && sp->nfree > sbi->reserved)
		n = sp->nfree - sbi->reserved;
	spin_unlock(&sbi->space_lock);
	return n;
}

/*
 * The searches below hold space_lock, so they go a word of the busy bitmap
 * at a time: a full scan of a 1 GiB region is 4096 words, not 262144 pages.
 */

/* The highest free page below @end, or @end when there is none. */
static u64 xipfs_space_prev_free(const unsigned long *busy, u64 end)
{
	u64 w = end / BITS_PER_LONG;
	unsigned long bits;

	if (end % BITS_PER_LONG) {
		bits = ~busy[w] & BITMAP_LAST_WORD_MASK(end);
		if (bits)
			return w * BITS_PER_LONG + __fls(bits);
	}
	while (w-- > 0) {
		bits = ~busy[w];
		if (bits)
			return w * BITS_PER_LONG + __fls(bits);
	}
	return end;
}

/* The last run of @n free pages, searching down from the region's end. */
static bool xipfs_space_find_top(struct xipfs_space *sp, u64 n, u64 *start)
{
	u64 end = sp->npages, last, used;

	while (end >= n) {
		last = xipfs_space_prev_free(sp->busy, end);
		if (last == end)
			return false;
		/* The free run ends at last; it starts after a busy page. */
		used = find_last_bit(sp->busy, last);
		used = used == last ? 0 : used + 1;
		if (last + 1 - used >= n) {
			*start = last + 1 - n;
			return true;
		}
		end = used;
	}
	return false;
}

/* The next free page from the hint, once around. */
static bool xipfs_space_find_next(struct xipfs_space *sp, u64 *start)
{
	u64 i = sp->hint < sp->npages ? sp->hint : 0;

	i = find_next_zero_bit(sp->busy, sp->npages, i);
	if (i >= sp->npages)
		i = find_first_zero_bit(sp->busy, sp->npages);
	if (i >= sp->npages)
		return false;
	*start = i;
	sp->hint = i + 1;
	return true;
}

/*
 * Allocate @n contiguous free pages; their image page number in *@pgno.
 * @reserved: the caller holds a reservation for this one page (writeback
 * of a dirty cache page) and gets it even when the rest is promised.
 * @map: the pages are for a page map, which needs a contiguous run: maps
 * come from the top of the region and data pages (one at a time), next
 * fit, from the bottom, so that rewriting data does not cut up the runs
 * maps need.
 * -EROFS when the mount is not (or no longer) read-write.
 */
int xipfs_space_alloc(struct super_block *sb, u64 n, bool reserved, bool map,
		      u64 *pgno)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;
	bool found;
	u64 start, i;
	int err = -ENOSPC;

	/* Only page maps need runs: data is written a page at a time. */
	if (WARN_ON_ONCE(!n || (n != 1 && (reserved || !map))))
		return -EINVAL;
	spin_lock(&sbi->space_lock);
	sp = xipfs_space(sb);
	if (!sp) {
		err = -EROFS;
		goto out;
	}
	if (reserved) {
		if (WARN_ON_ONCE(!sbi->reserved))
			goto out;
	} else if (sp->nfree < n || sp->nfree - n < sbi->reserved) {
		goto out;
	}
	found = map ? xipfs_space_find_top(sp, n, &start) :
		      xipfs_space_find_next(sp, &start);
	if (!found)
		goto out;
	if (reserved)
		sbi->reserved--;
	for (i = start; i < start + n; i++) {
		sp->users[i] = XIPFS_PAGE_OWNED;
		__set_bit(i, sp->busy);
	}
	sp->nfree -= n;
	*pgno = sp->first + start;
	err = 0;
out:
	spin_unlock(&sbi->space_lock);
	return err;
}

/* Give back @n pages from image page @pgno: space_lock held. */
static void xipfs_space_release_locked(struct super_block *sb,
				       struct xipfs_space *sp, u64 pgno, u64 n)
{
	u64 i;

	lockdep_assert_held(&XIPFS_SB(sb)->space_lock);
	for (i = pgno - sp->first; i < pgno - sp->first + n; i++) {
		if (WARN_ON_ONCE(sp->users[i] != XIPFS_PAGE_OWNED))
			continue;
		sp->users[i] = 0;
		__clear_bit(i, sp->busy);
		sp->nfree++;
	}
}

/*
 * Give back @n pages from image page @pgno (an XIP page or a moved map).
 * Not read-write any more: nothing to do, the next read-write mount counts
 * again.
 */
void xipfs_space_release(struct super_block *sb, u64 pgno, u64 n)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;

	spin_lock(&sbi->space_lock);
	sp = xipfs_space(sb);
	if (sp)
		xipfs_space_release_locked(sb, sp, pgno, n);
	spin_unlock(&sbi->space_lock);
}

/*
 * An entry stopped naming what it named: give back its XIP page, or drop
 * its cluster reference (the last one frees the cluster's pages).
 */
void xipfs_space_put_entry(struct super_block *sb, u64 e)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;
	u64 v;

	spin_lock(&sbi->space_lock);
	sp = xipfs_space(sb);
	if (!sp)
		goto out;
	switch (XIPFS_PTE_TYPE(e)) {
	case XIPFS_PTE_TYPE_XIP:
		xipfs_space_release_locked(sb, sp, e & XIPFS_PTE_XIP_MASK, 1);
		break;
	case XIPFS_PTE_TYPE_COMP:
		v = e & XIPFS_PTE_CLUSTER_MASK;
		if (!WARN_ON_ONCE(v >= sbi->cluster_count || !sp->cl_refs[v]) &&
		    !--sp->cl_refs[v])
			xipfs_space_cluster(sb, sp, v, -1);
		break;
	}
out:
	spin_unlock(&sbi->space_lock);
}

/* Pages promised to dirty folios' writeback. */
u64 xipfs_space_reserved(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 n;

	spin_lock(&sbi->space_lock);
	n = sbi->reserved;
	spin_unlock(&sbi->space_lock);
	return n;
}

/* Promise one page to a dirty cache page's writeback. */
int xipfs_space_reserve(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_space *sp;
	int err = -ENOSPC;

	spin_lock(&sbi->space_lock);
	sp = xipfs_space(sb);
	if (!sp) {
		err = -EROFS;
	} else if (sp->nfree > sbi->reserved) {
		sbi->reserved++;
		err = 0;
	}
	spin_unlock(&sbi->space_lock);
	return err;
}

void xipfs_space_unreserve(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	spin_lock(&sbi->space_lock);
	if (!WARN_ON_ONCE(!sbi->reserved))
		sbi->reserved--;
	spin_unlock(&sbi->space_lock);
}
