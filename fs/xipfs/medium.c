// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: reaching the image's bytes.  A physaddr= window is memremap()ed;
 * an MTD device is mtd_point()ed when its driver allows, else read with
 * mtd_read(); a block device is read through its buffer cache.  Only a
 * window whose PFNs have no struct page can be mapped into user space
 * (execute in place); everything else goes through the page cache.
 * A read-write mount stores into the window through the helpers at the
 * end: durability, the on-media inode and its size.
 */
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/buffer_head.h>
#include <linux/blkdev.h>
#include <linux/mtd/mtd.h>
#include <linux/libnvdimm.h>
#include "internal.h"

/* Does any PFN of [phys, phys + size) have a struct page? */
static bool xipfs_any_pfn_valid(phys_addr_t phys, u64 size)
{
	unsigned long pfn = PHYS_PFN(phys), end = PHYS_PFN(phys + size);

	for (; pfn < end; pfn++) {
		if (pfn_valid(pfn))
			return true;
		if (!(pfn & 0xffff))
			cond_resched();
	}
	return false;
}

/* The image size recorded in the window's superblock, to map just that. */
static int xipfs_window_peek(struct super_block *sb, u64 *size)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	const struct xipfs_super_block *dsb;
	void *p;

	p = memremap(sbi->opt_physaddr, PAGE_SIZE, MEMREMAP_WB);
	if (!p) {
		xipfs_err(sb, "cannot map the superblock at 0x%llx",
			  sbi->opt_physaddr);
		return -ENOMEM;
	}
	dsb = p;
	if (le32_to_cpu(dsb->s_magic) != XIPFS_MAGIC) {
		xipfs_err(sb, "no xipfs image at 0x%llx (magic 0x%08x)",
			  sbi->opt_physaddr, le32_to_cpu(dsb->s_magic));
		memunmap(p);
		return -EINVAL;
	}
	*size = le64_to_cpu(dsb->s_image_size);
	memunmap(p);
	if (*size < PAGE_SIZE || (*size & ~PAGE_MASK)) {
		xipfs_err(sb, "bad image size %llu: give size=", *size);
		return -EINVAL;
	}
	return 0;
}

/* A physaddr= window must be memory the kernel does not otherwise own. */
static int xipfs_window_check(struct super_block *sb, u64 phys, u64 size)
{
	if (phys + size < phys || phys + size - 1 > (u64)(phys_addr_t)~0ULL) {
		xipfs_err(sb, "window 0x%llx+0x%llx wraps around", phys, size);
		return -EINVAL;
	}
	if (region_intersects(phys, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		xipfs_err(sb, "window 0x%llx-0x%llx overlaps System RAM: refused (reserve it, e.g. memmap=SIZE$ADDR)",
			  phys, phys + size - 1);
		return -EBUSY;
	}
	return 0;
}

/*
 * Claim [physaddr, + size) in /proc/iomem as "xipfs" (growing the claim
 * made for the superblock), so that nothing else uses the window while it
 * is mounted: a pmem namespace or a driver's MMIO holds its range busy,
 * and another window overlapping this one at another address (a second
 * superblock over the same memory) is refused.  A "Reserved" range
 * (memmap=) is not busy: the claim nests inside it.  Released by
 * xipfs_medium_close(), on every path.
 */
static int xipfs_window_claim(struct super_block *sb, u64 size)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 phys = sbi->opt_physaddr;
	int err = 0;

	if (!sbi->region) {
		sbi->region = request_mem_region(phys, size, "xipfs");
		if (!sbi->region)
			err = -EBUSY;
	} else if (resource_size(sbi->region) != size) {
		err = adjust_resource(sbi->region, phys, size);
	}
	if (err) {
		xipfs_err(sb, "window 0x%llx-0x%llx is in use (another xipfs window, a driver or a pmem namespace: see /proc/iomem)",
			  phys, phys + size - 1);
		return -EBUSY;
	}
	return 0;
}

