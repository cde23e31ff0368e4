// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: the durability shadow, a test facility that makes missing cache
 * write-backs visible.
 *
 * The test board's memory has no volatile cache: every store reaches the
 * "medium" at once, so a path that forgets xipfs_persist() (or its fence)
 * passes any power-cut test.  With the module parameter shadow=PHYS
 * (memory outside System RAM, as large as the image), the first window
 * mount that goes read-write copies its image there, and from then on
 * copies each range into the shadow only when the driver makes it durable
 * (xipfs_persist(), xipfs_writeback()).  The shadow is the medium as a
 * power cut would leave it if no cache line ever left the CPU before it
 * was written back: the worst case.
 *
 * Writing 1 to the parameter shadow_cut freezes the shadow (a power cut
 * at that instant: mount it read-only with physaddr=PHYS and check it);
 * writing 0 copies the whole image into it (every cache line written back
 * at once, which real caches may do at any time) and thaws it.
 *
 * Off (shadow=0, the default), a persist costs one pointer test.
 */
#include <linux/module.h>
#include <linux/io.h>
#include <linux/spinlock.h>
#include <linux/rcupdate.h>
#include "internal.h"

static unsigned long shadow_phys;
module_param_named(shadow, shadow_phys, ulong, 0444);
MODULE_PARM_DESC(shadow, "test: physical address of a durability shadow (0: off)");

struct xipfs_shadow {
	/*
	 * Copies in, cut and thaw, one at a time.  A copy reads the window
	 * and writes the shadow: two copies of one range at once (a vCPU
	 * paused halfway through one) could leave the older bytes last, which
	 * no cache does: a write-back carries the line's current bytes.
	 */
	spinlock_t lock;
	bool frozen;
	void *base;		/* the mount's window */
	void *copy;		/* the shadow */
	size_t size;
	struct super_block *sb;
};

/* Set and cleared under xipfs_shadow_mutex; copies find it under RCU. */
static struct xipfs_shadow __rcu *xipfs_shadow;
static DEFINE_MUTEX(xipfs_shadow_mutex);

static struct xipfs_shadow *xipfs_shadow_locked(void)
{
	return rcu_dereference_protected(xipfs_shadow,
					 lockdep_is_held(&xipfs_shadow_mutex));
}

/* [addr, addr + len) of the window was just made durable. */
void xipfs_shadow_update(const void *addr, size_t len)
{
	struct xipfs_shadow *sh;

	if (likely(!rcu_access_pointer(xipfs_shadow)))
		return;
	rcu_read_lock();
	sh = rcu_dereference(xipfs_shadow);
	if (sh && addr >= sh->base && len <= sh->size &&
	    addr - sh->base <= sh->size - len) {
		spin_lock(&sh->lock);
		if (!sh->frozen)
			memcpy(sh->copy + (addr - sh->base), addr, len);
		spin_unlock(&sh->lock);
	}
	rcu_read_unlock();
}

/* A window mount went read-write: shadow it, if asked and none is. */
void xipfs_shadow_start(struct super_block *sb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_shadow *sh;

	if (!shadow_phys || sbi->medium != XIPFS_MEDIUM_WINDOW)
		return;
	mutex_lock(&xipfs_shadow_mutex);
	if (xipfs_shadow_locked())
		goto out;
	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	if (!sh)
		goto out;
	sh->copy = memremap(shadow_phys, sbi->image_size, MEMREMAP_WB);
	if (!sh->copy) {
		xipfs_err(sb, "cannot map the durability shadow at 0x%lx",
			  shadow_phys);
		kfree(sh);
		goto out;
	}
	spin_lock_init(&sh->lock);
	sh->base = sbi->virt;
	sh->size = sbi->image_size;
	sh->sb = sb;
	memcpy(sh->copy, sh->base, sh->size);
	rcu_assign_pointer(xipfs_shadow, sh);
	xipfs_info(sb, "durability shadow at 0x%lx (test facility)", shadow_phys);
out:
	mutex_unlock(&xipfs_shadow_mutex);
}

/* The mount goes read-only or away: no more copies. */
void xipfs_shadow_stop(struct super_block *sb)
{
	struct xipfs_shadow *sh;

	mutex_lock(&xipfs_shadow_mutex);
	sh = xipfs_shadow_locked();
	if (sh && sh->sb == sb) {
		RCU_INIT_POINTER(xipfs_shadow, NULL);
		/* Copies in flight found it under RCU: wait for them. */
		synchronize_rcu();
		memunmap(sh->copy);
		kfree(sh);
	}
	mutex_unlock(&xipfs_shadow_mutex);
}

static int xipfs_shadow_cut_set(const char *val, const struct kernel_param *kp)
{
	struct xipfs_shadow *sh;
	bool cut;
	int err;

	err = kstrtobool(val, &cut);
	if (err)
		return err;
	mutex_lock(&xipfs_shadow_mutex);
	sh = xipfs_shadow_locked();
	if (!sh) {
		err = -ENODEV;
	} else {
		spin_lock(&sh->lock);
		if (!cut && sh->frozen)
			memcpy(sh->copy, sh->base, sh->size);
		sh->frozen = cut;
		spin_unlock(&sh->lock);
	}
	mutex_unlock(&xipfs_shadow_mutex);
	return err;
}

static const struct kernel_param_ops xipfs_shadow_cut_ops = {
	.set = xipfs_shadow_cut_set,
};
module_param_cb(shadow_cut, &xipfs_shadow_cut_ops, NULL, 0200);
MODULE_PARM_DESC(shadow_cut, "test: 1 freezes the durability shadow (a power cut), 0 syncs and thaws it");
