// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: read() and mmap() of regular files.
 *
 * With a window, read() copies uncompressed pages straight from it, and
 * takes the other pages from the page cache.  When the window's PFNs can
 * be mapped (execute in place), mmap() builds one VM_MIXEDMAP mapping:
 * uncompressed pages are the window's own PFNs, the others are page cache
 * pages from filemap_fault().
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/uio.h>
#include <linux/sched/signal.h>
#include <linux/cacheflush.h>
#include "internal.h"

/* Bytes read() copies from the window in one go, map_sem held. */
#define XIPFS_READ_RUN	SZ_1M

/*
 * @n bytes at @pos (< @isize) are in the window page at @off: extend them over the
 * following pages while those are the next window pages, so that a run of
 * XIP pages (mkfs lays a file's out in order) is one copy.  map_sem held.
 */
static size_t xipfs_xip_run(struct inode *inode, loff_t pos, size_t n,
			    u64 off, struct iov_iter *to, u64 isize, bool rw)
{
	u64 next = off + PAGE_SIZE;
	size_t want = min_t(u64, iov_iter_count(to), isize - pos);
	struct xipfs_page pg;
	pgoff_t index;

	lockdep_assert_held(&XIPFS_I(inode)->map_sem);
	want = min_t(size_t, want, XIPFS_READ_RUN);
	while (n < want && !((pos + n) & ~PAGE_MASK)) {
		index = (pos + n) >> PAGE_SHIFT;
		if ((rw && xipfs_cached_uptodate(inode->i_mapping, index)) ||
		    xipfs_page_lookup(inode, index, &pg) ||
		    pg.type != XIPFS_PTE_TYPE_XIP || pg.off != next)
			break;
		n += min_t(size_t, PAGE_SIZE, want - n);
		next += PAGE_SIZE;
	}
	return n;
}

static ssize_t __xipfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	bool rw = xipfs_rw(inode->i_sb);
	u64 isize = i_size_read(inode);
	ssize_t done = 0;
	int err = 0;

	/* Without usable PFNs a read-write mount keeps everything cached. */
	if (!sbi->virt || (xipfs_rw(inode->i_sb) && !sbi->xip)) {
		done = generic_file_read_iter(iocb, to);
		if (done > 0)
			atomic64_add(done, &sbi->stats.read_cache_bytes);
		return done;
	}

	while (iov_iter_count(to) && iocb->ki_pos < isize) {
		loff_t pos = iocb->ki_pos;
		pgoff_t index = pos >> PAGE_SHIFT;
		size_t off = pos & ~PAGE_MASK, n, copied;
		struct xipfs_page pg;
		struct folio *folio;

		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		n = min_t(u64, PAGE_SIZE - off, isize - pos);
		n = min(n, iov_iter_count(to));
		/*
		 * A page freed by a writer must not be read: map_sem shared
		 * keeps it, and page faults stay off meanwhile (the
		 * destination may be a mapping of this very file).
		 */
		down_read(&xi->map_sem);
		if (rw && xipfs_cached_uptodate(inode->i_mapping, index))
			pg.type = XIPFS_PTE_TYPE_COMP;
		else
			err = xipfs_page_lookup(inode, index, &pg);
		if (err) {
			up_read(&xi->map_sem);
			break;
		}
		if (pg.type == XIPFS_PTE_TYPE_XIP) {
			n = xipfs_xip_run(inode, pos, n, pg.off, to, isize, rw);
			pagefault_disable();
			copied = copy_to_iter(sbi->virt + pg.off + off, n, to);
			pagefault_enable();
			up_read(&xi->map_sem);
			atomic64_add(copied, &sbi->stats.read_xip_bytes);
			if (!copied) {
				if (fault_in_iov_iter_writeable(to, n) == n) {
					err = -EFAULT;
					break;
				}
				continue;
			}
		} else if (pg.type == XIPFS_PTE_TYPE_HOLE) {
			up_read(&xi->map_sem);
			copied = iov_iter_zero(n, to);
		} else {
			up_read(&xi->map_sem);
			/*
			 * read_mapping_folio() expects the invalidate lock:
			 * without it, a folio filled here (or its cluster's
			 * siblings) could bring back data a hole punch or
			 * truncate is dropping.
			 */
			filemap_invalidate_lock_shared(inode->i_mapping);
			folio = read_mapping_folio(inode->i_mapping, index, file);
			filemap_invalidate_unlock_shared(inode->i_mapping);
			if (IS_ERR(folio)) {
				err = PTR_ERR(folio);
				break;
			}
			folio_mark_accessed(folio);
			copied = copy_folio_to_iter(folio, off, n, to);
			folio_put(folio);
			atomic64_add(copied, &sbi->stats.read_cache_bytes);
		}
		iocb->ki_pos += copied;
		done += copied;
		if (copied < n && pg.type != XIPFS_PTE_TYPE_XIP) {
			err = -EFAULT;
			break;
		}
	}
	file_accessed(file);
	return done ? done : err;
}

