// SPDX-License-Identifier: GPL-2.0
/*
 * rwmodel: racing writers, mappings, punches, fallocate, truncation and
 * syncs on one file, every byte checked against a model.
 *
 *   rwmodel [-t SECONDS] [-T THREADS] [-p PAGES] [-e TAILPAGES] [-S SEED]
 *           [-m MODELFILE] [-X OPS] [-H] FILE
 *
 * The first PAGES pages of FILE are shared out among THREADS workers,
 * page p to worker p % THREADS, so that every cluster, fault-around span
 * and page map page has pages of several workers.  Each worker keeps the
 * model of its own pages and, at random, for SECONDS:
 *   - pwrite()s random bytes into one of its pages;
 *   - stores random bytes into it through its own MAP_SHARED mapping of
 *     the whole area (stores land on XIP pages, holes, compressed pages);
 *   - punches a hole in it (part of a page or a whole one);
 *   - pwrite()s from a buffer that becomes unreadable part-way: a short
 *     write of the readable bytes;
 *   - checks one of its pages through pread() and through its mapping;
 *   - and, on any range of the area, whoever owns it: fallocate() (mode
 *     0 keeps every byte), madvise(MADV_DONTNEED) of its mapping,
 *     fsync(), fdatasync(), msync(MS_SYNC), syncfs().
 * A sizer owns the TAILPAGES pages after them: it truncates the file to
 * sizes inside the tail, writes into the tail and checks it (bytes past
 * an old EOF read as zeros when the file grows again).
 * Those operations change nothing but the owner's bytes, so whatever the
 * interleaving, every byte has one right value: a stale mapping, a lost
 * store, data brought back by a punch, a write landing in the wrong page
 * all show up as a mismatch, reported with the page's recent history.
 * Afterwards every page is checked through read() and a new mapping, the
 * file is synced, and the expected bytes (FILE's size) are written to
 * MODELFILE, for a check after remount.  -X leaves out the worker
 * operations named by their letters in the history (w pwrite, s store,
 * p punch, h short write, f fallocate, d MADV_DONTNEED, m msync, y
 * fsync, Y fdatasync, S syncfs, r read of any page): to see which kind a
 * failure needs.  -H (hot) only punches whole pages, stores to them
 * through the mapping, checks them, and fallocates single pages: with
 * few pages (-p), a fallocate meets a hole being filled on its page.
 *
 * Exit 0 pass, 1 mismatch, 2 setup error.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define PS	4096
#define HIST	8

static const char *path;
static unsigned char *model;	/* the whole file as it must read */
static size_t area;		/* bytes of the workers' pages */
static size_t tail;		/* bytes of the sizer's tail */
static int nthreads = 4;
static double end_time;
static atomic_int failed;
static const char *excluded = "";
static int hot;

struct op {
	char what;
	int page;
	int off, len;
};

struct worker {
	int id;
	int fd;
	uint64_t seed;
	unsigned char *map;
	unsigned char *buf;	/* two pages, the second PROT_NONE */
	struct op hist[HIST];
	unsigned int nhist;
	unsigned long ops, short_writes, checks;
	pthread_t thread;
};

static void record(struct worker *w, char what, int page, int off, int len)
{
	struct op *o = &w->hist[w->nhist++ % HIST];

	o->what = what;
	o->page = page;
	o->off = off;
	o->len = len;
}

static void fill(uint64_t *s, unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd(s) >> 56);
}

/* Report the first difference in page @page and this worker's history. */
static void mismatch(struct worker *w, const char *how, int page,
		     const unsigned char *got)
{
	const unsigned char *want = model + (size_t)page * PS;
	unsigned int i, n;
	int b;

	for (b = 0; b < PS && got[b] == want[b]; b++)
		;
	flockfile(stdout);
	printf("rwmodel: worker %d: page %d through %s: byte %d is 0x%02x, model 0x%02x\n",
	       w->id, page, how, b, got[b], want[b]);
	n = w->nhist < HIST ? w->nhist : HIST;
	for (i = 0; i < n; i++) {
		const struct op *o = &w->hist[(w->nhist - n + i) % HIST];

		printf("rwmodel:   op %c page %d off %d len %d\n", o->what,
		       o->page, o->off, o->len);
	}
	funlockfile(stdout);
	atomic_store(&failed, 1);
}

static int my_page(struct worker *w)
{
	int per = (int)(area / PS) / nthreads;

	return (int)(rnd(&w->seed) % per) * nthreads + w->id;
}

/* A random run of @b pages from page @a, anyone's, inside the area. */
static void page_range(struct worker *w, size_t *a, size_t *b)
{
	*a = rnd(&w->seed) % (area / PS);
	*b = 1 + rnd(&w->seed) % (area / PS - *a);
}

static void check_page(struct worker *w, int page)
{
	unsigned char got[PS];

	if (pread(w->fd, got, PS, (off_t)page * PS) != PS)
		die("pread");
	if (memcmp(got, model + (size_t)page * PS, PS))
		mismatch(w, "read()", page, got);
	if (memcmp(w->map + (size_t)page * PS, model + (size_t)page * PS, PS))
		mismatch(w, "its mapping", page, w->map + (size_t)page * PS);
	w->checks++;
}

