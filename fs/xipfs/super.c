// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: mount (fs_context, options), superblock validation, statfs and
 * the module's life cycle.
 *
 * Three mount sources:
 *   mount -t xipfs -o ro,physaddr=ADDR[,size=SIZE] none /mnt
 *   mount -t xipfs -o ro mtd:NAME /mnt	(or mtdN)
 *   mount -t xipfs -o ro /dev/BLOCKDEV /mnt
 * Windows and RAM MTD devices (phram, mtdram) also mount read-write when
 * the image has free space; see write.c.
 * As the root file system (xipfs built in):
 *   root=mtd:NAME rootfstype=xipfs ro
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/seq_file.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/security.h>
#include <linux/capability.h>
#include <linux/mtd/super.h>
#include <linux/mtd/mtd.h>
#include <linux/vmalloc.h>
#include <linux/log2.h>
#include "internal.h"
#include "decompressor.h"

/*
 * A read-write mount publishes each page with one aligned 8-byte store
 * (WRITE_ONCE() of an __le64), which a 32-bit CPU splits in two: a power
 * cut between the halves leaves an entry naming a page nobody wrote.
 * In-tree, Kconfig says "depends on 64BIT"; this stops out-of-tree builds.
 */
#ifndef CONFIG_64BIT
#error "xipfs needs a 64-bit kernel (CONFIG_64BIT)"
#endif

struct kmem_cache *xipfs_inode_cachep __read_mostly;

void _xipfs_err(struct super_block *sb, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (sb)
		pr_err("xipfs (%s): %pV", sb->s_id, &vaf);
	else
		pr_err("xipfs: %pV", &vaf);
	va_end(args);
}

void _xipfs_info(struct super_block *sb, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("xipfs (%s): %pV", sb->s_id, &vaf);
	va_end(args);
}

/* A padding mistake in the format header must not compile. */
static void __init xipfs_check_layout(void)
{
	BUILD_BUG_ON(sizeof(struct xipfs_super_block) != XIPFS_SB_SIZE);
	BUILD_BUG_ON(sizeof(struct xipfs_inode) != XIPFS_INODE_SIZE);
	BUILD_BUG_ON(sizeof(struct xipfs_inode_compact) != XIPFS_INODE_SLOT);
	BUILD_BUG_ON(XIPFS_INODE_SIZE != 2 * XIPFS_INODE_SLOT);
	BUILD_BUG_ON(sizeof(__le64) != XIPFS_CLUSTER_SIZE);
	/* i_mode and i_flags are where both forms have them. */
	BUILD_BUG_ON(offsetof(struct xipfs_inode, i_mode) !=
		     offsetof(struct xipfs_inode_compact, i_mode));
	BUILD_BUG_ON(offsetof(struct xipfs_inode, i_flags) !=
		     offsetof(struct xipfs_inode_compact, i_flags));
	BUILD_BUG_ON(sizeof(struct xipfs_dirent) != XIPFS_DIRENT_SIZE);
	BUILD_BUG_ON(sizeof(struct xipfs_dir_header) != XIPFS_DIR_HEADER_SIZE);
	BUILD_BUG_ON(sizeof(struct xipfs_xattr_entry) != XIPFS_XATTR_ENTRY_HDR);
	BUILD_BUG_ON(sizeof(struct xipfs_xattr_header) != XIPFS_XATTR_HEADER_SIZE);
	/* The data checksum fields sit at s_reserved[24..47] of old. */
	BUILD_BUG_ON(offsetof(struct xipfs_super_block, s_csum_off) != 208);
	BUILD_BUG_ON(sizeof(__le32) != XIPFS_CSUM_SIZE);
}

static struct inode *xipfs_alloc_inode(struct super_block *sb)
{
	struct xipfs_inode_info *xi;

	xi = alloc_inode_sb(sb, xipfs_inode_cachep, GFP_KERNEL);
	if (!xi)
		return NULL;
	xi->data = 0;
	xi->map_cap = 0;
	xi->map_shift = 0;
	xi->form.start = XIPFS_MAP_NO_RUN;
	xi->form.entry = 0;
	xi->disk_size = 0;
	xa_init(&xi->xip_dirty);
	return &xi->vfs_inode;
}

static void xipfs_free_inode(struct inode *inode)
{
	/* A symlink's i_link is a kmalloc()ed copy of its target. */
	if (S_ISLNK(inode->i_mode))
		kfree(inode->i_link);
	kmem_cache_free(xipfs_inode_cachep, XIPFS_I(inode));
}

static void xipfs_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	xa_destroy(&XIPFS_I(inode)->xip_dirty);
}

/* Attribute changes go to the medium at once: there is no journal. */
static void xipfs_dirty_inode(struct inode *inode, int flags)
{
	if (xipfs_rw(inode->i_sb) && inode->i_ino)
		xipfs_store_inode(inode);
}