static int xipfs_window_open(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 size;
	int err;

	snprintf(sb->s_id, sizeof(sb->s_id), "phys:%llx", sbi->opt_physaddr);
	err = xipfs_window_check(sb, sbi->opt_physaddr, PAGE_SIZE);
	if (err)
		return err;
	/* Before reading anything there: it may be another driver's MMIO. */
	err = xipfs_window_claim(sb, PAGE_SIZE);
	if (err)
		return err;
	if (sbi->opt_size_set) {
		size = sbi->opt_size;
	} else {
		err = xipfs_window_peek(sb, &size);
		if (err)
			return err;
	}
	err = xipfs_window_check(sb, sbi->opt_physaddr, size);
	if (err)
		return err;
	if (!xipfs_fits_size_t(size)) {
		xipfs_err(sb, "window of %llu bytes too large for this kernel",
			  size);
		return -EFBIG;
	}
	err = xipfs_window_claim(sb, size);
	if (err)
		return err;
	sbi->virt = memremap(sbi->opt_physaddr, size, MEMREMAP_WB);
	if (!sbi->virt) {
		xipfs_err(sb, "cannot map window 0x%llx+0x%llx",
			  sbi->opt_physaddr, size);
		return -ENOMEM;
	}
	sbi->phys = sbi->opt_physaddr;
	sbi->medium_size = size;
	sbi->rw_capable = true;
	sbi->pfn_valid = xipfs_any_pfn_valid(sbi->phys, size);
	return 0;
}

int xipfs_medium_open(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	/*
	 * sb_set_blocksize() below does this for block devices; without it
	 * inodes get i_blkbits 0 and stat() says st_blksize 1, so that
	 * cp and cmp read a byte at a time.
	 */
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	switch (sbi->medium) {
	case XIPFS_MEDIUM_WINDOW:
		return xipfs_window_open(sb);
	case XIPFS_MEDIUM_MTD:
#ifdef CONFIG_XIPFS_FS_MTD
		snprintf(sb->s_id, sizeof(sb->s_id), "mtd%d",
			 sb->s_mtd->index);
		sbi->medium_size = sb->s_mtd->size;
		return 0;
#else
		return -EINVAL;
#endif
	case XIPFS_MEDIUM_BDEV:
		if (!sb_set_blocksize(sb, PAGE_SIZE)) {
			xipfs_err(sb, "block size %lu not supported by the device",
				  PAGE_SIZE);
			return -EINVAL;
		}
		sbi->medium_size = bdev_nr_bytes(sb->s_bdev);
		return 0;
	}
	return -EINVAL;
}

/* Point at the MTD device's memory; fall back to mtd_read() without. */
static void xipfs_mtd_point(struct super_block *sb)
{
#ifdef CONFIG_XIPFS_FS_MTD
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	resource_size_t phys = 0;
	size_t retlen = 0;
	void *virt = NULL;
	int err;

	/* mtd_point() and memremap() take a size_t: read it instead. */
	if (!xipfs_fits_size_t(sbi->image_size))
		return;
	err = mtd_point(sb->s_mtd, 0, sbi->image_size, &retlen, &virt, &phys);
	if (err)
		return;
	if (retlen < sbi->image_size || !virt) {
		mtd_unpoint(sb->s_mtd, 0, retlen);
		/*
		 * mtdram's memory is vmalloc()ed: physically contiguous only
		 * in pieces, but one virtual range.  Take that, without PFNs.
		 */
		phys = 0;
		retlen = 0;
		virt = NULL;
		err = mtd_point(sb->s_mtd, 0, sbi->image_size, &retlen, &virt,
				NULL);
		if (err)
			return;
		if (retlen < sbi->image_size || !virt) {
			mtd_unpoint(sb->s_mtd, 0, retlen);
			return;
		}
	}
	sbi->virt = virt;
	sbi->pointed = retlen;
	/* RAM-like devices (phram, mtdram) can take stores through virt. */
	sbi->rw_capable = sb->s_mtd->type == MTD_RAM &&
			  (sb->s_mtd->flags & MTD_WRITEABLE);
	/* phram on 6.1 gives a virtual address but no physical one. */
	if (!phys || (phys & ~PAGE_MASK))
		return;
	sbi->phys = phys;
	sbi->pfn_valid = xipfs_any_pfn_valid(phys, sbi->image_size);
	if (sbi->pfn_valid)
		return;
	/*
	 * The driver's mapping may be Device memory (arm64 physmap), where
	 * the unaligned loads of memcpy() and the decompressors fault on
	 * real hardware.  Read through a cacheable mapping instead, as user
	 * space does; the point stays held so the chip stays readable.
	 */
	virt = memremap(phys, sbi->image_size, MEMREMAP_WB);
	if (virt) {
		sbi->virt = virt;
		sbi->remapped = true;
	}
#endif
}

