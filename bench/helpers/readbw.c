// SPDX-License-Identifier: GPL-2.0
/*
 * readbw [-b BUFSIZE] FILE...: read() each file sequentially to its end
 * with one buffer, and print "bytes ns" for all of them together.  Run
 * after dropping caches, it is the cold sequential read throughput.
 */
#include <fcntl.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	size_t bufsize = 1 << 20;
	long long bytes = 0, t0, t1;
	char *buf;
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "-b")) {
		bufsize = strtoul(argv[2], NULL, 0);
		i = 3;
	}
	if (i >= argc || !bufsize) {
		fprintf(stderr, "usage: readbw [-b BUFSIZE] FILE...\n");
		return 2;
	}
	buf = malloc(bufsize);
	if (!buf)
		die("malloc");
	memset(buf, 0, bufsize);	/* fault it in before the clock starts */
	t0 = now_ns();
	for (; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		ssize_t n;

		if (fd < 0)
			die("%s", argv[i]);
		while ((n = read(fd, buf, bufsize)) > 0)
			bytes += n;
		if (n < 0)
			die("read %s", argv[i]);
		close(fd);
	}
	t1 = now_ns();
	printf("%lld %lld\n", bytes, t1 - t0);
	return 0;
}
