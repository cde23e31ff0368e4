// SPDX-License-Identifier: GPL-2.0
/*
 * Which pages of which files are XIP.
 *
 * --xip takes a sequence of items.  none, all and elf start over from the
 * set that policy names (candidates); list:FILE pins pages XIP;
 * profile:FILE makes pages candidates with the value its weights give;
 * unlist:FILE, and a "-PATH" line in any file, makes pages compressed.
 * The state of every page of every regular file is kept in in->xs while
 * the items are applied in order.
 *
 * Without --flash-size every candidate and pinned page is XIP.  With it,
 * writer.c builds the image with only the pinned pages XIP, and this file
 * ranks the candidates from that image's clusters (xw_budget_units());
 * writer.c then searches, by building trial layouts, for the longest
 * prefix of that ranking that fits.
 *
 * List and profile files ("PATH [RANGE[,RANGE...]]", RANGE =
 * FIRST[-LAST][:FLAGS:WEIGHT]) name paths that may be gone from the
 * tree and pages past the end of files: those are counted and reported
 * as one warning per file, not errors; a line that does not parse is an
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xipfs_profile.h"
#include "xw_xipset.h"

bool xw_xip_simple(const struct xw_options *o, enum xw_xip_policy *base)
{
	*base = XW_XIP_ELF;
	if (o->flash_size)
		return false;
	for (unsigned int i = 0; i < o->nxip; i++) {
		switch (o->xip[i].kind) {
		case XW_XIP_NONE: case XW_XIP_ALL: case XW_XIP_ELF:
			*base = o->xip[i].kind;
			break;
		default:
			return false;
		}
	}
	return true;
}

static uint64_t file_pages(const struct xw_inode *in, unsigned int shift)
{
	return (in->size + (1ULL << shift) - 1) >> shift;
}

/* The per-page state of in, allocated (all off) on first use. */
static uint8_t *xs_of(struct xw_inode *in, unsigned int shift)
{
	uint64_t n = file_pages(in, shift);

	if (!in->xs && n && n <= UINT32_MAX) {
		in->xs = calloc(n, 1);
		if (!in->xs)
			xw_error("out of memory");
	}
	return in->xs;
}

struct esrc {
	int fd;
	uint64_t base;
	const char *path;
};

static int esrc_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct esrc *s = ctx;

	return xw_pread_full(s->fd, s->path, buf, len, s->base + off);
}

/*
 * The base policy's candidates of one file: every page (all) and the
 * ELF policy's pages, classed read-only or executable.
 */
static int base_file(struct xw_tree *t, struct xw_inode *in, enum xw_xip_policy base,
		     unsigned int shift)
{
	struct esrc s = { .fd = -1, .path = in->path };
	struct xw_range r[64];
	uint64_t n = file_pages(in, shift);
	uint8_t *xs;
	int nr, ret = -1;

	if (!n || n > UINT32_MAX)
		return 0;	/* the data pass says why a file is too large */
	if (in->src == XW_SRC_PATH) {
		s.path = in->src_path;
		s.fd = open(in->src_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (s.fd < 0) {
			xw_error("%s: %s", in->src_path, strerror(errno));
			return -1;
		}
	} else if (in->src == XW_SRC_SPOOL) {
		s.fd = t->spool_fd;
		s.base = in->spool_off;
	} else {
		xw_error("%s: no data source", in->path);
		return -1;
	}
	nr = xw_elf_ranges(esrc_read, &s, in->size, shift, r, 64, false);
	if (nr < 0)
		goto out;
	/* A file with no candidate pages keeps no per-page state. */
	if (base == XW_XIP_ALL || nr) {
		xs = xs_of(in, shift);
		if (!xs)
			goto out;
		if (base == XW_XIP_ALL)
			memset(xs, XW_XS(XW_XS_CAND, XW_CLASS_ANY), n);
		for (int pass = 0; pass < 2 && nr; pass++) {
			if (pass) {
				nr = xw_elf_ranges(esrc_read, &s, in->size, shift, r, 64, true);
				if (nr < 0)
					goto out;
			}
			for (int i = 0; i < nr; i++)
				for (uint64_t p = r[i].first; p <= r[i].last && p < n; p++)
					xs[p] = XW_XS(XW_XS_CAND,
						      pass ? XW_CLASS_ELF_X : XW_CLASS_ELF_RO);
		}
	}
	ret = 0;
out:
	if (in->src == XW_SRC_PATH)
		close(s.fd);
	return ret;
}

/* Undo \xHH escapes (what dump.xipfs writes for spaces and control bytes). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		unsigned int v;

		if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1 &&
		    strspn(s + 2, "0123456789abcdefABCDEF") >= 2 && v) {
			*d++ = (char)v;
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

struct range_spec {
	uint64_t first, last;
	unsigned int cls;	/* value class of a profile's page, 0: none given */
};