/* read() and splice: the pages copied out are in the profile. */
static ssize_t xipfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	loff_t pos = iocb->ki_pos;
	ssize_t ret = __xipfs_file_read_iter(iocb, to);

	if (ret > 0)
		xipfs_profile(file_inode(iocb->ki_filp), pos >> PAGE_SHIFT,
			      (iocb->ki_pos - 1) >> PAGE_SHIFT,
			      XIPFS_PROF_READ);
	return ret;
}

static void xipfs_fault_around(struct vm_fault *vmf, struct inode *inode);

/* Before any lock is taken; a fault retried after a read counts once. */
static void xipfs_profile_fault(struct vm_fault *vmf, struct inode *inode)
{
	if (vmf->flags & FAULT_FLAG_TRIED)
		return;
	xipfs_profile(inode, vmf->pgoff, vmf->pgoff,
		      (vmf->vma->vm_flags & VM_EXEC) ? XIPFS_PROF_EXEC :
						       XIPFS_PROF_MAP);
}

/*
 * Window page @off is going into executable mapping @vma.  The core
 * keeps the instruction cache coherent for page cache pages as it maps
 * them (arm64: __sync_icache_dcache() in set_pte_at()), but skips special
 * PTEs, which window PFNs are.  On a read-write mount the page may have
 * been written by the kernel (write(), writeback, a zeroed or reused
 * page) since the CPU last fetched from it: make the instruction cache
 * see what the data cache holds (a no-op on x86).  Stores through a
 * mapping are like any self-modifying code: user space's to flush.
 */
static void xipfs_sync_icache(struct inode *inode, struct vm_area_struct *vma,
			      u64 off)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	unsigned long start = (unsigned long)sbi->virt + off;

	if ((vma->vm_flags & VM_EXEC) && xipfs_rw(inode->i_sb))
		flush_icache_range(start, start + PAGE_SIZE);
}

static vm_fault_t xipfs_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	unsigned long addr = vmf->address & PAGE_MASK;
	/*
	 * A store to a page of a shared mapping that is not mapped yet: a
	 * window page is mapped writable at once (what pfn_mkwrite would do
	 * on the next fault), as DAX does.
	 */
	bool wr = (vmf->flags & FAULT_FLAG_WRITE) &&
		  (vma->vm_flags & VM_SHARED) && xipfs_rw(inode->i_sb);
	struct xipfs_page pg;
	vm_fault_t ret;

	xipfs_profile_fault(vmf, inode);
	if (wr) {
		sb_start_pagefault(inode->i_sb);
		file_update_time(vma->vm_file);
	}
	/* Writers change entries under map_sem exclusive, then zap. */
	down_read(&xi->map_sem);
	if (vmf->pgoff >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	/* A cached copy, where one exists, is the authority. */
	if (xipfs_rw(inode->i_sb) &&
	    xipfs_cached_uptodate(inode->i_mapping, vmf->pgoff))
		goto cache;
	if (xipfs_page_lookup(inode, vmf->pgoff, &pg)) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	if (pg.type == XIPFS_PTE_TYPE_HOLE) {
		/* The zero page; a store to it comes to pfn_mkwrite. */
		ret = xipfs_insert_zero(vma, addr);
		/*
		 * Newer kernels refuse it in a shared VMA that may be written
		 * (see xipfs_insert_zero()): a zeroed cache page instead.
		 */
		if (ret == VM_FAULT_SIGBUS && xipfs_rw(inode->i_sb))
			goto cache;
		if (!(ret & VM_FAULT_ERROR))
			xipfs_fault_around(vmf, inode);
		goto unlock;
	}
	if (pg.type != XIPFS_PTE_TYPE_XIP)
		goto cache;
	/*
	 * The window page, read-only unless this is a store to a shared
	 * mapping: in a shared writable mapping the first store to a
	 * read-only one comes back through do_wp_page() to pfn_mkwrite; in a
	 * private one do_wp_page() copies it to an anonymous page, and the
	 * window is never written.
	 */
	xipfs_sync_icache(inode, vma, pg.off);
	if (wr) {
		xipfs_mark_xip_dirty(inode, vmf->pgoff);
		ret = xipfs_insert_pfn_mkwrite(vmf, PHYS_PFN(sbi->phys + pg.off));
		atomic64_inc(&sbi->stats.pfn_mkwrite);
	} else {
		ret = xipfs_insert_pfn(vma, addr, PHYS_PFN(sbi->phys + pg.off));
	}
	if (!(ret & VM_FAULT_ERROR)) {
		atomic64_inc(&sbi->stats.xip_faults);
		atomic64_inc(&sbi->stats.pfns_inserted);
		xipfs_fault_around(vmf, inode);
	}
unlock:
	up_read(&xi->map_sem);
	if (wr)
		sb_end_pagefault(inode->i_sb);
	return ret;
cache:
	up_read(&xi->map_sem);
	if (wr)
		sb_end_pagefault(inode->i_sb);
	atomic64_inc(&sbi->stats.cache_faults);
	return filemap_fault(vmf);
}

