/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xipfs: the kernel-version differences, in one place, so that the rest of
 * the driver reads as if written for a single kernel.  Oldest supported
 * kernel: 6.1.
 */
#ifndef __XIPFS_COMPAT_H
#define __XIPFS_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/fs.h>
#include <linux/crc32.h>
#include <linux/crc32c.h>
#include <linux/splice.h>
#include <linux/writeback.h>

/* The one version test; checkpatch's LINUX_VERSION_CODE warning is expected. */
#define XIPFS_KERNEL_BEFORE(a, b)	\
	(KERNEL_VERSION(a, b, 0) > LINUX_VERSION_CODE)

#if XIPFS_KERNEL_BEFORE(6, 17)
#include <linux/pfn_t.h>
#endif

/* Standard CRC-32C; before 6.14 crc32c() lived in the libcrc32c module. */
static inline u32 xipfs_crc32c(const void *p, size_t len)
{
#if XIPFS_KERNEL_BEFORE(6, 14)
	return ~__crc32c_le(~0U, p, len);
#else
	return ~crc32c(~0U, p, len);
#endif
}

/* 6.17 dropped pfn_t: vmf_insert_mixed() takes a plain PFN since. */
static inline vm_fault_t xipfs_insert_pfn(struct vm_area_struct *vma,
					  unsigned long addr, unsigned long pfn)
{
#if XIPFS_KERNEL_BEFORE(6, 17)
	return vmf_insert_mixed(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV));
#else
	return vmf_insert_mixed(vma, addr, pfn);
#endif
}

/* Make the read-only PTE of a window page writable in place. */
static inline vm_fault_t xipfs_insert_pfn_mkwrite(struct vm_area_struct *vma,
						  unsigned long addr,
						  unsigned long pfn)
{
#if XIPFS_KERNEL_BEFORE(6, 17)
	return vmf_insert_mixed_mkwrite(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV));
#else
	return vmf_insert_mixed_mkwrite(vma, addr, pfn);
#endif
}

/* vm_flags became read-only behind helpers in 6.3. */
static inline void xipfs_vma_set_mixedmap(struct vm_area_struct *vma)
{
#if XIPFS_KERNEL_BEFORE(6, 3)
	vma->vm_flags |= VM_MIXEDMAP;
#else
	vm_flags_set(vma, VM_MIXEDMAP);
#endif
}

/* Timestamps moved behind accessors in 6.6 (ctime) and 6.7 (a/mtime). */
static inline void xipfs_inode_set_times(struct inode *inode,
					 struct timespec64 ts)
{
#if XIPFS_KERNEL_BEFORE(6, 6)
	inode->i_ctime = ts;
#else
	inode_set_ctime_to_ts(inode, ts);
#endif
#if XIPFS_KERNEL_BEFORE(6, 7)
	inode->i_mtime = ts;
	inode->i_atime = ts;
#else
	inode_set_mtime_to_ts(inode, ts);
	inode_set_atime_to_ts(inode, ts);
#endif
}

static inline struct timespec64 xipfs_inode_get_mtime(struct inode *inode)
{
#if XIPFS_KERNEL_BEFORE(6, 7)
	return inode->i_mtime;
#else
	return inode_get_mtime(inode);
#endif
}

/*
 * Lock-without-waiting lookup-or-create of a page cache folio; NULL when
 * it is busy or memory is short.  6.4 made __filemap_get_folio() return
 * ERR_PTR() instead of NULL.
 */
static inline struct folio *xipfs_grab_folio_nowait(struct address_space *m,
						    pgoff_t index)
{
	struct folio *folio;

	folio = __filemap_get_folio(m, index,
				    FGP_LOCK | FGP_CREAT | FGP_NOWAIT,
				    mapping_gfp_mask(m));
	return IS_ERR(folio) ? NULL : folio;
}

/* The zero page, mapped into a VM_MIXEDMAP VMA like a window PFN. */
static inline vm_fault_t xipfs_insert_zero(struct vm_area_struct *vma,
					   unsigned long addr)
{
#if XIPFS_KERNEL_BEFORE(6, 17)
	return vmf_insert_mixed(vma, addr, __pfn_to_pfn_t(my_zero_pfn(addr), 0));
#else
	return vmf_insert_mixed(vma, addr, my_zero_pfn(addr));
#endif
}

/* A cached folio (referenced, not locked), or NULL. */
static inline struct folio *xipfs_cached_folio(struct address_space *m,
					       pgoff_t index)
{
	struct folio *folio = __filemap_get_folio(m, index, 0, 0);

	return IS_ERR(folio) ? NULL : folio;
}

/* Find or create a folio to write into, locked; NULL without memory. */
static inline struct folio *xipfs_grab_folio_write(struct address_space *m,
						   pgoff_t index)
{
	struct folio *folio;

	folio = __filemap_get_folio(m, index, FGP_LOCK | FGP_WRITE | FGP_CREAT,
				    mapping_gfp_mask(m));
	return IS_ERR(folio) ? NULL : folio;
}

/* 6.3 made the id-mapping argument of setattr &c. a struct mnt_idmap. */
#if XIPFS_KERNEL_BEFORE(6, 3)
#define xipfs_idmap	user_namespace
#else
#define xipfs_idmap	mnt_idmap
#endif

/* 6.15: ->mkdir returns the dentry it made (or an error pointer). */
#if XIPFS_KERNEL_BEFORE(6, 15)
#define XIPFS_MKDIR_RET		int
#define XIPFS_MKDIR_ERR(err)	(err)
#else
#define XIPFS_MKDIR_RET		struct dentry *
#define XIPFS_MKDIR_ERR(err)	ERR_PTR(err)
#endif

/* write_cache_pages() calls back with a page before 6.3, a folio since. */
struct xipfs_wcp {
	int (*fn)(struct folio *folio, struct writeback_control *wbc,
		  void *data);
	void *data;
};

#if XIPFS_KERNEL_BEFORE(6, 3)
static inline int xipfs_wcp_one(struct page *page,
				struct writeback_control *wbc, void *data)
{
	struct xipfs_wcp *w = data;

	return w->fn(page_folio(page), wbc, w->data);
}
#else
static inline int xipfs_wcp_one(struct folio *folio,
				struct writeback_control *wbc, void *data)
{
	struct xipfs_wcp *w = data;

	return w->fn(folio, wbc, w->data);
}
#endif

static inline int xipfs_write_cache_pages(struct address_space *m,
					  struct writeback_control *wbc,
					  struct xipfs_wcp *w)
{
	return write_cache_pages(m, wbc, xipfs_wcp_one, w);
}

/* generic_file_splice_read() went away in 6.5; it used ->read_iter. */
#if XIPFS_KERNEL_BEFORE(6, 5)
#define xipfs_splice_read	generic_file_splice_read
#else
#define xipfs_splice_read	copy_splice_read
#endif

#endif /* __XIPFS_COMPAT_H */
