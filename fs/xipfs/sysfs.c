// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: /sys/fs/xipfs/<id>/, one directory per mounted superblock.  <id>
 * is the superblock's s_id: the block device's name (vdb, loop0), mtdN,
 * or phys:<hex address> for a physaddr= window.
 */
#include <linux/sysfs.h>
#include <linux/kobject.h>
#include "internal.h"

enum xipfs_attr_id {
	attr_xip_faults,
	attr_pfns_inserted,
	attr_cache_faults,
	attr_clusters,
	attr_cluster_bytes,
	attr_read_xip_bytes,
	attr_read_cache_bytes,
	attr_window_base,
	attr_window_size,
	attr_mode,
	attr_pfn_valid,
	attr_medium,
	attr_pfn_mkwrite,
	attr_page_mkwrite,
	attr_writeback_pages,
	attr_xip_synced,
	attr_write_inplace,
	attr_write_cow,
	attr_free_pages,
	attr_reserved_pages,
	attr_rw,
	attr_profiling,
	attr_csum_errors,
	attr_scrub,
};

struct xipfs_attr {
	struct attribute attr;
	enum xipfs_attr_id id;
};

#define XIPFS_ATTR(_name)						\
	static struct xipfs_attr xipfs_attr_##_name = {			\
		.attr = { .name = __stringify(_name), .mode = 0444 },	\
		.id = attr_##_name,					\
	}

XIPFS_ATTR(xip_faults);
XIPFS_ATTR(pfns_inserted);
XIPFS_ATTR(cache_faults);
XIPFS_ATTR(clusters);
XIPFS_ATTR(cluster_bytes);
XIPFS_ATTR(read_xip_bytes);
XIPFS_ATTR(read_cache_bytes);
XIPFS_ATTR(window_base);
XIPFS_ATTR(window_size);
XIPFS_ATTR(mode);
XIPFS_ATTR(pfn_valid);
XIPFS_ATTR(medium);
XIPFS_ATTR(pfn_mkwrite);
XIPFS_ATTR(page_mkwrite);
XIPFS_ATTR(writeback_pages);
XIPFS_ATTR(xip_synced);
XIPFS_ATTR(write_inplace);
XIPFS_ATTR(write_cow);
XIPFS_ATTR(free_pages);
XIPFS_ATTR(reserved_pages);
XIPFS_ATTR(rw);
XIPFS_ATTR(csum_errors);

/* Written by root: on, fast, off, reset (profile.c). */
static struct xipfs_attr xipfs_attr_profiling = {
	.attr = { .name = "profiling", .mode = 0644 },
	.id = attr_profiling,
};

/*
 * Written by root: 1 checks every cluster and XIP page against the data
 * checksums and returns when done; reading shows the last scrub's counts.
 */
static struct xipfs_attr xipfs_attr_scrub = {
	.attr = { .name = "scrub", .mode = 0644 },
	.id = attr_scrub,
};

static struct attribute *xipfs_attrs[] = {
	&xipfs_attr_xip_faults.attr,
	&xipfs_attr_pfns_inserted.attr,
	&xipfs_attr_cache_faults.attr,
	&xipfs_attr_clusters.attr,
	&xipfs_attr_cluster_bytes.attr,
	&xipfs_attr_read_xip_bytes.attr,
	&xipfs_attr_read_cache_bytes.attr,
	&xipfs_attr_window_base.attr,
	&xipfs_attr_window_size.attr,
	&xipfs_attr_mode.attr,
	&xipfs_attr_pfn_valid.attr,
	&xipfs_attr_medium.attr,
	&xipfs_attr_pfn_mkwrite.attr,
	&xipfs_attr_page_mkwrite.attr,
	&xipfs_attr_writeback_pages.attr,
	&xipfs_attr_xip_synced.attr,
	&xipfs_attr_write_inplace.attr,
	&xipfs_attr_write_cow.attr,
	&xipfs_attr_free_pages.attr,
	&xipfs_attr_reserved_pages.attr,
	&xipfs_attr_rw.attr,
	&xipfs_attr_profiling.attr,
	&xipfs_attr_csum_errors.attr,
	&xipfs_attr_scrub.attr,
	NULL,
};
ATTRIBUTE_GROUPS(xipfs);

