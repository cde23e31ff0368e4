// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: page maps.  Every reader of a file page goes through
 * xipfs_page_lookup(), which reads the page's entry (xipfs_map_read(): for
 * a grouped map, the entry derived from its group's or its end run's by
 * the format header's xipfs_map_slot(); for an extent map, from its
 * extent's) and checks what it names; the
 * mount-time walk reads the maps of inodes not in memory with
 * xipfs_map_derive().  Where a map may be is checked once, at iget and at
 * the mount-time walk (xipfs_map_ok()).  A read-write mount changes an
 * entry with one aligned store (xipfs_store_entry()), after
 * xipfs_map_grow() has made the map per-page and large enough.
 */
#include <linux/mm.h>
#include "internal.h"

/*
 * Is a page map for @cap pages at i_data @data where one may be: in the
 * metadata area (as mkfs puts it), or, if it has one entry per page, in
 * whole pages of the data region (where a read-write mount moves a map
 * that must grow or stop being grouped)?  Sets *@form.  An extent map's
 * order is not checked here: a lookup that finds no extent for a page
 * gets an invalid entry, which xipfs_page_lookup() refuses.
 */
bool xipfs_map_ok(struct xipfs_sb_info *sbi, u64 data, u32 cap, u16 flags,
		  struct xipfs_map_form *form)
{
	unsigned int shift = XIPFS_MAP_SHIFT(data);
	u64 off = XIPFS_MAP_OFF(data), ngroups, start, n;
	const __le64 *p;

	form->start = XIPFS_MAP_NO_RUN;
	form->entry = 0;
	form->extents = 0;
	if (flags & XIPFS_INODE_EXTENT_MAP) {
		if (!(sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS) ||
		    shift || (flags & XIPFS_INODE_END_RUN))
			return false;
		p = xipfs_meta(sbi, off, 8);
		if (!p)
			return false;
		n = le64_to_cpu(READ_ONCE(*p));
		if (!n || n > cap || !xipfs_meta(sbi, off, xipfs_extent_map_size(n)))
			return false;
		form->extents = n;
		return true;
	}
	if (shift) {
		ngroups = xipfs_map_groups(cap, shift);
		if (!(sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS) ||
		    !xipfs_meta(sbi, off, ngroups * 8))
			return false;
		if (!(flags & XIPFS_INODE_END_RUN))
			return true;
		/* Two more words; the run starts inside the last group. */
		p = xipfs_meta(sbi, off + ngroups * 8, 16);
		if (!p)
			return false;
		start = le64_to_cpu(READ_ONCE(p[0]));
		if (!xipfs_map_run_ok(start, cap, shift))
			return false;
		form->start = start;
		form->entry = le64_to_cpu(READ_ONCE(p[1]));
		return true;
	}
	if (!cap || xipfs_meta(sbi, off, (u64)cap * 8))
		return true;
	return PAGE_ALIGNED(off) &&
	       xipfs_in_data(sbi, off, round_up((u64)cap * 8, PAGE_SIZE));
}

/*
 * The entry of page @i of the extent map at @map (checked by map_ok():
 * @n extents in the metadata area): derived from the last extent that
 * starts at or before @i, found by binary search in place.
 */
static u64 xipfs_extent_entry(struct xipfs_sb_info *sbi, const __le64 *map,
			      u32 n, u64 i)
{
	const struct xipfs_map_extent *x = (const void *)(map + 1);
	u32 lo = 0, hi = n, mid;
	u64 first;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (le64_to_cpu(READ_ONCE(x[mid].x_page)) <= i)
			lo = mid;
		else
			hi = mid;
	}
	first = le64_to_cpu(READ_ONCE(x[lo].x_page));
	/* Extent 0 starts at page 0: anything else is damage. */
	if (first > i)
		return XIPFS_PTE_INVALID;
	/* i < i_map_cap, a u32: the distance fits. */
	return xipfs_pte_in_group(le64_to_cpu(READ_ONCE(x[lo].x_entry)),
				  (unsigned int)(i - first), sbi->cshift);
}

/*
 * Entry @index (< i_map_cap) of @inode's page map, in CPU order; from a
 * grouped or extent map, the entry derived for that page.  map_sem held,
 * or the map cannot change (read-only).
 */