/* FIRST[-LAST][:FLAGS:WEIGHT]; *p advanced past it and a comma. */
static int parse_range(char **pp, struct range_spec *r)
{
	char *p = *pp, *end;
	unsigned long long w;

	errno = 0;
	if (*p < '0' || *p > '9')
		return -1;
	r->first = strtoull(p, &end, 10);
	if (errno)
		return -1;
	r->last = r->first;
	r->cls = 0;
	p = end;
	if (*p == '-') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		r->last = strtoull(p + 1, &end, 10);
		if (errno || r->last < r->first)
			return -1;
		p = end;
	}
	if (*p == ':') {
		size_t n = strcspn(++p, ":");
		unsigned int flags = xipfs_prof_flags(p, n);

		p += n;
		if (!flags || *p != ':' || p[1] < '0' || p[1] > '9')
			return -1;
		w = strtoull(p + 1, &end, 10);
		if (errno || !xipfs_prof_valid(flags, w))
			return -1;
		p = end;
		/*
		 * Mapped alongside a touched page (a fast profile): likely
		 * used, worth what the heuristic gives an executable page.
		 */
		if (flags & XIPFS_PROF_NEAR)
			r->cls = XW_CLASS_ELF_X;
		else
			r->cls = XW_CLASS_PROF + (unsigned int)w *
				 (flags & (XIPFS_PROF_EXEC | XIPFS_PROF_MMAP) ? 2 : 1);
	}
	if (*p == ',')
		p++;
	else if (*p)
		return -1;
	*pp = p;
	return 0;
}

/* Apply one page's change: kind of item, removal line, class. */
static void apply_page(uint8_t *x, enum xw_xip_policy kind, bool remove, unsigned int cls)
{
	unsigned int st = XW_XS_STATE(*x), c = XW_XS_CLASS(*x);

	if (remove || kind == XW_XIP_UNLIST) {
		*x = XW_XS(XW_XS_OFF, 0);
		return;
	}
	if (cls > c)
		c = cls;
	if (kind == XW_XIP_LIST)
		st = XW_XS_PIN;
	else if (st == XW_XS_OFF)
		st = XW_XS_CAND;
	*x = XW_XS(st, c);
}

