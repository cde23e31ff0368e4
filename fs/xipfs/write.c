// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: read-write mounts on writable memory.
 *
 * A file page is an XIP page (uncompressed in the window), or a cached page
 * (compressed, tail-packed or, without usable PFNs, any page) whose copy in
 * the page cache is the authority while it exists.
 *
 * XIP pages: write() copies into the window, in place when the file is
 * mapped (a mapping may be storing to the page), else into a new page that
 * one aligned 8-byte store publishes, so that a power cut leaves the old
 * or the new page.  Shared mappings get the window PFN read-only; the first
 * store comes to xipfs_pfn_mkwrite() through do_wp_page() and
 * wp_pfn_shared(), which remembers the page and makes the PTE writable in
 * place: never a copy.  Writeback (fsync, msync, syncfs, the flusher)
 * write-protects those PTEs again and writes the CPU cache back.
 *
 * Cached pages: page_mkwrite and normal dirty accounting.  Writeback stores
 * the page uncompressed in a new page, publishes it with one store, and (with
 * usable PFNs) drops the page cache copy, so the next fault maps the PFN.
 *
 * Page map entries change under the inode's map_sem held exclusive, which
 * the users of what an entry names (faults inserting PFNs, read() from the
 * window, read_folio) hold shared.  Nothing about free space is on the
 * medium: see space.c.  On the medium, data is always written before the
 * entry that publishes it, entries before the i_size that exposes them, and
 * a shrinking i_size before the entries it drops.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/highmem.h>
#include <linux/uio.h>
#include <linux/falloc.h>
#include <linux/writeback.h>
#include <linux/pagewalk.h>
#include <linux/sched/signal.h>
#include "internal.h"

/* The page map entry of @index, with the lookup's checks.  map_sem held. */
static int xipfs_entry(struct inode *inode, pgoff_t index, u64 *e,
		       struct xipfs_page *pg)
{
	int err;

	lockdep_assert_held(&XIPFS_I(inode)->map_sem);
	err = xipfs_page_lookup(inode, index, pg);
	if (err)
		return err;
	*e = 0;
	if (pg->type != XIPFS_PTE_TYPE_HOLE)
		err = xipfs_map_read(inode, index, e);
	return err;
}

/*
 * Write through the page cache: a compressed, tail or (without usable PFNs)
 * any page.  The folio is filled first, reserves the page its writeback
 * will need, and is dirtied.  Returns bytes copied, 0 after a fault on the
 * source (the caller faults it in and retries), or an error.
 */
static ssize_t xipfs_write_cached(struct inode *inode, pgoff_t index,
				  size_t off, size_t n, struct iov_iter *from)
{
	struct address_space *mapping = inode->i_mapping;
	struct folio *folio;
	size_t copied;
	int err;

	folio = xipfs_grab_folio_write(mapping, index);
	if (!folio)
		return -ENOMEM;
	if (!folio_test_uptodate(folio)) {
		err = xipfs_read_folio_locked(inode, folio);
		if (err)
			goto unlock;
	}
	if (!folio_test_private(folio)) {
		err = xipfs_space_reserve(inode->i_sb);
		if (err)
			goto unlock;
		folio_attach_private(folio, inode);
	}
	folio_wait_stable(folio);
	copied = copy_page_from_iter_atomic(&folio->page, off, n, from);
	flush_dcache_folio(folio);
	/*
	 * Only a dirty folio holds a reservation: a clean one may outlive
	 * the free-space map (remount,ro) and is evicted without writeback.
	 */
	if (!copied && !folio_test_dirty(folio))
		xipfs_folio_unreserve(folio);
	if (copied) {
		loff_t end = folio_pos(folio) + off + copied;

		folio_mark_dirty(folio);
		/* Before the unlock, so that writeback sees the data in EOF. */
		if (end > i_size_read(inode))
			i_size_write(inode, end);
	}
	folio_unlock(folio);
	folio_put(folio);
	balance_dirty_pages_ratelimited(mapping);
	return copied;
unlock:
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

/*
 * Copy into XIP page @pg in place, with map_sem shared and page faults off
 * (the source may be a mapping of this very file).  0 after a fault.
 */
static size_t xipfs_write_inplace(struct inode *inode, pgoff_t index,
				  const struct xipfs_page *pg, size_t off,
				  size_t n, struct iov_iter *from)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	void *dst = sbi->virt + pg->off + off;
	size_t copied;

	pagefault_disable();
	copied = copy_from_iter(dst, n, from);
	pagefault_enable();
	xipfs_persist(dst, copied);
	if (copied)
		xipfs_extend_disk_size(inode, ((u64)index << PAGE_SHIFT) +
					      off + copied, false);
	atomic64_inc(&sbi->stats.write_inplace);
	return copied;
}

