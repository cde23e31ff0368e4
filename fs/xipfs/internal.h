/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xipfs: in-memory structures and the prototypes shared between files.
 */
#ifndef __XIPFS_INTERNAL_H
#define __XIPFS_INTERNAL_H

#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/xarray.h>
#include <linux/xipfs_fs.h>

#include "compat.h"

#define EFSCORRUPTED	EUCLEAN

__printf(2, 3) void _xipfs_err(struct super_block *sb, const char *fmt, ...);
__printf(2, 3) void _xipfs_info(struct super_block *sb, const char *fmt, ...);
#define xipfs_err(sb, fmt, ...)		_xipfs_err(sb, fmt "\n", ##__VA_ARGS__)
#define xipfs_info(sb, fmt, ...)	_xipfs_info(sb, fmt "\n", ##__VA_ARGS__)
/* A corrupt image found after mount: users can trigger these at will. */
#define xipfs_corrupt(sb, fmt, ...)					\
	do {								\
		static DEFINE_RATELIMIT_STATE(_rs,			\
					      DEFAULT_RATELIMIT_INTERVAL, \
					      DEFAULT_RATELIMIT_BURST);	\
		if (__ratelimit(&_rs))					\
			_xipfs_err(sb, "corrupt image: " fmt "\n",	\
				   ##__VA_ARGS__);			\
	} while (0)

/* Where the image lives, which decides how its bytes are reached. */
enum xipfs_medium {
	XIPFS_MEDIUM_WINDOW,	/* physaddr=: memremap()ed memory */
	XIPFS_MEDIUM_MTD,	/* an MTD device, pointed at or read */
	XIPFS_MEDIUM_BDEV,	/* a block device, read through its cache */
};

/* Per-mount counters, shown in sysfs. */
struct xipfs_stats {
	atomic64_t xip_faults;		/* ->fault calls served from the window */
	atomic64_t pfns_inserted;	/* window PFNs put in page tables */
	atomic64_t cache_faults;	/* ->fault calls sent to filemap_fault */
	atomic64_t clusters;		/* clusters decompressed */
	atomic64_t cluster_bytes;	/* bytes they decompressed to */
	atomic64_t read_xip_bytes;	/* read() bytes copied from the window */
	atomic64_t read_cache_bytes;	/* read() bytes copied from the cache */
	/* read-write mounts */
	atomic64_t pfn_mkwrite;		/* write faults on mapped window pages */
	atomic64_t page_mkwrite;	/* write faults on page cache pages */
	atomic64_t writeback_pages;	/* cache pages stored as new XIP pages */
	atomic64_t xip_synced;		/* mmap-dirtied window pages made durable */
	atomic64_t write_inplace;	/* write() pages copied into the window */
	atomic64_t write_cow;		/* write() pages written to a new page */
	atomic64_t csum_errors;		/* clusters whose data checksum failed */
};

/* The last scrub (csum.c): what it checked and found bad. */
struct xipfs_scrub {
	u64 clusters, bad_clusters;
	u64 xip_pages, bad_xip_pages;
	bool ran;		/* one has started */
	bool done;		/* and it went through everything */
};

/*
 * Free space of a read-write mount: who uses each page of the data region
 * [xip_off, image_size), rebuilt from the page maps at mount.  Nothing of
 * it is on the medium, so a power cut cannot leak or double-book a page.
 */
#define XIPFS_PAGE_OWNED	U16_MAX	/* an XIP page or a page of a map */

struct xipfs_space {
	/* all of it under xipfs_sb_info.space_lock */
	u16 *users;		/* per data-region page: 0 free, OWNED, or live clusters */
	unsigned long *busy;	/* bit per page: users[] != 0, for word-wise search */
	u32 *cl_refs;		/* per cluster: COMP entries naming it */
	u64 first;		/* page number of the data region's first page */
	u64 npages;
	u64 nfree;
	u64 hint;		/* where the next search starts */
};

struct xipfs_sb_info {
	/* mount options */
	u64 opt_physaddr;
	u64 opt_size;
	bool opt_physaddr_set;
	bool opt_size_set;
	bool opt_noxip;
	u8 opt_profile;			/* XIPFS_PROFILE_*: -o profile[=fast] */

	/* the medium */
	enum xipfs_medium medium;
	u64 medium_size;
	void *virt;		/* kernel mapping of the image, if any */
	struct resource *region;	/* physaddr=: our claim in /proc/iomem */
	phys_addr_t phys;	/* its physical address, if known */
	size_t pointed;		/* bytes mtd_point()ed, to unpoint */
	bool remapped;		/* virt is our memremap() of an MTD device */
	bool xip;		/* user mappings get window PFNs */
	bool pfn_valid;		/* some window PFN has a struct page */
	void *meta_copy;	/* vmalloc()ed metadata when !virt */
	const u8 *meta;		/* the metadata area, validated at mount */

	/* the superblock, validated */
	u64 image_size;
	u64 meta_off, meta_size;
	u64 inode_off;
	u64 cluster_off, cluster_count;
	/*
	 * INCOMPAT_COMPACT_CLUSTERS: the compact table's parts (validated at
	 * mount: xipfs_check_clusters()); ct_len_bytes 0 without it.
	 */
	u64 ct_base_off, ct_exc_off, ct_len_off;
	u32 ct_exceptions;
	u8 ct_alg, ct_len_bytes;
	u64 xip_off, xip_size;
	u64 comp_off, comp_size;
	u64 free_off, free_size;
	u32 inode_count;
	u32 root_ino;
	u32 feature_incompat;
	u32 feature_ro_compat;
	u16 comp_algs;
	u8 max_cluster_shift;
	/* log2(pages of a full cluster): a grouped COMP entry's run; 0 without clusters */
	u8 cshift;
	u8 uuid[16];
	/* COMPAT_XATTRS: the shared attribute table (xattr.c) */
	bool xattrs;
	u64 xattr_off;
	u32 xattr_size;
	/* RO_COMPAT_DATA_CSUM, and the checksums still hold: check them */
	bool csum;
	u64 csum_off;		/* the table, inside the metadata */

	/* data checksum scrubs: one at a time */
	struct mutex scrub_lock;
	struct xipfs_scrub scrub;

	struct super_block *sb;

	/* read-write mounts */
	bool rw_capable;	/* the medium is writable memory */
	/*
	 * space_lock guards the pointer and what it points to: remount,ro
	 * frees the map while a clean folio may still be evicted, and
	 * sysfs/statfs read it.  reserved lives here, not in the map: a
	 * reservation belongs to a dirty folio, which outlives neither the
	 * sync before remount,ro nor the mount, but is counted across them.
	 */
	spinlock_t space_lock;
	struct xipfs_space *space;	/* NULL unless mounted read-write */
	u64 reserved;		/* pages promised to dirty folios' writeback */
	errseq_t wb_err;	/* s_wb_err when the mount went read-write */

	/* the page profile (profile.c): the xarray is set up with sbi */
	u8 profiling;			/* XIPFS_PROFILE_* */
	struct xarray profile;		/* inode number -> its pages' bytes */
	atomic64_t profile_dropped;
	struct proc_dir_entry *proc;	/* /proc/fs/xipfs/<id> */

	/* sysfs */
	struct kobject kobj;
	struct completion kobj_unregister;
	struct xipfs_stats stats;
};

static inline struct xipfs_sb_info *XIPFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

/*
 * What a regular file's map is besides its group shift: a grouped map's
 * end run (XIPFS_INODE_END_RUN: pages from start on), or an extent map.
 */
/* The i_flags that say what form a regular file's page map has. */
#define XIPFS_INODE_MAP_FLAGS	(XIPFS_INODE_END_RUN | XIPFS_INODE_EXTENT_MAP)

struct xipfs_map_form {
	u32 start;		/* end run: first page; XIPFS_MAP_NO_RUN: none */
	u64 entry;		/* end run: page start's entry, in CPU order */
	u32 extents;		/* XIPFS_INODE_EXTENT_MAP: extent count; 0: not one */
};

struct xipfs_inode_info {
	u64 data;		/* i_data: page map (less its group shift), dir block or target */
	u32 map_cap;		/* REG: page map capacity, in pages */
	u8 map_shift;		/* REG: group shift of the map: 0 = one entry per page */
	struct xipfs_map_form form; /* REG: end run or extent map */
	u64 xattr;		/* i_xattr: attribute body (0: none) */
	/*
	 * REG: orders page map changes against the users of what an entry
	 * names: readers (faults inserting window PFNs, read() from the
	 * window, read_folio) hold it shared; whoever changes an entry whose
	 * old page may be mapped or copied holds it exclusive, and zaps.
	 * Taken inside the folio lock and the invalidate lock.
	 */
	struct rw_semaphore map_sem;
	/* REG: window pages written through shared mappings since the last sync */
	struct xarray xip_dirty;
	/* REG: i_size as on the medium: covers only data that is there */
	spinlock_t size_lock;	/* disk_size and its store */
	u64 disk_size;
	struct inode vfs_inode;
};

static inline struct xipfs_inode_info *XIPFS_I(struct inode *inode)
{
	return container_of(inode, struct xipfs_inode_info, vfs_inode);
}

/*
 * Metadata bytes [off, off + len) of the image, or NULL when any of them
 * lies outside the metadata area: every on-media offset goes through here.
 */
static inline const void *xipfs_meta(struct xipfs_sb_info *sbi, u64 off,
				     u64 len)
{
	if (off < sbi->meta_off || len > sbi->meta_size ||
	    off - sbi->meta_off > sbi->meta_size - len)
		return NULL;
	return sbi->meta + (off - sbi->meta_off);
}

/*
 * Does @n fit the size_t (unsigned long) that vmalloc(), kvcalloc(),
 * memremap() and mtd_point() take?  Always on 64-bit kernels, the only
 * ones xipfs builds for; checked anyway, so that no size is ever cut.
 */
static inline bool xipfs_fits_size_t(u64 n)
{
	return n == (size_t)n;
}

/* A decoded page map entry. */
struct xipfs_page {
	unsigned int type;	/* XIPFS_PTE_TYPE_* */
	u64 off;		/* XIP: image byte offset; TAIL: metadata offset */
	u64 cluster;		/* COMP */
	unsigned int cindex;	/* COMP: page index inside the cluster */
	unsigned int len;	/* bytes of file data in this page */
};

/*
 * A decoded, checked cluster descriptor (xipfs_get_cluster()): the
 * compressed bytes [off, off + clen) decompress to ulen bytes, which
 * fill its pages (the rest of the last one reads as zeros).
 */
struct xipfs_cl {
	u64 off;		/* image byte offset of the compressed data */
	u32 clen;		/* compressed bytes */
	u32 ulen;		/* uncompressed bytes */
	unsigned int alg;	/* enum xipfs_comp_alg */
	unsigned int pages;	/* 1..max cluster pages */
	bool shared;		/* XIPFS_CL_SHARED: pages of several files */
};

static inline bool xipfs_rw(struct super_block *sb)
{
	return !sb_rdonly(sb);
}

/* Is [off, off + len) inside the area [aoff, aoff + asize)? */
static inline bool xipfs_in_area(u64 off, u64 len, u64 aoff, u64 asize)
{
	return off >= aoff && len <= asize && off - aoff <= asize - len;
}

/* Is [off, off + len) inside the data region [xip_off, image_size)? */
static inline bool xipfs_in_data(struct xipfs_sb_info *sbi, u64 off, u64 len)
{
	return xipfs_in_area(off, len, sbi->xip_off,
			     sbi->image_size - sbi->xip_off);
}

/* Pages of @inode up to i_size. */
static inline pgoff_t xipfs_npages(struct inode *inode)
{
	return DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
}

/* The window's address of image page @pgno (read-write mounts). */
static inline void *xipfs_window(struct super_block *sb, u64 pgno)
{
	return XIPFS_SB(sb)->virt + (pgno << PAGE_SHIFT);
}

/* Is an up-to-date copy of page @index in the page cache? */
static inline bool xipfs_cached_uptodate(struct address_space *mapping,
					 pgoff_t index)
{
	struct folio *folio = xipfs_cached_folio(mapping, index);
	bool ret;

	if (!folio)
		return false;
	ret = folio_test_uptodate(folio);
	folio_put(folio);
	return ret;
}

/* medium.c */
int xipfs_medium_open(struct super_block *sb);
void xipfs_medium_close(struct super_block *sb);
int xipfs_medium_map(struct super_block *sb);
int xipfs_medium_read(struct super_block *sb, u64 off, void *buf, size_t len);
void xipfs_writeback(void *addr, size_t len);
void xipfs_persist(void *addr, size_t len);
struct xipfs_inode *xipfs_dinode(struct inode *inode);
void xipfs_extend_disk_size(struct inode *inode, u64 end, bool clamp);
void xipfs_set_size(struct inode *inode, u64 size);
void xipfs_store_inode(struct inode *inode);

/* inode.c */
extern struct kmem_cache *xipfs_inode_cachep;
struct inode *xipfs_iget(struct super_block *sb, u64 ino);
int xipfs_read_inode(struct super_block *sb, u64 ino, struct xipfs_inode *di);
void xipfs_inode_once(void *ptr);

/* xattr.c */
extern XIPFS_XATTR_HANDLERS xipfs_xattr_handlers[];
ssize_t xipfs_listxattr(struct dentry *dentry, char *buffer, size_t size);
bool xipfs_xattr_has_caps(struct inode *inode);
struct posix_acl *xipfs_get_acl(struct inode *inode, int type, bool rcu);
int xipfs_xattr_mount(struct super_block *sb,
		      const struct xipfs_super_block *dsb);

/* namei.c */
extern const struct inode_operations xipfs_dir_iops;

/* dir.c */
extern const struct file_operations xipfs_dir_fops;
int xipfs_dir_entry(struct inode *dir, u32 i, const struct xipfs_dirent **de,
		    const u8 **name);

/* map.c */
int xipfs_page_lookup(struct inode *inode, pgoff_t index,
		      struct xipfs_page *pg);
bool xipfs_map_ok(struct xipfs_sb_info *sbi, u64 data, u32 cap, u16 flags,
		  struct xipfs_map_form *form);
int xipfs_map_read(struct inode *inode, pgoff_t index, u64 *e);
u64 xipfs_map_derive(struct xipfs_sb_info *sbi, const __le64 *map,
		     unsigned int shift, const struct xipfs_map_form *form, u64 i);
void xipfs_store_entry(struct inode *inode, pgoff_t index, u64 e);
int xipfs_map_grow(struct inode *inode, u64 npages);

/* data.c */
extern const struct address_space_operations xipfs_aops;
int xipfs_ct_place(struct xipfs_sb_info *sbi, u64 idx, u64 *off, u64 *end);
int xipfs_get_cluster(struct super_block *sb, u64 idx,
		      struct xipfs_cl *c);
int xipfs_read_folio_locked(struct inode *inode, struct folio *folio);

/* csum.c */
int xipfs_csum_cluster(struct super_block *sb, u64 idx, const void *src,
		       u32 len, u64 ino);
int xipfs_scrub(struct super_block *sb);
ssize_t xipfs_scrub_show(struct xipfs_sb_info *sbi, char *buf);

/* space.c */
int xipfs_space_build(struct super_block *sb);
int xipfs_space_recover(struct super_block *sb);
void xipfs_space_free(struct super_block *sb);
int xipfs_space_alloc(struct super_block *sb, u64 n, bool reserved, bool map,
		      u64 *pgno);
void xipfs_space_release(struct super_block *sb, u64 pgno, u64 n);
int xipfs_space_reserve(struct super_block *sb);
void xipfs_space_unreserve(struct super_block *sb);
void xipfs_space_put_entry(struct super_block *sb, u64 e);
u64 xipfs_space_free_pages(struct super_block *sb);
u64 xipfs_space_reserved(struct super_block *sb);

/* shadow.c: a test facility (see there) */
void xipfs_shadow_update(const void *addr, size_t len);
void xipfs_shadow_start(struct super_block *sb);
void xipfs_shadow_stop(struct super_block *sb);

/* write.c: the read-write side */
ssize_t xipfs_file_write_iter(struct kiocb *iocb, struct iov_iter *from);
int xipfs_setattr(struct xipfs_idmap *idmap, struct dentry *dentry,
		  struct iattr *attr);
long xipfs_fallocate(struct file *file, int mode, loff_t off, loff_t len);
int xipfs_fsync(struct file *file, loff_t start, loff_t end, int datasync);
int xipfs_writepages(struct address_space *mapping,
		     struct writeback_control *wbc);
void xipfs_folio_unreserve(struct folio *folio);
void xipfs_invalidate_folio(struct folio *folio, size_t off, size_t len);
bool xipfs_release_folio(struct folio *folio, gfp_t gfp);
vm_fault_t xipfs_page_mkwrite(struct vm_fault *vmf);
vm_fault_t xipfs_pfn_mkwrite(struct vm_fault *vmf);
void xipfs_mark_xip_dirty(struct inode *inode, pgoff_t index);
void xipfs_sync_xip(struct inode *inode);

/* file.c */
extern const struct file_operations xipfs_file_fops;

/* sysfs.c */
int __init xipfs_sysfs_init(void);
void xipfs_sysfs_exit(void);
int xipfs_sysfs_register(struct super_block *sb);
void xipfs_sysfs_unregister(struct super_block *sb);

/* profile.c: how a page was touched, next to a touch count */
#define XIPFS_PROF_EXEC		0x10	/* faulted into an executable mapping */
#define XIPFS_PROF_MAP		0x20	/* faulted into another mapping */
#define XIPFS_PROF_READ		0x40	/* read with read() or splice */
#define XIPFS_PROF_NEAR		0x80	/* only mapped alongside a touched page */

/* What profiling records (sbi->profiling). */
enum {
	XIPFS_PROFILE_OFF,
	XIPFS_PROFILE_EXACT,	/* fault-around off: every page was touched */
	XIPFS_PROFILE_FAST,	/* fault-around on: neighbours marked NEAR */
};

void __init xipfs_profile_init(void);
void xipfs_profile_exit(void);
int xipfs_profile_register(struct super_block *sb);
void xipfs_profile_unregister(struct super_block *sb);
int xipfs_profile_ctl(struct xipfs_sb_info *sbi, const char *cmd);
void xipfs_profile_record(struct inode *inode, pgoff_t first, pgoff_t last,
			  unsigned int use);
void xipfs_profile_near(struct inode *inode, pgoff_t base,
			unsigned long near, unsigned int use);
void xipfs_profile_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
			     pgoff_t end_pgoff, vm_fault_t ret);

/* Only a flag to test when profiling is off. */
static inline bool xipfs_profiling(struct super_block *sb)
{
	return unlikely(READ_ONCE(XIPFS_SB(sb)->profiling) != XIPFS_PROFILE_OFF);
}

/* Fault-around is off while this holds (profile.c). */
static inline bool xipfs_profiling_exact(struct super_block *sb)
{
	return unlikely(READ_ONCE(XIPFS_SB(sb)->profiling) == XIPFS_PROFILE_EXACT);
}

static inline void xipfs_profile(struct inode *inode, pgoff_t first,
				 pgoff_t last, unsigned int use)
{
	if (xipfs_profiling(inode->i_sb))
		xipfs_profile_record(inode, first, last, use);
}

#endif /* __XIPFS_INTERNAL_H */