/*
 * XIP fault-around, the window's counterpart of ->map_pages: that one runs
 * under rcu_read_lock() on newer kernels and may not allocate page tables,
 * so window pages are mapped from ->fault instead.  Same span as the core
 * fault-around (64 KiB aligned, inside the VMA): an XIP file takes no more
 * faults than the same file through the page cache.  Holes get the zero
 * page (a run of zero pages between an ELF file's segments would otherwise
 * take a fault each).  Slots already mapped (PFNs, COW copies) are left as
 * they are by vmf_insert_mixed().
 */
#define XIPFS_FAULT_AROUND_BYTES	SZ_64K
/* xipfs_fault_around() records its pages in a word's bits. */
static_assert(XIPFS_FAULT_AROUND_BYTES / PAGE_SIZE <= BITS_PER_LONG);

static void xipfs_fault_around(struct vm_fault *vmf, struct inode *inode)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	unsigned long fault = vmf->address & PAGE_MASK;
	unsigned long start, end, addr;
	pgoff_t npages = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
	unsigned long near = 0;	/* pages mapped, from start's on */

	/* An exact profile holds only touched pages (profile.c). */
	if (xipfs_profiling_exact(inode->i_sb))
		return;
	start = max(fault & ~(XIPFS_FAULT_AROUND_BYTES - 1), vma->vm_start);
	end = min((fault & ~(XIPFS_FAULT_AROUND_BYTES - 1)) +
		  XIPFS_FAULT_AROUND_BYTES, vma->vm_end);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		pgoff_t pgoff = vma->vm_pgoff +
				((addr - vma->vm_start) >> PAGE_SHIFT);
		struct xipfs_page pg;

		if (addr == fault)
			continue;
		if (pgoff >= npages)
			break;
		if (xipfs_page_lookup(inode, pgoff, &pg) ||
		    (pg.type != XIPFS_PTE_TYPE_XIP &&
		     pg.type != XIPFS_PTE_TYPE_HOLE))
			continue;
		if (xipfs_rw(inode->i_sb) &&
		    xipfs_cached_uptodate(inode->i_mapping, pgoff))
			continue;
		/* Holes get the zero page, as in xipfs_fault(). */
		if (pg.type == XIPFS_PTE_TYPE_HOLE) {
			if (xipfs_insert_zero(vma, addr) & VM_FAULT_ERROR)
				break;
		} else {
			xipfs_sync_icache(inode, vma, pg.off);
			if (xipfs_insert_pfn(vma, addr,
					     PHYS_PFN(sbi->phys + pg.off)) &
			    VM_FAULT_ERROR)
				break;
			atomic64_inc(&sbi->stats.pfns_inserted);
		}
		near |= BIT((addr - start) >> PAGE_SHIFT);
	}
	/* A fast profile: mapped, but not seen touched. */
	if (near && xipfs_profiling(inode->i_sb))
		xipfs_profile_near(inode, vma->vm_pgoff +
				   ((start - vma->vm_start) >> PAGE_SHIFT), near,
				   (vma->vm_flags & VM_EXEC) ? XIPFS_PROF_EXEC :
							       XIPFS_PROF_MAP);
}

/*
 * ptrace and /proc/PID/mem: get_user_pages() cannot follow a window PFN,
 * so copy from the window.  Written (COWed) pages are anonymous and do not
 * come here.
 */
static int xipfs_vm_access(struct vm_area_struct *vma, unsigned long addr,
			   void *buf, int len, int write)
{
	struct inode *inode = file_inode(vma->vm_file);
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	unsigned long off = addr & ~PAGE_MASK;
	pgoff_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	struct xipfs_page pg;
	int ret = -EINVAL;

	if (addr < vma->vm_start || addr >= vma->vm_end)
		return -EINVAL;
	/* Writes (a debugger's breakpoint) only where the mapping may write. */
	if (write && !((vma->vm_flags & VM_SHARED) &&
		       (vma->vm_flags & VM_WRITE)))
		return -EINVAL;
	down_read(&xi->map_sem);
	/*
	 * Only a window PFN brings get_user_pages() here; a cached copy
	 * made meanwhile is the authority, which the window must not
	 * override: the caller retries through the page cache.
	 */
	if ((xipfs_rw(inode->i_sb) &&
	     xipfs_cached_uptodate(inode->i_mapping, pgoff)) ||
	    xipfs_page_lookup(inode, pgoff, &pg) ||
	    pg.type != XIPFS_PTE_TYPE_XIP)
		goto unlock;
	len = min_t(unsigned long, len, PAGE_SIZE - off);
	if (write) {
		memcpy(sbi->virt + pg.off + off, buf, len);
		xipfs_mark_xip_dirty(inode, pgoff);
	} else {
		memcpy(buf, sbi->virt + pg.off + off, len);
	}
	ret = len;
unlock:
	up_read(&xi->map_sem);
	return ret;
}

