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
#include <linux/uio.h>

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

#if !XIPFS_KERNEL_BEFORE(6, 12)
/*
 * Zap @vma's PTE for @addr; other mappings of the page keep theirs.  7.1
 * renamed zap_page_range_single() to zap_vma_range() (not exported there)
 * and zap_vma_ptes() to zap_special_vma_range(), which since also takes
 * VM_MIXEDMAP VMAs (zap_vma_ptes() did nothing outside VM_PFNMAP ones).
 */
static inline void xipfs_zap_pte(struct vm_area_struct *vma,
				 unsigned long addr)
{
#if XIPFS_KERNEL_BEFORE(7, 1)
	zap_page_range_single(vma, addr, PAGE_SIZE, NULL);
#else
	zap_special_vma_range(vma, addr, PAGE_SIZE);
#endif
}
#endif

/*
 * Map window page @pfn writable at @vmf's address in @vmf's mapping only,
 * from ->fault (no PTE there yet) or from ->pfn_mkwrite (a read-only PTE:
 * FAULT_FLAG_MKWRITE), before the caller drops the lock that orders it
 * against writeback's write-protect, so that no store can slip past a
 * sync.  Returns VM_FAULT_NOPAGE as vmf_insert_mixed_mkwrite() does.
 *
 * Before 6.12, vmf_insert_mixed_mkwrite() inserts the PTE writable or
 * makes the read-only one writable in place.  6.12 unexported it (commit
 * cd1e0dac3a3e, "mm: unexport vmf_insert_mixed_mkwrite").  Since, a
 * read-only PTE is zapped in this VMA alone (xipfs_zap_pte()) and the
 * PFN is inserted with the VMA's writable protection: vm_page_prot is the
 * write-notify (read-only) one, vm_get_page_prot(vm_flags) the one it
 * was derived from.  Other mappings keep their PTEs.  Not the simpler
 * "return 0 and let wp_pfn_shared() -> finish_mkwrite_fault() set the
 * PTE writable": that happens after ->pfn_mkwrite returns, with no lock
 * of ours held, and a sync in between would write-protect nothing and
 * forget the page, which then stays writable.  A racing read fault may
 * put a read-only PTE back between the zap and the insert; insert_pfn()
 * then leaves it and the store faults again, into ->pfn_mkwrite again.
 * A window with struct pages is never mapped by PFN (sbi->xip is off), and
 * vmf_insert_pfn_prot() would BUG on one.
 */
static inline vm_fault_t xipfs_insert_pfn_mkwrite(struct vm_fault *vmf,
						  unsigned long pfn)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
#if XIPFS_KERNEL_BEFORE(6, 12)
	return vmf_insert_mixed_mkwrite(vma, addr, __pfn_to_pfn_t(pfn, PFN_DEV));
#else
	/* Not pgprot_modify(): on x86 it needs cc_mask, not exported. */
	pgprot_t prot = vm_get_page_prot(vma->vm_flags);

	if (WARN_ON_ONCE(pfn_valid(pfn)))
		return VM_FAULT_SIGBUS;
	if (vmf->flags & FAULT_FLAG_MKWRITE)
		xipfs_zap_pte(vma, addr);
	return vmf_insert_pfn_prot(vma, addr, pfn, prot);
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

/*
 * The zero page, mapped into a VM_MIXEDMAP VMA like a window PFN.  (7.x
 * renamed my_zero_pfn() to zero_pfn(), which was a variable before; the
 * page itself has been ZERO_PAGE() throughout.)  Since mid-2024 (6.10 or
 * 6.11; in 6.12: vm_mixed_zeropage_allowed(), "mm/memory: cleanly support
 * zeropage in ... vmf_insert_mixed()"), vmf_insert_mixed() refuses it with
 * VM_FAULT_SIGBUS in a shared VMA that may be written (VM_WRITE or
 * VM_MAYWRITE), unless it is fsdax or VM_IO: the caller must then serve
 * the hole otherwise (from the page cache).
 */
