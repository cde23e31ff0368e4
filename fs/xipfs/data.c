// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: the page cache.  read_folio and readahead fill hole, tail,
 * compressed and (when the medium has no usable window) uncompressed
 * pages, whose entries the page maps give (map.c).  A compressed cluster
 * is decompressed once and all of its pages are filled from that one
 * pass.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "internal.h"
#include "decompressor.h"

/* A compact table's length field at @p: the compressed length less one. */
static u32 xipfs_ct_len(const u8 *p, unsigned int w)
{
	return p[0] | p[1] << 8 | (w > 2 ? p[2] << 16 : 0);
}

/*
 * Where cluster @idx (< cluster_count) of a compact table lies: its offset
 * from s_comp_off and its end, from its group's base and the lengths
 * before it (at most 63 of them).  The parts are in the metadata
 * (xipfs_check_clusters()); -EFSCORRUPTED for a base past the area.
 */
int xipfs_ct_place(struct xipfs_sb_info *sbi, u64 idx, u64 *off, u64 *end)
{
	unsigned int w = sbi->ct_len_bytes;
	u64 first = idx >> XIPFS_CT_GROUP_SHIFT << XIPFS_CT_GROUP_SHIFT;
	const __le64 *base;
	const u8 *len;
	u64 o, i;

	base = xipfs_meta(sbi, sbi->ct_base_off +
			  (idx >> XIPFS_CT_GROUP_SHIFT) * 8, 8);
	len = xipfs_meta(sbi, sbi->ct_len_off + first * w,
			 (idx - first + 1) * w);
	if (!base || !len)
		return -EFSCORRUPTED;
	o = le64_to_cpu(READ_ONCE(*base));
	/* Checked first: the sums below cannot wrap. */
	if (o > sbi->comp_size)
		return -EFSCORRUPTED;
	for (i = 0; i < idx - first; i++, len += w)
		o += xipfs_ct_len(len, w) + 1;
	*off = o;
	*end = o + xipfs_ct_len(len, w) + 1;
	return 0;
}

/*
 * Bits 38..63 of cluster @idx's descriptor in a compact table, whose
 * compressed length is @clen: its exception word's (binary search), or a
 * regular cluster's.
 */
static u64 xipfs_ct_bits(struct xipfs_sb_info *sbi, u64 idx, u64 clen)
{
	const __le64 *x = xipfs_meta(sbi, sbi->ct_exc_off,
				     (u64)sbi->ct_exceptions * 8);
	u32 lo = 0, hi = x ? sbi->ct_exceptions : 0, mid;
	u64 full = 1ULL << sbi->max_cluster_shift, v;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		v = le64_to_cpu(READ_ONCE(x[mid]));
		if ((v & XIPFS_CL_OFF_MASK) == idx)
			return v & XIPFS_CL_DESC_MASK;
		if ((v & XIPFS_CL_OFF_MASK) < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return XIPFS_CL_DESC(0, 1U << sbi->cshift, full, PAGE_SHIFT,
			     clen == full ? XIPFS_COMP_NONE : sbi->ct_alg, false);
}

/*
 * Read, decode and check cluster descriptor @idx into @c.  Its compressed
 * length is the next descriptor's offset (the sentinel's, for the last
 * cluster) minus its own, so both are read, through xipfs_meta().  A
 * compact table gives the same descriptor, rebuilt.
 */
int xipfs_get_cluster(struct super_block *sb, u64 idx, struct xipfs_cl *c)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	unsigned int max_pages, last;
	const __le64 *p;
	u64 d, next, off, end, ulen;

	if (idx >= sbi->cluster_count)
		goto bad;
	if (sbi->ct_len_bytes) {
		if (xipfs_ct_place(sbi, idx, &off, &end))
			goto bad;
		d = xipfs_ct_bits(sbi, idx, end - off);
	} else {
		p = xipfs_meta(sbi, sbi->cluster_off + idx * XIPFS_CLUSTER_SIZE,
			       2 * XIPFS_CLUSTER_SIZE);
		if (!p)
			goto bad;
		d = le64_to_cpu(READ_ONCE(p[0]));
		next = le64_to_cpu(READ_ONCE(p[1]));
		/* The sentinel holds nothing but its offset. */
		if (idx + 1 == sbi->cluster_count && (next & ~XIPFS_CL_OFF_MASK))
			goto bad;
		off = XIPFS_CL_OFF(d);
		end = XIPFS_CL_OFF(next);
	}
	/* Back to back in table order: at least one byte each. */
	if (end <= off || end > sbi->comp_size || end - off > XIPFS_MAX_CLUSTER_CLEN)
		goto bad;
	max_pages = 1U << sbi->cshift;
	last = ((d >> XIPFS_CL_LAST_SHIFT) & XIPFS_CL_LAST_MASK) + 1;
	ulen = XIPFS_CL_ULEN(d, PAGE_SHIFT);
	c->off = sbi->comp_off + off;
	c->clen = end - off;
	c->pages = XIPFS_CL_PAGES(d);
	c->alg = XIPFS_CL_ALG(d);
	c->shared = d & XIPFS_CL_SHARED;
	if (c->pages > max_pages || last > PAGE_SIZE ||
	    (c->shared && !(sbi->feature_incompat &
			    XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS)) ||
	    c->alg >= XIPFS_COMP_MAX ||
	    (c->alg != XIPFS_COMP_NONE && !(sbi->comp_algs & BIT(c->alg))) ||
	    (c->alg == XIPFS_COMP_NONE && c->clen != ulen))
		goto bad;
	c->ulen = ulen;
	if (!xipfs_in_area(c->off, c->clen, sbi->comp_off, sbi->comp_size))
		goto bad;
	return 0;
bad:
	xipfs_corrupt(sb, "bad cluster descriptor %llu", idx);
	return -EFSCORRUPTED;
}