/*
 * Page cache fault-around.  Off for an exact profile: mapping nothing here
 * makes the core call ->fault for the page that faulted, and only that
 * one.  A fast profile learns here what ->fault would not see.
 */
static vm_fault_t xipfs_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
				  pgoff_t end_pgoff)
{
	struct super_block *sb = file_inode(vmf->vma->vm_file)->i_sb;
	vm_fault_t ret;

	if (xipfs_profiling_exact(sb))
		return 0;
	ret = filemap_map_pages(vmf, start_pgoff, end_pgoff);
	if (xipfs_profiling(sb))
		xipfs_profile_map_pages(vmf, start_pgoff, end_pgoff, ret);
	return ret;
}

/* No window PFNs: filemap_fault(), seen by the profile. */
static vm_fault_t xipfs_cache_fault(struct vm_fault *vmf)
{
	xipfs_profile_fault(vmf, file_inode(vmf->vma->vm_file));
	return filemap_fault(vmf);
}

static const struct vm_operations_struct xipfs_xip_vm_ops = {
	.fault		= xipfs_fault,
	/* Page cache pages only: see xipfs_fault_around(). */
	.map_pages	= xipfs_map_pages,
	.access		= xipfs_vm_access,
};

/* Read-write: window pages get pfn_mkwrite, cache pages page_mkwrite. */
static const struct vm_operations_struct xipfs_rw_xip_vm_ops = {
	.fault		= xipfs_fault,
	.map_pages	= xipfs_map_pages,
	.page_mkwrite	= xipfs_page_mkwrite,
	.pfn_mkwrite	= xipfs_pfn_mkwrite,
	.access		= xipfs_vm_access,
};

/* Read-only without usable PFNs: generic_file_readonly_mmap()'s. */
static const struct vm_operations_struct xipfs_cache_vm_ops = {
	.fault		= xipfs_cache_fault,
	.map_pages	= xipfs_map_pages,
};

/* Read-write without usable PFNs: everything through the page cache. */
static const struct vm_operations_struct xipfs_rw_cache_vm_ops = {
	.fault		= xipfs_cache_fault,
	.map_pages	= xipfs_map_pages,
	.page_mkwrite	= xipfs_page_mkwrite,
};

static int xipfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if (!sbi->xip) {
		if (!xipfs_rw(sb) && (vma->vm_flags & VM_SHARED) &&
		    (vma->vm_flags & VM_MAYWRITE))
			return -EINVAL;
		file_accessed(file);
		vma->vm_ops = xipfs_rw(sb) ? &xipfs_rw_cache_vm_ops :
					     &xipfs_cache_vm_ops;
		return 0;
	}
	if (!xipfs_rw(sb) && (vma->vm_flags & VM_SHARED) &&
	    (vma->vm_flags & VM_MAYWRITE))
		return -EINVAL;
	file_accessed(file);
	vma->vm_ops = xipfs_rw(sb) ? &xipfs_rw_xip_vm_ops : &xipfs_xip_vm_ops;
	xipfs_vma_set_mixedmap(vma);
	return 0;
}

static int xipfs_file_open(struct inode *inode, struct file *file)
{
	/*
	 * No readahead around faults: it would put copies of window pages in
	 * the page cache, and ->map_pages would then map those copies.  A
	 * compressed page still brings in its whole cluster.
	 */
	if (XIPFS_SB(inode->i_sb)->xip)
		file->f_ra.ra_pages = 0;
	if ((file->f_mode & FMODE_WRITE) && xipfs_xattr_has_caps(inode))
		return -EPERM;
	return generic_file_open(inode, file);
}

const struct file_operations xipfs_file_fops = {
	.open		= xipfs_file_open,
	.llseek		= generic_file_llseek,
	.read_iter	= xipfs_file_read_iter,
	.write_iter	= xipfs_file_write_iter,
	.mmap		= xipfs_file_mmap,
	.fsync		= xipfs_fsync,
	.fallocate	= xipfs_fallocate,
	.splice_read	= xipfs_splice_read,
	.splice_write	= iter_file_splice_write,
};