/* s_state is outside s_checksum: one 2-byte store changes it. */
static void xipfs_set_state(struct super_block *sb, bool clean)
{
	struct xipfs_super_block *dsb = XIPFS_SB(sb)->virt;
	u16 state = le16_to_cpu(READ_ONCE(dsb->s_state));

	if (clean)
		state |= XIPFS_STATE_CLEAN;
	else
		state = (state & ~XIPFS_STATE_CLEAN) | XIPFS_STATE_META_MODIFIED;
	WRITE_ONCE(dsb->s_state, cpu_to_le16(state));
	xipfs_persist(&dsb->s_state, sizeof(dsb->s_state));
}

/*
 * Going read-write: only on writable memory, with free space, and on an
 * image whose maps add up (space.c); then the state says "modified, not
 * clean" before anything else is stored.
 */
static int xipfs_enable_rw(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	const struct xipfs_super_block *dsb = sbi->virt;
	int err;

	if (!sbi->rw_capable) {
		xipfs_err(sb, "read-write needs a memory window or a RAM MTD device (phram, mtdram); %s stays read-only",
			  sbi->medium == XIPFS_MEDIUM_BDEV ? "a block device" :
			  sbi->medium == XIPFS_MEDIUM_MTD ? "this MTD device" :
			  "this window");
		return -EROFS;
	}
	if (sbi->feature_ro_compat & ~XIPFS_FEATURE_RO_COMPAT_ALL) {
		xipfs_err(sb, "unknown read-only compatible features 0x%x: read-only",
			  sbi->feature_ro_compat & ~XIPFS_FEATURE_RO_COMPAT_ALL);
		return -EROFS;
	}
	/*
	 * Identical files share pages: a write to one would show in all,
	 * and space.c's walk counts each page for one user.
	 */
	if (sbi->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA) {
		xipfs_err(sb, "image has files sharing data (deduped): read-only; make it with mkfs.xipfs -E nodedupe (or --free-space SIZE) to mount it read-write");
		return -EROFS;
	}
	/*
	 * A write would leave the data checksums of what it writes stale;
	 * keeping them would need the table rewritten in place on every
	 * write, which a power cut could tear.
	 */
	if (sbi->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM) {
		xipfs_err(sb, "image has data checksums: read-only; make it without mkfs.xipfs -E checksums to mount it read-write");
		return -EROFS;
	}
	/* They have no room for 64-bit sizes and nanoseconds. */
	if (sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES) {
		xipfs_err(sb, "image has compact inodes: read-only; make it with mkfs.xipfs -E inodes=full (or --free-space SIZE) to mount it read-write");
		return -EROFS;
	}
	/* Made per-page, one would change i_flags and i_data: two stores. */
	if (sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS) {
		xipfs_err(sb, "image has extent maps: read-only; make it with mkfs.xipfs -E maps=flat (or --free-space SIZE) to mount it read-write");
		return -EROFS;
	}
	if (!sbi->free_size) {
		xipfs_err(sb, "image has no free space: make it with mkfs.xipfs --free-space SIZE to mount it read-write");
		return -EROFS;
	}
	if (sbi->meta_off + sbi->meta_size > sbi->xip_off) {
		xipfs_err(sb, "metadata overlaps the data region: cannot mount read-write");
		return -EFSCORRUPTED;
	}
	if (!(le16_to_cpu(dsb->s_state) & XIPFS_STATE_CLEAN))
		xipfs_info(sb, "not unmounted cleanly: checking the page maps");
	err = xipfs_space_build(sb);
	if (err)
		return err;
	/* A writeback error from now on keeps the image marked modified. */
	sbi->wb_err = errseq_sample(&sb->s_wb_err);
	xipfs_set_state(sb, false);
	err = xipfs_space_recover(sb);
	if (err) {
		xipfs_space_free(sb);
		return err;
	}
	xipfs_info(sb, "read-write, %llu of %llu data pages free",
		   xipfs_space_free_pages(sb), sbi->space->npages);
	xipfs_shadow_start(sb);
	return 0;
}

/*
 * Going read-only (remount, umount), after sync_filesystem(): the image is
 * clean unless some writeback failed since it went read-write (data that
 * never reached the medium); then it stays marked modified, and the next
 * read-write mount checks it.
 */
static void xipfs_disable_rw(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if (!READ_ONCE(sbi->space))
		return;
	xipfs_shadow_stop(sb);
	if (errseq_check(&sb->s_wb_err, sbi->wb_err))
		xipfs_err(sb, "writeback failed: the image stays marked modified");
	else
		xipfs_set_state(sb, true);
	xipfs_space_free(sb);
}

