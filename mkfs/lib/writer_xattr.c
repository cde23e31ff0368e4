// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes on the writer side: taking them from the sources
 * (a directory's files, a tar archive's pax records, a file_contexts
 * file) under the --xattrs policy, and laying out the shared table and
 * the inodes' bodies (the format header's "Extended attributes").
 *
 * Layout: every attribute that two or more inodes have (same name, same
 * value) goes to the shared table once, sorted by (prefix, name, value)
 * so that images are reproducible; an inode's body names its shared
 * entries in increasing index order and holds its other attributes
 * sorted by (prefix, name).  Bodies are built in memory and each
 * distinct one is written once, in the order of the first inode that
 * has it: inodes with the same attributes share it.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <linux/limits.h>

#include "xw_internal.h"

/* Warnings about attributes that cannot be stored, before going quiet. */
#define MAX_SKIP_WARNINGS	10

static const struct { const char *name; uint8_t prefix; bool whole; } prefixes[] = {
	{ "user.", XIPFS_XATTR_USER, false },
	{ "trusted.", XIPFS_XATTR_TRUSTED, false },
	{ "security.", XIPFS_XATTR_SECURITY, false },
	{ "system.posix_acl_access", XIPFS_XATTR_ACL_ACCESS, true },
	{ "system.posix_acl_default", XIPFS_XATTR_ACL_DEFAULT, true },
};

static int oom(void)
{
	xw_error("out of memory");
	return -1;
}

void xw_xattr_free(struct xw_inode *in)
{
	for (size_t i = 0; i < in->nxattrs; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].value);
	}
	free(in->xattrs);
	in->xattrs = NULL;
	in->nxattrs = 0;
}

int xw_xattr_set(struct xw_tree *t, struct xw_inode *in, const char *name,
		 const void *value, size_t len, const char *path, bool force)
{
	struct xw_xattr *x = NULL;
	const char *rest = NULL;
	uint8_t prefix = 0;
	size_t rlen;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i].name);

		if (prefixes[i].whole ? !strcmp(name, prefixes[i].name) :
		    !strncmp(name, prefixes[i].name, pl) && name[pl]) {
			prefix = prefixes[i].prefix;
			rest = prefixes[i].whole ? "" : name + pl;
			break;
		}
	}
	if (!force && (t->opt.xattrs == XW_XATTRS_NONE ||
		       (t->opt.xattrs == XW_XATTRS_USER && prefix != XIPFS_XATTR_USER)))
		return 0;
	if (!prefix) {
		if (t->xattr_skipped++ < MAX_SKIP_WARNINGS)
			xw_warn("%s: attribute %s left out: xipfs stores user., trusted., security. and POSIX ACLs only%s",
				path, name, t->xattr_skipped == MAX_SKIP_WARNINGS ?
				" (further ones not shown)" : "");
		return 0;
	}
	rlen = strlen(rest);
	if (rlen > XIPFS_NAME_MAX) {
		xw_error("%s: attribute %s: name longer than %d bytes after its prefix",
			 path, name, XIPFS_NAME_MAX);
		return -1;
	}
	if (len > UINT16_MAX) {
		xw_error("%s: attribute %s: %zu-byte value, xipfs stores at most 65535 bytes",
			 path, name, len);
		return -1;
	}
	for (size_t i = 0; i < in->nxattrs; i++)
		if (in->xattrs[i].prefix == prefix && in->xattrs[i].name_len == rlen &&
		    !memcmp(in->xattrs[i].name, rest, rlen)) {
			x = &in->xattrs[i];
			free(x->name);
			free(x->value);
			break;
		}
	if (!x && in->nxattrs >= UINT16_MAX) {
		xw_error("%s: more than %u attributes", path, UINT16_MAX - 1);
		return -1;
	}
	if (!x) {
		x = realloc(in->xattrs, (in->nxattrs + 1) * sizeof(*x));
		if (!x)
			return oom();
		in->xattrs = x;
		x = &in->xattrs[in->nxattrs++];
	}
	x->prefix = prefix;
	x->name_len = rlen;
	x->value_len = len;
	x->shared = -1;
	x->name = malloc(rlen + 1);
	x->value = malloc(len + 1);
	if (!x->name || !x->value) {
		free(x->name);
		free(x->value);
		in->nxattrs--;
		return oom();
	}
	memcpy(x->name, rest, rlen + 1);
	if (len)
		memcpy(x->value, value, len);
	return 0;
}