/* One list:, profile: or unlist: file. */
static int apply_file(struct xw_tree *t, const struct xw_xip_item *it, unsigned int shift)
{
	FILE *f = fopen(it->file, "r");
	char *buf = NULL, *first_missing = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned int line = 0, missing_line = 0, eof_line = 0;
	uint64_t missing = 0, past_eof = 0;
	bool first = true;
	int ret = 0;

	if (!f) {
		xw_error("%s: %s", it->file, strerror(errno));
		return -1;
	}
	while (!ret && (n = getline(&buf, &cap, f)) >= 0) {
		char *p = buf, *path, *ranges;
		struct xw_inode *in;
		bool remove = false;
		uint64_t np;
		uint8_t *xs;

		line++;
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
			     buf[n - 1] == '\t'))
			buf[--n] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (first && *p && !strncmp(p, "xipfs-profile ", 14)) {
			xw_error("%s is a kernel profile: turn it into a path profile first with dump.xipfs --profile=%s IMAGE, IMAGE being the image it was taken on",
				 it->file, it->file);
			ret = -1;
			break;
		}
		if (*p)
			first = false;
		if (!*p || *p == '#')
			continue;
		if (*p == '-') {
			remove = true;
			p++;
		}
		path = p;
		p += strcspn(p, " \t");
		ranges = p;
		if (*p) {
			*p = 0;
			ranges = p + 1 + strspn(p + 1, " \t");
		}
		unescape(path);
		in = xw_tree_lookup(t, path);
		if (!in || !S_ISREG(in->mode)) {
			if (!missing++) {
				missing_line = line;
				first_missing = strdup(path);
			}
			/* Still check the ranges' syntax. */
			in = NULL;
		}
		np = in ? file_pages(in, shift) : 0;
		xs = NULL;
		if (in && np && np <= UINT32_MAX) {
			xs = xs_of(in, shift);
			if (!xs) {
				ret = -1;
				break;
			}
		}
		if (!*ranges) {
			for (uint64_t pg = 0; xs && pg < np; pg++)
				apply_page(&xs[pg], it->kind, remove, XW_CLASS_PROF + 1);
			continue;
		}
		while (*ranges) {
			struct range_spec r;

			if (parse_range(&ranges, &r)) {
				xw_error("%s:%u: bad page range (expected FIRST[-LAST][:FLAGS:WEIGHT][,...], FLAGS of x, m, r, WEIGHT 1 to %d, or a with x or m and WEIGHT 0)",
					 it->file, line, XIPFS_PROF_MAX_WEIGHT);
				ret = -1;
				break;
			}
			if (!in)
				continue;
			if (r.last >= np) {
				uint64_t cut = r.last - (r.first > np ? r.first : np);

				cut += cut < UINT64_MAX;

				past_eof = past_eof + cut < past_eof ? UINT64_MAX : past_eof + cut;
				if (!eof_line)
					eof_line = line;
			}
			/* A range without weights counts as weight 1, not mapped. */
			for (uint64_t pg = r.first; xs && pg <= r.last && pg < np; pg++)
				apply_page(&xs[pg], it->kind, remove,
					   r.cls ? r.cls : XW_CLASS_PROF + 1);
		}
	}
	if (!ret && ferror(f)) {
		xw_error("%s: %s", it->file, strerror(errno));
		ret = -1;
	}
	if (!ret && missing)
		xw_warn("%s: %llu line%s name%s no regular file of the image (the first: %s, line %u): ignored",
			it->file, (unsigned long long)missing, missing == 1 ? "" : "s",
			missing == 1 ? "s" : "", first_missing ? first_missing : "?", missing_line);
	if (!ret && past_eof)
		xw_warn("%s: %llu page%s past the end of %s (the first at line %u): ignored",
			it->file, (unsigned long long)past_eof, past_eof == 1 ? "" : "s",
			past_eof == 1 ? "its file" : "their files", eof_line);
	free(first_missing);
	free(buf);
	fclose(f);
	return ret;
}

int xw_xip_resolve(struct xw_tree *t, const struct xw_options *o)
{
	enum xw_xip_policy base = o->nxip ? XW_XIP_NONE : XW_XIP_ELF;
	unsigned int from = 0;

	/* The last none/all/elf starts over: items before it do not count. */
	for (unsigned int i = 0; i < o->nxip; i++)
		if (o->xip[i].kind <= XW_XIP_ELF) {
			base = o->xip[i].kind;
			from = i + 1;
		}
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (!S_ISREG(in->mode))
			continue;
		free(in->xs);
		in->xs = NULL;
		if (base != XW_XIP_NONE && base_file(t, in, base, o->page_shift))
			return -1;
	}
	for (unsigned int i = from; i < o->nxip; i++)
		if (apply_file(t, &o->xip[i], o->page_shift))
			return -1;
	return 0;
}