int xipfs_medium_map(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	int err;

	if (sbi->medium == XIPFS_MEDIUM_MTD)
		xipfs_mtd_point(sb);
	sbi->xip = sbi->virt && sbi->phys && !sbi->pfn_valid &&
		   !sbi->opt_noxip;

	if (sbi->virt) {
		sbi->meta = sbi->virt + sbi->meta_off;
		return 0;
	}
	/*
	 * No window: keep a copy of the (validated, CRC-checked) metadata.
	 * vmalloc() takes an unsigned long: a larger size would be cut, and
	 * xipfs_meta() would then allow reads past the copy.
	 */
	if (!xipfs_fits_size_t(sbi->meta_size)) {
		xipfs_err(sb, "metadata of %llu bytes too large for this kernel",
			  sbi->meta_size);
		return -EFBIG;
	}
	sbi->meta_copy = vmalloc(sbi->meta_size);
	if (!sbi->meta_copy)
		return -ENOMEM;
	err = xipfs_medium_read(sb, sbi->meta_off, sbi->meta_copy,
				sbi->meta_size);
	if (err) {
		xipfs_err(sb, "cannot read the metadata: %d", err);
		return err;
	}
	sbi->meta = sbi->meta_copy;
	return 0;
}

void xipfs_medium_close(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if ((sbi->medium == XIPFS_MEDIUM_WINDOW || sbi->remapped) &&
	    sbi->virt)
		memunmap(sbi->virt);
	sbi->remapped = false;
	/* After the last use of the window, which the claim guarded. */
	if (sbi->region) {
		release_mem_region(sbi->region->start,
				   resource_size(sbi->region));
		sbi->region = NULL;
	}
#ifdef CONFIG_XIPFS_FS_MTD
	/* After the last use of the pointed-at memory. */
	if (sbi->medium == XIPFS_MEDIUM_MTD && sbi->pointed && sb->s_mtd)
		mtd_unpoint(sb->s_mtd, 0, sbi->pointed);
#endif
	sbi->virt = NULL;
	sbi->pointed = 0;
	vfree(sbi->meta_copy);
	sbi->meta_copy = NULL;
	sbi->meta = NULL;
}