int xw_xattr_read_path(struct xw_tree *t, struct xw_inode *in, const char *path)
{
	ssize_t n, vn;
	char *list = NULL;
	void *val = NULL;
	int ret = -1;

	if (t->opt.xattrs == XW_XATTRS_NONE)
		return 0;
	/* Sized first; the list may grow in between, so retry on ERANGE. */
	for (;;) {
		n = llistxattr(path, NULL, 0);
		if (n < 0) {
			if (errno == ENOTSUP)
				return 0;
			xw_error("%s: listing attributes: %s", path, strerror(errno));
			return -1;
		}
		if (!n)
			return 0;
		free(list);
		list = malloc(n);
		if (!list)
			return oom();
		n = llistxattr(path, list, n);
		if (n >= 0)
			break;
		if (errno != ERANGE) {
			xw_error("%s: listing attributes: %s", path, strerror(errno));
			goto out;
		}
	}
	val = malloc(XATTR_SIZE_MAX);
	if (!val) {
		oom();
		goto out;
	}
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		vn = lgetxattr(path, name, val, XATTR_SIZE_MAX);
		if (vn < 0) {
			/* Gone since listed: nothing to store. */
			if (errno == ENODATA)
				continue;
			xw_error("%s: reading attribute %s: %s", path, name, strerror(errno));
			goto out;
		}
		if (xw_xattr_set(t, in, name, val, vn, path, false))
			goto out;
	}
	ret = 0;
out:
	free(list);
	free(val);
	return ret;
}