/* One decompressed cluster, kept across the folios of a readahead. */
struct xipfs_cbuf {
	u64 idx;
	void *buf;		/* its pages, zero past its ulen */
	unsigned int pages;
	bool shared;		/* XIPFS_CL_SHARED: pages of many files */
};

static int xipfs_decompress(struct inode *inode, u64 idx,
			    const struct xipfs_cl *c, void *dst)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u32 clen = c->clen, ulen = c->ulen;
	const struct xipfs_decompressor *d;
	void *src, *srcbuf = NULL;
	int err;

	if (sbi->virt) {
		src = sbi->virt + c->off;
	} else {
		srcbuf = kvmalloc(clen, GFP_NOFS);
		if (!srcbuf)
			return -ENOMEM;
		err = xipfs_medium_read(sb, c->off, srcbuf, clen);
		if (err)
			goto out;
		src = srcbuf;
	}
	/* Before decompression: the checksum covers every stored byte. */
	err = xipfs_csum_cluster(sb, idx, src, clen, xipfs_ino(inode));
	if (err)
		goto out;
	if (c->alg == XIPFS_COMP_NONE) {
		memcpy(dst, src, ulen);
		err = 0;
	} else {
		d = xipfs_decompressor(c->alg);
		err = d ? d->decompress(src, clen, dst, ulen) : -EOPNOTSUPP;
		if (err == -EFSCORRUPTED)
			xipfs_corrupt(sb, "cluster %llu (%s) does not decompress",
				      idx, d->name);
	}
	if (!err) {
		memset(dst + ulen, 0, ((size_t)c->pages << PAGE_SHIFT) - ulen);
		atomic64_inc(&sbi->stats.clusters);
		atomic64_add(ulen, &sbi->stats.cluster_bytes);
	}
out:
	kvfree(srcbuf);
	return err;
}

/* Copy page @pg's bytes from @src into @folio and zero the rest. */
static void xipfs_copy_page(struct folio *folio, const void *src,
			    unsigned int len)
{
	void *kaddr = kmap_local_folio(folio, 0);

	memcpy(kaddr, src, len);
	memset(kaddr + len, 0, PAGE_SIZE - len);
	kunmap_local(kaddr);
	flush_dcache_folio(folio);
}

/*
 * Fill the other pages of this file that the cluster page @index comes
 * from holds, when they are not cached yet.  Such a run is contiguous in
 * the file and in the cluster (a shared cluster holds other files' pages
 * around it, which the entry check leaves out).  Only trylock: the caller
 * holds @index's lock, and a reader of a sibling may be waiting to take it.
 */
static void xipfs_fill_siblings(struct inode *inode, pgoff_t index,
				const struct xipfs_page *pg,
				const struct xipfs_cbuf *cb)
{
	unsigned int i;

	for (i = 0; i < cb->pages; i++) {
		struct xipfs_page sp;
		struct folio *folio;
		pgoff_t fp;

		/* File page fp sits at cluster page i, if it is this run's. */
		if (index + i < pg->cindex || i == pg->cindex)
			continue;
		fp = index + i - pg->cindex;
		if (xipfs_page_lookup(inode, fp, &sp) ||
		    sp.type != XIPFS_PTE_TYPE_COMP ||
		    sp.cluster != pg->cluster || sp.cindex != i)
			continue;
		folio = xipfs_grab_folio_nowait(inode->i_mapping, fp);
		if (!folio)
			continue;
		if (!folio_test_uptodate(folio)) {
			xipfs_copy_page(folio, cb->buf + i * PAGE_SIZE, sp.len);
			folio_mark_uptodate(folio);
		}
		folio_unlock(folio);
		folio_put(folio);
	}
}