/*
 * A store through a shared mapping whose pfn_mkwrite comes after
 * ->writepages synced the inode's window pages, but before writeback
 * clears I_DIRTY_PAGES, leaves the page in xip_dirty (writable in its
 * mappings) on an inode writeback thinks clean: writeback re-dirties an
 * inode only for page cache tags.  sync(2), syncfs(2), umount and
 * remount,ro come here after writeback, and sync every such inode, so
 * that none of them misses a store (and the next store faults again).
 */
static int xipfs_sync_fs(struct super_block *sb, int wait)
{
	struct inode *inode, *prev = NULL;

	if (!xipfs_rw(sb))
		return 0;
	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		if (!S_ISREG(inode->i_mode) ||
		    xa_empty(&XIPFS_I(inode)->xip_dirty) || !igrab(inode))
			continue;
		spin_unlock(&sb->s_inode_list_lock);
		iput(prev);
		prev = inode;
		xipfs_sync_xip(inode);
		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(prev);
	return 0;
}

static void xipfs_put_super(struct super_block *sb)
{
	/* After sync_filesystem() and evict_inodes(), before the MTD goes. */
	xipfs_disable_rw(sb);
	/* sysfs first: no "profiling" write may come after the profile. */
	xipfs_sysfs_unregister(sb);
	xipfs_profile_unregister(sb);
	xipfs_medium_close(sb);
}

static int xipfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 a, b;

	buf->f_type = XIPFS_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_frsize = PAGE_SIZE;
	buf->f_blocks = sbi->image_size >> PAGE_SHIFT;
	buf->f_bfree = xipfs_space_free_pages(sb);
	buf->f_bavail = buf->f_bfree;
	buf->f_files = sbi->inode_count - 1;
	buf->f_ffree = 0;
	buf->f_namelen = XIPFS_NAME_MAX;
	memcpy(&a, sbi->uuid, 8);
	memcpy(&b, sbi->uuid + 8, 8);
	buf->f_fsid = u64_to_fsid(a ^ b);
	return 0;
}

static int xipfs_show_options(struct seq_file *seq, struct dentry *root)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(root->d_sb);

	if (sbi->opt_physaddr_set)
		seq_printf(seq, ",physaddr=0x%llx", sbi->opt_physaddr);
	if (sbi->opt_size_set)
		seq_printf(seq, ",size=0x%llx", sbi->opt_size);
	if (sbi->opt_noxip)
		seq_puts(seq, ",noxip");
	if (sbi->opt_profile == XIPFS_PROFILE_EXACT)
		seq_puts(seq, ",profile");
	else if (sbi->opt_profile == XIPFS_PROFILE_FAST)
		seq_puts(seq, ",profile=fast");
	return 0;
}

static const struct super_operations xipfs_sops = {
	.alloc_inode	= xipfs_alloc_inode,
	.free_inode	= xipfs_free_inode,
	.evict_inode	= xipfs_evict_inode,
	.dirty_inode	= xipfs_dirty_inode,
	.put_super	= xipfs_put_super,
	.sync_fs	= xipfs_sync_fs,
	.statfs		= xipfs_statfs,
	.show_options	= xipfs_show_options,
};

/* Is [off, off + size) inside the image, and page-aligned if asked? */
static bool xipfs_area_ok(struct xipfs_sb_info *sbi, u64 off, u64 size,
			  bool aligned)
{
	if (aligned && (off & ~PAGE_MASK))
		return false;
	return off <= sbi->image_size && size <= sbi->image_size - off;
}

/*
 * RO_COMPAT_DATA_CSUM: one entry per cluster and XIP-area page, inside
 * the metadata.  Checked only while they hold: a read-write mount of
 * another tool may have changed the data (META_MODIFIED).
 */
static int xipfs_check_csum_table(struct super_block *sb,
				  const struct xipfs_super_block *dsb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 off = le64_to_cpu(dsb->s_csum_off);
	u64 size = le64_to_cpu(dsb->s_csum_size);
	u64 n;

	if (!(sbi->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM))
		return 0;
	/* cluster_count < meta_size / 8 (checked): no overflow. */
	n = sbi->cluster_count + (sbi->xip_size >> PAGE_SHIFT);
	if ((off & 3) || size != n * XIPFS_CSUM_SIZE || off < sbi->meta_off ||
	    off - sbi->meta_off > sbi->meta_size ||
	    size > sbi->meta_size - (off - sbi->meta_off)) {
		xipfs_err(sb, "data checksum table [%llu, +%llu) is not %llu entries inside the metadata",
			  off, size, n);
		return -EFSCORRUPTED;
	}
	sbi->csum_off = off;
	if (le16_to_cpu(dsb->s_state) & XIPFS_STATE_META_MODIFIED) {
		xipfs_info(sb, "metadata modified in place: data checksums not checked");
		return 0;
	}
	sbi->csum = true;
	return 0;
}

