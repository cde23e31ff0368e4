// SPDX-License-Identifier: GPL-2.0
/*
 * mmstress: several processes write one file through MAP_SHARED mappings
 * while others check it.
 *
 *   mmstress [-w WRITERS] [-r READERS] [-t SECONDS] [-m EVERY] [-S SEED] FILE
 *   mmstress -I SIZE [-w WRITERS] FILE
 *
 * FILE (which must exist, at least a page) is cut into 64-byte records;
 * record i belongs to writer i % WRITERS, so every page holds records of
 * every writer.  Each writer maps the file (MAP_SHARED, PROT_WRITE) and
 * for SECONDS (default 10) rewrites its records in random order, each
 * with a new number from its own sequence: the record holds that number
 * (three times: a start mark written first, the data, an end mark
 * written last), the writer's id, the record's index, a payload derived
 * from them and a checksum.  Before rewriting a record the writer checks
 * that it still holds what it wrote last.  Even-numbered writers call
 * msync(MS_SYNC) on the whole mapping every EVERY records (default 256).
 *
 * Each reader maps the file itself and, until the writers are done,
 * checks every record through the mapping, then through pread(): each
 * must be whole (marks equal, checksum right, writer and index as its
 * place says) or all zero (never written), and its number must never be
 * lower than the reader saw before.  A record caught in the middle of an
 * update is read again (the writer finishes it); one that never becomes
 * whole is an error.
 *
 * -I writes FILE (creating it) as SIZE bytes of whole records numbered 0,
 * for the given number of writers, and exits: a start that is not all
 * zeros (which mkfs.xipfs would store as holes).
 *
 * At the end the parent reads the file with read() and checks that every
 * record holds the last number its writer gave it.  Prints a summary;
 * exit 1 with a message on any inconsistency, 2 on a usage or setup
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define MAGIC		0x4d4d5354u	/* "MMST" */
#define RETRIES		1000000

/*
 * The end mark comes first and the start mark last: a reader copying in
 * ascending order (memcpy, pread) then reads the marks in the order a
 * seqlock reader must (end, data, start).
 */
struct rec {
	uint64_t end;		/* written last */
	uint32_t magic;
	uint32_t writer;	/* WRITERS << 16 | writer id */
	uint64_t index;
	uint64_t seq;
	uint64_t payload[2];
	uint64_t sum;		/* over magic .. payload */
	uint64_t start;		/* written first */
};
_Static_assert(sizeof(struct rec) == 64, "64-byte records");

struct shared {
	volatile int stop;	/* writers done: readers finish their pass */
	volatile int failed;
	uint64_t writes, checks, retries, syncs;
	uint64_t last[];	/* per record: the last number written */
};

static const char *path;
static size_t fsize, nrec;
static int nwriters = 4, nreaders = 2, seconds = 10, sync_every = 256;
static uint64_t seed;
static struct shared *sh;

static uint64_t rec_sum(const struct rec *r)
{
	return fnv64(&r->magic, offsetof(struct rec, sum) - offsetof(struct rec, magic));
}

static void fill_rec(struct rec *r, uint32_t w, uint64_t i, uint64_t seq)
{
	r->magic = MAGIC;
	r->writer = ((uint32_t)nwriters << 16) | w;
	r->index = i;
	r->seq = seq;
	r->payload[0] = (seq * 0x9e3779b97f4a7c15ull) ^ i;
	r->payload[1] = ~(seq + ((uint64_t)r->writer << 32));
	r->sum = rec_sum(r);
}

static int is_zero(const struct rec *r)
{
	static const struct rec zero;

	return !memcmp(r, &zero, sizeof(zero));
}

/* NULL if @r (a copy of record @i) is whole, else why not. */
static const char *rec_bad(const struct rec *r, uint64_t i)
{
	if (is_zero(r))
		return NULL;
	if (r->start != r->end)
		return "marks differ (update in progress)";
	if (r->magic != MAGIC)
		return "bad magic";
	if (r->sum != rec_sum(r))
		return "bad checksum";
	if (r->seq != r->start)
		return "number differs from the marks";
	if (r->index != i)
		return "wrong record index";
	/* The writer field holds the number of writers too (earlier runs). */
	if (!(r->writer >> 16) || (r->writer & 0xffff) != i % (r->writer >> 16))
		return "wrong writer";
	if (r->payload[0] != ((r->seq * 0x9e3779b97f4a7c15ull) ^ i) ||
	    r->payload[1] != ~(r->seq + ((uint64_t)r->writer << 32)))
		return "bad payload";
	return NULL;
}