static int xipfs_fill_comp(struct inode *inode, struct folio *folio,
			   const struct xipfs_page *pg, struct xipfs_cbuf *cb)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_cl c;
	int err;

	if (!cb->buf || cb->idx != pg->cluster) {
		err = xipfs_get_cluster(sb, pg->cluster, &c);
		if (err)
			return err;
		cb->shared = c.shared;
		/* A file's own cluster starts at or before the page. */
		if (pg->cindex >= c.pages ||
		    (!cb->shared && pg->cindex > folio->index)) {
			xipfs_corrupt(sb, "inode %llu: page %lu: index %u outside cluster %llu",
				      xipfs_ino(inode), folio->index, pg->cindex,
				      pg->cluster);
			return -EFSCORRUPTED;
		}
		kvfree(cb->buf);
		cb->buf = kvmalloc((size_t)c.pages << PAGE_SHIFT, GFP_NOFS);
		if (!cb->buf)
			return -ENOMEM;
		err = xipfs_decompress(inode, pg->cluster, &c, cb->buf);
		if (err) {
			kvfree(cb->buf);
			cb->buf = NULL;
			return err;
		}
		cb->idx = pg->cluster;
		cb->pages = c.pages;
		xipfs_fill_siblings(inode, folio->index, pg, cb);
	}
	if (pg->cindex >= cb->pages ||
	    (!cb->shared && pg->cindex > folio->index))
		return -EFSCORRUPTED;
	xipfs_copy_page(folio, cb->buf + pg->cindex * PAGE_SIZE, pg->len);
	return 0;
}

/*
 * Fill one (order-0: large folios are not enabled) locked folio.  Returns
 * 1 when @skip_xip asks to leave a window page out of the cache.
 */
static int xipfs_fill_folio(struct inode *inode, struct folio *folio,
			    struct xipfs_cbuf *cb, bool skip_xip)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_page pg;
	void *kaddr;
	int err;

	err = xipfs_page_lookup(inode, folio->index, &pg);
	if (err)
		return err;
	switch (pg.type) {
	case XIPFS_PTE_TYPE_HOLE:
		folio_zero_range(folio, 0, PAGE_SIZE);
		return 0;
	case XIPFS_PTE_TYPE_TAIL:
		xipfs_copy_page(folio, xipfs_meta(sbi, pg.off, pg.len), pg.len);
		return 0;
	case XIPFS_PTE_TYPE_COMP:
		return xipfs_fill_comp(inode, folio, &pg, cb);
	}
	/* XIP: user mappings get the window page itself, never this copy. */
	if (skip_xip && sbi->xip)
		return 1;
	kaddr = kmap_local_folio(folio, 0);
	err = xipfs_medium_read(sb, pg.off, kaddr, pg.len);
	if (!err)
		memset(kaddr + pg.len, 0, PAGE_SIZE - pg.len);
	kunmap_local(kaddr);
	flush_dcache_folio(folio);
	return err;
}

/*
 * Fill locked @folio and mark it up to date.  On a read-write mount with
 * usable PFNs, a copy of an XIP page becomes the authority for that page:
 * the window PTEs go, and the folio is up to date, before map_sem
 * (exclusive) is dropped.  Faults and fault-around look for an up-to-date
 * folio under map_sem, so none maps the window page again, and a writer
 * replacing the page (write_cow) sees the copy and writes to it instead.
 */
int xipfs_read_folio_locked(struct inode *inode, struct folio *folio)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_cbuf cb = {};
	struct xipfs_page pg;
	bool excl = false;
	int err;

	down_read(&xi->map_sem);
	err = xipfs_page_lookup(inode, folio->index, &pg);
	if (!err && pg.type == XIPFS_PTE_TYPE_XIP && sbi->xip &&
	    xipfs_rw(sb)) {
		up_read(&xi->map_sem);
		down_write(&xi->map_sem);
		excl = true;
		unmap_mapping_pages(inode->i_mapping, folio->index, 1, false);
	}
	if (!err)
		err = xipfs_fill_folio(inode, folio, &cb, false);
	if (!err)
		folio_mark_uptodate(folio);
	if (excl)
		up_write(&xi->map_sem);
	else
		up_read(&xi->map_sem);
	kvfree(cb.buf);
	return err;
}

static int xipfs_read_folio(struct file *file, struct folio *folio)
{
	int err;

	err = xipfs_read_folio_locked(folio->mapping->host, folio);
	folio_unlock(folio);
	return err;
}

static void xipfs_readahead(struct readahead_control *rac)
{
	struct inode *inode = rac->mapping->host;
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_cbuf cb = {};
	struct folio *folio;

	down_read(&xi->map_sem);
	while ((folio = readahead_folio(rac))) {
		/* Readahead is a hint: a failed folio is retried by read_folio. */
		if (!xipfs_fill_folio(inode, folio, &cb, true))
			folio_mark_uptodate(folio);
		folio_unlock(folio);
	}
	up_read(&xi->map_sem);
	kvfree(cb.buf);
}

const struct address_space_operations xipfs_aops = {
	.read_folio	= xipfs_read_folio,
	.readahead	= xipfs_readahead,
	.writepages	= xipfs_writepages,
	.dirty_folio	= filemap_dirty_folio,
	.invalidate_folio = xipfs_invalidate_folio,
	.release_folio	= xipfs_release_folio,
	/* Moves the private data (a writeback reservation) along. */
	.migrate_folio	= filemap_migrate_folio,
};
