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
#include "internal.h"

static ssize_t xipfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	u64 isize = i_size_read(inode);
	ssize_t done = 0;
	int err = 0;

	if (!sbi->virt) {
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
		err = xipfs_page_lookup(inode, index, &pg);
		if (err)
			break;
		if (pg.type == XIPFS_PTE_TYPE_XIP) {
			copied = copy_to_iter(sbi->virt + pg.off + off, n, to);
			atomic64_add(copied, &sbi->stats.read_xip_bytes);
		} else {
			folio = read_mapping_folio(inode->i_mapping, index, file);
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
		if (copied < n) {
			err = -EFAULT;
			break;
		}
	}
	file_accessed(file);
	return done ? done : err;
}

static void xipfs_fault_around(struct vm_fault *vmf, struct inode *inode);

static vm_fault_t xipfs_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_page pg;
	vm_fault_t ret;

	if (vmf->pgoff >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE))
		return VM_FAULT_SIGBUS;
	if (xipfs_page_lookup(inode, vmf->pgoff, &pg))
		return VM_FAULT_SIGBUS;
	if (pg.type != XIPFS_PTE_TYPE_XIP) {
		atomic64_inc(&sbi->stats.cache_faults);
		return filemap_fault(vmf);
	}
	/*
	 * The window page, read-only unless the mapping is shared-writable
	 * (refused at mmap).  A write fault on a private mapping returns here
	 * with the page mapped read-only; the retry finds it present and
	 * do_wp_page() copies it to an anonymous page: flash is never written.
	 */
	ret = xipfs_insert_pfn(vma, vmf->address & PAGE_MASK,
			       PHYS_PFN(sbi->phys + pg.off));
	if (ret & VM_FAULT_ERROR)
		return ret;
	atomic64_inc(&sbi->stats.xip_faults);
	atomic64_inc(&sbi->stats.pfns_inserted);
	xipfs_fault_around(vmf, inode);
	return ret;
}

/*
 * XIP fault-around, the window's counterpart of ->map_pages: that one runs
 * under rcu_read_lock() on newer kernels and may not allocate page tables,
 * so window pages are mapped from ->fault instead.  Same span as the core
 * fault-around (64 KiB aligned, inside the VMA): an XIP file takes no more
 * faults than the same file through the page cache.  Slots already mapped
 * (PFNs, COW copies) are left as they are by vmf_insert_mixed().
 */
#define XIPFS_FAULT_AROUND_BYTES	SZ_64K

static void xipfs_fault_around(struct vm_fault *vmf, struct inode *inode)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	unsigned long fault = vmf->address & PAGE_MASK;
	unsigned long start, end, addr;
	pgoff_t npages = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);

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
		    pg.type != XIPFS_PTE_TYPE_XIP)
			continue;
		if (xipfs_insert_pfn(vma, addr, PHYS_PFN(sbi->phys + pg.off)) &
		    VM_FAULT_ERROR)
			break;
		atomic64_inc(&sbi->stats.pfns_inserted);
	}
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
	unsigned long off = addr & ~PAGE_MASK;
	pgoff_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	struct xipfs_page pg;

	if (write || addr < vma->vm_start || addr >= vma->vm_end)
		return -EINVAL;
	if (xipfs_page_lookup(inode, pgoff, &pg) ||
	    pg.type != XIPFS_PTE_TYPE_XIP)
		return -EINVAL;
	len = min_t(unsigned long, len, PAGE_SIZE - off);
	memcpy(buf, sbi->virt + pg.off + off, len);
	return len;
}

static const struct vm_operations_struct xipfs_xip_vm_ops = {
	.fault		= xipfs_fault,
	/* Page cache pages only: see xipfs_fault_around(). */
	.map_pages	= filemap_map_pages,
	.access		= xipfs_vm_access,
};

static int xipfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(file_inode(file)->i_sb);

	if (!sbi->xip)
		return generic_file_readonly_mmap(file, vma);
	if ((vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_MAYWRITE))
		return -EINVAL;
	file_accessed(file);
	vma->vm_ops = &xipfs_xip_vm_ops;
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
	return generic_file_open(inode, file);
}

const struct file_operations xipfs_file_fops = {
	.open		= xipfs_file_open,
	.llseek		= generic_file_llseek,
	.read_iter	= xipfs_file_read_iter,
	.mmap		= xipfs_file_mmap,
	.splice_read	= xipfs_splice_read,
};
