// SPDX-License-Identifier: GPL-2.0
/*
 * execlat ROOT N PROG [ARG...]: exec latency.  chroot()s into ROOT (the
 * mounted image, so the program, its loader and its libraries all come
 * from the filesystem under test), then N times forks, execs PROG with
 * stdout and stderr on /dev/null, and waits; prints one line per run:
 * "ns minflt majflt" of the child (fork to reaped).  Run it right after
 * dropping caches and the first line is the cold exec.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	int n, null;

	if (argc < 4) {
		fprintf(stderr, "usage: execlat ROOT N PROG [ARG...]\n");
		return 2;
	}
	n = atoi(argv[2]);
	null = open("/dev/null", O_WRONLY);
	if (null < 0)
		die("/dev/null");
	if (chroot(argv[1]) || chdir("/"))
		die("chroot %s", argv[1]);
	for (int i = 0; i < n; i++) {
		struct rusage ru;
		long long t0 = now_ns(), t1;
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			dup2(null, 1);
			dup2(null, 2);
			execv(argv[3], argv + 3);
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) != pid)
			die("wait4");
		t1 = now_ns();
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "execlat: %s failed (status 0x%x)\n",
				argv[3], status);
			return 1;
		}
		printf("%lld %ld %ld\n", t1 - t0, ru.ru_minflt, ru.ru_majflt);
	}
	return 0;
}