int xw_xip_apply(struct xw_tree *t, unsigned int shift, bool all_cand)
{
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];
		uint64_t np = file_pages(in, shift);
		int nr = 0;

		if (!S_ISREG(in->mode))
			continue;
		free(in->xip);
		in->xip = NULL;
		in->nxip = 0;
		if (!in->xs)
			continue;
		/* Count the runs, then store them. */
		for (int pass = 0; pass < 2; pass++) {
			nr = 0;
			for (uint64_t p = 0, e; p < np; p = e) {
				unsigned int st = XW_XS_STATE(in->xs[p]);
				bool xip = st == XW_XS_PIN || st == XW_XS_SEL ||
					   (all_cand && st == XW_XS_CAND);

				for (e = p + 1; e < np; e++) {
					unsigned int s2 = XW_XS_STATE(in->xs[e]);
					bool x2 = s2 == XW_XS_PIN || s2 == XW_XS_SEL ||
						  (all_cand && s2 == XW_XS_CAND);

					if (x2 != xip)
						break;
				}
				if (!xip)
					continue;
				if (pass) {
					in->xip[nr].first = p;
					in->xip[nr].last = e - 1;
				}
				if (nr == INT32_MAX) {
					xw_error("%s: too many XIP ranges", in->path);
					return -1;
				}
				nr++;
			}
			if (pass || !nr)
				break;
			in->xip = malloc((size_t)nr * sizeof(*in->xip));
			if (!in->xip) {
				xw_error("out of memory");
				return -1;
			}
		}
		in->nxip = in->xip ? nr : 0;
	}
	return 0;
}

/* What XIP-ing one page of a class saves, in pages of RAM. */
static double class_value(unsigned int cls)
{
	return cls >= XW_CLASS_PROF ? (double)(cls - XW_CLASS_PROF) : cls / 8.0;
}

/*
 * Which stored object page p of in is in the all-compressed layout: a
 * cluster (its index), a tail, a hole.
 */
static uint64_t cell_of(const struct xw_inode *in, uint64_t p)
{
	uint64_t e = in->map[p];

	switch (XIPFS_PTE_TYPE(e)) {
	case XIPFS_PTE_TYPE_COMP:
		return e & XIPFS_PTE_CLUSTER_MASK;
	case XIPFS_PTE_TYPE_TAIL:
		return UINT64_MAX - 1;
	case XIPFS_PTE_TYPE_XIP:
		return UINT64_MAX - 2;
	default:
		return UINT64_MAX;
	}
}

/* The flash bytes page p costs in the all-compressed layout. */
static double page_share(const struct xw_data *d, const struct xw_inode *in, uint64_t p)
{
	uint64_t e = in->map[p], page = 1ULL << d->o->page_shift;

	switch (XIPFS_PTE_TYPE(e)) {
	case XIPFS_PTE_TYPE_COMP: {
		uint64_t idx = e & XIPFS_PTE_CLUSTER_MASK;
		uint64_t end = idx + 1 < d->ncl ? d->cl[idx + 1].off : d->comp_size;
		const struct xw_cluster *c;

		if (idx >= d->ncl || !d->cl[idx].pages)
			return 0;
		c = &d->cl[idx];
		/* Its table bytes: a regular cluster's are a compact table's length only. */
		return (double)(end - c->off +
				xw_cl_table_cost(d->o, !c->shared &&
						 c->pages == 1U << (d->o->cluster_shift - d->o->page_shift))) /
		       c->pages;
	}
	case XIPFS_PTE_TYPE_TAIL: {
		uint64_t len = in->size - (p << d->o->page_shift);

		return (double)(((len < page ? len : page) + 7) & ~7ULL);
	}
	default:
		return 0;
	}
}

struct ranked {
	struct xw_unit u;
	double score;
	bool free;
};

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->free != y->free)
		return x->free ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->u.in->ino != y->u.in->ino)
		return x->u.in->ino < y->u.in->ino ? -1 : 1;
	return x->u.first < y->u.first ? -1 : x->u.first > y->u.first;
}

int xw_budget_units(struct xw_tree *t, const struct xw_data *d,
		    struct xw_unit **units, size_t *nunits)
{
	uint64_t page = 1ULL << d->o->page_shift;
	struct ranked *r = NULL;
	size_t n = 0, cap = 0;
	uint32_t *nprof = NULL;

