// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: the page profile of a mount.
 *
 * While profiling is on, every file page the workload touches through this
 * mount is recorded: a page faulted into a mapping (executable or not) and
 * a page read with read() or splice.  mkfs.xipfs turns the profile into
 * the set of pages an image keeps uncompressed and in place, which is what
 * AXFS's profiler did.  Off by default: the fault and read paths then test
 * one flag and do nothing else.
 *
 * Two modes.  An exact profile ("on", -o profile) turns fault-around off
 * for the mount (->map_pages maps nothing, xipfs_fault_around() is
 * skipped), so that each page in it was really touched, at the price of
 * a fault for every page a mapping touches.  A fast profile ("fast",
 * -o profile=fast) keeps fault-around: the page that faulted is touched,
 * the pages mapped beside it are marked as only mapped alongside (NEAR,
 * weight 0) until a touch of their own is seen; a touch of a page mapped
 * alongside is not seen at all, which is what that mode gives up.  Pages
 * mapped before profiling went on are not seen until they fault again.
 *
 * One byte per page of each file touched, in an xarray indexed by inode
 * number: the profile outlives the inodes (a program that ran once and
 * was evicted is still in it).  Readers and resets go through RCU.
 * /proc/fs/xipfs/<id>/profile prints it; Documentation/filesystems/
 * xipfs.rst describes the format.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include "internal.h"

#define XIPFS_PROF_WEIGHT	0x0f	/* touches, saturating */

struct xipfs_prof_file {
	spinlock_t lock;	/* page bytes' updates */
	struct rcu_head rcu;
	pgoff_t npages;		/* the file's pages when first touched */
	u8 pages[];		/* XIPFS_PROF_* use bits | touches */
};

static struct proc_dir_entry *xipfs_proc_root;

static struct xipfs_prof_file *xipfs_prof_new(struct xipfs_sb_info *sbi,
					      struct inode *inode, gfp_t gfp)
{
	pgoff_t npages = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
	struct xipfs_prof_file *pf, *old;

	if (!npages)
		return NULL;
	pf = kvzalloc(struct_size(pf, pages, npages), gfp);
	if (!pf)
		goto dropped;
	spin_lock_init(&pf->lock);
	pf->npages = npages;
	old = xa_cmpxchg(&sbi->profile, inode->i_ino, NULL, pf, gfp);
	if (!old)
		return pf;
	kvfree(pf);
	if (!xa_is_err(old))
		return old;	/* a concurrent first touch won */
dropped:
	/* The profile misses this file: say so in its header. */
	atomic64_inc(&sbi->profile_dropped);
	return NULL;
}

/*
 * The profile of @inode's file, made on its first touch with @gfp.  Called
 * and returns under rcu_read_lock() (left while allocating: with @gfp not
 * allowed to sleep when the caller's own RCU section is still held); a
 * reset may free the profile as soon as that ends.  NULL: not recorded.
 */
static struct xipfs_prof_file *xipfs_prof_get(struct inode *inode, gfp_t gfp)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(inode->i_sb);
	struct xipfs_prof_file *pf = xa_load(&sbi->profile, inode->i_ino);

	if (pf)
		return pf;
	rcu_read_unlock();
	pf = xipfs_prof_new(sbi, inode, gfp);
	rcu_read_lock();
	/* Looked up again: a reset may have freed it meanwhile. */
	return pf ? xa_load(&sbi->profile, inode->i_ino) : NULL;
}

/* Page @i's byte after a touch (or with XIPFS_PROF_NEAR, a mapping) @use. */
static void xipfs_prof_mark(struct xipfs_prof_file *pf, pgoff_t i,
			    unsigned int use)
{
	u8 v;

	lockdep_assert_held(&pf->lock);
	if (i >= pf->npages)
		return;
	v = pf->pages[i];
	if (use & XIPFS_PROF_NEAR) {
		/* Mapped alongside: news only if never touched. */
		if (!(v & XIPFS_PROF_WEIGHT))
			WRITE_ONCE(pf->pages[i], v | use);
		return;
	}
	/* A touch: how it was mapped alongside no longer matters. */
	if (v & XIPFS_PROF_NEAR)
		v = 0;
	v |= use;
	if ((v & XIPFS_PROF_WEIGHT) != XIPFS_PROF_WEIGHT)
		v++;
	WRITE_ONCE(pf->pages[i], v);
}