/*
 * Write [off, off + n) of page @index into a new page and publish it: the
 * page was a hole or an XIP page nobody maps.  -EAGAIN when the page
 * changed meanwhile (the source is rewound: retry); -ENOSPC without room.
 */
static ssize_t xipfs_write_cow(struct inode *inode, pgoff_t index, u64 old_e,
			       size_t off, size_t n, struct iov_iter *from)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct address_space *mapping = inode->i_mapping;
	struct xipfs_page pg;
	void *dst, *src = NULL;
	size_t copied;
	u64 pgno, e;
	int err;

	err = xipfs_space_alloc(sb, 1, false, false, &pgno);
	if (err)
		return err;
	dst = xipfs_window(sb, pgno);
	/*
	 * The new page is ours alone: the copy may fault.  A short copy
	 * (the source stops being readable) publishes what it got, as
	 * generic_perform_write() would; retrying the same copy could only
	 * come short again.
	 */
	copied = copy_from_iter(dst + off, n, from);
	if (!copied) {
		xipfs_space_release(sb, pgno, 1);
		return 0;
	}
	n = copied;

	down_write(&xi->map_sem);
	err = xipfs_entry(inode, index, &e, &pg);
	if (err || e != old_e || xipfs_cached_uptodate(mapping, index) ||
	    (old_e && mapping_mapped(mapping))) {
		up_write(&xi->map_sem);
		iov_iter_revert(from, n);
		xipfs_space_release(sb, pgno, 1);
		return err ? err : -EAGAIN;
	}
	if (old_e)
		src = sbi->virt + pg.off;
	if (off) {
		if (src)
			memcpy(dst, src, off);
		else
			memset(dst, 0, off);
	}
	if (off + n < PAGE_SIZE) {
		if (src)
			memcpy(dst + off + n, src + off + n, PAGE_SIZE - off - n);
		else
			memset(dst + off + n, 0, PAGE_SIZE - off - n);
	}
	xipfs_persist(dst, PAGE_SIZE);
	xipfs_store_entry(inode, index, XIPFS_PTE_XIP(pgno));
	/* A hole may be mapped as the zero page: those PTEs go. */
	if (!old_e)
		unmap_mapping_pages(mapping, index, 1, false);
	up_write(&xi->map_sem);
	xipfs_extend_disk_size(inode, ((u64)index << PAGE_SHIFT) + off + n,
			       false);
	if (old_e)
		xipfs_space_put_entry(sb, old_e);
	atomic64_inc(&sbi->stats.write_cow);
	return n;
}

/* Write [off, off + n) of page @index; bytes written or an error. */
static ssize_t xipfs_write_page(struct inode *inode, pgoff_t index, size_t off,
				size_t n, struct iov_iter *from)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct address_space *mapping = inode->i_mapping;
	bool inplace = false;
	struct xipfs_page pg;
	ssize_t ret;
	u64 e;

	for (;; cond_resched()) {
		if (fatal_signal_pending(current))
			return -EINTR;
		/* Nothing readable: EFAULT; a short copy comes back short. */
		if (fault_in_iov_iter_readable(from, n) == n)
			return -EFAULT;
		if (!sbi->xip) {
			ret = xipfs_write_cached(inode, index, off, n, from);
			goto done;
		}
		down_read(&xi->map_sem);
		if (xipfs_cached_uptodate(mapping, index)) {
			up_read(&xi->map_sem);
			ret = xipfs_write_cached(inode, index, off, n, from);
			goto done;
		}
		ret = xipfs_entry(inode, index, &e, &pg);
		if (ret) {
			up_read(&xi->map_sem);
			return ret;
		}
		if (pg.type == XIPFS_PTE_TYPE_XIP &&
		    (inplace || mapping_mapped(mapping))) {
			ret = xipfs_write_inplace(inode, index, &pg, off, n, from);
			up_read(&xi->map_sem);
			goto done;
		}
		up_read(&xi->map_sem);
		if (pg.type == XIPFS_PTE_TYPE_XIP ||
		    pg.type == XIPFS_PTE_TYPE_HOLE) {
			ret = xipfs_write_cow(inode, index, e, off, n, from);
			/* Full: an XIP page can still be overwritten in place. */
			if (ret == -ENOSPC && pg.type == XIPFS_PTE_TYPE_XIP) {
				inplace = true;
				continue;
			}
			if (ret == -EAGAIN)
				continue;
		} else {
			ret = xipfs_write_cached(inode, index, off, n, from);
		}
done:
		if (ret)
			return ret;
	}
}