static void one_op(struct worker *w)
{
	int page = my_page(w), op = rnd(&w->seed) % 100;
	int off = rnd(&w->seed) % PS, len = 1 + rnd(&w->seed) % (PS - off);
	unsigned char *m = model + (size_t)page * PS;
	off_t pos = (off_t)page * PS;
	size_t a, b;
	ssize_t n;
	char what;

	/*
	 * -H: punch, fill through the mapping, check, and fallocate single
	 * pages, so that fallocate meets hole fills on the same page.
	 */
	if (hot) {
		static const int hot_ops[] = { 41, 41, 41, 25, 25, 25, 60, 60, 70, 70 };

		op = hot_ops[op % 10];
	}
	what = op < 20 ? 'w' : op < 40 ? 's' : op < 48 ? 'p' : op < 53 ? 'h' :
	       op < 68 ? 'c' : op < 73 ? 'f' : op < 80 ? 'd' : op < 84 ? 'y' :
	       op < 87 ? 'Y' : op < 92 ? 'm' : op < 94 ? 'S' : 'r';
	if (strchr(excluded, what))
		return;
	if (op < 20) {
		fill(&w->seed, w->buf, len);
		if (pwrite(w->fd, w->buf, len, pos + off) != len)
			die("pwrite");
		memcpy(m + off, w->buf, len);
		record(w, 'w', page, off, len);
	} else if (op < 40) {
		fill(&w->seed, w->buf, len);
		memcpy(w->map + pos + off, w->buf, len);
		memcpy(m + off, w->buf, len);
		record(w, 's', page, off, len);
	} else if (op < 48) {
		if (op & 1) {
			off = 0;
			len = PS;
		}
		if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      pos + off, len))
			die("punch");
		memset(m + off, 0, len);
		record(w, 'p', page, off, len);
	} else if (op < 53) {
		/* From a buffer whose readable part ends k bytes in. */
		int k;

		if (PS - off < 2)
			return;
		len = PS - off;
		k = 1 + rnd(&w->seed) % (len - 1);
		fill(&w->seed, w->buf + PS - k, k);
		n = pwrite(w->fd, w->buf + PS - k, len, pos + off);
		if (n < 0 && errno != EFAULT)
			die("short pwrite");
		if (n > k) {
			printf("rwmodel: worker %d: short pwrite of %d readable bytes wrote %zd\n",
			       w->id, k, n);
			atomic_store(&failed, 1);
			return;
		}
		if (n > 0)
			memcpy(m + off, w->buf + PS - k, n);
		w->short_writes++;
		record(w, 'h', page, off, (int)n);
	} else if (op < 68) {
		check_page(w, page);
	} else if (op < 73) {
		/* Anyone's range: mode 0 changes no byte. */
		a = rnd(&w->seed) % area;
		b = 1 + rnd(&w->seed) % (area - a);
		if (hot) {
			a &= ~(size_t)(PS - 1);
			b = PS;
		}
		if (fallocate(w->fd, 0, a, b) && errno != ENOSPC)
			die("fallocate");
		record(w, 'f', (int)(a / PS), (int)(a % PS), (int)b);
	} else if (op < 80) {
		page_range(w, &a, &b);
		if (madvise(w->map + a * PS, b * PS, MADV_DONTNEED))
			die("madvise");
		record(w, 'd', (int)a, 0, (int)b);
	} else if (op < 84) {
		if (fsync(w->fd))
			die("fsync");
		record(w, 'y', 0, 0, 0);
	} else if (op < 87) {
		if (fdatasync(w->fd))
			die("fdatasync");
		record(w, 'Y', 0, 0, 0);
	} else if (op < 92) {
		page_range(w, &a, &b);
		if (msync(w->map + a * PS, b * PS, MS_SYNC))
			die("msync");
		record(w, 'm', (int)a, 0, (int)b);
	} else if (op < 94) {
		if (syncfs(w->fd))
			die("syncfs");
		record(w, 'S', 0, 0, 0);
	} else {
		/* Read anyone's page: brings clusters and copies in. */
		unsigned char tmp[PS];

		a = rnd(&w->seed) % (area / PS);
		if (pread(w->fd, tmp, PS, a * PS) != PS)
			die("pread");
		record(w, 'r', (int)a, 0, PS);
	}
	w->ops++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (now() < end_time && !atomic_load(&failed))
		one_op(w);
	return NULL;
}