static int xipfs_check_sb(struct super_block *sb,
			  const struct xipfs_super_block *dsb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_super_block tmp;
	u32 incompat, algs;
	unsigned int alg;

	if (le32_to_cpu(dsb->s_magic) != XIPFS_MAGIC) {
		xipfs_err(sb, "bad magic 0x%08x: not an xipfs image",
			  le32_to_cpu(dsb->s_magic));
		return -EINVAL;
	}
	tmp = *dsb;
	tmp.s_checksum = 0;
	tmp.s_state = 0;
	if (xipfs_crc32c(&tmp, sizeof(tmp)) != le32_to_cpu(dsb->s_checksum)) {
		xipfs_err(sb, "superblock checksum mismatch");
		return -EFSCORRUPTED;
	}
	if (le16_to_cpu(dsb->s_version) != XIPFS_VERSION) {
		xipfs_err(sb, "format version %u not supported (want %u)",
			  le16_to_cpu(dsb->s_version), XIPFS_VERSION);
		return -EINVAL;
	}
	if (dsb->s_page_shift != PAGE_SHIFT) {
		xipfs_err(sb, "image page size %lu, kernel page size %lu: not supported",
			  dsb->s_page_shift < 32 ? 1UL << dsb->s_page_shift : 0,
			  PAGE_SIZE);
		return -EINVAL;
	}
	incompat = le32_to_cpu(dsb->s_feature_incompat);
	if (incompat & ~XIPFS_FEATURE_INCOMPAT_ALL) {
		xipfs_err(sb, "unknown incompatible features 0x%x",
			  incompat & ~XIPFS_FEATURE_INCOMPAT_ALL);
		return -EINVAL;
	}
	sbi->feature_incompat = incompat;
	/* Unknown RO_COMPAT bits only refuse read-write (xipfs_enable_rw). */
	sbi->feature_ro_compat = le32_to_cpu(dsb->s_feature_ro_compat);

	sbi->max_cluster_shift = dsb->s_max_cluster_shift;
	algs = le16_to_cpu(dsb->s_comp_algs);
	if (incompat & XIPFS_FEATURE_INCOMPAT_CLUSTERS) {
		/* Compared, not shifted: a shift of 64 or more is undefined. */
		if (sbi->max_cluster_shift < PAGE_SHIFT ||
		    sbi->max_cluster_shift > ilog2(XIPFS_MAX_CLUSTER_SIZE)) {
			xipfs_err(sb, "bad maximum cluster shift %u",
				  sbi->max_cluster_shift);
			return -EFSCORRUPTED;
		}
		if (algs & ~(BIT(XIPFS_COMP_MAX) - 1)) {
			xipfs_err(sb, "unknown compression algorithms 0x%x",
				  algs);
			return -EINVAL;
		}
		for (alg = XIPFS_COMP_NONE + 1; alg < XIPFS_COMP_MAX; alg++) {
			if ((algs & BIT(alg)) && !xipfs_decompressor(alg)) {
				xipfs_err(sb, "image uses compression algorithm %u, not built into this kernel",
					  alg);
				return -EOPNOTSUPP;
			}
		}
		sbi->cshift = sbi->max_cluster_shift - PAGE_SHIFT;
	} else {
		algs = 0;
		sbi->cshift = 0;
	}
	sbi->comp_algs = algs;

	sbi->image_size = le64_to_cpu(dsb->s_image_size);
	if (sbi->image_size < PAGE_SIZE || (sbi->image_size & ~PAGE_MASK)) {
		xipfs_err(sb, "bad image size %llu", sbi->image_size);
		return -EFSCORRUPTED;
	}
	if (sbi->image_size > sbi->medium_size) {
		xipfs_err(sb, "image (%llu bytes) larger than its medium (%llu bytes): truncated?",
			  sbi->image_size, sbi->medium_size);
		return -EINVAL;
	}

	sbi->meta_off = le64_to_cpu(dsb->s_meta_off);
	sbi->meta_size = le64_to_cpu(dsb->s_meta_size);
	sbi->inode_off = le64_to_cpu(dsb->s_inode_off);
	sbi->inode_count = le32_to_cpu(dsb->s_inode_count);
	sbi->cluster_off = le64_to_cpu(dsb->s_cluster_off);
	sbi->cluster_count = le64_to_cpu(dsb->s_cluster_count);
	sbi->xip_off = le64_to_cpu(dsb->s_xip_off);
	sbi->xip_size = le64_to_cpu(dsb->s_xip_size);
	sbi->comp_off = le64_to_cpu(dsb->s_comp_off);
	sbi->comp_size = le64_to_cpu(dsb->s_comp_size);
	if (le32_to_cpu(dsb->s_feature_compat) &
	    XIPFS_FEATURE_COMPAT_FREE_SPACE) {
		sbi->free_off = le64_to_cpu(dsb->s_free_off);
		sbi->free_size = le64_to_cpu(dsb->s_free_size);
	}
	sbi->root_ino = le32_to_cpu(dsb->s_root_ino);
	memcpy(sbi->uuid, dsb->s_uuid, sizeof(sbi->uuid));

	/* The metadata may start right after the superblock. */
	if (sbi->meta_off < XIPFS_SB_SIZE || (sbi->meta_off & 7) ||
	    !sbi->meta_size ||
	    !xipfs_area_ok(sbi, sbi->meta_off, sbi->meta_size, false)) {
		xipfs_err(sb, "metadata area [%llu, +%llu) outside the image or unaligned",
			  sbi->meta_off, sbi->meta_size);
		return -EFSCORRUPTED;
	}
	if (!xipfs_area_ok(sbi, sbi->xip_off, sbi->xip_size, true) ||
	    (sbi->xip_size & ~PAGE_MASK)) {
		xipfs_err(sb, "XIP area [%llu, +%llu) outside the image or unaligned",
			  sbi->xip_off, sbi->xip_size);
		return -EFSCORRUPTED;
	}
	/*
	 * Clusters are byte-packed: only an image with XIP pages or free space
	 * needs the compressed area on a page boundary (the data region).
	 */
	if (!xipfs_area_ok(sbi, sbi->comp_off, sbi->comp_size,
			   sbi->xip_size || sbi->free_size) ||
	    (sbi->comp_size && sbi->comp_off < sbi->meta_off + sbi->meta_size)) {
		xipfs_err(sb, "compressed area [%llu, +%llu) outside the image, unaligned or overlapping the metadata",
			  sbi->comp_off, sbi->comp_size);
		return -EFSCORRUPTED;
	}
	if (!xipfs_area_ok(sbi, sbi->free_off, sbi->free_size, true) ||
	    (sbi->free_size & ~PAGE_MASK)) {
		xipfs_err(sb, "free area [%llu, +%llu) outside the image or unaligned",
			  sbi->free_off, sbi->free_size);
		return -EFSCORRUPTED;
	}
	/* The tables must lie in the metadata, which the CRC covers. */
	if (sbi->inode_count < 2 || (sbi->inode_off & 7) ||
	    sbi->inode_off < sbi->meta_off ||
	    sbi->inode_off - sbi->meta_off > sbi->meta_size ||
	    (u64)sbi->inode_count * XIPFS_INODE_SLOT >
	    sbi->meta_size - (sbi->inode_off - sbi->meta_off)) {
		xipfs_err(sb, "inode table (%u slots at %llu) outside the metadata",
			  sbi->inode_count, sbi->inode_off);
		return -EFSCORRUPTED;
	}
	/*
	 * count + 1 descriptors (the sentinel): count < room, no overflow.
	 * A compact table has at least two bytes a cluster: a bound that
	 * keeps xipfs_ct_size() from overflowing; xipfs_check_clusters()
	 * checks the whole table.
	 */
	if (sbi->cluster_count &&
	    (!(incompat & XIPFS_FEATURE_INCOMPAT_CLUSTERS) ||
	     (sbi->cluster_off & 7) || sbi->cluster_off < sbi->meta_off ||
	     sbi->cluster_off - sbi->meta_off > sbi->meta_size ||
	     sbi->cluster_count >= (sbi->meta_size -
				    (sbi->cluster_off - sbi->meta_off)) /
				   (incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS ?
				    2 : XIPFS_CLUSTER_SIZE))) {
		xipfs_err(sb, "cluster table (%llu clusters at %llu) outside the metadata",
			  sbi->cluster_count, sbi->cluster_off);
		return -EFSCORRUPTED;
	}
	if (sbi->root_ino != XIPFS_ROOT_INO) {
		xipfs_err(sb, "root inode %u, want %u", sbi->root_ino,
			  XIPFS_ROOT_INO);
		return -EFSCORRUPTED;
	}
	return xipfs_check_csum_table(sb, dsb);
}