int xipfs_map_read(struct inode *inode, pgoff_t index, u64 *e)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	const __le64 *p;
	unsigned int k;
	u64 slot, off;
	__le64 v;
	int err;

	if (WARN_ON_ONCE(index >= xi->map_cap))
		return -EFSCORRUPTED;
	if (xi->form.extents) {
		/* In the metadata area (map_ok). */
		*e = xipfs_extent_entry(sbi, xipfs_meta(sbi, xi->data, 8),
					xi->form.extents, index);
		return 0;
	}
	slot = xipfs_map_slot(index, xi->map_shift, xi->form.start, &k);
	if (slot == XIPFS_MAP_RUN_SLOT) {
		*e = xipfs_pte_in_group(xi->form.entry, k, sbi->cshift);
		return 0;
	}
	off = xi->data + slot * 8;
	p = xipfs_meta(sbi, off, 8);
	if (!p && sbi->virt)
		p = sbi->virt + off;	/* a moved map: checked at iget */
	if (p) {
		v = READ_ONCE(*p);
	} else {
		err = xipfs_medium_read(sb, off, &v, sizeof(v));
		if (err)
			return err;
	}
	*e = xipfs_pte_in_group(le64_to_cpu(v), k, sbi->cshift);
	return 0;
}

/*
 * Decode and check the page map entry of page @index of @inode.  Pages at
 * or past EOF read as holes.  -EFSCORRUPTED for a bad entry.
 */
int xipfs_page_lookup(struct inode *inode, pgoff_t index,
		      struct xipfs_page *pg)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 pos = (u64)index << PAGE_SHIFT, isize = i_size_read(inode);
	u64 e, v;
	int err;

	memset(pg, 0, sizeof(*pg));
	if (pos >= isize)
		return 0;
	pg->len = min_t(u64, PAGE_SIZE, isize - pos);
	/* i_size <= i_map_cap pages, and the map is where one may be: iget. */
	err = xipfs_map_read(inode, index, &e);
	if (err)
		return err;
	pg->type = XIPFS_PTE_TYPE(e);
	if (e & XIPFS_PTE_RESERVED_MASK)
		goto bad;

	switch (pg->type) {
	case XIPFS_PTE_TYPE_HOLE:
		if (e)
			goto bad;
		return 0;
	case XIPFS_PTE_TYPE_XIP:
		v = e & XIPFS_PTE_XIP_MASK;
		if (v > sbi->image_size >> PAGE_SHIFT)
			goto bad;
		pg->off = v << PAGE_SHIFT;
		/* mkfs puts them in the XIP area; rw mounts anywhere in data. */
		if (!xipfs_in_data(sbi, pg->off, PAGE_SIZE))
			goto bad;
		return 0;
	case XIPFS_PTE_TYPE_COMP:
		pg->cluster = e & XIPFS_PTE_CLUSTER_MASK;
		pg->cindex = (e >> XIPFS_PTE_CINDEX_SHIFT) &
			     XIPFS_PTE_CINDEX_MASK;
		/* cindex <= index unless shared: checked with the cluster. */
		if (pg->cluster >= sbi->cluster_count)
			goto bad;
		return 0;
	case XIPFS_PTE_TYPE_TAIL:
		/*
		 * Only the last page; its data lies in the metadata.  Bits
		 * 48-55 are unused in a TAIL entry: set, the entry is bad (as
		 * the image library says too).
		 */
		pg->off = sbi->meta_off + (e & XIPFS_PTE_TAIL_MASK);
		if ((e & ~(XIPFS_PTE_TAIL_MASK | (3ULL << XIPFS_PTE_TYPE_SHIFT))) ||
		    !(sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_TAIL) ||
		    pos + PAGE_SIZE < isize ||
		    !xipfs_meta(sbi, pg->off, pg->len))
			goto bad;
		return 0;
	}
bad:
	xipfs_corrupt(sb, "inode %llu: page %lu: bad map entry 0x%016llx",
		      xipfs_ino(inode), index, e);
	return -EFSCORRUPTED;
}

/* Entry @i of a page map at @map (derived, for a grouped or extent one). */
u64 xipfs_map_derive(struct xipfs_sb_info *sbi, const __le64 *map,
		     unsigned int shift, const struct xipfs_map_form *form, u64 i)
{
	unsigned int k;
	u64 slot, e;

	if (form->extents)
		return xipfs_extent_entry(sbi, map, form->extents, i);
	slot = xipfs_map_slot(i, shift, form->start, &k);
	if (slot == XIPFS_MAP_RUN_SLOT)
		e = form->entry;
	else
		e = le64_to_cpu(READ_ONCE(map[slot]));
	return xipfs_pte_in_group(e, k, sbi->cshift);
}

