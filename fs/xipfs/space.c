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
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
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
 * One pass over every regular file's page map.  COUNT_REFS counts the COMP
 * entries naming each cluster; MARK_OWNED books the pages of XIP entries and
 * moved maps, which nothing else may use; RECOVER clears the entries past
 * EOF that a power cut left behind (readers ignore them; a writer must not
 * find them when the file grows).
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
		u64 size, data, npages, i, idx, n, end;
		struct xipfs_inode di;
		struct xipfs_end_run run;
		unsigned int shift;
		__le64 *map;
		u32 cap;

		slots = xipfs_read_inode(sb, ino, &di);
		if (slots < 0) {
			xipfs_err(sb, "inode %llu: bad inode", ino);
			return slots;
		}
		cond_resched();
		if (!S_ISREG(le16_to_cpu(di.i_mode)))
			continue;
		size = le64_to_cpu(di.i_size);
		data = le64_to_cpu(di.i_data);
		cap = le32_to_cpu(di.i_map_cap);
		if (size > (u64)cap << PAGE_SHIFT ||
		    !xipfs_map_ok(sbi, data, cap, le16_to_cpu(di.i_flags), &run)) {
			xipfs_err(sb, "inode %llu: bad page map (%u pages at %llu)",
				  ino, cap, data);
			return -EFSCORRUPTED;
		}
		npages = DIV_ROUND_UP(size, PAGE_SIZE);
		shift = XIPFS_MAP_SHIFT(data);
		data = XIPFS_MAP_OFF(data);
		map = sbi->virt + data;

		/* A grouped map lies in the metadata area: map_ok. */
		if (pass == XIPFS_MARK_OWNED && cap && !shift &&
		    !xipfs_meta(sbi, data, (u64)cap * 8)) {
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

		/* Nothing changes a grouped map: no stale entries to clear. */
		end = shift ? npages : cap;
		for (i = 0; i < end; i++) {
			u64 e = le64_to_cpu(READ_ONCE(map[i >> shift])), v;

			if (shift && i >= run.start)
				e = xipfs_pte_in_group(run.entry, i - run.start,
						       sbi->cshift);
			else if (shift)
				e = xipfs_pte_in_group(e, i & ((1U << shift) - 1),
						       sbi->cshift);
			if (!(i & 4095))
				cond_resched();
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
			if (!--sp->users[p])
				sp->nfree++;
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
	sp->users = kvcalloc(sp->npages, sizeof(*sp->users), GFP_KERNEL);
	if (sbi->cluster_count)
		sp->cl_refs = kvcalloc(sbi->cluster_count,
				       sizeof(*sp->cl_refs), GFP_KERNEL);
	err = -ENOMEM;
	if (!sp->users || (sbi->cluster_count && !sp->cl_refs))
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
	for (i = 0; i < sp->npages; i++)
		if (!sp->users[i])
			sp->nfree++;
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

/* The last run of @n free pages, searching down from the region's end. */
static bool xipfs_space_find_top(struct xipfs_space *sp, u64 n, u64 *start)
{
	u64 i, run = 0;

	for (i = sp->npages; i-- > 0;) {
		if (sp->users[i]) {
			run = 0;
			continue;
		}
		if (++run == n) {
			*start = i;
			return true;
		}
	}
	return false;
}

/* The next run of @n free pages from the hint, once around. */
static bool xipfs_space_find_next(struct xipfs_space *sp, u64 n, u64 *start)
{
	u64 i, run = 0, tried;

	i = sp->hint < sp->npages ? sp->hint : 0;
	*start = i;
	for (tried = 0; tried < sp->npages + n; tried++, i++) {
		if (i == sp->npages) {
			i = 0;
			run = 0;
		}
		if (sp->users[i]) {
			run = 0;
			continue;
		}
		if (!run)
			*start = i;
		if (++run == n) {
			sp->hint = *start + n;
			return true;
		}
	}
	return false;
}

/*
 * Allocate @n contiguous free pages; their image page number in *@pgno.
 * @reserved: the caller holds a reservation for this one page (writeback
 * of a dirty cache page) and gets it even when the rest is promised.
 * @map: the pages are for a page map, which needs a contiguous run: maps
 * come from the top of the region and data pages, next fit, from the
 * bottom, so that rewriting data does not cut up the runs maps need.
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

	if (WARN_ON_ONCE(!n || (reserved && n != 1)))
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
		      xipfs_space_find_next(sp, n, &start);
	if (!found)
		goto out;
	if (reserved)
		sbi->reserved--;
	for (i = start; i < start + n; i++)
		sp->users[i] = XIPFS_PAGE_OWNED;
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

	for (i = pgno - sp->first; i < pgno - sp->first + n; i++) {
		if (WARN_ON_ONCE(sp->users[i] != XIPFS_PAGE_OWNED))
			continue;
		sp->users[i] = 0;
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