static int xipfs_check_meta_crc(struct super_block *sb,
				const struct xipfs_super_block *dsb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u32 crc;

	/* A read-write mount changed the metadata in place: nothing to check. */
	if (le16_to_cpu(dsb->s_state) & XIPFS_STATE_META_MODIFIED) {
		xipfs_info(sb, "metadata modified in place: its checksum is not checked");
		return 0;
	}
	crc = xipfs_crc32c(sbi->meta, sbi->meta_size);
	if (crc != le32_to_cpu(dsb->s_meta_crc)) {
		xipfs_err(sb, "metadata checksum mismatch (0x%08x, want 0x%08x)",
			  crc, le32_to_cpu(dsb->s_meta_crc));
		return -EFSCORRUPTED;
	}
	return 0;
}

/*
 * A compact cluster table: its header, that it lies in the metadata, and
 * the end of its last cluster, which stands for the 8-byte table's
 * sentinel.  Sets sbi->ct_*.  Each cluster's own checks
 * (xipfs_get_cluster()) rely on the rest.
 */
static int xipfs_check_ct(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	const struct xipfs_cluster_table *ct;
	u64 n = sbi->cluster_count, e, off, end;
	unsigned int w = XIPFS_CT_LEN_BYTES(sbi->max_cluster_shift), alg;

	ct = xipfs_meta(sbi, sbi->cluster_off, XIPFS_CT_HEADER_SIZE);
	if (!ct)
		goto bad;
	/* Read once: a window's bytes may change under us. */
	e = le32_to_cpu(READ_ONCE(ct->ct_exceptions));
	alg = READ_ONCE(ct->ct_alg);
	/* n < meta_size / 2 (xipfs_check_sb()), e < 2^32: no overflow. */
	if (!xipfs_meta(sbi, sbi->cluster_off,
			xipfs_ct_size(n, e, sbi->max_cluster_shift)) ||
	    memchr_inv(ct->ct_reserved, 0, sizeof(ct->ct_reserved)) ||
	    alg >= XIPFS_COMP_MAX ||
	    (alg != XIPFS_COMP_NONE && !(sbi->comp_algs & BIT(alg))))
		goto bad;
	sbi->ct_base_off = sbi->cluster_off + XIPFS_CT_HEADER_SIZE;
	sbi->ct_exc_off = sbi->ct_base_off +
		((n + (1U << XIPFS_CT_GROUP_SHIFT) - 1) >> XIPFS_CT_GROUP_SHIFT) * 8;
	sbi->ct_len_off = sbi->ct_exc_off + e * 8;
	sbi->ct_exceptions = e;
	sbi->ct_alg = alg;
	sbi->ct_len_bytes = w;
	if (xipfs_ct_place(sbi, n - 1, &off, &end) || end > sbi->comp_size)
		goto bad;
	return 0;
bad:
	xipfs_err(sb, "bad compact cluster table at %llu", sbi->cluster_off);
	return -EFSCORRUPTED;
}