static int xipfs_bdev_read(struct super_block *sb, u64 off, void *buf,
			   size_t len)
{
	while (len) {
		size_t in = off & ~PAGE_MASK, n = min_t(size_t, len,
							 PAGE_SIZE - in);
		struct buffer_head *bh = sb_bread(sb, off >> PAGE_SHIFT);

		if (!bh)
			return -EIO;
		memcpy(buf, bh->b_data + in, n);
		brelse(bh);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Copy image bytes [off, off + len), which must lie inside the image. */
int xipfs_medium_read(struct super_block *sb, u64 off, void *buf, size_t len)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 limit = sbi->image_size ? sbi->image_size : sbi->medium_size;

	if (off > limit || len > limit - off)
		return -EFSCORRUPTED;
	if (sbi->virt) {
		memcpy(buf, sbi->virt + off, len);
		return 0;
	}
	if (sbi->medium == XIPFS_MEDIUM_BDEV)
		return xipfs_bdev_read(sb, off, buf, len);
#ifdef CONFIG_XIPFS_FS_MTD
	if (sbi->medium == XIPFS_MEDIUM_MTD) {
		size_t retlen = 0;
		int err = mtd_read(sb->s_mtd, off, len, &retlen, buf);

		/* -EUCLEAN from MTD means corrected bitflips: data is good. */
		if (err && !mtd_is_bitflip(err))
			return -EIO;
		return retlen == len ? 0 : -EIO;
	}
#endif
	return -EIO;
}

/*
 * Storing into the window (read-write mounts): what write.c, the page
 * maps (map.c), the mount-time walk (space.c) and the superblock's state
 * store through.  Every store of window bytes is made durable by
 * xipfs_persist() or xipfs_writeback(), which the durability shadow
 * (shadow.c) follows.
 */

/* Write [addr, addr + len) of the window back from the CPU cache. */
void xipfs_writeback(void *addr, size_t len)
{
	arch_wb_cache_pmem(addr, len);
	xipfs_shadow_update(addr, len);
}

/* Make [addr, addr + len) of the window durable before what follows. */
void xipfs_persist(void *addr, size_t len)
{
	xipfs_writeback(addr, len);
	/* The write-backs (clwb) are weakly ordered: fence before the next store. */
	wmb();
}

/*
 * The on-media inode of @inode.  Always extended: images with compact
 * inodes do not mount read-write, and iget refuses a compact inode in
 * any other image.
 */
struct xipfs_inode *xipfs_dinode(struct inode *inode)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_inode *di;

	di = sbi->virt + sbi->inode_off + (u64)inode->i_ino * XIPFS_INODE_SLOT;
	WARN_ON_ONCE(!(le16_to_cpu(READ_ONCE(di->i_flags)) &
		       XIPFS_INODE_EXTENDED));
	return di;
}

/* Store the on-media size. */
static void xipfs_store_size(struct inode *inode, u64 size)
{
	struct xipfs_inode *di = xipfs_dinode(inode);

	lockdep_assert_held(&XIPFS_I(inode)->size_lock);
	XIPFS_I(inode)->disk_size = size;
	WRITE_ONCE(di->i_size, cpu_to_le64(size));
	xipfs_persist(&di->i_size, sizeof(di->i_size));
}

/*
 * The medium now holds the file's data up to @end.  Writers (i_rwsem
 * held) grow i_size after this; writeback, which runs without i_rwsem,
 * passes @clamp: it may have sampled i_size before a truncate, and
 * must not raise the on-media size past what truncate stored.
 */
void xipfs_extend_disk_size(struct inode *inode, u64 end, bool clamp)
{
	struct xipfs_inode_info *xi = XIPFS_I(inode);

	spin_lock(&xi->size_lock);
	if (clamp)
		end = min_t(u64, end, i_size_read(inode));
	if (end > xi->disk_size)
		xipfs_store_size(inode, end);
	spin_unlock(&xi->size_lock);
}

/*
 * i_size and the on-media size together (truncate, fallocate), under
 * size_lock: a writeback's clamped extension sees both or neither.
 */
void xipfs_set_size(struct inode *inode, u64 size)
{
	struct xipfs_inode_info *xi = XIPFS_I(inode);

	spin_lock(&xi->size_lock);
	i_size_write(inode, size);
	xipfs_store_size(inode, size);
	spin_unlock(&xi->size_lock);
}

/* Store the attributes (not the size: see disk_size) of @inode. */
void xipfs_store_inode(struct inode *inode)
{
	struct xipfs_inode *di = xipfs_dinode(inode);
	struct timespec64 mt = xipfs_inode_get_mtime(inode);

	WRITE_ONCE(di->i_mode, cpu_to_le16(inode->i_mode));
	WRITE_ONCE(di->i_uid, cpu_to_le32(i_uid_read(inode)));
	WRITE_ONCE(di->i_gid, cpu_to_le32(i_gid_read(inode)));
	WRITE_ONCE(di->i_mtime, cpu_to_le64(mt.tv_sec));
	WRITE_ONCE(di->i_mtime_nsec, cpu_to_le32(mt.tv_nsec));
	xipfs_persist(di, sizeof(*di));
}