static void report(const char *who, const char *what, uint64_t i,
		   const struct rec *r)
{
	fprintf(stderr, "mmstress: %s: record %" PRIu64 " (offset 0x%" PRIx64
		", writer %" PRIu64 "): %s; holds magic 0x%08x writer %u of %u index %"
		PRIu64 " number %" PRIu64 " marks %" PRIu64 "/%" PRIu64 "\n",
		who, i, i * 64, i % nwriters, what, r->magic, r->writer & 0xffff, r->writer >> 16, r->index,
		r->seq, r->start, r->end);
	sh->failed = 1;
}

static void *map_file(int fd, int prot)
{
	void *p = mmap(NULL, fsize, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		dief("mmap %s", path);
	return p;
}

static int open_file(void)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		die(path);
	return fd;
}

static int writer(int w)
{
	int fd = open_file();
	struct rec *map = map_file(fd, PROT_READ | PROT_WRITE), tmp;
	uint64_t *mine, n = 0, k, seq = 0, state = rnd_init(seed, w + 1);
	double end = now() + seconds;
	char who[32];

	snprintf(who, sizeof(who), "writer %d", w);
	mine = malloc(sizeof(*mine) * (nrec / nwriters + 1));
	for (k = w; k < nrec; k += nwriters)
		mine[n++] = k;
	if (!n)
		return 0;
	/* Carry on from what the file holds (a second run on the same file). */
	for (k = 0; k < n; k++) {
		tmp = map[mine[k]];
		if (rec_bad(&tmp, mine[k])) {
			report(who, rec_bad(&tmp, mine[k]), mine[k], &tmp);
			return 1;
		}
		if (tmp.seq > seq)
			seq = tmp.seq;
		sh->last[mine[k]] = tmp.seq;
	}
	while (now() < end && !sh->failed) {
		uint64_t i;
		volatile struct rec *r;

		i = mine[rnd(&state) % n];
		r = &map[i];
		tmp = *(struct rec *)r;
		if (tmp.start != sh->last[i] || tmp.end != sh->last[i] ||
		    (sh->last[i] && (tmp.seq != sh->last[i] || rec_bad(&tmp, i)))) {
			report(who, "not what this writer wrote last", i, &tmp);
			fprintf(stderr, "mmstress: %s: wrote number %" PRIu64 " there last\n",
				who, sh->last[i]);
			return 1;
		}
		seq++;
		fill_rec(&tmp, w, i, seq);
		r->start = seq;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		memcpy((void *)&r->magic, &tmp.magic,
		       offsetof(struct rec, start) - offsetof(struct rec, magic));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r->end = seq;
		sh->last[i] = seq;
		__atomic_fetch_add(&sh->writes, 1, __ATOMIC_RELAXED);
		if (w % 2 == 0 && seq % sync_every == 0) {
			if (msync(map, fsize, MS_SYNC)) {
				fprintf(stderr, "mmstress: %s: msync: %s\n", who,
					strerror(errno));
				sh->failed = 1;
				return 1;
			}
			__atomic_fetch_add(&sh->syncs, 1, __ATOMIC_RELAXED);
		}
	}
	return sh->failed;
}

/* Check record @i of @src (a mapping, or NULL: pread()). */
static int check_one(int fd, const struct rec *src, uint64_t i, uint64_t *seen,
		     const char *who)
{
	struct rec r;
	const char *bad;
	long tries;

	for (tries = 0;; tries++) {
		if (src) {
			r.end = __atomic_load_n(&src[i].end, __ATOMIC_ACQUIRE);
			memcpy(&r.magic, &src[i].magic,
			       offsetof(struct rec, start) - offsetof(struct rec, magic));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			r.start = __atomic_load_n(&src[i].start, __ATOMIC_ACQUIRE);
		} else if (pread(fd, &r, sizeof(r), i * sizeof(r)) != sizeof(r)) {
			fprintf(stderr, "mmstress: %s: pread record %" PRIu64 ": %s\n",
				who, i, strerror(errno));
			sh->failed = 1;
			return 1;
		}
		bad = rec_bad(&r, i);
		if (!bad)
			break;
		if (tries == RETRIES) {
			report(who, bad, i, &r);
			fprintf(stderr, "mmstress: %s: still so after %d reads\n", who,
				RETRIES);
			return 1;
		}
		__atomic_fetch_add(&sh->retries, 1, __ATOMIC_RELAXED);
		sched_yield();
	}
	if (r.seq < seen[i]) {
		report(who, "number went backwards", i, &r);
		fprintf(stderr, "mmstress: %s: saw number %" PRIu64 " there before\n",
			who, seen[i]);
		return 1;
	}
	seen[i] = r.seq;
	return 0;
}

