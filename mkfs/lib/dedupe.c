// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-file dedupe: find regular files whose bytes are those of an
 * earlier file (inode order).  The data pass skips them and gives each
 * its original's page map entries (writer.c), so that identical files
 * share XIP pages, clusters and tail data (RO_COMPAT_SHARED_DATA).
 *
 * Only files of equal size are read: each is hashed (two CRC-64s, 128
 * bits), and files whose hashes match are compared byte for byte, so a
 * hash collision costs a compare, never a wrong file.  Hard links are one
 * inode already; empty files have no data to share.
 */
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc64.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xw_internal.h"

#define CHUNK	(1U << 20)

struct cand {
	struct xw_inode *in;
	uint64_t h[2];
	size_t idx;		/* inode order */
};

struct src {
	int fd;
	uint64_t base;
	const char *path;
};

/* Open in's source as the data pass will, checking it is the file walked. */
static int src_open(struct xw_tree *t, struct xw_inode *in, struct src *s)
{
	struct stat st;

	s->base = 0;
	s->path = in->path;
	if (in->src == XW_SRC_SPOOL) {
		s->fd = t->spool_fd;
		s->base = in->spool_off;
		return 0;
	}
	s->path = in->src_path;
	s->fd = open(in->src_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (s->fd < 0) {
		xw_error("%s: %s", in->src_path, strerror(errno));
		return -1;
	}
	if (fstat(s->fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != in->src_ino ||
	    st.st_dev != in->src_dev || (uint64_t)st.st_size != in->size ||
	    st.st_mtim.tv_sec != in->src_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != in->src_mtime.tv_nsec) {
		xw_error("%s: file changed while being read", in->src_path);
		close(s->fd);
		return -1;
	}
	return 0;
}

static void src_close(const struct xw_inode *in, struct src *s)
{
	if (in->src == XW_SRC_PATH)
		close(s->fd);
}

static int src_read(struct src *s, void *buf, size_t len, uint64_t off)
{
	return xw_pread_full(s->fd, s->path, buf, len, s->base + off);
}

static int hash_file(struct xw_tree *t, struct cand *c, unsigned char *buf)
{
	struct src s;
	int ret = 0;

	if (src_open(t, c->in, &s))
		return -1;
	c->h[0] = c->h[1] = 0;
	for (uint64_t off = 0; off < c->in->size && !ret; off += CHUNK) {
		size_t n = c->in->size - off < CHUNK ? c->in->size - off : CHUNK;

		ret = src_read(&s, buf, n, off);
		c->h[0] = crc64_ecma_refl(c->h[0], buf, n);
		c->h[1] = crc64_iso_refl(c->h[1], buf, n);
	}
	src_close(c->in, &s);
	return ret;
}

/* 1: a and b (of equal size) hold the same bytes, 0: not, -1: error. */
static int same_bytes(struct xw_tree *t, struct xw_inode *a, struct xw_inode *b,
		      unsigned char *ba, unsigned char *bb)
{
	struct src sa, sb;
	int ret = 1;

	if (src_open(t, a, &sa))
		return -1;
	if (src_open(t, b, &sb)) {
		src_close(a, &sa);
		return -1;
	}
	for (uint64_t off = 0; off < a->size && ret == 1; off += CHUNK) {
		size_t n = a->size - off < CHUNK ? a->size - off : CHUNK;

		if (src_read(&sa, ba, n, off) || src_read(&sb, bb, n, off))
			ret = -1;
		else if (memcmp(ba, bb, n))
			ret = 0;
	}
	src_close(a, &sa);
	src_close(b, &sb);
	return ret;
}

static int by_size(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->in->size != b->in->size)
		return a->in->size < b->in->size ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int by_hash(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->h[0] != b->h[0])
		return a->h[0] < b->h[0] ? -1 : 1;
	if (a->h[1] != b->h[1])
		return a->h[1] < b->h[1] ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* c[0..n): files of one size, one hash.  The first of equal bytes leads. */
static int match_group(struct xw_tree *t, struct cand *c, size_t n,
		       unsigned char *ba, unsigned char *bb)
{
	for (size_t i = 1; i < n; i++) {
		for (size_t l = 0; l < i; l++) {
			int r;

			if (c[l].in->dup)
				continue;	/* not a leader */
			r = same_bytes(t, c[l].in, c[i].in, ba, bb);
			if (r < 0)
				return -1;
			if (r) {
				c[i].in->dup = c[l].in;
				break;
			}
		}
	}
	return 0;
}

int xw_dedupe_find(struct xw_tree *t)
{
	struct cand *c;
	unsigned char *ba = malloc(CHUNK), *bb = malloc(CHUNK);
	size_t n = 0;
	int ret = -1;

	c = calloc(t->ninodes ? t->ninodes : 1, sizeof(*c));
	if (!c || !ba || !bb) {
		xw_error("out of memory");
		goto out;
	}
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		in->dup = NULL;
		if (S_ISREG(in->mode) && in->size &&
		    (in->src == XW_SRC_PATH || in->src == XW_SRC_SPOOL))
			c[n++] = (struct cand){ .in = in, .idx = i };
	}
	qsort(c, n, sizeof(*c), by_size);
	for (size_t i = 0, e; i < n; i = e) {
		for (e = i + 1; e < n && c[e].in->size == c[i].in->size; e++)
			;
		if (e - i < 2)
			continue;
		for (size_t k = i; k < e; k++)
			if (hash_file(t, &c[k], ba))
				goto out;
		qsort(c + i, e - i, sizeof(*c), by_hash);
		for (size_t k = i, f; k < e; k = f) {
			for (f = k + 1; f < e && c[f].h[0] == c[k].h[0] &&
			     c[f].h[1] == c[k].h[1]; f++)
				;
			if (f - k > 1 && match_group(t, c + k, f - k, ba, bb))
				goto out;
		}
	}
	ret = 0;
out:
	free(c);
	free(ba);
	free(bb);
	return ret;
}
