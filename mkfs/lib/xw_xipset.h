/* SPDX-License-Identifier: GPL-2.0 */
/* Which pages are XIP: --xip items and the flash budget (xipset.c). */
#ifndef XIPFS_XW_XIPSET_H
#define XIPFS_XW_XIPSET_H

#include "xw_data.h"

/* in->xs[page]: state in bits 0-1, value class in bits 2-7. */
enum {
	XW_XS_OFF,		/* compressed */
	XW_XS_CAND,		/* a candidate, not chosen (yet) */
	XW_XS_PIN,		/* XIP whatever the budget: list: */
	XW_XS_SEL,		/* a candidate the budget chose */
};
#define XW_XS_STATE(x)		((x) & 3)
#define XW_XS_CLASS(x)		((x) >> 2)
#define XW_XS(state, cls)	((uint8_t)((state) | ((cls) << 2)))
/*
 * Value classes: what making the page XIP is expected to save, in pages
 * of RAM (xipfs.rst, "Choosing XIP pages"): below XW_CLASS_PROF a
 * heuristic eighth of a page (any page: 1, a read-only ELF segment's: 2,
 * an executable one's: 4), from XW_CLASS_PROF on a profiled page's weight,
 * doubled when it was mapped: class - XW_CLASS_PROF.
 */
#define XW_CLASS_ANY		1
#define XW_CLASS_ELF_RO		2
#define XW_CLASS_ELF_X		4
#define XW_CLASS_PROF		8

/* Is the spec one plain policy (none, all, elf) with no budget? */
bool xw_xip_simple(const struct xw_options *o, enum xw_xip_policy *base);
/* Apply o->xip to every regular file's in->xs.  0 or -1 (said why). */
int xw_xip_resolve(struct xw_tree *t, const struct xw_options *o);
/*
 * Every regular file's in->xip from in->xs: pinned and chosen pages, and
 * with all_cand every candidate too.  0 or -1.
 */
int xw_xip_apply(struct xw_tree *t, unsigned int page_shift, bool all_cand);

/* Count candidate, pinned and profiled candidate pages into st. */
void xw_xip_count(const struct xw_tree *t, unsigned int page_shift, struct xw_stats *st);

/* A unit of the budget: candidate pages [first, last] of one file. */
struct xw_unit {
	struct xw_inode *in;
	uint64_t first, last;
	int64_t cost;		/* estimated flash bytes it adds when XIP */
	double value;		/* estimated RAM pages it saves */
	uint64_t prof_pages;	/* of its pages, those a profile names */
};

/*
 * After the data pass of the image with no candidate XIP (d): the units,
 * best first: runs of candidate pages of one value class within one of
 * that image's clusters (so a unit that covers a cluster removes it),
 * costing each page its size less its share of its cluster's bytes (and
 * descriptor), ranked by value per byte, free ones first.
 */
int xw_budget_units(struct xw_tree *t, const struct xw_data *d,
		    struct xw_unit **units, size_t *n);
/* Choose units [0, k) (XW_XS_SEL), the others back to candidates. */
void xw_budget_choose(const struct xw_unit *u, size_t n, size_t k);

#endif