/*
 * Only a file's last page may be tail-packed: before the file grows past
 * it, it becomes an XIP page of its own.
 */
static int xipfs_untail(struct inode *inode, u64 size)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	pgoff_t index;
	struct xipfs_page pg;
	void *dst;
	u64 pgno, e;
	int err;

	if (!size)
		return 0;
	index = (size - 1) >> PAGE_SHIFT;
	down_read(&xi->map_sem);
	err = xipfs_entry(inode, index, &e, &pg);
	up_read(&xi->map_sem);
	if (err || pg.type != XIPFS_PTE_TYPE_TAIL)
		return err;
	/* Writeback may replace it meanwhile: checked again below. */
	err = xipfs_space_alloc(sb, 1, false, false, &pgno);
	if (err)
		return err;
	dst = xipfs_window(sb, pgno);
	down_write(&xi->map_sem);
	err = xipfs_entry(inode, index, &e, &pg);
	if (err || pg.type != XIPFS_PTE_TYPE_TAIL) {
		up_write(&xi->map_sem);
		xipfs_space_release(sb, pgno, 1);
		return err;
	}
	memcpy(dst, xipfs_meta(sbi, pg.off, pg.len), pg.len);
	memset(dst + pg.len, 0, PAGE_SIZE - pg.len);
	xipfs_persist(dst, PAGE_SIZE);
	xipfs_store_entry(inode, index, XIPFS_PTE_XIP(pgno));
	unmap_mapping_pages(inode->i_mapping, index, 1, false);
	up_write(&xi->map_sem);
	return 0;
}

/*
 * The bytes of the last page past EOF @size must read as zeros once the
 * file grows over them: a shared mapping may have stored there, and a
 * truncation to inside the page left the medium's copy as it was.  An
 * XIP page is zeroed in place (those bytes are past EOF); a cached page
 * in its folio, which is dirtied so that the medium gets it too.
 */
/* Zero the window page of @size's last page past @size, if it is XIP. */
static int xipfs_zero_xip_tail(struct inode *inode, u64 size,
			       struct xipfs_page *pg)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	size_t off = size & ~PAGE_MASK;
	int err;
	u64 e;

	down_read(&xi->map_sem);
	err = xipfs_entry(inode, size >> PAGE_SHIFT, &e, pg);
	if (!err && pg->type == XIPFS_PTE_TYPE_XIP) {
		memset(sbi->virt + pg->off + off, 0, PAGE_SIZE - off);
		xipfs_persist(sbi->virt + pg->off + off, PAGE_SIZE - off);
	}
	up_read(&xi->map_sem);
	return err;
}

static int xipfs_zero_past_eof(struct inode *inode, u64 size)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	size_t off = size & ~PAGE_MASK;
	pgoff_t index = size >> PAGE_SHIFT;
	struct xipfs_page pg;
	struct folio *folio;
	bool cached;
	int err;

	if (!off)
		return 0;
	err = xipfs_zero_xip_tail(inode, size, &pg);
	if (err || pg.type == XIPFS_PTE_TYPE_HOLE)
		return err;
	cached = pg.type != XIPFS_PTE_TYPE_XIP || !sbi->xip;
	folio = cached ? xipfs_grab_folio_write(inode->i_mapping, index) :
			 xipfs_cached_folio(inode->i_mapping, index);
	if (!folio)
		return cached ? -ENOMEM : 0;
	if (!cached)
		folio_lock(folio);
	if (folio->mapping != inode->i_mapping)
		goto unlock;
	if (!folio_test_uptodate(folio)) {
		if (!cached)
			goto unlock;
		err = xipfs_read_folio_locked(inode, folio);
		if (err)
			goto unlock;
	}
	folio_zero_range(folio, off, PAGE_SIZE - off);
	if (cached || folio_test_dirty(folio)) {
		if (!folio_test_private(folio)) {
			err = xipfs_space_reserve(inode->i_sb);
			if (err)
				goto unlock;
			folio_attach_private(folio, inode);
		}
		folio_mark_dirty(folio);
	}
