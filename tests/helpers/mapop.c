// SPDX-License-Identifier: GPL-2.0
/*
 * mapop: a scripted sequence of operations on one mapping of a file.
 *
 *   mapop [-p] [-l LEN] FILE CMD...
 *
 * Opens FILE read-write (read-only if that fails with EROFS or EACCES,
 * and then maps it read-only), maps LEN bytes (default: the file's size
 * rounded up to pages) MAP_SHARED (-p: MAP_PRIVATE) and runs the
 * commands in order.  Numbers are decimal or 0x hex.
 *
 *   w:OFF:LEN:BYTE   store BYTE into the mapping
 *   c:OFF:LEN:BYTE   check the mapping holds BYTE there
 *   r:OFF:LEN        load every page of the range (fault it in), no check
 *   W:OFF:LEN:BYTE   pwrite() BYTE
 *   C:OFF:LEN:BYTE   check read() returns LEN bytes of BYTE there
 *   t:SIZE           ftruncate()
 *   s                msync(MS_SYNC) the whole mapping
 *   f                fsync()
 *   m                unmap and map again (same length)
 *   b:OFF            a load at OFF through the mapping must raise SIGBUS
 *   B:OFF            a store at OFF through the mapping must raise SIGBUS
 *   F:MAX            the page faults (minor + major) since the previous F
 *                    (or since the mapping was made) must be at most MAX
 *
 * Checks print one line each ("map 0x1000+4096: all 0xa1", "load
 * 0x11000: SIGBUS"); a failed check says what it found.  Exit 1 if a
 * check failed, 2 on a usage or system call error.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static sigjmp_buf jb;
static volatile sig_atomic_t armed;
static unsigned char *map;
static size_t maplen;
static int fd, prot, flags;

static void on_sigbus(int sig)
{
	(void)sig;
	if (armed)
		siglongjmp(jb, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Page faults this process has taken so far. */
static long long faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return (long long)ru.ru_minflt + ru.ru_majflt;
}