/*
 * The cluster table's sentinel holds only the end of the compressed data;
 * each cluster's own checks (xipfs_get_cluster()) rely on the rest.
 */
static int xipfs_check_clusters(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	const __le64 *p;
	u64 d;

	if (!sbi->cluster_count)
		return 0;
	if (sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS)
		return xipfs_check_ct(sb);
	p = xipfs_meta(sbi, sbi->cluster_off +
		       sbi->cluster_count * XIPFS_CLUSTER_SIZE,
		       XIPFS_CLUSTER_SIZE);
	d = p ? le64_to_cpu(*p) : ~0ULL;
	if ((d & ~XIPFS_CL_OFF_MASK) || XIPFS_CL_OFF(d) > sbi->comp_size) {
		xipfs_err(sb, "bad cluster table sentinel 0x%016llx", d);
		return -EFSCORRUPTED;
	}
	return 0;
}

static int xipfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_super_block dsb;
	struct inode *root;
	int err;

	sbi->sb = sb;
	sb->s_magic = XIPFS_MAGIC;
	sb->s_op = &xipfs_sops;
	sb->s_flags |= SB_NOATIME;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_min = S64_MIN;
	sb->s_time_max = S64_MAX;
	/* Inodes a read-write mount stores hold nanoseconds: keep them. */
	sb->s_time_gran = 1;

	err = xipfs_medium_open(sb);
	if (err)
		return err;
	err = xipfs_medium_read(sb, XIPFS_SB_OFFSET, &dsb, sizeof(dsb));
	if (err) {
		xipfs_err(sb, "cannot read the superblock: %d", err);
		return err;
	}
	err = xipfs_check_sb(sb, &dsb);
	if (err)
		return err;
	err = xipfs_medium_map(sb);
	if (err)
		return err;
	err = xipfs_check_meta_crc(sb, &dsb);
	if (err)
		return err;
	err = xipfs_check_clusters(sb);
	if (err)
		return err;
	/* Before the first iget: inodes get IOP_XATTR from s_xattr. */
	err = xipfs_xattr_mount(sb, &dsb);
	if (err)
		return err;

	root = xipfs_iget(sb, sbi->root_ino);
	if (IS_ERR(root)) {
		xipfs_err(sb, "cannot read the root inode: %ld", PTR_ERR(root));
		return PTR_ERR(root);
	}
	if (!S_ISDIR(root->i_mode)) {
		xipfs_err(sb, "root inode is not a directory (mode 0%o)",
			  root->i_mode);
		iput(root);
		return -EFSCORRUPTED;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;

	/* Dirty accounting and writeback need a real backing device. */
	if (sbi->medium == XIPFS_MEDIUM_WINDOW) {
		err = super_setup_bdi(sb);
		if (err)
			return err;
		/*
		 * No readahead, as on MTD: it would put copies of window
		 * pages in the page cache (see xipfs_file_open()).
		 */
		sb->s_bdi->ra_pages = 0;
		sb->s_bdi->io_pages = 0;
	}
	if (!sb_rdonly(sb)) {
		err = xipfs_enable_rw(sb);
		if (err)
			return err;
	}

	err = xipfs_sysfs_register(sb);
	if (err)
		return err;
	err = xipfs_profile_register(sb);
	if (err)
		return err;

	xipfs_info(sb, "mounted %s %s: %llu bytes, %s%s",
		   sb_rdonly(sb) ? "read-only" : "read-write",
		   sbi->medium == XIPFS_MEDIUM_WINDOW ? "memory window" :
		   sbi->medium == XIPFS_MEDIUM_MTD ? "MTD device" :
		   "block device", sbi->image_size,
		   sbi->xip ? "execute in place" : "through the page cache",
		   sbi->xip ? "" : sbi->virt ? " (window has no usable PFNs)" :
		   " (no memory window)");
	return 0;
}