static void __xipfs_profile_record(struct inode *inode, pgoff_t first,
				   pgoff_t last, unsigned int use, gfp_t gfp)
{
	struct xipfs_prof_file *pf;
	pgoff_t i;

	rcu_read_lock();
	pf = xipfs_prof_get(inode, gfp);
	if (pf) {
		spin_lock(&pf->lock);
		for (i = first; i <= last && i < pf->npages; i++)
			xipfs_prof_mark(pf, i, use);
		spin_unlock(&pf->lock);
	}
	rcu_read_unlock();
}

/*
 * Record a touch of pages @first..@last of @inode (@use: XIPFS_PROF_*).
 * Called through xipfs_profile(), only while profiling is on, before any
 * lock of the fault or read path: it may sleep.
 */
void xipfs_profile_record(struct inode *inode, pgoff_t first, pgoff_t last,
			  unsigned int use)
{
	__xipfs_profile_record(inode, first, last, use, GFP_KERNEL);
}

/*
 * A fast profile's view of XIP fault-around: pages @base + each bit set in
 * @near were mapped alongside the page that faulted (@use: how), recorded
 * in one go.  XIP fault-around holds map_sem, which reclaim must not be
 * asked to wait behind: nothing here sleeps (the faulting page's record,
 * made before any lock, has allocated the file's bytes already).
 */
void xipfs_profile_near(struct inode *inode, pgoff_t base,
			unsigned long near, unsigned int use)
{
	struct xipfs_prof_file *pf;
	unsigned int bit;

	rcu_read_lock();
	pf = xipfs_prof_get(inode, GFP_NOWAIT | __GFP_NOWARN);
	if (pf) {
		spin_lock(&pf->lock);
		for_each_set_bit(bit, &near, BITS_PER_LONG)
			xipfs_prof_mark(pf, base + bit, use | XIPFS_PROF_NEAR);
		spin_unlock(&pf->lock);
	}
	rcu_read_unlock();
}

/*
 * A fast profile's view of page cache fault-around, after
 * filemap_map_pages() returned @ret for @start_pgoff..@end_pgoff: the page
 * that faulted is touched if it was mapped there (->fault, which records
 * it otherwise, is then not called), the other pages in the page cache
 * were mapped alongside.  One walk of the range and one lock, so that a
 * fault costs what a page costs.  Newer kernels call ->map_pages under
 * rcu_read_lock(): nothing here sleeps, and a first touch that finds no
 * memory for its file is dropped (and counted).
 */
void xipfs_profile_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
			     pgoff_t end_pgoff, vm_fault_t ret)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	XA_STATE(xas, &inode->i_mapping->i_pages, start_pgoff);
	unsigned int use = (vmf->vma->vm_flags & VM_EXEC) ? XIPFS_PROF_EXEC :
							    XIPFS_PROF_MAP;
	struct xipfs_prof_file *pf;
	void *entry;

	rcu_read_lock();
	pf = xipfs_prof_get(inode, GFP_NOWAIT | __GFP_NOWARN);
	if (!pf)
		goto out;
	spin_lock(&pf->lock);
	/* A retried fault's first try counted it (xipfs_profile_fault()). */
	if ((ret & VM_FAULT_NOPAGE) && !(vmf->flags & FAULT_FLAG_TRIED))
		xipfs_prof_mark(pf, vmf->pgoff, use);
	/* No large folios here: an entry is one page. */
	xas_for_each(&xas, entry, end_pgoff) {
		if (xas_retry(&xas, entry) || xa_is_value(entry) ||
		    xas.xa_index == vmf->pgoff)
			continue;
		xipfs_prof_mark(pf, xas.xa_index, use | XIPFS_PROF_NEAR);
	}
	spin_unlock(&pf->lock);
out:
	rcu_read_unlock();
}

/* Forget everything recorded so far. */
static void xipfs_profile_reset(struct xipfs_sb_info *sbi)
{
	struct xipfs_prof_file *pf;
	unsigned long ino;

	xa_for_each(&sbi->profile, ino, pf) {
		/* Only the reset that erased it frees it. */
		pf = xa_erase(&sbi->profile, ino);
		if (pf)
			kvfree_rcu(pf, rcu);
	}
	atomic64_set(&sbi->profile_dropped, 0);
}