static void do_map(void)
{
	map = mmap(NULL, maplen, prot, flags, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
}

static int parse(const char *arg, char *cmd, unsigned long long *v, int want)
{
	const char *p = arg + 1;
	int n = 0;

	*cmd = arg[0];
	while (*p == ':' && n < 3) {
		char *end;

		v[n++] = strtoull(p + 1, &end, 0);
		p = end;
	}
	if (*p || n != want) {
		fprintf(stderr, "mapop: bad command %s\n", arg);
		exit(2);
	}
	return n;
}

static void in_map(unsigned long long off, unsigned long long len, const char *arg)
{
	if (off > maplen || len > maplen - off) {
		fprintf(stderr, "mapop: %s: outside the %zu-byte mapping\n", arg, maplen);
		exit(2);
	}
}

/* Report the first byte of @p (at file offset @off) that is not @b. */
static int check(const char *how, const unsigned char *p, unsigned long long off,
		 unsigned long long len, unsigned b)
{
	unsigned long long i;

	for (i = 0; i < len; i++)
		if (p[i] != b) {
			printf("%s 0x%llx+%llu: byte at 0x%llx is 0x%02x, not 0x%02x\n",
			       how, off, len, off + i, p[i], b);
			return 1;
		}
	printf("%s 0x%llx+%llu: all 0x%02x\n", how, off, len, b);
	return 0;
}

int main(int argc, char **argv)
{
	static volatile int failed, i;
	static long long fault_base;
	int opt, private = 0;
	unsigned long long v[3], len = 0;
	struct sigaction sa;
	struct stat st;
	unsigned char *buf;
	char cmd;

	while ((opt = getopt(argc, argv, "pl:")) != -1) {
		switch (opt) {
		case 'p': private = 1; break;
		case 'l': len = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: mapop [-p] [-l LEN] FILE CMD...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: mapop [-p] [-l LEN] FILE CMD...\n");
		return 2;
	}
	prot = PROT_READ | PROT_WRITE;
	fd = open(argv[optind], O_RDWR);
	if (fd < 0 && (errno == EROFS || errno == EACCES)) {
		fd = open(argv[optind], O_RDONLY);
		prot = private ? PROT_READ | PROT_WRITE : PROT_READ;
	}
	if (fd < 0 || fstat(fd, &st))
		die(argv[optind]);
	flags = private ? MAP_PRIVATE : MAP_SHARED;
	if (!len)
		len = st.st_size;
	maplen = (len + sysconf(_SC_PAGESIZE) - 1) / sysconf(_SC_PAGESIZE) *
		 sysconf(_SC_PAGESIZE);
	if (!maplen) {
		fprintf(stderr, "mapop: nothing to map\n");
		return 2;
	}
	do_map();
	fault_base = faults();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	for (i = optind + 1; i < argc; i++) {
		const char *a = argv[i];
		ssize_t n;

		switch (a[0]) {
		case 'w':
			parse(a, &cmd, v, 3);
			in_map(v[0], v[1], a);
			memset(map + v[0], (int)v[2], v[1]);
			break;
		case 'F': {
			long long n = faults() - fault_base;

			parse(a, &cmd, v, 1);
			if (n > (long long)v[0]) {
				printf("faults: %lld, more than %llu\n", n, v[0]);
				failed = 1;
			} else {
				printf("faults: at most %llu\n", v[0]);
			}
			fflush(stdout);
			fault_base = faults();
			break;
		}
		case 'r': {
			volatile unsigned char sink = 0;
			unsigned long long o;

			parse(a, &cmd, v, 2);
			in_map(v[0], v[1], a);
			for (o = v[0]; o < v[0] + v[1]; o += 512)
				sink ^= map[o];
			(void)sink;
			break;
		}
		case 'c':
			parse(a, &cmd, v, 3);
			in_map(v[0], v[1], a);
			failed |= check("map", map + v[0], v[0], v[1], v[2]);
			break;
		case 'W':
		case 'C':
			parse(a, &cmd, v, 3);
			buf = malloc(v[1] ? v[1] : 1);
			if (!buf)
				die("malloc");
			if (cmd == 'W') {
				memset(buf, (int)v[2], v[1]);
				n = pwrite(fd, buf, v[1], v[0]);
				if (n != (ssize_t)v[1])
					die("pwrite");
			} else {
				unsigned long long done = 0;

				while (done < v[1]) {
					n = pread(fd, buf + done, v[1] - done, v[0] + done);
					if (n < 0)
						die("pread");
					if (!n)
						break;
					done += n;
				}
				if (done != v[1]) {
					printf("read 0x%llx+%llu: only %llu bytes\n", v[0],
					       v[1], done);
					failed = 1;
				} else {
					failed |= check("read", buf, v[0], v[1], v[2]);
				}
			}
			free(buf);
			break;
		case 't':
			parse(a, &cmd, v, 1);
			if (ftruncate(fd, v[0]))
				die("ftruncate");
			break;
		case 's':
			parse(a, &cmd, v, 0);
			if (msync(map, maplen, MS_SYNC))
				die("msync");
			break;
		case 'f':
			parse(a, &cmd, v, 0);
			if (fsync(fd))
				die("fsync");
			break;
		case 'm':
			parse(a, &cmd, v, 0);
			if (munmap(map, maplen))
				die("munmap");
			do_map();
			break;
		case 'b':
		case 'B':
			parse(a, &cmd, v, 1);
			in_map(v[0], 1, a);
			if (sigsetjmp(jb, 1)) {
				armed = 0;
				printf("%s 0x%llx: SIGBUS\n", cmd == 'b' ? "load" : "store",
				       v[0]);
				break;
			}
			armed = 1;
			if (cmd == 'b') {
				unsigned char x = *(volatile unsigned char *)(map + v[0]);

				armed = 0;
				printf("load 0x%llx: no SIGBUS (read 0x%02x)\n", v[0], x);
			} else {
				*(volatile unsigned char *)(map + v[0]) = 0xee;
				armed = 0;
				printf("store 0x%llx: no SIGBUS\n", v[0]);
			}
			failed = 1;
			break;
		default:
			fprintf(stderr, "mapop: unknown command %s\n", a);
			return 2;
		}
	}
	return failed;
}