/* physaddr= mounts share one superblock per window, like block devices. */
static int xipfs_test_window(struct super_block *sb, struct fs_context *fc)
{
	struct xipfs_sb_info *old = XIPFS_SB(sb), *new = fc->s_fs_info;

	return old->medium == XIPFS_MEDIUM_WINDOW &&
	       old->opt_physaddr == new->opt_physaddr;
}

static int xipfs_set_window(struct super_block *sb, struct fs_context *fc)
{
	struct xipfs_sb_info *sbi = fc->s_fs_info;
	int err;

	err = set_anon_super_fc(sb, fc);
	if (err)
		return err;
	sbi->medium = XIPFS_MEDIUM_WINDOW;
	return 0;
}

static int xipfs_get_tree_window(struct fs_context *fc)
{
	struct super_block *sb;
	int err;

	/* Raw physical memory: the same bar as /dev/mem. */
	if (!capable(CAP_SYS_RAWIO)) {
		pr_err("xipfs: physaddr= needs CAP_SYS_RAWIO\n");
		return -EPERM;
	}
	err = security_locked_down(LOCKDOWN_DEV_MEM);
	if (err) {
		pr_err("xipfs: physaddr= is not allowed: the kernel is locked down\n");
		return err;
	}

	sb = sget_fc(fc, xipfs_test_window, xipfs_set_window);
	if (IS_ERR(sb))
		return PTR_ERR(sb);
	if (!sb->s_root) {
		err = xipfs_fill_super(sb, fc);
		if (err) {
			deactivate_locked_super(sb);
			return err;
		}
		sb->s_flags |= SB_ACTIVE;
	} else if ((fc->sb_flags ^ sb->s_flags) & SB_RDONLY) {
		pr_err("xipfs: window 0x%llx is mounted %s already\n",
		       XIPFS_SB(sb)->opt_physaddr,
		       sb_rdonly(sb) ? "read-only" : "read-write");
		deactivate_locked_super(sb);
		return -EBUSY;
	}
	fc->root = dget(sb->s_root);
	return 0;
}

static int xipfs_get_tree(struct fs_context *fc)
{
	struct xipfs_sb_info *sbi = fc->s_fs_info;

	if (sbi->opt_physaddr_set)
		return xipfs_get_tree_window(fc);
	if (!fc->source) {
		pr_err("xipfs: no source: give a device, mtd:NAME or -o physaddr=\n");
		return -EINVAL;
	}
#ifdef CONFIG_XIPFS_FS_MTD
	if (!strncmp(fc->source, "mtd", 3)) {
		sbi->medium = XIPFS_MEDIUM_MTD;
		return get_tree_mtd(fc, xipfs_fill_super);
	}
#endif
	sbi->medium = XIPFS_MEDIUM_BDEV;
	return get_tree_bdev(fc, xipfs_fill_super);
}

enum { Opt_physaddr, Opt_size, Opt_noxip, Opt_profile };

/* -o profile is -o profile=exact. */
static const struct constant_table xipfs_param_profile[] = {
	{ "exact",	XIPFS_PROFILE_EXACT },
	{ "fast",	XIPFS_PROFILE_FAST },
	{}
};

static const struct fs_parameter_spec xipfs_param_spec[] = {
	fsparam_string("physaddr", Opt_physaddr),
	fsparam_string("size", Opt_size),
	fsparam_flag("noxip", Opt_noxip),
	fsparam_flag("profile", Opt_profile),
	fsparam_enum("profile", Opt_profile, xipfs_param_profile),
	{}
};

/* A number with an optional K/M/G suffix, as memparse() reads them. */
static int xipfs_parse_size(const char *s, u64 *val)
{
	char *end;

	*val = memparse(s, &end);
	return (end == s || *end) ? -EINVAL : 0;
}

