// SPDX-License-Identifier: GPL-2.0
/*
 * The writer's in-memory tree: inodes, directory entries, lookups, and
 * the deterministic numbering (breadth-first, names in bytewise order)
 * that makes images reproducible.
 */
#include <errno.h>
#include <fnmatch.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xw_internal.h"

const char *xw_progname = "mkfs.xipfs";

static void xw_vmsg(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", xw_progname, what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void xw_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xw_vmsg("", fmt, ap);
	va_end(ap);
}

/*
 * Reads exactly len bytes of a source file at off (pread() may return
 * short counts and be interrupted); a file that ends early changed under
 * mkfs.  Errors name path.
 */
int xw_pread_full(int fd, const char *path, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xw_error("%s: %s", path,
				 n < 0 ? strerror(errno) : "file shrank while being read");
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Writes exactly len bytes at off, the mirror of xw_pread_full(): to the
 * image or to one of mkfs's temporary files.  Errors name the image and
 * what was being written.
 */
int xw_pwrite_full(int fd, const char *what, const void *buf, size_t len,
		   uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xw_error("%s: writing %s: %s", xw_image_name, what,
				 n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

void xw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xw_vmsg("warning: ", fmt, ap);
	va_end(ap);
}

static void *xmalloc_fail(void)
{
	xw_error("out of memory");
	return NULL;
}

struct xw_inode *xw_inode_new(struct xw_tree *t, mode_t mode)
{
	struct xw_inode *in;

	if (t->nall == t->all_cap) {
		size_t cap = t->all_cap ? t->all_cap * 2 : 256;
		struct xw_inode **a = realloc(t->all, cap * sizeof(*a));

		if (!a)
			return xmalloc_fail();
		t->all = a;
		t->all_cap = cap;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return xmalloc_fail();
	in->mode = mode;
	in->tree = t;
	t->all[t->nall++] = in;
	return in;
}

struct xw_tree *xw_tree_new(const struct xw_tree_options *opt)
{
	struct xw_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return xmalloc_fail();
	t->opt = *opt;
	t->spool_fd = -1;
	t->root = xw_inode_new(t, S_IFDIR | 0755);
	if (!t->root) {
		free(t);
		return NULL;
	}
	t->root->parent = t->root;
	xw_tree_time(t, t->root, 0, 0);
	if (opt->excludes) {
		size_t n = 0;

		while (opt->excludes[n])
			n++;
		t->excl_hits = calloc(n + 1, sizeof(*t->excl_hits));
		if (!t->excl_hits) {
			xw_tree_free(t);
			return xmalloc_fail();
		}
	}
	return t;
}

static void noop_free(void *p)
{
	(void)p;
}

void xw_tree_free(struct xw_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nall; i++) {
		struct xw_inode *in = t->all[i];

		for (size_t k = 0; k < in->nkids; k++)
			free(in->kids[k].name);
		free(in->kids);
		free(in->target);
		free(in->path);
		free(in->src_path);
		free(in->map);
		free(in->xip);
		free(in->xs);
		xw_xattr_free(in);
		free(in);
	}
	free(t->all);
	free(t->inodes);
	tdestroy(t->hardlinks, noop_free);
	free(t->ht);
	free(t->excl_hits);
	free(t->xshared);
	for (size_t i = 0; i < t->nxbodies; i++)
		free(t->xbodies[i]);
	free(t->xbodies);
	if (t->spool_fd >= 0)
		close(t->spool_fd);
	free(t);
}

int xw_name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static size_t name_hash(const struct xw_inode *dir, const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ULL ^ (uintptr_t)dir;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static int ht_insert(struct xw_tree *t, struct xw_inode *dir, size_t idx)
{
	size_t mask, h;

	if ((t->ht_n + 1) * 2 > t->ht_cap) {
		size_t cap = t->ht_cap ? t->ht_cap * 2 : 1024;
		struct xw_hent *old = t->ht, *n = calloc(cap, sizeof(*n));
		size_t oldcap = t->ht_cap;

		if (!n) {
			xmalloc_fail();
			return -1;
		}
		t->ht = n;
		t->ht_cap = cap;
		t->ht_n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].dir)
				ht_insert(t, old[i].dir, old[i].idx);
		free(old);
	}
	mask = t->ht_cap - 1;
	h = name_hash(dir, dir->kids[idx].name, dir->kids[idx].len) & mask;
	while (t->ht[h].dir)
		h = (h + 1) & mask;
	t->ht[h].dir = dir;
	t->ht[h].idx = idx;
	t->ht_n++;
	return 0;
}

struct xw_dentry *xw_dir_find(struct xw_inode *dir, const char *name, size_t len)
{
	struct xw_tree *t = dir->tree;

	if (t->sorted) {
		size_t lo = 0, hi = dir->nkids;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = xw_name_cmp(dir->kids[mid].name, dir->kids[mid].len, name, len);

			if (!c)
				return &dir->kids[mid];
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return NULL;
	}
	if (!t->ht_cap)
		return NULL;
	for (size_t h = name_hash(dir, name, len) & (t->ht_cap - 1); t->ht[h].dir;
	     h = (h + 1) & (t->ht_cap - 1)) {
		struct xw_dentry *d = &t->ht[h].dir->kids[t->ht[h].idx];

		if (t->ht[h].dir == dir && d->len == len && !memcmp(d->name, name, len))
			return d;
	}
	return NULL;
}

int xw_dir_add(struct xw_inode *dir, const char *name, size_t len,
	       struct xw_inode *child)
{
	struct xw_dentry *d = xw_dir_find(dir, name, len);

	if (d) {
		d->inode = child;
	} else {
		if (dir->tree->sorted) {
			xw_error("internal error: entry added after numbering");
			return -1;
		}
		if (dir->nkids == dir->kids_cap) {
			size_t cap = dir->kids_cap ? dir->kids_cap * 2 : 8;
			struct xw_dentry *k = realloc(dir->kids, cap * sizeof(*k));

			if (!k) {
				xmalloc_fail();
				return -1;
			}
			dir->kids = k;
			dir->kids_cap = cap;
		}
		d = &dir->kids[dir->nkids];
		d->name = malloc(len + 1);
		if (!d->name) {
			xmalloc_fail();
			return -1;
		}
		memcpy(d->name, name, len);
		d->name[len] = 0;
		d->len = len;
		d->inode = child;
		dir->nkids++;
		if (ht_insert(dir->tree, dir, dir->nkids - 1))
			return -1;
	}
	if (S_ISDIR(child->mode))
		child->parent = dir;
	return 0;
}

struct xw_inode *xw_tree_lookup(struct xw_tree *t, const char *path)
{
	struct xw_inode *cur = t->root;

	while (*path) {
		const char *e;
		struct xw_dentry *d;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		e = strchrnul(path, '/');
		if (!S_ISDIR(cur->mode))
			return NULL;
		if (e - path == 1 && path[0] == '.') {
			path = e;
			continue;
		}
		d = xw_dir_find(cur, path, e - path);
		if (!d)
			return NULL;
		cur = d->inode;
		path = e;
	}
	return cur;
}

void xw_tree_time(const struct xw_tree *t, struct xw_inode *in,
		  int64_t sec, uint32_t nsec)
{
	if (t->opt.have_fixed_time) {
		sec = t->opt.fixed_time;
		nsec = 0;
	} else if (t->opt.have_clamp_time && sec > t->opt.clamp_time) {
		sec = t->opt.clamp_time;
		nsec = 0;
	}
	in->mtime = sec;
	in->mtime_nsec = nsec;
}

/*
 * A pattern matches the path relative to SOURCE or the name; with a
 * leading "/", only the path (anchored at SOURCE's root).
 */
static bool match_one(const struct xw_tree *t, const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	for (const char *const *p = t->opt.excludes; p; p++) {
		const char *pat = *p;

		if (!pat)
			return false;
		if (*pat == '/') {
			while (*pat == '/')
				pat++;
			if (fnmatch(pat, rel, 0))
				continue;
		} else if (fnmatch(pat, rel, 0) && fnmatch(pat, base, 0)) {
			continue;
		}
		if (t->excl_hits)
			t->excl_hits[p - t->opt.excludes]++;
		return true;
	}
	return false;
}

void xw_tree_warn_excludes(const struct xw_tree *t)
{
	for (size_t i = 0; t->opt.excludes && t->opt.excludes[i]; i++)
		if (t->excl_hits && !t->excl_hits[i])
			xw_warn("--exclude=%s matched nothing%s", t->opt.excludes[i],
				t->opt.excludes[i][0] == '/' ? "" :
				" (a path is relative to SOURCE, or a leading / anchors it there)");
}

/* A path is excluded if it or any directory above it matches. */
bool xw_excluded(const struct xw_tree *t, const char *relpath)
{
	char buf[4096];
	size_t len = strlen(relpath);

	if (!t->opt.excludes)
		return false;
	if (len >= sizeof(buf))
		return match_one(t, relpath);
	memcpy(buf, relpath, len + 1);
	for (;;) {
		char *slash;

		if (match_one(t, buf))
			return true;
		slash = strrchr(buf, '/');
		if (!slash)
			return false;
		*slash = 0;
	}
}

int xw_encode_dev(struct xw_tree *t, const char *path, unsigned int major,
		  unsigned int minor, uint32_t *out)
{
	(void)t;
	/* The kernel's new_encode_dev(): 12-bit major, 20-bit minor. */
	if (major > 0xfff || minor > 0xfffff) {
		xw_error("%s: device %u:%u cannot be stored (major <= 4095, minor <= 1048575)",
			 path, major, minor);
		return -1;
	}
	*out = (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
	return 0;
}

static int dentry_cmp(const void *a, const void *b)
{
	const struct xw_dentry *x = a, *y = b;

	return xw_name_cmp(x->name, x->len, y->name, y->len);
}

static char *join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return xmalloc_fail();
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

int xw_tree_number(struct xw_tree *t)
{
	struct xw_inode **q;
	size_t head = 0, tail = 0;
	uint32_t next = XIPFS_ROOT_INO + 1;

	for (size_t i = 0; i < t->nall; i++) {
		t->all[i]->ino = 0;
		t->all[i]->nlink = 0;
	}
	q = calloc(t->nall + 1, sizeof(*q));
	t->inodes = calloc(t->nall + 1, sizeof(*t->inodes));
	if (!q || !t->inodes) {
		free(q);
		xmalloc_fail();
		return -1;
	}
	t->root->ino = XIPFS_ROOT_INO;
	t->root->nlink = 2;
	t->root->parent = t->root;
	free(t->root->path);
	t->root->path = strdup("");
	if (!t->root->path)
		goto oom;
	t->inodes[XIPFS_ROOT_INO] = t->root;
	q[tail++] = t->root;
	while (head < tail) {
		struct xw_inode *dir = q[head++];

		if (dir->nkids)
			qsort(dir->kids, dir->nkids, sizeof(*dir->kids), dentry_cmp);
		for (size_t i = 0; i < dir->nkids; i++) {
			struct xw_inode *in = dir->kids[i].inode;

			if (S_ISDIR(in->mode)) {
				dir->nlink++;
				in->nlink = 2;
			} else {
				in->nlink++;
			}
			if (in->ino)
				continue;	/* a further hard link */
			in->ino = next++;
			t->inodes[in->ino] = in;
			free(in->path);
			in->path = join_path(dir->path, dir->kids[i].name);
			if (!in->path)
				goto oom;
			if (S_ISDIR(in->mode)) {
				in->parent = dir;
				q[tail++] = in;
			}
		}
	}
	t->ninodes = next;
	t->sorted = true;
	free(t->ht);
	t->ht = NULL;
	t->ht_cap = t->ht_n = 0;
	free(q);
	return 0;
oom:
	free(q);
	xmalloc_fail();
	return -1;
}

static void newest(const struct xw_inode *in, int64_t *best, uint32_t *bn)
{
	if (in->mtime > *best || (in->mtime == *best && in->mtime_nsec > *bn)) {
		*best = in->mtime;
		*bn = in->mtime_nsec;
	}
	for (size_t i = 0; i < in->nkids; i++)
		if (in->kids[i].inode != in)
			newest(in->kids[i].inode, best, bn);
}

/* Over what the image will hold: not over entries an archive replaced. */
int64_t xw_tree_newest_mtime(const struct xw_tree *t, uint32_t *nsec)
{
	int64_t best = INT64_MIN;
	uint32_t bn = 0;

	newest(t->root, &best, &bn);
	*nsec = bn;
	return best;
}

void xw_tree_set_owner(struct xw_tree *t, int64_t uid, int64_t gid)
{
	for (size_t i = 0; i < t->nall; i++) {
		if (uid >= 0)
			t->all[i]->uid = (uint32_t)uid;
		if (gid >= 0)
			t->all[i]->gid = (uint32_t)gid;
	}
}