static int cmp_name(const struct xw_xattr *a, const struct xw_xattr *b)
{
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return xw_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int cmp_xattr_name(const void *a, const void *b)
{
	return cmp_name(a, b);
}

/* (prefix, name, value): equal attributes sort together. */
static int cmp_full(const void *pa, const void *pb)
{
	const struct xw_xattr *a = *(struct xw_xattr *const *)pa;
	const struct xw_xattr *b = *(struct xw_xattr *const *)pb;
	int c = cmp_name(a, b);

	if (c)
		return c;
	return xw_name_cmp((const char *)a->value, a->value_len,
			   (const char *)b->value, b->value_len);
}

static uint32_t entry_size(const struct xw_xattr *x)
{
	return XIPFS_XATTR_ENTRY_SIZE(x->name_len, x->value_len);
}

static uint64_t round4(uint64_t v)
{
	return (v + 3) & ~3ULL;
}

static void put_entry(unsigned char *p, const struct xw_xattr *x)
{
	struct xipfs_xattr_entry *e = (void *)p;

	e->e_prefix = x->prefix;
	e->e_name_len = x->name_len;
	e->e_value_len = htole16(x->value_len);
	memcpy(p + XIPFS_XATTR_ENTRY_HDR, x->name, x->name_len);
	memcpy(p + XIPFS_XATTR_ENTRY_HDR + x->name_len, x->value, x->value_len);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* @in's body, as it goes into the image (its shared indices known). */
static struct xw_xbody *build_body(struct xw_inode *in, uint32_t ino_idx)
{
	struct xipfs_xattr_header *h;
	struct xw_xbody *b;
	uint32_t *idx, size = XIPFS_XATTR_HEADER_SIZE;
	uint16_t ns = 0, ni = 0;
	unsigned char *p;

	for (size_t j = 0; j < in->nxattrs; j++)
		size += in->xattrs[j].shared >= 0 ? 4 : entry_size(&in->xattrs[j]);
	b = calloc(1, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->len = size;
	b->ino_idx = ino_idx;
	h = (void *)b->buf;
	idx = (uint32_t *)(h + 1);
	for (size_t j = 0; j < in->nxattrs; j++)
		if (in->xattrs[j].shared >= 0)
			idx[ns++] = (uint32_t)in->xattrs[j].shared;
	qsort(idx, ns, sizeof(*idx), cmp_u32);
	for (uint16_t j = 0; j < ns; j++)
		idx[j] = htole32(idx[j]);
	p = (unsigned char *)(idx + ns);
	for (size_t j = 0; j < in->nxattrs; j++)
		if (in->xattrs[j].shared < 0) {
			put_entry(p, &in->xattrs[j]);
			p += entry_size(&in->xattrs[j]);
			ni++;
		}
	h->h_shared = htole16(ns);
	h->h_count = htole16(ni);
	h->h_size = htole32(size);
	return b;
}

/* Equal bodies together, each run in inode order. */
static int cmp_body(const void *pa, const void *pb)
{
	const struct xw_xbody *a = *(struct xw_xbody *const *)pa;
	const struct xw_xbody *b = *(struct xw_xbody *const *)pb;
	int c = xw_name_cmp((const char *)a->buf, a->len, (const char *)b->buf, b->len);

	if (c)
		return c;
	return a->ino_idx < b->ino_idx ? -1 : a->ino_idx > b->ino_idx;
}

static void free_bodies(struct xw_tree *t)
{
	for (size_t i = 0; i < t->nxbodies; i++)
		free(t->xbodies[i]);
	free(t->xbodies);
	t->xbodies = NULL;
	t->nxbodies = 0;
}

uint64_t xw_xattr_layout(struct xw_tree *t, uint64_t pos)
{
	struct xw_xattr **all;
	struct xw_xbody **sorted;
	size_t n = 0, k = 0, nb = 0;

	free(t->xshared);
	t->xshared = NULL;
	t->nxshared = 0;
	t->xshared_size = 0;
	t->xshared_off = 0;
	free_bodies(t);
	for (uint32_t i = 1; i < t->ninodes; i++) {
		n += t->inodes[i]->nxattrs;
		nb += t->inodes[i]->nxattrs > 0;
		t->inodes[i]->xattr_off = 0;
	}
	pos = round4(pos);
	if (!n)
		return pos;
	all = malloc(n * sizeof(*all));
	t->xshared = malloc(n * sizeof(*t->xshared));
	t->xbodies = calloc(nb, sizeof(*t->xbodies));
	sorted = malloc(nb * sizeof(*sorted));
	if (!all || !t->xshared || !t->xbodies || !sorted)
		goto oom;
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (in->nxattrs)
			qsort(in->xattrs, in->nxattrs, sizeof(*in->xattrs), cmp_xattr_name);
		for (size_t j = 0; j < in->nxattrs; j++) {
			in->xattrs[j].shared = -1;
			all[k++] = &in->xattrs[j];
		}
	}
	qsort(all, n, sizeof(*all), cmp_full);
	/* A run of equal attributes is of distinct inodes: share it. */
	for (size_t i = 0; i < n; ) {
		size_t j = i + 1;

		while (j < n && !cmp_full(&all[i], &all[j]))
			j++;
		if (j - i >= 2) {
			for (size_t m = i; m < j; m++)
				all[m]->shared = t->xshared_size / 4;
			t->xshared[t->nxshared++] = all[i];
			t->xshared_size += entry_size(all[i]);
		}
		i = j;
	}
	if (t->nxshared) {
		t->xshared_off = pos;
		pos += t->xshared_size;
	}
	/* Each distinct body once; the others point at the first of theirs. */
	for (uint32_t i = 1; i < t->ninodes; i++) {
		if (!t->inodes[i]->nxattrs)
			continue;
		t->xbodies[t->nxbodies] = build_body(t->inodes[i], i);
		if (!t->xbodies[t->nxbodies])
			goto oom;
		sorted[t->nxbodies] = t->xbodies[t->nxbodies];
		t->nxbodies++;
	}
	qsort(sorted, t->nxbodies, sizeof(*sorted), cmp_body);
	for (size_t i = 0; i < t->nxbodies; i++)
		sorted[i]->first = i && sorted[i - 1]->len == sorted[i]->len &&
				   !memcmp(sorted[i - 1]->buf, sorted[i]->buf, sorted[i]->len) ?
				   sorted[i - 1]->first : sorted[i];
	for (size_t i = 0; i < t->nxbodies; i++) {
		struct xw_xbody *b = t->xbodies[i];

		if (b->first == b) {
			b->off = pos;
			pos += b->len;
		}
		t->inodes[b->ino_idx]->xattr_off = b->first->off;
	}
	free(all);
	free(sorted);
	return pos;
oom:
	free(all);
	free(sorted);
	oom();
	exit(1);
}

void xw_xattr_emit(const struct xw_tree *t, unsigned char *m, uint64_t meta_off)
{
	unsigned char *p = m + (t->xshared_off - meta_off);

	for (uint32_t i = 0; i < t->nxshared; i++) {
		put_entry(p, t->xshared[i]);
		p += entry_size(t->xshared[i]);
	}
	for (size_t i = 0; i < t->nxbodies; i++)
		if (t->xbodies[i]->first == t->xbodies[i])
			memcpy(m + (t->xbodies[i]->off - meta_off), t->xbodies[i]->buf,
			       t->xbodies[i]->len);
}

/*
 * --file-contexts.  Without libselinux, this reads the file_contexts
 * format itself, a documented subset: lines "REGEX [TYPE] CONTEXT" ('#'
 * comments, blank lines), TYPE one of -- -d -l -c -b -p -s, CONTEXT or
 * <<none>> (leave the file unlabelled).  REGEX is a POSIX extended regular
 * expression matched against the whole path in the image ("/usr/bin/ping";
 * the root is "/").  As in libselinux, a specification without regular
 * expression metacharacters (an exact path) wins over patterns, and among
 * equals the last matching line wins.  PCRE-only syntax (\d, lookahead)
 * is refused when the file is read.
 */
struct fc_spec {
	regex_t re;
	char *context;			/* NULL: <<none>> */
	mode_t type;			/* S_IFMT value, 0: any */
	bool exact;			/* no metacharacters */
	unsigned int line;
};

static bool has_meta(const char *s)
{
	return strpbrk(s, ".^$?*+|[({\\") != NULL;
}

static int fc_parse_type(const char *s, mode_t *type)
{
	static const struct { const char *s; mode_t m; } types[] = {
		{ "--", S_IFREG }, { "-d", S_IFDIR }, { "-l", S_IFLNK }, { "-c", S_IFCHR },
		{ "-b", S_IFBLK }, { "-p", S_IFIFO }, { "-s", S_IFSOCK },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(s, types[i].s)) {
			*type = types[i].m;
			return 0;
		}
	return -1;
}

static const struct fc_spec *fc_match(const struct fc_spec *specs, size_t n,
				      const char *path, mode_t mode)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = n; i-- > 0; ) {
			const struct fc_spec *s = &specs[i];

			if (s->exact != !pass)
				continue;
			if (s->type && s->type != (mode & S_IFMT))
				continue;
			if (!regexec(&s->re, path, 0, NULL, 0))
				return s;
		}
	return NULL;
}