static int xipfs_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct xipfs_sb_info *sbi = fc->s_fs_info;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, xipfs_param_spec, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case Opt_physaddr:
		if (xipfs_parse_size(param->string, &sbi->opt_physaddr) ||
		    (sbi->opt_physaddr & ~PAGE_MASK)) {
			pr_err("xipfs: bad physaddr \"%s\": want a page-aligned address\n",
			       param->string);
			return -EINVAL;
		}
		sbi->opt_physaddr_set = true;
		break;
	case Opt_size:
		if (xipfs_parse_size(param->string, &sbi->opt_size) ||
		    sbi->opt_size < PAGE_SIZE || (sbi->opt_size & ~PAGE_MASK)) {
			pr_err("xipfs: bad size \"%s\": want a multiple of the page size\n",
			       param->string);
			return -EINVAL;
		}
		sbi->opt_size_set = true;
		break;
	case Opt_noxip:
		sbi->opt_noxip = true;
		break;
	case Opt_profile:
		/* A flag leaves result.uint_32 0. */
		sbi->opt_profile = param->type == fs_value_is_flag ?
				   XIPFS_PROFILE_EXACT : result.uint_32;
		break;
	}
	return 0;
}

static int xipfs_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	bool want_ro = fc->sb_flags & SB_RDONLY;
	int err;

	if (want_ro == sb_rdonly(sb))
		return 0;
	if (!want_ro)
		return xipfs_enable_rw(sb);
	/* The VFS refused this if files are open for writing. */
	err = sync_filesystem(sb);
	if (err)
		return err;
	xipfs_disable_rw(sb);
	return 0;
}

static void xipfs_fc_free(struct fs_context *fc)
{
	kfree(fc->s_fs_info);
}

static const struct fs_context_operations xipfs_context_ops = {
	.parse_param	= xipfs_parse_param,
	.get_tree	= xipfs_get_tree,
	.reconfigure	= xipfs_reconfigure,
	.free		= xipfs_fc_free,
};

static int xipfs_init_fs_context(struct fs_context *fc)
{
	/* A remount parses its options too: into a scratch copy it ignores. */
	struct xipfs_sb_info *sbi;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	spin_lock_init(&sbi->space_lock);
	mutex_init(&sbi->scrub_lock);
	xa_init(&sbi->profile);
	fc->s_fs_info = sbi;
	fc->ops = &xipfs_context_ops;
	return 0;
}

static void xipfs_kill_sb(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	/*
	 * A mounted superblock is closed by ->put_super, after the last
	 * writeback; one that failed to fill is closed here.  Both before
	 * the MTD device goes: mtd_unpoint() needs it.
	 */
	if (sbi && !sb->s_root) {
		xipfs_space_free(sb);
		xipfs_sysfs_unregister(sb);
		xipfs_profile_unregister(sb);
		xipfs_medium_close(sb);
	}
#ifdef CONFIG_XIPFS_FS_MTD
	if (sb->s_mtd) {
		kill_mtd_super(sb);
		goto out;
	}
#endif
	if (sb->s_bdev)
		kill_block_super(sb);
	else
		kill_anon_super(sb);
#ifdef CONFIG_XIPFS_FS_MTD
out:
#endif
	kfree(sbi);
	sb->s_fs_info = NULL;
}

static struct file_system_type xipfs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "xipfs",
	.init_fs_context	= xipfs_init_fs_context,
	.parameters		= xipfs_param_spec,
	.kill_sb		= xipfs_kill_sb,
	.fs_flags		= FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS("xipfs");

static int __init xipfs_module_init(void)
{
	int err;

	xipfs_check_layout();
	xipfs_inode_cachep = kmem_cache_create("xipfs_inode",
					       sizeof(struct xipfs_inode_info),
					       0, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					       xipfs_inode_once);
	if (!xipfs_inode_cachep)
		return -ENOMEM;
	err = xipfs_decompressors_init();
	if (err)
		goto out_cache;
	err = xipfs_sysfs_init();
	if (err)
		goto out_decomp;
	xipfs_profile_init();
	err = register_filesystem(&xipfs_fs_type);
	if (err)
		goto out_sysfs;
	return 0;

out_sysfs:
	xipfs_profile_exit();
	xipfs_sysfs_exit();
out_decomp:
	xipfs_decompressors_exit();
out_cache:
	kmem_cache_destroy(xipfs_inode_cachep);
	return err;
}

static void __exit xipfs_module_exit(void)
{
	unregister_filesystem(&xipfs_fs_type);
	xipfs_profile_exit();
	xipfs_sysfs_exit();
	xipfs_decompressors_exit();
	/* free_inode() runs after an RCU grace period. */
	rcu_barrier();
	kmem_cache_destroy(xipfs_inode_cachep);
}

module_init(xipfs_module_init);
module_exit(xipfs_module_exit);

MODULE_DESCRIPTION("xipfs: execute-in-place filesystem for memory-mapped flash");
MODULE_LICENSE("GPL");
