/* SPDX-License-Identifier: GPL-2.0 */
/* The writer's data pass (writer_data.c), used by writer.c. */
#ifndef XIPFS_XW_DATA_H
#define XIPFS_XW_DATA_H

#include <pthread.h>

#include "xw_internal.h"

#define XW_WBUF	(1U << 20)

struct xw_job {
	struct xw_inode *in;
	uint64_t first;			/* first file page */
	unsigned int npages;
	size_t ulen;
	bool tail_cand;
	bool frag_cand;			/* fragments: tail or piece, real_len bytes */
	size_t real_len;
	unsigned int kind;		/* of the file, for a piece */
	bool shared;			/* pages from page off0 of piece order[p0] on */
	size_t p0;
	unsigned int off0;
	unsigned char *in_buf, *out_buf;
	size_t clen;			/* 0: not compressible enough */
	int done;
};

/* A fragment: pages [first, first + npages) of in, ulen bytes. */
struct xw_piece {
	struct xw_inode *in;
	uint64_t first;
	uint64_t foff;			/* in frag_fd */
	uint64_t hash[2];		/* of the bytes, to find duplicates */
	size_t dup;			/* identical earlier piece, or SIZE_MAX */
	uint32_t ulen;
	uint16_t npages;
	uint8_t kind;			/* sort class, from the file's first bytes */
	char ext[8];			/* sort key: "so", "py", ... or "" */
};

struct xw_data {
	const struct xw_options *o;
	/*
	 * XW_XIP_NONE, ALL or ELF: the data pass applies that policy to each
	 * file; -1: every file's in->xip is set already (sorted ranges).
	 */
	int xip_policy;
	int xip_fd, comp_fd;		/* the two areas, as temporary files */
	uint64_t xip_pages;		/* pages written to xip_fd */
	uint64_t comp_size;		/* bytes written to comp_fd */
	uint64_t crc_xip[2], crc_comp[2]; /* content hash, for the uuid */
	unsigned char *wbuf;
	size_t wlen;
	unsigned char *page_buf;

	struct xw_cluster {
		uint64_t off;		/* in the compressed area */
		uint32_t ulen;
		uint8_t alg, pages;
		bool shared;
	} *cl;
	uint64_t ncl, cl_cap;
	unsigned char *tails;		/* tail data, 8-byte aligned pieces */
	size_t tails_len, tails_cap;
	unsigned int comp_algs;
	uint64_t stored_clusters, comp_in, comp_out;

	/*
	 * Fragments (o->fragments): runs of compressed pages shorter than a
	 * cluster, kept in frag_fd until every file is read, then packed into
	 * shared clusters.
	 */
	int frag_fd;
	uint64_t frag_size;
	struct xw_piece *pieces;
	size_t npieces, pieces_cap;
	size_t *order;			/* pieces in packing order */
	uint64_t shared_clusters, frag_dups, frag_pages;
	uint64_t dedup_files, dedup_bytes;	/* files given a dup's map */

	pthread_t *threads;
	int nthreads;
	struct xw_job *jobs;
	unsigned int njobs;
	uint64_t submitted, taken, retired;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool mu_init, stop;
	struct xw_job *cur;		/* being filled, not yet submitted */
};

/* Page maps grouped (INCOMPAT_GROUPED_MAPS) where files allow? */
static inline bool xw_grouped_maps(const struct xw_options *o)
{
	return o->maps == XW_MAPS_GROUPED || o->maps == XW_MAPS_COMPACT ||
	       (o->maps == XW_MAPS_AUTO && !o->free_space);
}

/* Extent maps (INCOMPAT_EXTENT_MAPS) where smaller, or for every file? */
static inline bool xw_extent_maps(const struct xw_options *o)
{
	return o->maps == XW_MAPS_EXTENTS || o->maps == XW_MAPS_COMPACT ||
	       (o->maps == XW_MAPS_AUTO && !o->free_space);
}

/*
 * The data layout that suits grouped and extent maps (writer_data.c):
 * clusters aligned to the file's cluster-sized groups, zero pages
 * compressed inside their cluster, so that a run of full clusters is one
 * group entry or extent.
 */
static inline bool xw_group_layout(const struct xw_options *o)
{
	return xw_grouped_maps(o) || xw_extent_maps(o);
}

/* Compact inodes where they fit (INCOMPAT_COMPACT_INODES: read-only)? */
static inline bool xw_compact_inodes(const struct xw_options *o)
{
	return o->inodes == XW_INODES_COMPACT ||
	       (o->inodes == XW_INODES_AUTO && !o->free_space);
}

/* Whole-file dedupe (RO_COMPAT_SHARED_DATA)? */
static inline bool xw_dedupe(const struct xw_options *o)
{
	return o->dedupe == XW_DEDUPE_ON || (o->dedupe == XW_DEDUPE_AUTO && !o->free_space);
}

/*
 * Bytes the cluster table spends on a cluster: a descriptor in the 8-byte
 * table; a length in the compact one, plus an exception word for one
 * that is not regular (partial, shared, of another algorithm).  By the
 * requested cluster size: the final one is known at layout.
 */
static inline unsigned int xw_cl_table_cost(const struct xw_options *o, bool regular)
{
	if (o->cltable == XW_CLTABLE_FULL)
		return XIPFS_CLUSTER_SIZE;
	return XIPFS_CT_LEN_BYTES(o->cluster_shift) + (regular ? 0 : 8);
}

int xw_data_start(struct xw_data *d);
/* Map one regular file's pages; XIP entries are area-relative page
 * numbers and TAIL entries offsets into d->tails until laid out. */
int xw_data_file(struct xw_data *d, struct xw_tree *t, struct xw_inode *in);
/* Pack the fragments (if any), retire everything and flush. */
int xw_data_finish(struct xw_data *d, bool ok);
void xw_data_free(struct xw_data *d);

#endif