/* The tail: truncations inside it, writes and checks. */
static void *sizer_main(void *arg)
{
	struct worker *w = arg;
	size_t size = area + tail, s;
	unsigned char got[PS];
	int page;

	while (now() < end_time && !atomic_load(&failed)) {
		int op = rnd(&w->seed) % 10;

		if (op < 3) {
			s = area + rnd(&w->seed) % (tail + 1);
			if (ftruncate(w->fd, s))
				die("ftruncate");
			if (s < size)
				memset(model + s, 0, size - s);
			size = s;
			record(w, 't', (int)(s / PS), (int)(s % PS), 0);
		} else if (op < 6 && size > area) {
			size_t off = area + rnd(&w->seed) % (size - area);
			size_t len = 1 + rnd(&w->seed) % PS;

			if (off + len > size)
				len = size - off;
			fill(&w->seed, w->buf, len);
			if (pwrite(w->fd, w->buf, len, off) != (ssize_t)len)
				die("pwrite tail");
			memcpy(model + off, w->buf, len);
			record(w, 'w', (int)(off / PS), (int)(off % PS), (int)len);
		} else if (op < 8 && size > area) {
			page = (int)((area + rnd(&w->seed) % (size - area)) / PS);
			s = size - (size_t)page * PS;
			if (s > PS)
				s = PS;
			if (pread(w->fd, got, s, (off_t)page * PS) != (ssize_t)s)
				die("pread tail");
			if (memcmp(got, model + (size_t)page * PS, s))
				mismatch(w, "read() (tail)", page, got);
		} else {
			if (fsync(w->fd))
				die("fsync tail");
			record(w, 'y', 0, 0, 0);
		}
		w->ops++;
	}
	/* Its last size is the file's. */
	return (void *)(uintptr_t)size;
}

int main(int argc, char **argv)
{
	const char *modelfile = NULL;
	double seconds = 10;
	uint64_t seed = 1;
	struct worker *ws, sz;
	unsigned long ops = 0, shorts = 0, checks = 0;
	size_t pages = 256, tailpages = 16, size, i;
	unsigned char *map, got[PS];
	void *ret;
	int opt, fd, t;

	while ((opt = getopt(argc, argv, "t:T:p:e:S:m:X:H")) != -1) {
		switch (opt) {
		case 't': seconds = atof(optarg); break;
		case 'T': nthreads = atoi(optarg); break;
		case 'p': pages = strtoul(optarg, NULL, 0); break;
		case 'e': tailpages = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'm': modelfile = optarg; break;
		case 'X': excluded = optarg; break;
		case 'H': hot = 1; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || nthreads < 1 || pages < (size_t)nthreads ||
	    !tailpages || !seed)
		goto usage;
	path = argv[optind];
	area = pages * PS;
	tail = tailpages * PS;

	fd = open(path, O_RDWR);
	if (fd < 0)
		die(path);
	if (ftruncate(fd, area + tail))
		die("ftruncate");
	model = malloc(area + tail);
	if (!model || pread(fd, model, area + tail, 0) != (ssize_t)(area + tail))
		die("reading the file");

	ws = calloc(nthreads, sizeof(*ws));
	if (!ws)
		die("calloc");
	end_time = now() + seconds;
	for (t = 0; t <= nthreads; t++) {
		struct worker *w = t < nthreads ? &ws[t] : &sz;

		memset(w, 0, sizeof(*w));
		w->id = t;
		w->seed = rnd_init(seed, t + 1);
		w->fd = open(path, O_RDWR);
		if (w->fd < 0)
			die(path);
		w->map = mmap(NULL, area, PROT_READ | PROT_WRITE, MAP_SHARED,
			      w->fd, 0);
		w->buf = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->map == MAP_FAILED || w->buf == MAP_FAILED ||
		    mprotect(w->buf + PS, PS, PROT_NONE))
			die("mmap");
		if (pthread_create(&w->thread, NULL,
				   t < nthreads ? worker_main : sizer_main, w))
			die("pthread_create");
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(ws[t].thread, NULL);
		ops += ws[t].ops;
		shorts += ws[t].short_writes;
		checks += ws[t].checks;
	}
	pthread_join(sz.thread, &ret);
	size = (uintptr_t)ret;
	fprintf(stderr, "rwmodel: %lu operations (%lu short writes, %lu page checks), sizer %lu, final size %zu\n",
		ops, shorts, checks, sz.ops, size);
	if (atomic_load(&failed))
		return 1;

	/* Everything once more: read(), a new mapping, after fsync. */
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	for (i = 0; i < size; i += PS) {
		size_t n = size - i < PS ? size - i : PS;

		if (pread(fd, got, n, i) != (ssize_t)n)
			die("pread");
		if (memcmp(got, model + i, n) || memcmp(map + i, model + i, n)) {
			printf("rwmodel: page %zu differs from the model at the end\n",
			       i / PS);
			return 1;
		}
	}
	if (fsync(fd))
		die("fsync");
	if (modelfile) {
		int mf = open(modelfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (mf < 0 || write(mf, model, size) != (ssize_t)size || close(mf))
			die(modelfile);
	}
	printf("rwmodel: every byte as the model says\n");
	munmap(map, size);
	free(ws);
	free(model);
	return 0;
usage:
	fprintf(stderr, "usage: rwmodel [-t SECONDS] [-T THREADS] [-p PAGES] [-e TAILPAGES] [-S SEED] [-m MODELFILE] [-X OPS] [-H] FILE\n");
	return 2;
}
