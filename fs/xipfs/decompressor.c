// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs decompressor table, the "stored" algorithm and the workspace pool.
 *
 * Why a pool: zstd, zlib and xz need 30-290 KiB of scratch memory per
 * decompression (xz: a 256 KiB dictionary).  Allocating it per cluster
 * would put a large vmalloc on every page cache miss, where it is slow
 * and may fail under memory pressure.  Per-CPU workspaces would cost
 * memory on every CPU for every built-in algorithm, and would need
 * preemption off for the whole (long) decompression.  A few shared
 * workspaces, made on first use of an algorithm and kept, cost nothing
 * for algorithms an image never uses, let several CPUs decompress at
 * once, and let the caller sleep.
 */
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/string.h>
#include <linux/xipfs_fs.h>
#include "decompressor.h"

static int xipfs_none_decompress(const void *src, unsigned int slen,
				 void *dst, unsigned int dlen)
{
	if (!dlen || slen != dlen)
		return -EFSCORRUPTED;
	memcpy(dst, src, dlen);
	return 0;
}

const struct xipfs_decompressor xipfs_decomp_none = {
	.name = "none",
	.decompress = xipfs_none_decompress,
};

static const struct xipfs_decompressor *const xipfs_decomps[XIPFS_COMP_MAX] = {
	[XIPFS_COMP_NONE] = &xipfs_decomp_none,
#if IS_ENABLED(CONFIG_XIPFS_FS_LZ4)
	[XIPFS_COMP_LZ4] = &xipfs_decomp_lz4,
#endif
#if IS_ENABLED(CONFIG_XIPFS_FS_ZSTD)
	[XIPFS_COMP_ZSTD] = &xipfs_decomp_zstd,
#endif
#if IS_ENABLED(CONFIG_XIPFS_FS_ZLIB)
	[XIPFS_COMP_ZLIB] = &xipfs_decomp_zlib,
#endif
#if IS_ENABLED(CONFIG_XIPFS_FS_XZ)
	[XIPFS_COMP_XZ] = &xipfs_decomp_xz,
#endif
};

const struct xipfs_decompressor *xipfs_decompressor(unsigned int alg)
{
	if (alg >= XIPFS_COMP_MAX)
		return NULL;
	return xipfs_decomps[alg];
}

void xipfs_decompressors_exit(void)
{
	unsigned int alg;

	for (alg = 0; alg < XIPFS_COMP_MAX; alg++) {
		const struct xipfs_decompressor *d = xipfs_decomps[alg];

		if (d && d->exit)
			d->exit();
	}
}

int xipfs_decompressors_init(void)
{
	unsigned int alg;
	int err;

	for (alg = 0; alg < XIPFS_COMP_MAX; alg++) {
		const struct xipfs_decompressor *d = xipfs_decomps[alg];

		if (!d || !d->init)
			continue;
		err = d->init();
		if (err)
			goto fail;
	}
	return 0;

fail:
	while (alg--) {
		const struct xipfs_decompressor *d = xipfs_decomps[alg];

		if (d && d->exit)
			d->exit();
	}
	return err;
}

/*
 * No more workspaces than CPUs that could use them at once; the cap keeps
 * a machine with many CPUs from pinning megabytes for zstd.
 */
static unsigned int xipfs_ws_limit(void)
{
	return min_t(unsigned int, num_possible_cpus(), XIPFS_WS_MAX);
}

void *xipfs_ws_get(struct xipfs_ws_pool *pool)
{
	unsigned int limit = xipfs_ws_limit();
	bool may_alloc = true;
	bool first, empty;
	unsigned int nofs;
	void *ws;

	for (;;) {
		spin_lock(&pool->lock);
		if (pool->nr_idle) {
			ws = pool->idle[--pool->nr_idle];
			spin_unlock(&pool->lock);
			return ws;
		}
		/*
		 * All busy: make another if allowed.  After one failed
		 * allocation, only try again if no workspace is left to
		 * wait for, so that memory pressure cannot make us spin.
		 */
		if (pool->nr < limit && (may_alloc || !pool->nr)) {
			first = !pool->nr++;
			spin_unlock(&pool->lock);
			/*
			 * The caller may hold the page lock or its own locks
			 * (read_folio), so keep reclaim out of filesystems;
			 * a scope also covers xz_dec_init()'s own kmalloc.
			 * Not the only one: failing just means waiting.
			 */
			nofs = memalloc_nofs_save();
			ws = pool->alloc(first ? GFP_KERNEL :
					 GFP_KERNEL | __GFP_NOWARN);
			memalloc_nofs_restore(nofs);
			if (ws)
				return ws;

			spin_lock(&pool->lock);
			empty = !--pool->nr;
			spin_unlock(&pool->lock);
			/* Waiters may now allocate, or must give up. */
			wake_up(&pool->wait);
			if (empty)
				return ERR_PTR(-ENOMEM);
			may_alloc = false;
			continue;
		}
		spin_unlock(&pool->lock);

		wait_event(pool->wait, READ_ONCE(pool->nr_idle) ||
			   (READ_ONCE(pool->nr) < limit &&
			    (may_alloc || !READ_ONCE(pool->nr))));
	}
}

void xipfs_ws_put(struct xipfs_ws_pool *pool, void *ws)
{
	spin_lock(&pool->lock);
	/* Cannot overflow: only workspaces counted in nr come back. */
	pool->idle[pool->nr_idle++] = ws;
	spin_unlock(&pool->lock);
	wake_up(&pool->wait);
}

void xipfs_ws_pool_destroy(struct xipfs_ws_pool *pool)
{
	WARN_ON(pool->nr_idle != pool->nr);
	while (pool->nr_idle)
		pool->free(pool->idle[--pool->nr_idle]);
	pool->nr = 0;
}