unlock:
	folio_unlock(folio);
	folio_put(folio);
	/*
	 * A compressed or tail page keeps the old bytes on the medium until
	 * written back: do that before the size that would expose them.
	 */
	if (!err && cached)
		err = filemap_write_and_wait_range(inode->i_mapping,
						   (loff_t)index << PAGE_SHIFT,
						   ((loff_t)index << PAGE_SHIFT) +
						   PAGE_SIZE - 1);
	return err;
}

ssize_t xipfs_file_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t ret, done = 0;
	u64 old_size;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_modified(file);
	if (ret)
		goto out;
	old_size = i_size_read(inode);
	ret = xipfs_map_grow(inode, DIV_ROUND_UP(iocb->ki_pos +
						 iov_iter_count(from),
						 PAGE_SIZE));
	if (ret)
		goto out;
	if (iocb->ki_pos + iov_iter_count(from) > round_up(old_size, PAGE_SIZE)) {
		ret = xipfs_untail(inode, old_size);
		if (ret)
			goto out;
	}
	if (iocb->ki_pos + iov_iter_count(from) > old_size) {
		ret = xipfs_zero_past_eof(inode, old_size);
		if (ret)
			goto out;
	}

	while (iov_iter_count(from)) {
		loff_t pos = iocb->ki_pos;
		size_t off = pos & ~PAGE_MASK;
		size_t n = min_t(size_t, PAGE_SIZE - off, iov_iter_count(from));

		ret = xipfs_write_page(inode, pos >> PAGE_SHIFT, off, n, from);
		if (ret <= 0)
			break;
		iocb->ki_pos += ret;
		done += ret;
		if (iocb->ki_pos > i_size_read(inode))
			i_size_write(inode, iocb->ki_pos);
	}
out:
	inode_unlock(inode);
	if (done > 0)
		done = generic_write_sync(iocb, done);
	return done ? done : ret;
}

/*
 * Drop the entries of pages [from, to) (map_sem exclusive) and give back
 * what they named, after zapping every PTE that could still reach it.
 */
static void xipfs_drop_entries(struct inode *inode, pgoff_t from, pgoff_t to,
			       bool even_cows)
{
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	u64 old[64];
	pgoff_t i, n, end;

	/* No page cache fill may bring back what is dropped (see read_iter). */
	lockdep_assert_held_write(&inode->i_mapping->invalidate_lock);
	lockdep_assert_held_write(&inode->i_rwsem);

	/* In batches, so that a huge truncate needs no big allocation. */
	for (; from < to; from = end) {
		end = min_t(pgoff_t, to, from + ARRAY_SIZE(old));
		down_write(&xi->map_sem);
		for (i = from; i < end; i++) {
			n = i - from;
			if (i >= xi->map_cap || xipfs_map_read(inode, i, &old[n]))
				old[n] = 0;
			if (old[n])
				xipfs_store_entry(inode, i, 0);
		}
		unmap_mapping_pages(inode->i_mapping, from, end - from,
				    even_cows);
		up_write(&xi->map_sem);
		for (i = from; i < end; i++)
			if (old[i - from])
				xipfs_space_put_entry(inode->i_sb, old[i - from]);
		cond_resched();
	}
}

/*
 * Zero [start, end) inside one page, keeping the rest: a cached page gets
 * the zeros in its (dirtied) folio, an XIP page in place.
 */
static int xipfs_zero_partial(struct inode *inode, loff_t start, loff_t end)
{
	struct iov_iter iter;
	struct kvec kv;
	ssize_t ret;

	if (start >= end)
		return 0;
	kv.iov_base = page_address(ZERO_PAGE(0));
	kv.iov_len = end - start;
	iov_iter_kvec(&iter, ITER_SOURCE, &kv, 1, kv.iov_len);
	ret = xipfs_write_page(inode, start >> PAGE_SHIFT, start & ~PAGE_MASK,
			       end - start, &iter);
	return ret < 0 ? ret : 0;
}