/*
 * The control file, /sys/fs/xipfs/<id>/profiling: "on" (exact), "fast",
 * "off", or "reset" (forget what was recorded; profiling stays as it was).
 */
int xipfs_profile_ctl(struct xipfs_sb_info *sbi, const char *cmd)
{
	if (sysfs_streq(cmd, "on") || sysfs_streq(cmd, "1"))
		WRITE_ONCE(sbi->profiling, XIPFS_PROFILE_EXACT);
	else if (sysfs_streq(cmd, "fast"))
		WRITE_ONCE(sbi->profiling, XIPFS_PROFILE_FAST);
	else if (sysfs_streq(cmd, "off") || sysfs_streq(cmd, "0"))
		WRITE_ONCE(sbi->profiling, XIPFS_PROFILE_OFF);
	else if (sysfs_streq(cmd, "reset"))
		xipfs_profile_reset(sbi);
	else
		return -EINVAL;
	return 0;
}

static const char *xipfs_prof_use(u8 v, char *buf)
{
	char *p = buf;

	if (v & XIPFS_PROF_EXEC)
		*p++ = 'x';
	if (v & XIPFS_PROF_MAP)
		*p++ = 'm';
	if (v & XIPFS_PROF_READ)
		*p++ = 'r';
	if (v & XIPFS_PROF_NEAR)
		*p++ = 'a';
	*p = '\0';
	return buf;
}

/* One line per run of pages of a file with the same byte. */
static void xipfs_prof_show_file(struct seq_file *m, unsigned long ino,
				 const struct xipfs_prof_file *pf)
{
	pgoff_t i, first;
	char use[5];
	u8 v;

	for (i = 0; i < pf->npages; ) {
		v = READ_ONCE(pf->pages[i]);
		first = i++;
		if (!v)
			continue;
		while (i < pf->npages && READ_ONCE(pf->pages[i]) == v)
			i++;
		if (i - 1 == first)
			seq_printf(m, "%lu %lu %s %u\n", ino, first,
				   xipfs_prof_use(v, use), v & XIPFS_PROF_WEIGHT);
		else
			seq_printf(m, "%lu %lu-%lu %s %u\n", ino, first, i - 1,
				   xipfs_prof_use(v, use), v & XIPFS_PROF_WEIGHT);
	}
}

static int xipfs_profile_show(struct seq_file *m, void *v)
{
	struct super_block *sb = m->private;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_prof_file *pf;
	unsigned long ino;
	u64 dropped;

	seq_printf(m, "xipfs-profile 2 page_size=%lu uuid=%16phN\n",
		   PAGE_SIZE, sbi->uuid);
	dropped = atomic64_read(&sbi->profile_dropped);
	if (dropped)
		seq_printf(m, "# %llu first touches not recorded (no memory)\n",
			   dropped);
	rcu_read_lock();
	xa_for_each(&sbi->profile, ino, pf)
		xipfs_prof_show_file(m, ino, pf);
	rcu_read_unlock();
	return 0;
}

/* /proc/fs/xipfs/<id>/profile; the profile starts on with "profile". */
int xipfs_profile_register(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	sbi->profiling = sbi->opt_profile;
	if (!xipfs_proc_root)
		return 0;
	sbi->proc = proc_mkdir(sb->s_id, xipfs_proc_root);
	/* Root only: which files a system ran is not everybody's business. */
	if (sbi->proc &&
	    proc_create_single_data("profile", 0400, sbi->proc,
				    xipfs_profile_show, sb))
		return 0;
	xipfs_err(sb, "cannot create /proc/fs/xipfs/%s/profile", sb->s_id);
	proc_remove(sbi->proc);
	sbi->proc = NULL;
	return -ENOMEM;
}

/* After the last fault and read: removing the entry waits for readers. */
void xipfs_profile_unregister(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	WRITE_ONCE(sbi->profiling, false);
	proc_remove(sbi->proc);
	sbi->proc = NULL;
	xipfs_profile_reset(sbi);
	xa_destroy(&sbi->profile);
}

void __init xipfs_profile_init(void)
{
	/* Without procfs the profile is just not readable: mounts go on. */
	xipfs_proc_root = proc_mkdir("fs/xipfs", NULL);
}

void xipfs_profile_exit(void)
{
	remove_proc_entry("fs/xipfs", NULL);
}
