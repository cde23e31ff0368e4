// SPDX-License-Identifier: GPL-2.0
/*
 * anonfault [PAGES]: the cost of an anonymous page fault.  Maps PAGES
 * (default 16384) private anonymous pages and writes one byte to each;
 * prints "pages minflt ns".  Transparent huge pages are refused with
 * MADV_NOHUGEPAGE, so each page is one fault.
 */
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 16384;
	long psz = sysconf(_SC_PAGESIZE), min0, maj0, min1, maj1;
	unsigned char *p;
	long long t0, ns;

	p = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	madvise(p, pages * psz, MADV_NOHUGEPAGE);
	faults(&min0, &maj0);
	t0 = now_ns();
	for (long i = 0; i < pages; i++)
		p[i * psz] = 1;
	ns = now_ns() - t0;
	faults(&min1, &maj1);
	printf("%ld %ld %lld\n", pages, min1 - min0, ns);
	return 0;
}