static int xipfs_truncate(struct inode *inode, u64 size)
{
	struct address_space *mapping = inode->i_mapping;
	u64 old = i_size_read(inode);
	int err;

	if (size > old) {
		err = xipfs_map_grow(inode, DIV_ROUND_UP(size, PAGE_SIZE));
		if (!err && size > round_up(old, PAGE_SIZE))
			err = xipfs_untail(inode, old);
		if (!err)
			err = xipfs_zero_past_eof(inode, old);
		if (err)
			return err;
		xipfs_set_size(inode, size);
		return 0;
	}
	/*
	 * The partial last page keeps its head; its bytes past the new EOF
	 * are zeroed in the page cache by truncate_pagecache(), and on the
	 * medium when the file grows over them again (xipfs_zero_past_eof()),
	 * so shrinking needs no space (but for making a grouped map per-page).
	 */
	err = xipfs_map_grow(inode, 0);
	if (err)
		return err;
	filemap_invalidate_lock(mapping);
	xipfs_set_size(inode, size);
	truncate_pagecache(inode, size);
	/* What a mapping of the last page shows past EOF: zeros. */
	if (size & ~PAGE_MASK) {
		struct xipfs_page pg;

		xipfs_zero_xip_tail(inode, size, &pg);
	}
	xipfs_drop_entries(inode, DIV_ROUND_UP(size, PAGE_SIZE),
			   DIV_ROUND_UP(old, PAGE_SIZE), true);
	filemap_invalidate_unlock(mapping);
	return 0;
}

int xipfs_setattr(struct xipfs_idmap *idmap, struct dentry *dentry,
		  struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	if (!xipfs_rw(inode->i_sb))
		return -EROFS;
	err = setattr_prepare(idmap, dentry, attr);
	if (err)
		return err;
	/* Changes that drop a file capability, which xipfs cannot store. */
	if ((attr->ia_valid & (ATTR_SIZE | ATTR_UID | ATTR_GID)) &&
	    xipfs_xattr_has_caps(inode))
		return -EPERM;
	if ((attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode) &&
	    attr->ia_size != i_size_read(inode)) {
		err = xipfs_truncate(inode, attr->ia_size);
		if (err)
			return err;
	}
	setattr_copy(idmap, inode, attr);
	xipfs_store_inode(inode);
	return 0;
}

/*
 * The entry of page @index as stored, even past EOF (where lookups say
 * hole); 0 if unreadable.  map_sem held.
 */
static u64 xipfs_raw_entry(struct inode *inode, pgoff_t index)
{
	u64 e;

	lockdep_assert_held(&XIPFS_I(inode)->map_sem);
	if (index >= XIPFS_I(inode)->map_cap || xipfs_map_read(inode, index, &e))
		return 0;
	return e;
}

/*
 * Give every hole of pages [from, to) a zeroed page of its own.  A page
 * may be filled meanwhile (a store through a mapping, writeback of a
 * cached copy): the entry is checked again under map_sem exclusive, and
 * a filled page is left as it is.
 */
static int xipfs_alloc_range(struct inode *inode, pgoff_t from, pgoff_t to)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	pgoff_t i;
	u64 pgno, e, now;
	bool inside;
	int err;

	for (i = from; i < to; i++, cond_resched()) {
		if (fatal_signal_pending(current))
			return -EINTR;
		/* Past EOF a page reads as a hole whatever the entry says. */
		inside = ((u64)i << PAGE_SHIFT) < i_size_read(inode);
		down_read(&xi->map_sem);
		e = xipfs_raw_entry(inode, i);
		up_read(&xi->map_sem);
		if (e && inside)
			continue;
		err = xipfs_space_alloc(sb, 1, false, false, &pgno);
		if (err)
			return err;
		memset(xipfs_window(sb, pgno), 0, PAGE_SIZE);
		xipfs_persist(xipfs_window(sb, pgno), PAGE_SIZE);
		down_write(&xi->map_sem);
		now = xipfs_raw_entry(inode, i);
		if (now != e) {
			up_write(&xi->map_sem);
			xipfs_space_release(sb, pgno, 1);
			continue;
		}
		xipfs_store_entry(inode, i, XIPFS_PTE_XIP(pgno));
		unmap_mapping_pages(inode->i_mapping, i, 1, false);
		up_write(&xi->map_sem);
		/* A stale entry past EOF named something: give it back. */
		if (e)
			xipfs_space_put_entry(sb, e);
	}
	return 0;
}

