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
#include <linux/pagemap.h>
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
};

struct xipfs_sb_info {
	/* mount options */
	u64 opt_physaddr;
	u64 opt_size;
	bool opt_physaddr_set;
	bool opt_size_set;
	bool opt_noxip;

	/* the medium */
	enum xipfs_medium medium;
	u64 medium_size;
	void *virt;		/* kernel mapping of the image, if any */
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
	u64 xip_off, xip_size;
	u64 comp_off, comp_size;
	u64 free_off, free_size;
	u32 inode_count;
	u32 root_ino;
	u32 feature_incompat;
	u16 comp_algs;
	u8 max_cluster_shift;
	u8 uuid[16];

	/* sysfs */
	struct kobject kobj;
	struct completion kobj_unregister;
	struct xipfs_stats stats;
};

static inline struct xipfs_sb_info *XIPFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

struct xipfs_inode_info {
	u64 data;		/* i_data: page map, dir block or target */
	u32 map_cap;		/* REG: page map entries */
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

/* A decoded page map entry. */
struct xipfs_page {
	unsigned int type;	/* XIPFS_PTE_TYPE_* */
	u64 off;		/* XIP: image byte offset; TAIL: metadata offset */
	u64 cluster;		/* COMP */
	unsigned int cindex;	/* COMP: page index inside the cluster */
	unsigned int len;	/* bytes of file data in this page */
};

/* medium.c */
int xipfs_medium_open(struct super_block *sb);
void xipfs_medium_close(struct super_block *sb);
int xipfs_medium_map(struct super_block *sb);
int xipfs_medium_read(struct super_block *sb, u64 off, void *buf, size_t len);

/* inode.c */
extern struct kmem_cache *xipfs_inode_cachep;
struct inode *xipfs_iget(struct super_block *sb, u64 ino);
void xipfs_inode_once(void *ptr);

/* namei.c */
extern const struct inode_operations xipfs_dir_iops;

/* dir.c */
extern const struct file_operations xipfs_dir_fops;
int xipfs_dir_entry(struct inode *dir, u32 i, const struct xipfs_dirent **de,
		    const u8 **name);

/* data.c */
extern const struct address_space_operations xipfs_aops;
int xipfs_page_lookup(struct inode *inode, pgoff_t index,
		      struct xipfs_page *pg);

/* file.c */
extern const struct file_operations xipfs_file_fops;

/* sysfs.c */
int __init xipfs_sysfs_init(void);
void xipfs_sysfs_exit(void);
int xipfs_sysfs_register(struct super_block *sb);
void xipfs_sysfs_unregister(struct super_block *sb);

#endif /* __XIPFS_INTERNAL_H */