static int reader(int n)
{
	int fd = open_file();
	const struct rec *map = map_file(fd, PROT_READ);
	uint64_t *seen = calloc(nrec, sizeof(*seen)), i, passes = 0;
	char who[32];
	int last = 0;

	while (!sh->failed) {
		/* One more whole pass after the writers stop. */
		if (sh->stop)
			last = 1;
		snprintf(who, sizeof(who), "reader %d (mmap)", n);
		for (i = 0; i < nrec; i++)
			if (check_one(fd, map, i, seen, who))
				return 1;
		snprintf(who, sizeof(who), "reader %d (pread)", n);
		for (i = 0; i < nrec; i++)
			if (check_one(fd, NULL, i, seen, who))
				return 1;
		__atomic_fetch_add(&sh->checks, 2 * nrec, __ATOMIC_RELAXED);
		passes++;
		if (last)
			break;
	}
	return sh->failed;
}

static int final_check(void)
{
	int fd = open_file(), bad = 0;
	struct rec *all = malloc(fsize);
	size_t done = 0;
	uint64_t i;

	while (done < fsize) {
		ssize_t n = pread(fd, (char *)all + done, fsize - done, done);

		if (n <= 0) {
			fprintf(stderr, "mmstress: final read: %s\n",
				n ? strerror(errno) : "short");
			return 1;
		}
		done += n;
	}
	for (i = 0; i < nrec; i++) {
		const char *why = rec_bad(&all[i], i);

		if (!why && all[i].seq != sh->last[i])
			why = "not the last number written";
		if (why) {
			report("final read()", why, i, &all[i]);
			fprintf(stderr, "mmstress: final read(): record %" PRIu64
				" should hold number %" PRIu64 "\n", i, sh->last[i]);
			if (++bad == 10)
				break;
		}
	}
	close(fd);
	return bad != 0;
}

int main(int argc, char **argv)
{
	int opt, i, fd, rc = 0, nproc;
	long long init = -1;
	pid_t *pids;
	struct stat st;

	seed = (uint64_t)time(NULL);
	while ((opt = getopt(argc, argv, "w:r:t:m:S:I:")) != -1) {
		switch (opt) {
		case 'w': nwriters = atoi(optarg); break;
		case 'r': nreaders = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'm': sync_every = atoi(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'I': init = strtoll(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: mmstress [-w WRITERS] [-r READERS] [-t SECONDS]"
				" [-m EVERY] [-S SEED] FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1 || nwriters < 1 || nreaders < 0 || seconds < 0 ||
	    sync_every < 1) {
		fprintf(stderr, "mmstress: bad arguments\n");
		return 2;
	}
	path = argv[optind];
	if (init >= 0) {
		struct rec r;
		uint64_t k;

		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die(path);
		for (k = 0; k < (uint64_t)init / sizeof(r); k++) {
			fill_rec(&r, k % nwriters, k, 0);
			r.start = r.end = 0;
			if (pwrite(fd, &r, sizeof(r), k * sizeof(r)) != sizeof(r))
				die(path);
		}
		return close(fd) ? 2 : 0;
	}
	fd = open_file();
	if (fstat(fd, &st))
		die(path);
	close(fd);
	fsize = st.st_size / sysconf(_SC_PAGESIZE) * sysconf(_SC_PAGESIZE);
	nrec = fsize / sizeof(struct rec);
	if (!nrec) {
		fprintf(stderr, "mmstress: %s: smaller than a page\n", path);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh) + nrec * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmstress: mmap");
		return 2;
	}
	printf("mmstress: %s: %zu records, %d writers, %d readers, %d s, seed %" PRIu64 "\n",
	       path, nrec, nwriters, nreaders, seconds, seed);
	fflush(stdout);
	nproc = nwriters + nreaders;
	pids = calloc(nproc, sizeof(*pids));
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("mmstress: fork");
			sh->failed = 1;
			nproc = i;
			break;
		}
		if (!pids[i])
			_exit(i < nwriters ? writer(i) : reader(i - nwriters));
	}
	/* Writers first; then tell the readers to finish their pass. */
	for (i = 0; i < nproc; i++) {
		int wst;

		if (i == nwriters)
			sh->stop = 1;
		if (waitpid(pids[i], &wst, 0) < 0) {
			perror("mmstress: waitpid");
			rc = 1;
			continue;
		}
		if (!WIFEXITED(wst) || WEXITSTATUS(wst)) {
			if (WIFSIGNALED(wst))
				fprintf(stderr, "mmstress: %s %d killed by signal %d\n",
					i < nwriters ? "writer" : "reader",
					i < nwriters ? i : i - nwriters, WTERMSIG(wst));
			rc = 1;
		}
	}
	sh->stop = 1;
	if (!rc && final_check())
		rc = 1;
	if (rc || sh->failed) {
		fprintf(stderr, "mmstress: FAILED (seed %" PRIu64 ")\n", seed);
		return 1;
	}
	printf("mmstress: passed: %" PRIu64 " record writes, %" PRIu64
	       " record checks (%" PRIu64 " re-reads of records mid-update), %" PRIu64
	       " msyncs\n", sh->writes, sh->checks, sh->retries, sh->syncs);
	return 0;
}