static int fc_label(struct xw_tree *t, struct xw_inode *in, const char *path,
		    const struct fc_spec *specs, size_t n, int depth)
{
	const struct fc_spec *s = fc_match(specs, n, path, in->mode);

	if (s && s->context &&
	    xw_xattr_set(t, in, "security.selinux", s->context, strlen(s->context) + 1,
			 path, true))
		return -1;
	if (!S_ISDIR(in->mode) || depth > 4096)
		return 0;
	for (size_t i = 0; i < in->nkids; i++) {
		struct xw_inode *kid = in->kids[i].inode;
		char *p;
		int r;

		/* Directories form a tree; a hard-linked file is labelled once per name. */
		if (asprintf(&p, "%s/%.*s", depth ? path : "", (int)in->kids[i].len,
			     in->kids[i].name) < 0)
			return oom();
		r = fc_label(t, kid, p, specs, n, depth + 1);
		free(p);
		if (r)
			return -1;
	}
	return 0;
}

int xw_tree_apply_file_contexts(struct xw_tree *t, const char *file)
{
	FILE *f = fopen(file, "r");
	struct fc_spec *specs = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	unsigned int lineno = 0;
	int ret = -1;

	if (!f) {
		xw_error("%s: %s", file, strerror(errno));
		return -1;
	}
	while (getline(&line, &lcap, f) >= 0) {
		char *f1, *f2, *f3, *f4, *save = NULL, *anchored;
		struct fc_spec *s;
		int r;

		lineno++;
		f1 = strtok_r(line, " \t\r\n", &save);
		if (!f1 || *f1 == '#')
			continue;
		f2 = strtok_r(NULL, " \t\r\n", &save);
		f3 = strtok_r(NULL, " \t\r\n", &save);
		f4 = strtok_r(NULL, " \t\r\n", &save);
		if (!f2 || f4 || (f3 && *f3 == '#')) {
			xw_error("%s:%u: expected REGEX [TYPE] CONTEXT", file, lineno);
			goto out;
		}
		if (n == cap) {
			s = realloc(specs, (cap = cap ? 2 * cap : 64) * sizeof(*s));
			if (!s) {
				oom();
				goto out;
			}
			specs = s;
		}
		s = &specs[n];
		memset(s, 0, sizeof(*s));
		s->line = lineno;
		if (f3 && fc_parse_type(f2, &s->type)) {
			xw_error("%s:%u: unknown file type '%s' (--, -d, -l, -c, -b, -p, -s)",
				 file, lineno, f2);
			goto out;
		}
		if (strstr(f1, "\\d") || strstr(f1, "(?")) {
			xw_error("%s:%u: '%s': PCRE syntax; only POSIX extended regular expressions are understood",
				 file, lineno, f1);
			goto out;
		}
		s->exact = !has_meta(f1);
		if (asprintf(&anchored, "^(%s)$", f1) < 0) {
			oom();
			goto out;
		}
		r = regcomp(&s->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (r) {
			char msg[128];

			regerror(r, &s->re, msg, sizeof(msg));
			xw_error("%s:%u: '%s': %s", file, lineno, f1, msg);
			goto out;
		}
		if (strcmp(f3 ? f3 : f2, "<<none>>")) {
			s->context = strdup(f3 ? f3 : f2);
			if (!s->context) {
				regfree(&s->re);
				oom();
				goto out;
			}
		}
		n++;
	}
	if (ferror(f)) {
		xw_error("%s: %s", file, strerror(errno));
		goto out;
	}
	ret = fc_label(t, t->root, "/", specs, n, 0);
out:
	for (size_t i = 0; i < n; i++) {
		regfree(&specs[i].re);
		free(specs[i].context);
	}
	free(specs);
	free(line);
	fclose(f);
	return ret;
}
