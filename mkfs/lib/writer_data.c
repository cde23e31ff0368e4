// SPDX-License-Identifier: GPL-2.0
/*
 * The data pass: read every regular file in inode order, sort its pages
 * into holes, XIP pages and compressed clusters, and write the XIP and
 * compressed areas to temporary files.  Clusters are compressed by a
 * pool of threads; results are retired strictly in submission order, so
 * the output does not depend on thread timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xw_data.h"

/*
 * A cluster is stored compressed only when that saves at least 1/64 of
 * it: below that, the space won is not worth decompressing on every read.
 */
static size_t comp_cap(size_t ulen)
{
	size_t margin = ulen / 64 + 1;

	return ulen > margin ? ulen - margin : 0;
}

static void *worker(void *arg)
{
	struct xw_data *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct xw_job *j;

		while (d->taken == d->submitted && !d->stop)
			pthread_cond_wait(&d->work_cv, &d->mu);
		if (d->taken == d->submitted)
			break;
		j = &d->jobs[d->taken++ % d->njobs];
		pthread_mutex_unlock(&d->mu);
		j->clen = 0;
		if (comp_cap(j->ulen))
			j->clen = d->o->comp->compress(j->in_buf, j->ulen, j->out_buf,
						       comp_cap(j->ulen), d->o->level);
		pthread_mutex_lock(&d->mu);
		j->done = 1;
		pthread_cond_broadcast(&d->done_cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static int write_all(int fd, const void *buf, size_t len, const char *what)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xw_error("%s: writing %s to a temporary file: %s", xw_image_name, what,
				 n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int comp_write(struct xw_data *d, const void *buf, size_t len)
{
	d->crc_comp[0] = crc64_ecma_refl(d->crc_comp[0], buf, len);
	d->crc_comp[1] = crc64_iso_refl(d->crc_comp[1], buf, len);
	d->comp_size += len;
	if (d->wlen + len > XW_WBUF) {
		if (write_all(d->comp_fd, d->wbuf, d->wlen, "compressed data"))
			return -1;
		d->wlen = 0;
	}
	if (len > XW_WBUF)
		return write_all(d->comp_fd, buf, len, "compressed data");
	memcpy(d->wbuf + d->wlen, buf, len);
	d->wlen += len;
	return 0;
}

static int add_tail(struct xw_data *d, const void *buf, size_t len, uint64_t *off)
{
	size_t need = (len + 7) & ~7UL;

	if (d->tails_len + need > d->tails_cap) {
		size_t cap = d->tails_cap ? d->tails_cap * 2 : 65536;
		unsigned char *p;

		while (cap < d->tails_len + need)
			cap *= 2;
		p = realloc(d->tails, cap);
		if (!p) {
			xw_error("out of memory");
			return -1;
		}
		d->tails = p;
		d->tails_cap = cap;
	}
	*off = d->tails_len;
	memcpy(d->tails + d->tails_len, buf, len);
	memset(d->tails + d->tails_len + len, 0, need - len);
	d->tails_len += need;
	return 0;
}

static int save_piece(struct xw_data *d, struct xw_job *j);

/* Take the oldest job's result: place it, in order. */
static int retire_one(struct xw_data *d)
{
	struct xw_job *j = &d->jobs[d->retired % d->njobs];
	const void *data;
	size_t clen;
	unsigned int alg;
	uint64_t idx;

	pthread_mutex_lock(&d->mu);
	while (!j->done)
		pthread_cond_wait(&d->done_cv, &d->mu);
	j->done = 0;
	pthread_mutex_unlock(&d->mu);
	d->retired++;

	if (j->clen) {
		data = j->out_buf;
		clen = j->clen;
		alg = d->o->comp->alg;
	} else {
		data = j->in_buf;
		clen = j->ulen;
		alg = XIPFS_COMP_NONE;
	}
	/*
	 * With fragments, a file's partial last page alone was compressed
	 * padded to a page, as it would sit in a shared cluster: it goes
	 * into the metadata when its raw bytes cost no more than that, else
	 * it becomes a piece.  (LZ4 spends about a byte per 255 zeros of
	 * padding: raw is better for tiny files.)
	 */
	if (j->frag_cand) {
		uint64_t off;

		j->ulen = j->real_len;
		if (((j->ulen + 7) & ~7UL) > clen)
			return save_piece(d, j);
		if (add_tail(d, j->in_buf, j->ulen, &off))
			return -1;
		j->in->map[j->first] = XIPFS_PTE_TAIL(off);
		return 0;
	}
	/*
	 * Tail packing: a file's partial last page that would be a cluster
	 * of its own goes into the metadata when its raw bytes cost no more
	 * than the cluster would (compressed bytes + its table bytes: a
	 * partial cluster is not regular).
	 */
	if (j->tail_cand && ((j->ulen + 7) & ~7UL) <= clen + xw_cl_table_cost(d->o, false)) {
		uint64_t off;

		if (add_tail(d, j->in_buf, j->ulen, &off))
			return -1;
		j->in->map[j->first] = XIPFS_PTE_TAIL(off);
		return 0;
	}
	if (d->ncl == d->cl_cap) {
		size_t cap = d->cl_cap ? d->cl_cap * 2 : 4096;
		struct xw_cluster *c = realloc(d->cl, cap * sizeof(*c));

		if (!c) {
			xw_error("out of memory");
			return -1;
		}
		d->cl = c;
		d->cl_cap = cap;
	}
	idx = d->ncl++;
	if (idx > XIPFS_PTE_CLUSTER_MASK) {
		xw_error("too many clusters");
		return -1;
	}
	/* Descriptors hold 38-bit offsets from s_comp_off. */
	if (d->comp_size + clen > XIPFS_CL_OFF_MASK) {
		xw_error("more than %llu bytes of compressed data",
			 (unsigned long long)XIPFS_CL_OFF_MASK);
		return -1;
	}
	memset(&d->cl[idx], 0, sizeof(d->cl[idx]));
	d->cl[idx].off = d->comp_size;
	d->cl[idx].ulen = j->ulen;
	d->cl[idx].alg = alg;
	d->cl[idx].pages = j->npages;
	d->comp_algs |= 1U << alg;
	if (alg == XIPFS_COMP_NONE)
		d->stored_clusters++;
	else {
		d->comp_in += j->ulen;
		d->comp_out += clen;
	}
	if (j->shared) {
		/* Pages [0, npages) of the stream of pieces from (p0, off0). */
		size_t k = j->p0;
		unsigned int off = j->off0, cp = 0;

		d->cl[idx].shared = true;
		d->shared_clusters++;
		while (cp < j->npages) {
			struct xw_piece *p = &d->pieces[d->order[k]];
			unsigned int n = p->npages - off;

			if (p->dup != SIZE_MAX) {
				k++;
				continue;
			}
			if (n > j->npages - cp)
				n = j->npages - cp;
			for (unsigned int i = 0; i < n; i++)
				p->in->map[p->first + off + i] = XIPFS_PTE_COMP(idx, cp + i);
			cp += n;
			off = 0;
			k++;
		}
	} else {
		for (unsigned int i = 0; i < j->npages; i++)
			j->in->map[j->first + i] = XIPFS_PTE_COMP(idx, i);
	}
	return comp_write(d, data, clen);
}

/* The job the next cluster is assembled in. */
static struct xw_job *next_job(struct xw_data *d)
{
	while (d->submitted - d->retired >= d->njobs)
		if (retire_one(d))
			return NULL;
	return &d->jobs[d->submitted % d->njobs];
}

static void submit(struct xw_data *d)
{
	pthread_mutex_lock(&d->mu);
	d->submitted++;
	pthread_cond_signal(&d->work_cv);
	pthread_mutex_unlock(&d->mu);
	d->cur = NULL;
}

/*
 * Fragments.  A run of compressed pages shorter than a cluster (a small
 * file, the last partial cluster of a larger one, or a run cut short by a
 * hole or an XIP page) is a piece.  With o->fragments, pieces are kept
 * aside until every file is read, then sorted so that similar data sits
 * together and packed, each starting on a page boundary, into shared
 * clusters of up to the cluster size.  A piece never spans two clusters,
 * so reading one costs one decompression, unless o->frag_span: then a
 * piece may continue in the next one, so that each shared cluster but the
 * last is full (with grouped maps only a piece that is a whole file may:
 * the clusters before the end of a larger file's piece may be short).
 * Identical pieces are stored once.
 */
enum {
	KIND_ELF, KIND_AR, KIND_SCRIPT, KIND_TEXT, KIND_BINARY, KIND_PACKED,
	KIND_NONE,
};

/* A class of the file from its first bytes (NULL: page 0 is a hole). */
static unsigned int file_kind(const unsigned char *p, size_t len)
{
	static const struct { const char *magic; size_t len; } packed[] = {
		{ "\x1f\x8b", 2 }, { "\xfd" "7zXZ", 5 }, { "\x28\xb5\x2f\xfd", 4 },
		{ "BZh", 3 }, { "PK\x03\x04", 4 }, { "\x89PNG", 4 },
		{ "\xff\xd8\xff", 3 }, { "\x04\x22\x4d\x18", 4 },
	};
	size_t n = len < 256 ? len : 256;

	if (!p)
		return KIND_NONE;
	if (len >= 4 && !memcmp(p, "\x7f" "ELF", 4))
		return KIND_ELF;
	if (len >= 7 && !memcmp(p, "!<arch>", 7))
		return KIND_AR;
	if (len >= 2 && p[0] == '#' && p[1] == '!')
		return KIND_SCRIPT;
	for (size_t i = 0; i < sizeof(packed) / sizeof(packed[0]); i++)
		if (len >= packed[i].len && !memcmp(p, packed[i].magic, packed[i].len))
			return KIND_PACKED;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t' && p[i] != '\r')
			return KIND_BINARY;
	return KIND_TEXT;
}

/* The last name suffix with a non-digit: "so" for libz.so.1.2.13. */
static void file_ext(const char *path, char ext[8])
{
	const char *base = strrchr(path, '/'), *best = NULL, *p;

	base = base ? base + 1 : path;
	for (p = strchr(base + 1, '.'); p; p = strchr(p + 1, '.')) {
		size_t l = strcspn(p + 1, ".");

		if (l && strspn(p + 1, "0123456789") < l)
			best = p + 1;
	}
	memset(ext, 0, 8);
	if (best)
		memcpy(ext, best, strcspn(best, ".") < 7 ? strcspn(best, ".") : 7);
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xw_error("%s: reading %s from a temporary file: %s", xw_image_name, what,
				 n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Keep job j's pages (j->kind of file) as a piece instead of a cluster. */
static int save_piece(struct xw_data *d, struct xw_job *j)
{
	struct xw_piece *p;
	uint64_t off = d->frag_size;
	const unsigned char *b = j->in_buf;
	size_t len = j->ulen;

	if (d->npieces == d->pieces_cap) {
		size_t cap = d->pieces_cap ? d->pieces_cap * 2 : 1024;

		p = realloc(d->pieces, cap * sizeof(*p));
		if (!p) {
			xw_error("out of memory");
			return -1;
		}
		d->pieces = p;
		d->pieces_cap = cap;
	}
	if (xw_pwrite_full(d->frag_fd, "fragments to a temporary file", b, len, off))
		return -1;
	p = &d->pieces[d->npieces++];
	memset(p, 0, sizeof(*p));
	p->in = j->in;
	p->first = j->first;
	p->foff = d->frag_size;
	p->ulen = j->ulen;
	p->npages = j->npages;
	p->kind = j->kind;
	p->dup = SIZE_MAX;
	p->hash[0] = crc64_ecma_refl(0, j->in_buf, j->ulen);
	p->hash[1] = crc64_iso_refl(0, j->in_buf, j->ulen);
	file_ext(j->in->path, p->ext);
	d->frag_size += j->ulen;
	d->frag_pages += j->npages;
	return 0;
}

/* The run in d->cur is complete: compress it, or keep it as a piece. */
static int end_run(struct xw_data *d, unsigned int kind)
{
	size_t cpages = 1U << (d->o->cluster_shift - d->o->page_shift);

	struct xw_job *j = d->cur;
	size_t page = (size_t)1 << d->o->page_shift;

	j->kind = kind;
	j->frag_cand = false;
	if (d->o->fragments && j->npages < cpages) {
		if (!j->tail_cand) {
			d->cur = NULL;		/* the job slot stays free */
			return save_piece(d, j);
		}
		/* Tail or piece?  retire_one() decides. */
		j->frag_cand = true;
		j->real_len = j->ulen;
		memset(j->in_buf + j->ulen, 0, page - j->ulen);
		j->ulen = page;
		j->tail_cand = false;
	}
	submit(d);
	return 0;
}

/*
 * Packing order: by class of file (ELF, archives, scripts, text, other
 * binary, already compressed), whole files before the ends of larger
 * ones, then by name suffix, then by path (directory, then name).
 */
static int piece_cmp(const void *a, const void *b, void *arg)
{
	const struct xw_data *d = arg;
	const struct xw_piece *x = &d->pieces[*(const size_t *)a];
	const struct xw_piece *y = &d->pieces[*(const size_t *)b];
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((x->first > 0) != (y->first > 0))
		return x->first > 0 ? 1 : -1;
	c = strcmp(x->ext, y->ext);
	if (c)
		return c;
	c = strcmp(x->in->path, y->in->path);
	if (c)
		return c;
	if (x->in->ino != y->in->ino)
		return x->in->ino < y->in->ino ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* By content, then packing position: the first of equal pieces leads. */
static int hash_cmp(const void *a, const void *b, void *arg)
{
	const struct xw_data *d = arg;
	const size_t *x = a, *y = b;
	const struct xw_piece *p = &d->pieces[d->order[*x]];
	const struct xw_piece *q = &d->pieces[d->order[*y]];

	if (p->hash[0] != q->hash[0])
		return p->hash[0] < q->hash[0] ? -1 : 1;
	if (p->hash[1] != q->hash[1])
		return p->hash[1] < q->hash[1] ? -1 : 1;
	if (p->ulen != q->ulen)
		return p->ulen < q->ulen ? -1 : 1;
	if (p->npages != q->npages)
		return p->npages < q->npages ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

/* Mark pieces identical to one placed earlier (bytes compared). */
static int find_dups(struct xw_data *d, unsigned char *a, unsigned char *b)
{
	size_t *pos = malloc(d->npieces * sizeof(*pos));

	if (!pos) {
		xw_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->npieces; i++)
		pos[i] = i;
	qsort_r(pos, d->npieces, sizeof(*pos), hash_cmp, d);
	for (size_t i = 0, lead = 0; i < d->npieces; i++) {
		struct xw_piece *p = &d->pieces[d->order[pos[i]]];
		struct xw_piece *l = &d->pieces[d->order[pos[lead]]];

		if (i == lead || p->hash[0] != l->hash[0] || p->hash[1] != l->hash[1] ||
		    p->ulen != l->ulen || p->npages != l->npages) {
			lead = i;
			continue;
		}
		if (pread_all(d->frag_fd, a, p->ulen, p->foff, "fragments") ||
		    pread_all(d->frag_fd, b, l->ulen, l->foff, "fragments")) {
			free(pos);
			return -1;
		}
		if (memcmp(a, b, p->ulen)) {
			lead = i;	/* a hash collision: keep both */
			continue;
		}
		p->dup = d->order[pos[lead]];
		d->frag_dups++;
	}
	free(pos);
	return 0;
}

static int pack_fragments(struct xw_data *d)
{
	unsigned int shift = d->o->page_shift;
	size_t page = (size_t)1 << shift, cpages = 1U << (d->o->cluster_shift - shift);
	struct xw_job *j = NULL;
	unsigned char *pbuf;
	bool span = d->o->frag_span, grouped = xw_group_layout(d->o);
	int ret;

	d->order = malloc(d->npieces * sizeof(*d->order));
	if (!d->order) {
		xw_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->npieces; i++)
		d->order[i] = i;
	qsort_r(d->order, d->npieces, sizeof(*d->order), piece_cmp, d);
	{
		unsigned char *a = malloc(page << (d->o->cluster_shift - shift));
		unsigned char *b = malloc(page << (d->o->cluster_shift - shift));

		ret = a && b ? find_dups(d, a, b) : (xw_error("out of memory"), -1);
		free(a);
		free(b);
		if (ret)
			return ret;
	}
	pbuf = malloc(page << (d->o->cluster_shift - shift));
	if (!pbuf) {
		xw_error("out of memory");
		return -1;
	}
	for (size_t k = 0; k < d->npieces; k++) {
		struct xw_piece *p = &d->pieces[d->order[k]];
		unsigned int done = 0;

		if (p->dup != SIZE_MAX)
			continue;
		if (pread_all(d->frag_fd, pbuf, p->ulen, p->foff, "fragments"))
			goto fail;
		memset(pbuf + p->ulen, 0, ((size_t)p->npages << shift) - p->ulen);
		while (done < p->npages) {
			unsigned int n = p->npages - done;

			/*
			 * With grouped maps the end of a larger file never
			 * spans: split across two clusters, it would cost the
			 * whole file its groups (an entry per page instead of
			 * one per cluster), far more than span saves.
			 */
			if (j && (!span || (grouped && p->first)) && j->npages + n > cpages) {
				d->cur = j;
				submit(d);
				j = NULL;
			}
			if (!j) {
				j = next_job(d);
				if (!j)
					goto fail;
				j->in = NULL;
				j->first = 0;
				j->npages = 0;
				j->ulen = 0;
				j->tail_cand = false;
				j->frag_cand = false;
				j->shared = true;
				j->p0 = k;
				j->off0 = done;
			}
			if (n > cpages - j->npages)
				n = cpages - j->npages;
			memcpy(j->in_buf + ((size_t)j->npages << shift), pbuf + ((size_t)done << shift),
			       (size_t)n << shift);
			j->npages += n;
			done += n;
			/* The data ends inside the last page of the piece. */
			j->ulen = ((size_t)j->npages << shift) -
				  (done == p->npages ? ((size_t)p->npages << shift) - p->ulen : 0);
			if (j->npages == cpages) {
				d->cur = j;
				submit(d);
				j = NULL;
			}
		}
	}
	if (j) {
		d->cur = j;
		submit(d);
	}
	free(pbuf);
	return 0;
fail:
	free(pbuf);
	return -1;
}

int xw_data_start(struct xw_data *d)
{
	size_t csize = (size_t)1 << d->o->cluster_shift;

	d->njobs = 4 * (unsigned int)d->o->workers + 2;
	d->jobs = calloc(d->njobs, sizeof(*d->jobs));
	d->threads = calloc(d->o->workers, sizeof(*d->threads));
	d->wbuf = malloc(XW_WBUF);
	d->page_buf = malloc((size_t)1 << d->o->page_shift);
	if (!d->jobs || !d->threads || !d->wbuf || !d->page_buf) {
		xw_error("out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < d->njobs; i++) {
		d->jobs[i].in_buf = malloc(csize);
		d->jobs[i].out_buf = malloc(csize);
		if (!d->jobs[i].in_buf || !d->jobs[i].out_buf) {
			xw_error("out of memory");
			return -1;
		}
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->work_cv, NULL);
	pthread_cond_init(&d->done_cv, NULL);
	d->mu_init = true;
	d->crc_comp[0] = d->crc_comp[1] = d->crc_xip[0] = d->crc_xip[1] = 0;
	for (int i = 0; i < d->o->workers; i++) {
		if (pthread_create(&d->threads[i], NULL, worker, d)) {
			xw_error("cannot start a compression thread");
			return -1;
		}
		d->nthreads++;
	}
	return 0;
}

/* Finish: with ok, retire everything and flush; always stop the threads. */
int xw_data_finish(struct xw_data *d, bool ok)
{
	int ret = ok ? 0 : -1;

	if (ok && d->cur)
		submit(d);
	/* Every file's pieces are known once its tail candidates are placed. */
	while (!ret && d->retired < d->submitted)
		ret = retire_one(d);
	if (!ret && d->npieces)
		ret = pack_fragments(d);
	while (!ret && d->retired < d->submitted)
		ret = retire_one(d);
	if (d->nthreads) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		/* Drop what was never taken. */
		d->submitted = d->taken;
		pthread_cond_broadcast(&d->work_cv);
		pthread_mutex_unlock(&d->mu);
		for (int i = 0; i < d->nthreads; i++)
			pthread_join(d->threads[i], NULL);
		d->nthreads = 0;
	}
	if (!ret && d->wlen) {
		ret = write_all(d->comp_fd, d->wbuf, d->wlen, "compressed data");
		d->wlen = 0;
	}
	/* Duplicate pieces use their original's pages. */
	for (size_t i = 0; !ret && i < d->npieces; i++) {
		struct xw_piece *p = &d->pieces[i], *o;

		if (p->dup == SIZE_MAX)
			continue;
		o = &d->pieces[p->dup];
		for (unsigned int k = 0; k < p->npages; k++)
			p->in->map[p->first + k] = o->in->map[o->first + k];
	}
	return ret;
}

void xw_data_free(struct xw_data *d)
{
	if (d->jobs)
		for (unsigned int i = 0; i < d->njobs; i++) {
			free(d->jobs[i].in_buf);
			free(d->jobs[i].out_buf);
		}
	if (d->mu_init) {
		pthread_mutex_destroy(&d->mu);
		pthread_cond_destroy(&d->work_cv);
		pthread_cond_destroy(&d->done_cv);
	}
	free(d->jobs);
	free(d->threads);
	free(d->wbuf);
	free(d->page_buf);
	free(d->cl);
	free(d->tails);
	free(d->pieces);
	free(d->order);
}

/* Where a file's bytes come from. */
struct src {
	int fd;
	uint64_t base, size;
	const char *path;
};

static int src_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct src *s = ctx;

	return xw_pread_full(s->fd, s->path, buf, len, s->base + off);
}

static bool page_is_zero(const unsigned char *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/*
 * Is page pg in one of in's XIP ranges?  sorted: they are sorted and do
 * not overlap (set up front by xipset.c, maybe many); else at most 64
 * (the ELF policy's segments, in program header order).
 */
static bool in_ranges(const struct xw_inode *in, uint64_t pg, bool sorted)
{
	int lo = 0, hi = in->nxip;

	if (!sorted) {
		for (int i = 0; i < in->nxip; i++)
			if (pg >= in->xip[i].first && pg <= in->xip[i].last)
				return true;
		return false;
	}
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (pg > in->xip[mid].last)
			lo = mid + 1;
		else if (pg < in->xip[mid].first)
			hi = mid;
		else
			return true;
	}
	return false;
}


/* Do all of in's XIP ranges start and end on multiples of cpages pages? */
static bool xip_aligned(const struct xw_inode *in, uint64_t cpages)
{
	for (int i = 0; i < in->nxip; i++)
		if (in->xip[i].first % cpages ||
		    ((in->xip[i].last + 1) % cpages && in->xip[i].last + 1 < in->npages))
			return false;
	return true;
}

static int xip_write(struct xw_data *d, const void *buf, size_t len)
{
	d->crc_xip[0] = crc64_ecma_refl(d->crc_xip[0], buf, len);
	d->crc_xip[1] = crc64_iso_refl(d->crc_xip[1], buf, len);
	return write_all(d->xip_fd, buf, len, "XIP pages");
}

static int elf_policy(struct xw_data *d, struct xw_inode *in, struct src *s)
{
	struct xw_range r[64];
	int n = xw_elf_xip_ranges(src_read, s, s->size, d->o->page_shift, r, 64);

	free(in->xip);
	in->xip = NULL;
	in->nxip = 0;
	if (n <= 0)
		return n;
	in->xip = malloc(n * sizeof(*r));
	if (!in->xip) {
		xw_error("out of memory");
		return -1;
	}
	memcpy(in->xip, r, n * sizeof(*r));
	in->nxip = n;
	return 0;
}

/* Append page pg (len bytes of buf; NULL: zeros) to the run in d->cur. */
static int run_add(struct xw_data *d, struct xw_inode *in, uint64_t pg,
		   const void *buf, size_t len)
{
	unsigned int shift = d->o->page_shift;
	size_t page = (size_t)1 << shift;
	unsigned char *dst;

	if (!d->cur) {
		d->cur = next_job(d);
		if (!d->cur)
			return -1;
		d->cur->in = in;
		d->cur->first = pg;
		d->cur->npages = 0;
		d->cur->ulen = 0;
		d->cur->shared = false;
	}
	dst = d->cur->in_buf + ((size_t)d->cur->npages << shift);
	if (buf)
		memcpy(dst, buf, len);
	else
		memset(dst, 0, len);
	d->cur->ulen = ((size_t)d->cur->npages << shift) + len;
	d->cur->npages++;
	/* Only a lone partial last page may become a tail. */
	d->cur->tail_cand = d->cur->npages == 1 && len < page;
	return 0;
}

/* Append the n zero pages from page first on to the run in d->cur. */
static int add_zeros(struct xw_data *d, struct xw_inode *in, uint64_t first, uint64_t n)
{
	size_t page = (size_t)1 << d->o->page_shift;

	for (uint64_t pg = first; pg < first + n; pg++) {
		uint64_t off = pg << d->o->page_shift;
		size_t len = in->size - off < page ? in->size - off : page;

		if (run_add(d, in, pg, NULL, len))
			return -1;
	}
	return 0;
}

static int file_changed(const char *path)
{
	xw_error("%s: file changed while being read", path);
	return -1;
}

int xw_data_file(struct xw_data *d, struct xw_tree *t, struct xw_inode *in)
{
	unsigned int shift = d->o->page_shift;
	size_t page = (size_t)1 << shift, cpages = 1U << (d->o->cluster_shift - shift);
	struct src s = { .fd = -1, .size = in->size, .path = in->path };
	uint64_t data_start = 0, data_end = 0;
	struct stat st;
	unsigned int kind = 0;
	bool grouped, xip;
	uint64_t zfirst = 0, nz = 0;	/* zero pages pending (grouped) */
	int ret = -1;

	in->npages = (in->size + page - 1) >> shift;
	if (in->npages > UINT32_MAX) {
		xw_error("%s: file too large (more than 2^32 pages)", in->path);
		return -1;
	}
	if (!in->npages)
		return 0;
	in->map = calloc(in->npages, sizeof(*in->map));
	if (!in->map) {
		xw_error("out of memory");
		return -1;
	}
	if (in->src == XW_SRC_PATH) {
		s.path = in->src_path;
		s.fd = open(in->src_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
		if (s.fd < 0) {
			xw_error("%s: %s", in->src_path, strerror(errno));
			return -1;
		}
		if (fstat(s.fd, &st) || !S_ISREG(st.st_mode) ||
		    st.st_ino != in->src_ino || st.st_dev != in->src_dev ||
		    (uint64_t)st.st_size != in->size ||
		    st.st_mtim.tv_sec != in->src_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != in->src_mtime.tv_nsec) {
			file_changed(s.path);
			goto out;
		}
	} else if (in->src == XW_SRC_SPOOL) {
		s.fd = t->spool_fd;
		s.base = in->spool_off;
	} else {
		xw_error("%s: no data source", in->path);
		return -1;
	}

	switch (d->xip_policy) {
	case XW_XIP_NONE:
		break;
	case XW_XIP_ALL:
		free(in->xip);
		in->xip = malloc(sizeof(*in->xip));
		if (!in->xip) {
			xw_error("out of memory");
			goto out;
		}
		in->xip->first = 0;
		in->xip->last = in->npages - 1;
		in->nxip = 1;
		break;
	case XW_XIP_ELF:
		if (elf_policy(d, in, &s))
			goto out;
		break;
	default:
		break;		/* ranges set up front (xipset.c) */
	}

	/*
	 * Grouped maps: clusters are aligned to the file's cluster-sized
	 * groups and keep their zero pages (see below), unless XIP ranges
	 * start or end inside such a group: then the file's groups are no
	 * larger than those boundaries allow, and runs start after the XIP
	 * pages as with flat maps.
	 */
	grouped = xw_group_layout(d->o) && xip_aligned(in, cpages);
	for (uint64_t pg = 0; pg < in->npages; pg++) {
		uint64_t off = pg << shift;
		size_t len = in->size - off < page ? in->size - off : page;
		bool hole;

		/* Skip what the source says is a hole without reading it. */
		if (off >= data_end) {
			off_t ds = lseek(s.fd, s.base + off, SEEK_DATA), de;

			if (ds < 0 && errno != ENXIO) {
				/* No hole information: read everything. */
				data_start = off;
				data_end = in->size;
			} else if (ds < 0 || (uint64_t)ds >= s.base + in->size) {
				data_start = data_end = in->size;
			} else {
				data_start = ds - s.base;
				de = lseek(s.fd, ds, SEEK_HOLE);
				data_end = de < 0 ? in->size : (uint64_t)de - s.base;
				if (data_end <= off)
					data_end = off + 1;
			}
		}
		if (off + len <= data_start) {
			hole = true;
		} else {
			if (src_read(&s, d->page_buf, len, off))
				goto out;
			memset(d->page_buf + len, 0, page - len);
			hole = page_is_zero(d->page_buf, page);
		}
		if (pg == 0)
			kind = file_kind(hole ? NULL : d->page_buf, len);
		xip = in_ranges(in, pg, d->xip_policy < 0);
		if (grouped && hole && !xip) {
			/*
			 * Grouped maps: a zero page is kept for now; it joins
			 * its cluster if other pages of that cluster hold data
			 * (a hole inside a cluster costs the file its groups),
			 * else it stays a hole.
			 */
			if (!nz)
				zfirst = pg;
			nz++;
			in->map[pg] = 0;
			if ((pg + 1) % cpages && pg + 1 != in->npages)
				continue;
			if (d->cur && (add_zeros(d, in, zfirst, nz) || end_run(d, kind)))
				goto out;
			nz = 0;
			continue;
		}
		if (grouped && nz && (xip ? d->cur != NULL : true)) {
			/* Before data: the zeros are part of its cluster. */
			if (add_zeros(d, in, zfirst, nz))
				goto out;
		}
		nz = 0;
		if (hole || xip) {
			if (d->cur && end_run(d, kind))
				goto out;
			if (hole) {
				in->map[pg] = 0;
				continue;
			}
			if (d->xip_pages > XIPFS_PTE_XIP_MASK) {
				xw_error("too many XIP pages");
				goto out;
			}
			if (xip_write(d, d->page_buf, page))
				goto out;
			in->map[pg] = XIPFS_PTE_XIP(d->xip_pages++);	/* relative */
			continue;
		}
		if (run_add(d, in, pg, d->page_buf, len))
			goto out;
		/*
		 * A cluster ends where a cluster-aligned group of the file
		 * does (grouped maps), or once it is full.
		 */
		if ((d->cur->npages == cpages || pg + 1 == in->npages ||
		     (grouped && (pg + 1) % cpages == 0)) && end_run(d, kind))
			goto out;
	}
	if (in->src == XW_SRC_PATH) {
		if (fstat(s.fd, &st) || (uint64_t)st.st_size != in->size ||
		    st.st_mtim.tv_sec != in->src_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != in->src_mtime.tv_nsec) {
			file_changed(s.path);
			goto out;
		}
	}
	ret = 0;
out:
	if (in->src == XW_SRC_PATH && s.fd >= 0)
		close(s.fd);
	return ret;
}
