// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: data checksums (RO_COMPAT_DATA_CSUM).  A table in the metadata
 * holds a CRC-32C of each cluster's compressed bytes and of each XIP-area
 * page.  Clusters are checked where they are decompressed (data.c), before
 * a decompressor sees the bytes.  XIP pages are mapped straight into user
 * page tables, where no check can sit without slowing every fault, so they
 * are checked on demand: writing 1 to /sys/fs/xipfs/<id>/scrub checks
 * every cluster and every XIP page and keeps the counts.
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include "internal.h"

/* Stored checksum @i: clusters first, then XIP-area pages. */
static u32 xipfs_csum_entry(struct xipfs_sb_info *sbi, u64 i)
{
	const __le32 *p = xipfs_meta(sbi, sbi->csum_off + i * XIPFS_CSUM_SIZE,
				     XIPFS_CSUM_SIZE);

	/* The table's bounds were checked at mount; this cannot miss. */
	return p ? le32_to_cpu(*p) : 0;
}

/* Is the CRC-32C of @len bytes at @p stored checksum @i? */
static bool xipfs_csum_ok(struct xipfs_sb_info *sbi, u64 i, const void *p,
			  size_t len)
{
	return xipfs_crc32c(p, len) == xipfs_csum_entry(sbi, i);
}

/*
 * Check the @len compressed bytes at @src of cluster @idx, read for inode
 * @ino, against the table.  A mismatch is the medium's fault, not the
 * format's: -EIO, and a ratelimited message naming the cluster and inode.
 */
int xipfs_csum_cluster(struct super_block *sb, u64 idx, const void *src,
		       u32 len, u64 ino)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if (!sbi->csum || likely(xipfs_csum_ok(sbi, idx, src, len)))
		return 0;
	atomic64_inc(&sbi->stats.csum_errors);
	xipfs_corrupt(sb, "inode %llu: cluster %llu: data checksum mismatch",
		      ino, idx);
	return -EIO;
}

/* Check XIP-area page @k (read through @buf when there is no window). */
static int xipfs_scrub_xip_page(struct super_block *sb, u64 k, void *buf)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 off = sbi->xip_off + (k << PAGE_SHIFT);
	const void *p = buf;
	int err;

	if (sbi->virt) {
		p = sbi->virt + off;
	} else {
		err = xipfs_medium_read(sb, off, buf, PAGE_SIZE);
		if (err)
			return err;
	}
	if (xipfs_csum_ok(sbi, sbi->cluster_count + k, p, PAGE_SIZE))
		return 0;
	xipfs_corrupt(sb, "XIP page %llu (image page %llu): data checksum mismatch",
		      k, off >> PAGE_SHIFT);
	return -EIO;
}

static int xipfs_scrub_cluster(struct super_block *sb, u64 idx, void **buf,
			       size_t *cap)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_cl c;
	const void *p;
	int err;

	err = xipfs_get_cluster(sb, idx, &c);
	if (err)
		return err;
	if (sbi->virt) {
		p = sbi->virt + c.off;
	} else {
		if (c.clen > *cap) {
			kvfree(*buf);
			*cap = 0;
			*buf = kvmalloc(c.clen, GFP_KERNEL);
			if (!*buf)
				return -ENOMEM;
			*cap = c.clen;
		}
		err = xipfs_medium_read(sb, c.off, *buf, c.clen);
		if (err)
			return err;
		p = *buf;
	}
	if (xipfs_csum_ok(sbi, idx, p, c.clen))
		return 0;
	xipfs_corrupt(sb, "cluster %llu: data checksum mismatch (scrub)", idx);
	return -EIO;
}

/*
 * Check every cluster and XIP page against the table; the counts are what
 * sysfs shows.  Runs in the writer of the scrub file: unmount waits for it
 * (kobject_del() drains sysfs callers before the medium goes away).
 */
int xipfs_scrub(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_scrub *s = &sbi->scrub;
	u64 i, npages = sbi->xip_size >> PAGE_SHIFT;
	void *buf = NULL;
	size_t cap = 0;
	int err = 0;

	if (!sbi->csum)
		return -EOPNOTSUPP;
	if (mutex_lock_killable(&sbi->scrub_lock))
		return -EINTR;
	memset(s, 0, sizeof(*s));
	s->ran = true;
	for (i = 0; i < sbi->cluster_count; i++) {
		err = xipfs_scrub_cluster(sb, i, &buf, &cap);
		if (err == -EIO || err == -EFSCORRUPTED)
			s->bad_clusters++;
		else if (err)
			goto out;
		s->clusters++;
		err = 0;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			goto out;
		}
		cond_resched();
	}
	if (!sbi->virt && npages) {
		kvfree(buf);
		buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!buf) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < npages; i++) {
		err = xipfs_scrub_xip_page(sb, i, buf);
		if (err == -EIO)
			s->bad_xip_pages++;
		else if (err)
			goto out;
		s->xip_pages++;
		err = 0;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			goto out;
		}
		cond_resched();
	}
	s->done = true;
out:
	mutex_unlock(&sbi->scrub_lock);
	kvfree(buf);
	return err;
}

/* The last scrub's counts, for sysfs. */
ssize_t xipfs_scrub_show(struct xipfs_sb_info *sbi, char *buf)
{
	struct xipfs_scrub s;

	if (!sbi->csum)
		return sysfs_emit(buf, "no data checksums\n");
	/* Waits for a scrub in progress: its counts are then final. */
	if (mutex_lock_killable(&sbi->scrub_lock))
		return -EINTR;
	s = sbi->scrub;
	mutex_unlock(&sbi->scrub_lock);
	return sysfs_emit(buf, "%s clusters %llu bad %llu xip_pages %llu bad %llu\n",
			  s.done ? "done" : s.ran ? "interrupted" : "none",
			  s.clusters,
			  s.bad_clusters, s.xip_pages, s.bad_xip_pages);
}