/* Publish entry @e for page @index: one aligned store.  map_sem exclusive. */
void xipfs_store_entry(struct inode *inode, pgoff_t index, u64 e)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	__le64 *p = sbi->virt + XIPFS_I(inode)->data + (u64)index * 8;

	lockdep_assert_held_write(&XIPFS_I(inode)->map_sem);
	/* A grouped map is made per-page before any change: map_grow. */
	if (WARN_ON_ONCE(XIPFS_I(inode)->map_shift ||
			 XIPFS_I(inode)->form.extents))
		return;
	WRITE_ONCE(*p, cpu_to_le64(e));
	xipfs_persist(p, sizeof(*p));
}

/*
 * Give @inode's page map room for @npages pages and one entry per page,
 * moving it to whole free pages when it is too small or grouped (a grouped
 * map, from mkfs, is never changed in place: its entries stand for several
 * pages each).  Every caller that may change an entry calls this first,
 * with @npages 0 if it only needs the map per-page.  The new map is
 * complete before i_data points at it, and i_data (offset and group shift
 * 0 in one store) changes before i_map_cap grows: a power cut leaves the
 * old map, or the new one with the old capacity.
 */
int xipfs_map_grow(struct inode *inode, u64 npages)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_inode *di = xipfs_dinode(inode);
	u64 cap, old_data, used, pgno, n, i;
	unsigned int old_shift;
	const __le64 *old;
	__le64 *dst;
	u32 old_cap;
	int err;

	/* Images with extent maps mount read-only: xipfs_enable_rw(). */
	if (WARN_ON_ONCE(xi->form.extents))
		return -EROFS;
again:
	/* page_mkwrite and hole fills come here without i_rwsem. */
	down_read(&xi->map_sem);
	old_data = xi->data;
	old_cap = xi->map_cap;
	old_shift = xi->map_shift;
	up_read(&xi->map_sem);
	if (npages <= old_cap && !old_shift)
		return 0;
	/* Twice the room, in whole pages: a map moves O(log size) times. */
	cap = npages > old_cap ? max_t(u64, npages, 2 * (u64)old_cap) : old_cap;
	cap = round_up(max_t(u64, cap, 1) * 8, PAGE_SIZE) / 8;
	if (cap > U32_MAX)
		return -EFBIG;
	n = cap * 8 >> PAGE_SHIFT;
	err = xipfs_space_alloc(sb, n, false, true, &pgno);
	if (err)
		return err;
	dst = xipfs_window(sb, pgno);

	down_write(&xi->map_sem);
	if (xi->data != old_data || xi->map_shift != old_shift) {
		/* Moved meanwhile by a racing caller: look again. */
		up_write(&xi->map_sem);
		xipfs_space_release(sb, pgno, n);
		goto again;
	}
	used = min_t(u64, xipfs_npages(inode), old_cap);
	old = sbi->virt + old_data;
	if (old_shift) {
		/* What xipfs_map_read() derives, end run included. */
		for (i = 0; i < used; i++)
			dst[i] = cpu_to_le64(xipfs_map_derive(sbi, old, old_shift,
							      &xi->form, i));
	} else {
		memcpy(dst, old, used * 8);
	}
	memset(dst + used, 0, (cap - used) * 8);
	xipfs_persist(dst, n << PAGE_SHIFT);
	WRITE_ONCE(di->i_data, cpu_to_le64(pgno << PAGE_SHIFT));
	xipfs_persist(&di->i_data, sizeof(di->i_data));
	if (cap != old_cap) {
		WRITE_ONCE(di->i_map_cap, cpu_to_le32(cap));
		xipfs_persist(&di->i_map_cap, sizeof(di->i_map_cap));
	}
	xi->data = pgno << PAGE_SHIFT;
	xi->map_cap = cap;
	xi->map_shift = 0;
	xi->form.start = XIPFS_MAP_NO_RUN;
	up_write(&xi->map_sem);

	/*
	 * A map in the metadata area (every grouped one) stays where it was:
	 * that space is not managed.
	 */
	if (old_cap && !old_shift && !xipfs_meta(sbi, old_data, (u64)old_cap * 8))
		xipfs_space_release(sb, old_data >> PAGE_SHIFT,
				    DIV_ROUND_UP((u64)old_cap * 8, PAGE_SIZE));
	return 0;
}
