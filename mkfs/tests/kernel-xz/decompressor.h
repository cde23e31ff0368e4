/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fs/xipfs/decompressor.h for userspace: one workspace, reused as the
 * pool reuses them (with whatever state the last use left).
 */
#ifndef KXZ_DECOMPRESSOR_H
#define KXZ_DECOMPRESSOR_H
#include <errno.h>
#include <stdlib.h>

#define EFSCORRUPTED EUCLEAN
typedef unsigned int gfp_t;

struct xipfs_decompressor {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
	int (*decompress)(const void *src, unsigned int slen, void *dst, unsigned int dlen);
};

struct xipfs_ws_pool {
	void *ws;
	void *(*alloc)(gfp_t gfp);
	void (*free)(void *ws);
};
#define XIPFS_WS_POOL_INIT(name, alloc_fn, free_fn) { .alloc = alloc_fn, .free = free_fn }

static inline void *xipfs_ws_get(struct xipfs_ws_pool *p)
{
	if (!p->ws)
		p->ws = p->alloc(0);
	return p->ws ? p->ws : (void *)(long)-ENOMEM;
}

static inline void xipfs_ws_put(struct xipfs_ws_pool *p, void *ws)
{
	(void)p;
	(void)ws;
}

static inline void xipfs_ws_pool_destroy(struct xipfs_ws_pool *p)
{
	if (p->ws)
		p->free(p->ws);
	p->ws = NULL;
}
#endif