static inline vm_fault_t xipfs_insert_zero(struct vm_area_struct *vma,
					   unsigned long addr)
{
	unsigned long pfn = page_to_pfn(ZERO_PAGE(addr));

#if XIPFS_KERNEL_BEFORE(6, 17)
	return vmf_insert_mixed(vma, addr, __pfn_to_pfn_t(pfn, 0));
#else
	return vmf_insert_mixed(vma, addr, pfn);
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

/* 7.3: ->create lost its "bool excl" (it was always an exclusive create). */
#if XIPFS_KERNEL_BEFORE(7, 3)
#define XIPFS_CREATE_PARAMS(idmap, dir, dentry, mode)			\
	struct xipfs_idmap *idmap, struct inode *dir,			\
	struct dentry *dentry, umode_t mode, bool excl
#else
#define XIPFS_CREATE_PARAMS(idmap, dir, dentry, mode)			\
	struct xipfs_idmap *idmap, struct inode *dir,			\
	struct dentry *dentry, umode_t mode
#endif

/* 6.19 hid i_state behind accessors (a plain read no longer compiles). */
static inline unsigned long xipfs_inode_state(struct inode *inode)
{
#if XIPFS_KERNEL_BEFORE(6, 19)
	return READ_ONCE(inode->i_state);
#else
	return inode_state_read_once(inode);
#endif
}

/*
 * 7.1 widened i_ino from unsigned long to u64: print it as %llu of this
 * (the same on every kernel).
 */
static inline unsigned long long xipfs_ino(const struct inode *inode)
{
	return inode->i_ino;
}

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

/*
 * write_cache_pages() is gone in 7.x; 6.9 added writeback_iter(), and
 * 6.12 has both (write_cache_pages() there is this very loop).  From 6.12
 * on, the loop is here, with write_cache_pages()'s contract: fn is called
 * with each dirty folio locked, in wbc's range and order, and unlocks it
 * (or returns AOP_WRITEPAGE_ACTIVATE with it still locked); the first
 * error is returned once the walk is done (writeback_iter() goes on over
 * the rest of the range for data integrity writeback, stops early for
 * WB_SYNC_NONE).  Never break out of the loop: writeback_iter() must run
 * until it returns NULL.
 */
static inline int xipfs_write_cache_pages(struct address_space *m,
					  struct writeback_control *wbc,
					  struct xipfs_wcp *w)
{
#if XIPFS_KERNEL_BEFORE(6, 12)
	return write_cache_pages(m, wbc, xipfs_wcp_one, w);
#else
	struct folio *folio = NULL;
	int error = 0;

	while ((folio = writeback_iter(m, wbc, folio, &error))) {
		error = xipfs_wcp_one(folio, wbc, w);
		if (error == AOP_WRITEPAGE_ACTIVATE) {
			folio_unlock(folio);
			error = 0;
		}
	}
	return error;
#endif
}

/*
 * copy_page_from_iter_atomic() is gone in 7.x; copy_folio_from_iter_atomic()
 * (an inline over it in 6.12) replaced it.  From 6.12 on, the old name is
 * provided over the new one, with the offset taken from the folio's start.
 */
#if !XIPFS_KERNEL_BEFORE(6, 12)
static inline size_t xipfs_copy_page_from_iter_atomic(struct page *page,
						      size_t off, size_t bytes,
						      struct iov_iter *i)
{
	struct folio *folio = page_folio(page);

	return copy_folio_from_iter_atomic(folio,
			off + folio_page_idx(folio, page) * PAGE_SIZE, bytes, i);
}
#define copy_page_from_iter_atomic	xipfs_copy_page_from_iter_atomic
#endif

/* generic_file_splice_read() went away in 6.5; it used ->read_iter. */
#if XIPFS_KERNEL_BEFORE(6, 5)
#define xipfs_splice_read	generic_file_splice_read
#else
#define xipfs_splice_read	copy_splice_read
#endif

/*
 * Extended attributes (xattr.c).  6.7 made sb->s_xattr an array of const
 * pointers.  6.2 renamed the ->get_acl that permission checks call to
 * ->get_inode_acl (->get_acl then took a dentry, for getxattr; without it
 * the VFS falls back to ->get_inode_acl) and read the ACL attributes
 * through it instead of through the posix_acl_*_xattr_handler entries of
 * s_xattr, which 6.1 needs.
 */
#if XIPFS_KERNEL_BEFORE(6, 7)
#define XIPFS_XATTR_HANDLERS	const struct xattr_handler *
#else
#define XIPFS_XATTR_HANDLERS	const struct xattr_handler * const
#endif

#ifdef CONFIG_FS_POSIX_ACL
#if XIPFS_KERNEL_BEFORE(6, 2)
#define XIPFS_IOP_GET_ACL	.get_acl = xipfs_get_acl,
#define XIPFS_ACL_XATTR_HANDLERS \
	&posix_acl_access_xattr_handler, &posix_acl_default_xattr_handler,
#else
#define XIPFS_IOP_GET_ACL	.get_inode_acl = xipfs_get_acl,
#define XIPFS_ACL_XATTR_HANDLERS
#endif
#else
#define XIPFS_IOP_GET_ACL
#define XIPFS_ACL_XATTR_HANDLERS
#endif

#endif /* __XIPFS_COMPAT_H */