long xipfs_fallocate(struct file *file, int mode, loff_t off, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	loff_t end = off + len, size;
	pgoff_t first, last;
	int err;

	if (mode != 0 && mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -ENODEV;

	inode_lock(inode);
	err = file_modified(file);
	if (err)
		goto out;
	size = i_size_read(inode);
	if (mode == 0) {
		err = inode_newsize_ok(inode, end);
		if (err)
			goto out;
		err = xipfs_map_grow(inode, DIV_ROUND_UP(end, PAGE_SIZE));
		if (!err && end > round_up(size, PAGE_SIZE))
			err = xipfs_untail(inode, size);
		if (!err && end > size)
			err = xipfs_zero_past_eof(inode, size);
		if (err)
			goto out;
		/* Holes inside EOF become pages; then EOF moves over new ones. */
		err = xipfs_alloc_range(inode, off >> PAGE_SHIFT,
					DIV_ROUND_UP(min(end, size), PAGE_SIZE));
		if (!err && end > size) {
			err = xipfs_alloc_range(inode, DIV_ROUND_UP(size, PAGE_SIZE),
						DIV_ROUND_UP(end, PAGE_SIZE));
			if (!err) {
				xipfs_set_size(inode, end);
			} else {
				/* Give back what was allocated past EOF. */
				filemap_invalidate_lock(mapping);
				xipfs_drop_entries(inode, DIV_ROUND_UP(size, PAGE_SIZE),
						   DIV_ROUND_UP(end, PAGE_SIZE), false);
				filemap_invalidate_unlock(mapping);
			}
		}
		goto out;
	}

	/* Punch a hole inside EOF: zero the partial pages, drop the whole ones. */
	end = min(end, size);
	if (off >= end)
		goto out;
	err = xipfs_map_grow(inode, 0);
	if (err)
		goto out;
	first = DIV_ROUND_UP(off, PAGE_SIZE);
	last = end >> PAGE_SHIFT;
	if (first > last) {
		err = xipfs_zero_partial(inode, off, end);
		goto out;
	}
	err = xipfs_zero_partial(inode, off, (loff_t)first << PAGE_SHIFT);
	if (!err)
		err = xipfs_zero_partial(inode, (loff_t)last << PAGE_SHIFT, end);
	if (err || first == last)
		goto out;
	filemap_invalidate_lock(mapping);
	truncate_pagecache_range(inode, (loff_t)first << PAGE_SHIFT,
				 ((loff_t)last << PAGE_SHIFT) - 1);
	xipfs_drop_entries(inode, first, last, false);
	filemap_invalidate_unlock(mapping);
out:
	inode_unlock(inode);
	return err;
}

/*
 * Window pages stored to through shared mappings since the last sync:
 * write-protect their PTEs (the next store calls pfn_mkwrite again), then
 * write the CPU cache back.  map_sem exclusive keeps pfn_mkwrite out
 * meanwhile, so no store is missed between the two.
 */
void xipfs_sync_xip(struct inode *inode)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	unsigned long index, first = ULONG_MAX, last = 0;
	struct xipfs_page pg;
	void *entry;
	u64 e;

	if (xa_empty(&xi->xip_dirty))
		return;
	down_write(&xi->map_sem);
	xa_for_each(&xi->xip_dirty, index, entry) {
		first = min(first, index);
		last = max(last, index);
	}
	if (first <= last)
		wp_shared_mapping_range(inode->i_mapping, first,
					last - first + 1);
	xa_for_each(&xi->xip_dirty, index, entry) {
		xa_erase(&xi->xip_dirty, index);
		if (xipfs_entry(inode, index, &e, &pg) ||
		    pg.type != XIPFS_PTE_TYPE_XIP)
			continue;
		xipfs_writeback(sbi->virt + pg.off, PAGE_SIZE);
		atomic64_inc(&sbi->stats.xip_synced);
	}
	/* All of those write-backs done before fsync returns. */
	wmb();
	up_write(&xi->map_sem);
}

