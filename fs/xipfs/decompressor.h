/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xipfs cluster decompressors: one const ops table per algorithm, one
 * source file per algorithm, looked up by the on-media algorithm number.
 */
#ifndef _XIPFS_DECOMPRESSOR_H
#define _XIPFS_DECOMPRESSOR_H

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/* Same spelling as ext4/xfs/erofs, so internal.h may define it too. */
#ifndef EFSCORRUPTED
#define EFSCORRUPTED	EUCLEAN
#endif

/*
 * Calling context for ->decompress: process context, may sleep (it may
 * wait for a workspace, allocate one, and takes milliseconds on a large
 * cluster).  It reads only [src, src + slen) and writes only
 * [dst, dst + dlen), but it also reads back what it wrote (LZ77 matches),
 * so both must be ordinary kernel memory (direct map, vmalloc/vmap,
 * memremap), not __iomem.  No alignment is required.  The whole of src
 * must be one stream of the algorithm, with nothing after it, that
 * decodes to exactly dlen bytes; anything else, dlen == 0 included, is
 * -EFSCORRUPTED.  -ENOMEM only when no workspace could be allocated.
 * Only return codes: the caller decides what to log.
 */
struct xipfs_decompressor {
	const char *name;
	int (*init)(void);	/* module load: shared workspaces; may be NULL */
	void (*exit)(void);	/* module unload: no decompression running */
	int (*decompress)(const void *src, unsigned int slen,
			  void *dst, unsigned int dlen);
};

/* enum xipfs_comp_alg -> ops; NULL when unknown or not built in. */
const struct xipfs_decompressor *xipfs_decompressor(unsigned int alg);
int xipfs_decompressors_init(void);
void xipfs_decompressors_exit(void);

extern const struct xipfs_decompressor xipfs_decomp_none;
extern const struct xipfs_decompressor xipfs_decomp_lz4;
extern const struct xipfs_decompressor xipfs_decomp_zstd;
extern const struct xipfs_decompressor xipfs_decomp_zlib;
extern const struct xipfs_decompressor xipfs_decomp_xz;

/*
 * Workspace pool, shared by the algorithms that need scratch memory.
 * Workspaces are allocated on first use and kept until module unload;
 * there are at most XIPFS_WS_MAX of them (and no more than CPUs).
 */
#define XIPFS_WS_MAX	4

struct xipfs_ws_pool {
	spinlock_t lock;	/* protects nr, nr_idle, idle[] */
	wait_queue_head_t wait;
	unsigned int nr;	/* allocated, or being allocated */
	unsigned int nr_idle;	/* idle[0 .. nr_idle) are free */
	void *idle[XIPFS_WS_MAX];
	void *(*alloc)(gfp_t gfp);	/* NULL on failure */
	void (*free)(void *ws);
};

#define XIPFS_WS_POOL_INIT(name, alloc_fn, free_fn) {			\
	.lock = __SPIN_LOCK_UNLOCKED(name.lock),			\
	.wait = __WAIT_QUEUE_HEAD_INITIALIZER(name.wait),		\
	.alloc = alloc_fn,						\
	.free = free_fn,						\
}

/* A workspace, or ERR_PTR(-ENOMEM).  Sleeps while all are busy. */
void *xipfs_ws_get(struct xipfs_ws_pool *pool);
void xipfs_ws_put(struct xipfs_ws_pool *pool, void *ws);
/* Frees the idle workspaces; all must have been put back. */
void xipfs_ws_pool_destroy(struct xipfs_ws_pool *pool);

#endif /* _XIPFS_DECOMPRESSOR_H */