	*units = NULL;
	*nunits = 0;
	/*
	 * The profiled candidate pages of each cluster of the all-compressed
	 * layout.  While one of them stays compressed, the kernel caches the
	 * whole cluster; so the profiled pages of a cluster share between
	 * them, by their number, the value of its pages nobody touched (one
	 * page of RAM each).
	 */
	if (d->ncl) {
		nprof = calloc(d->ncl, sizeof(*nprof));
		if (!nprof) {
			xw_error("out of memory");
			return -1;
		}
	}
	for (uint32_t i = 1; nprof && i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (!S_ISREG(in->mode) || !in->xs || !in->map)
			continue;
		for (uint64_t p = 0; p < in->npages; p++) {
			uint64_t cell = cell_of(in, p);

			if (XW_XS_STATE(in->xs[p]) == XW_XS_CAND &&
			    XW_XS_CLASS(in->xs[p]) >= XW_CLASS_PROF && cell < d->ncl)
				nprof[cell]++;
		}
	}
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (!S_ISREG(in->mode) || !in->xs || !in->map)
			continue;
		for (uint64_t p = 0, e; p < in->npages; p = e) {
			uint8_t x = in->xs[p];
			uint64_t cell = cell_of(in, p);
			struct xw_unit u = { .in = in, .first = p };
			double cost = 0, value = 0;

			e = p + 1;
			if (XW_XS_STATE(x) != XW_XS_CAND)
				continue;
			while (e < in->npages && in->xs[e] == x && cell_of(in, e) == cell)
				e++;
			u.last = e - 1;
			for (uint64_t q = p; q < e; q++) {
				/* An all-zero XIP page is a hole: free, and saves nothing. */
				if (XIPFS_PTE_TYPE(in->map[q]) == XIPFS_PTE_TYPE_HOLE)
					continue;
				cost += (double)page - page_share(d, in, q);
				value += class_value(XW_XS_CLASS(x));
			}
			if (XW_XS_CLASS(x) >= XW_CLASS_PROF) {
				u.prof_pages = e - p;
				if (nprof && cell < d->ncl && nprof[cell] &&
				    d->cl[cell].pages > nprof[cell])
					value += (double)(d->cl[cell].pages - nprof[cell]) *
						 (double)(e - p) / nprof[cell];
			}
			/*
			 * Cut out of the middle of a cluster: one more descriptor
			 * (compact table: a regular cluster's length becomes two
			 * partial ones' lengths and exception words).
			 */
			if (XIPFS_PTE_TYPE(in->map[p]) == XIPFS_PTE_TYPE_COMP && p > 0 &&
			    e < in->npages && cell_of(in, p - 1) == cell && cell_of(in, e) == cell)
				cost += 2 * xw_cl_table_cost(d->o, false) - xw_cl_table_cost(d->o, true);
			u.cost = (int64_t)(cost >= 0 ? cost + 0.5 : cost - 0.5);
			u.value = value;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				struct ranked *nr = realloc(r, ncap * sizeof(*nr));

				if (!nr) {
					free(r);
					free(nprof);
					xw_error("out of memory");
					return -1;
				}
				r = nr;
				cap = ncap;
			}
			r[n].u = u;
			r[n].free = u.cost <= 0;
			r[n].score = r[n].free ? value : value / (double)u.cost;
			n++;
		}
	}
	free(nprof);
	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), ranked_cmp);
	*units = malloc(n * sizeof(**units));
	if (!*units) {
		free(r);
		xw_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		(*units)[i] = r[i].u;
	*nunits = n;
	free(r);
	return 0;
}

void xw_budget_choose(const struct xw_unit *u, size_t n, size_t k)
{
	for (size_t i = 0; i < n; i++)
		for (uint64_t p = u[i].first; p <= u[i].last; p++)
			u[i].in->xs[p] = XW_XS(i < k ? XW_XS_SEL : XW_XS_CAND,
					       XW_XS_CLASS(u[i].in->xs[p]));
}

void xw_xip_count(const struct xw_tree *t, unsigned int shift, struct xw_stats *st)
{
	for (uint32_t i = 1; i < t->ninodes; i++) {
		const struct xw_inode *in = t->inodes[i];
		uint64_t np = file_pages(in, shift);

		if (!S_ISREG(in->mode) || !in->xs)
			continue;
		for (uint64_t p = 0; p < np; p++) {
			unsigned int s = XW_XS_STATE(in->xs[p]);

			if (s == XW_XS_PIN)
				st->pinned_pages++;
			if (s == XW_XS_CAND || s == XW_XS_SEL) {
				st->cand_pages++;
				st->prof_pages += XW_XS_CLASS(in->xs[p]) >= XW_CLASS_PROF;
			}
		}
	}
}