void xipfs_mark_xip_dirty(struct inode *inode, pgoff_t index)
{
	xa_store(&XIPFS_I(inode)->xip_dirty, index, xa_mk_value(1),
		 GFP_NOFS | __GFP_NOFAIL);
	/* The flusher and sync then call ->writepages, which syncs them. */
	__mark_inode_dirty(inode, I_DIRTY_PAGES);
}

struct xipfs_wb {
	struct inode *inode;
};

/*
 * Store one dirty cache page (locked, dirty bit cleared for I/O) as a new
 * XIP page, publish it, free what the entry named before, and with usable
 * PFNs drop the folio so that faults map the window page from now on.
 */
static int xipfs_writeback_folio(struct folio *folio,
				 struct writeback_control *wbc, void *data)
{
	struct xipfs_wb *wb = data;
	struct inode *inode = wb->inode;
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	u64 pos = folio_pos(folio), isize = i_size_read(inode), pgno, old;
	pgoff_t index = folio->index;
	bool reserved = folio_test_private(folio);
	size_t len;
	void *dst, *src;
	int err;

	if (pos >= isize) {
		/* Truncated meanwhile: truncate drops the folio. */
		folio_unlock(folio);
		return 0;
	}
	len = min_t(u64, PAGE_SIZE, isize - pos);
	err = xipfs_space_alloc(sb, 1, reserved, false, &pgno);
	if (err) {
		folio_redirty_for_writepage(wbc, folio);
		folio_unlock(folio);
		return err;
	}
	if (reserved)
		folio_detach_private(folio);
	folio_start_writeback(folio);
	dst = xipfs_window(sb, pgno);
	src = kmap_local_folio(folio, 0);
	memcpy(dst, src, len);
	kunmap_local(src);
	memset(dst + len, 0, PAGE_SIZE - len);
	xipfs_persist(dst, PAGE_SIZE);

	down_write(&xi->map_sem);
	if (xipfs_map_read(inode, index, &old))
		old = 0;
	xipfs_store_entry(inode, index, XIPFS_PTE_XIP(pgno));
	/*
	 * The old window page is freed below: no PTE may keep reaching it
	 * (while this folio is the authority none should; make sure).
	 */
	if (XIPFS_PTE_TYPE(old) == XIPFS_PTE_TYPE_XIP)
		unmap_mapping_pages(inode->i_mapping, index, 1, false);
	up_write(&xi->map_sem);
	xipfs_extend_disk_size(inode, pos + len, true);
	if (old)
		xipfs_space_put_entry(sb, old);
	folio_end_writeback(folio);
	folio_unlock(folio);
	atomic64_inc(&sbi->stats.writeback_pages);
	/* Retire the copy; a folio dirtied again meanwhile stays. */
	if (sbi->xip)
		invalidate_inode_pages2_range(inode->i_mapping, index, index);
	return 0;
}

int xipfs_writepages(struct address_space *mapping,
		     struct writeback_control *wbc)
{
	struct inode *inode = mapping->host;
	struct xipfs_wb wb = { .inode = inode };
	struct xipfs_wcp wcp = { .fn = xipfs_writeback_folio, .data = &wb };

	if (!xipfs_rw(inode->i_sb))
		return 0;
	xipfs_sync_xip(inode);
	return xipfs_write_cache_pages(mapping, wbc, &wcp);
}

int xipfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	xipfs_sync_xip(inode);
	inode_lock(inode);
	xipfs_store_inode(inode);
	inode_unlock(inode);
	return 0;
}

/*
 * A folio with private data holds one reserved page for its writeback:
 * it is dirty, or being written back (which takes the reservation).
 */
void xipfs_folio_unreserve(struct folio *folio)
{
	if (!folio_test_private(folio))
		return;
	folio_detach_private(folio);
	xipfs_space_unreserve(folio->mapping->host->i_sb);
}

void xipfs_invalidate_folio(struct folio *folio, size_t off, size_t len)
{
	if (off || len < folio_size(folio))
		return;
	xipfs_folio_unreserve(folio);
}

bool xipfs_release_folio(struct folio *folio, gfp_t gfp)
{
	if (folio_test_dirty(folio) || folio_test_writeback(folio))
		return false;
	xipfs_folio_unreserve(folio);
	return true;
}