static ssize_t xipfs_attr_show(struct kobject *kobj, struct attribute *attr,
			       char *buf)
{
	struct xipfs_sb_info *sbi = container_of(kobj, struct xipfs_sb_info,
						 kobj);
	struct xipfs_attr *a = container_of(attr, struct xipfs_attr, attr);
	struct xipfs_stats *st = &sbi->stats;
	static const char * const media[] = { "window", "mtd", "bdev" };

	switch (a->id) {
	case attr_xip_faults:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->xip_faults));
	case attr_pfns_inserted:
		return sysfs_emit(buf, "%lld\n",
				  atomic64_read(&st->pfns_inserted));
	case attr_cache_faults:
		return sysfs_emit(buf, "%lld\n",
				  atomic64_read(&st->cache_faults));
	case attr_clusters:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->clusters));
	case attr_cluster_bytes:
		return sysfs_emit(buf, "%lld\n",
				  atomic64_read(&st->cluster_bytes));
	case attr_read_xip_bytes:
		return sysfs_emit(buf, "%lld\n",
				  atomic64_read(&st->read_xip_bytes));
	case attr_read_cache_bytes:
		return sysfs_emit(buf, "%lld\n",
				  atomic64_read(&st->read_cache_bytes));
	case attr_window_base:
		return sysfs_emit(buf, "0x%llx\n", (u64)sbi->phys);
	case attr_window_size:
		return sysfs_emit(buf, "%llu\n", sbi->virt ? sbi->image_size : 0);
	case attr_mode:
		return sysfs_emit(buf, "%s\n", sbi->xip ? "xip" : "cached");
	case attr_pfn_valid:
		return sysfs_emit(buf, "%d\n", sbi->pfn_valid);
	case attr_medium:
		return sysfs_emit(buf, "%s\n", media[sbi->medium]);
	case attr_pfn_mkwrite:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->pfn_mkwrite));
	case attr_page_mkwrite:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->page_mkwrite));
	case attr_writeback_pages:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->writeback_pages));
	case attr_xip_synced:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->xip_synced));
	case attr_write_inplace:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->write_inplace));
	case attr_write_cow:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->write_cow));
	case attr_free_pages:
		return sysfs_emit(buf, "%llu\n", xipfs_space_free_pages(sbi->sb));
	case attr_reserved_pages:
		return sysfs_emit(buf, "%llu\n", xipfs_space_reserved(sbi->sb));
	case attr_rw:
		return sysfs_emit(buf, "%d\n", !sb_rdonly(sbi->sb));
	case attr_profiling:
		switch (READ_ONCE(sbi->profiling)) {
		case XIPFS_PROFILE_EXACT:
			return sysfs_emit(buf, "on\n");
		case XIPFS_PROFILE_FAST:
			return sysfs_emit(buf, "fast\n");
		}
		return sysfs_emit(buf, "off\n");
	case attr_csum_errors:
		return sysfs_emit(buf, "%lld\n", atomic64_read(&st->csum_errors));
	case attr_scrub:
		return xipfs_scrub_show(sbi, buf);
	}
	return -EINVAL;
}

static ssize_t xipfs_attr_store(struct kobject *kobj, struct attribute *attr,
				const char *buf, size_t len)
{
	struct xipfs_sb_info *sbi = container_of(kobj, struct xipfs_sb_info,
						 kobj);
	struct xipfs_attr *a = container_of(attr, struct xipfs_attr, attr);
	int err;

	if (a->id == attr_scrub) {
		if (!sysfs_streq(buf, "1"))
			return -EINVAL;
		err = xipfs_scrub(sbi->sb);
		return err ? err : len;
	}
	if (a->id != attr_profiling)
		return -EINVAL;
	err = xipfs_profile_ctl(sbi, buf);
	return err ? err : len;
}

static const struct sysfs_ops xipfs_sysfs_ops = {
	.show	= xipfs_attr_show,
	.store	= xipfs_attr_store,
};

static void xipfs_sb_release(struct kobject *kobj)
{
	struct xipfs_sb_info *sbi = container_of(kobj, struct xipfs_sb_info,
						 kobj);

	complete(&sbi->kobj_unregister);
}

static const struct kobj_type xipfs_sb_ktype = {
	.default_groups	= xipfs_groups,
	.sysfs_ops	= &xipfs_sysfs_ops,
	.release	= xipfs_sb_release,
};

static struct kset *xipfs_kset;

int xipfs_sysfs_register(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	int err;

	init_completion(&sbi->kobj_unregister);
	sbi->kobj.kset = xipfs_kset;
	err = kobject_init_and_add(&sbi->kobj, &xipfs_sb_ktype, NULL, "%s",
				   sb->s_id);
	if (err) {
		xipfs_err(sb, "cannot create /sys/fs/xipfs/%s: %d", sb->s_id,
			  err);
		kobject_put(&sbi->kobj);
		wait_for_completion(&sbi->kobj_unregister);
		/* Keep xipfs_sysfs_unregister() from putting it again. */
		memset(&sbi->kobj, 0, sizeof(sbi->kobj));
	}
	return err;
}

void xipfs_sysfs_unregister(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if (!sbi->kobj.state_initialized)
		return;
	kobject_del(&sbi->kobj);
	kobject_put(&sbi->kobj);
	wait_for_completion(&sbi->kobj_unregister);
	memset(&sbi->kobj, 0, sizeof(sbi->kobj));
}

int __init xipfs_sysfs_init(void)
{
	xipfs_kset = kset_create_and_add("xipfs", NULL, fs_kobj);
	return xipfs_kset ? 0 : -ENOMEM;
}

void xipfs_sysfs_exit(void)
{
	kset_unregister(xipfs_kset);
}