/* A write fault on a cache page of a shared mapping. */
vm_fault_t xipfs_page_mkwrite(struct vm_fault *vmf)
{
	struct folio *folio = page_folio(vmf->page);
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct super_block *sb = inode->i_sb;
	vm_fault_t ret = VM_FAULT_LOCKED;

	sb_start_pagefault(sb);
	file_update_time(vmf->vma->vm_file);
	/* Writeback will change this page's entry. */
	if (xipfs_map_grow(inode, 0)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	folio_lock(folio);
	if (folio->mapping != inode->i_mapping ||
	    folio_pos(folio) >= i_size_read(inode)) {
		folio_unlock(folio);
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
	if (!folio_test_private(folio)) {
		if (xipfs_space_reserve(sb)) {
			folio_unlock(folio);
			ret = VM_FAULT_SIGBUS;
			goto out;
		}
		folio_attach_private(folio, inode);
	}
	folio_mark_dirty(folio);
	folio_wait_stable(folio);
	atomic64_inc(&XIPFS_SB(sb)->stats.page_mkwrite);
out:
	sb_end_pagefault(sb);
	return ret;
}

/*
 * A hole of a shared mapping is the zero page; on the first store it gets
 * a zeroed page of its own, published and mapped in place of the zero
 * page in every mapping.  The fault is retried.
 */
static vm_fault_t xipfs_fill_hole(struct vm_fault *vmf, struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_page pg;
	u64 pgno, e;

	if (xipfs_map_grow(inode, 0) ||
	    xipfs_space_alloc(sb, 1, false, false, &pgno))
		return VM_FAULT_SIGBUS;
	memset(xipfs_window(sb, pgno), 0, PAGE_SIZE);
	xipfs_persist(xipfs_window(sb, pgno), PAGE_SIZE);
	down_write(&xi->map_sem);
	if (vmf->pgoff >= xipfs_npages(inode) ||
	    xipfs_entry(inode, vmf->pgoff, &e, &pg)) {
		up_write(&xi->map_sem);
		xipfs_space_release(sb, pgno, 1);
		return VM_FAULT_SIGBUS;
	}
	if (e || xipfs_cached_uptodate(inode->i_mapping, vmf->pgoff)) {
		/* Somebody else filled it. */
		xipfs_space_release(sb, pgno, 1);
	} else {
		xipfs_store_entry(inode, vmf->pgoff, XIPFS_PTE_XIP(pgno));
	}
	unmap_mapping_pages(inode->i_mapping, vmf->pgoff, 1, false);
	up_write(&xi->map_sem);
	return VM_FAULT_NOPAGE;
}

/*
 * The first store to a window page (or the zero page) mapped read-only in
 * a shared mapping: do_wp_page() -> wp_pfn_shared() -> here.  Remember the
 * page for writeback and make the PTE writable in place; no copy.
 */
vm_fault_t xipfs_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_page pg;
	vm_fault_t ret;
	u64 e;

	sb_start_pagefault(sb);
	file_update_time(vma->vm_file);
	down_read(&xi->map_sem);
	if (vmf->pgoff >= xipfs_npages(inode)) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	if (xipfs_cached_uptodate(inode->i_mapping, vmf->pgoff)) {
		/* A cache page took over: this PTE is stale. */
		unmap_mapping_pages(inode->i_mapping, vmf->pgoff, 1, false);
		ret = VM_FAULT_NOPAGE;
		goto unlock;
	}
	if (xipfs_entry(inode, vmf->pgoff, &e, &pg)) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	if (pg.type == XIPFS_PTE_TYPE_HOLE) {
		up_read(&xi->map_sem);
		ret = xipfs_fill_hole(vmf, inode);
		goto out;
	}
	if (pg.type != XIPFS_PTE_TYPE_XIP ||
	    pte_pfn(vmf->orig_pte) != PHYS_PFN(sbi->phys + pg.off)) {
		unmap_mapping_pages(inode->i_mapping, vmf->pgoff, 1, false);
		ret = VM_FAULT_NOPAGE;
		goto unlock;
	}
	xipfs_mark_xip_dirty(inode, vmf->pgoff);
	ret = xipfs_insert_pfn_mkwrite(vmf, PHYS_PFN(sbi->phys + pg.off));
	atomic64_inc(&sbi->stats.pfn_mkwrite);
unlock:
	up_read(&xi->map_sem);
out:
	sb_end_pagefault(sb);
	return ret;
}
