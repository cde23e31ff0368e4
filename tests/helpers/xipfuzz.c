// SPDX-License-Identifier: GPL-2.0
/*
 * xipfuzz: mount many damaged images in one boot, each walked every way
 * a user can reach a file, under a per-image timeout.
 *
 *   xipfuzz [-t SECONDS] [-w PHYSADDR] [-d MTDDEV] [-m MEDIA,...] [-M DIR]
 *           BASEDIR PATCHFILE...
 *
 * PATCHFILEs come from mkfs/tests/mutate --patch: each image is a base
 * image (BASEDIR/NAME.img) cut to a length with some bytes replaced.  The
 * images take the media in turn (default window,mtd,loop):
 *   window  written to MTDDEV (phram over the window), mounted with
 *           -o physaddr=PHYSADDR (metadata in place, execute in place)
 *   mtd     the same bytes, mounted as mtd:xip
 *   loop    a file on tmpfs behind a loop device (metadata copied)
 * A mounted image is walked (readdir, lstat, a lookup that fails,
 * readlink, read() of every file, mmap of every file touching every page
 * with SIGBUS caught, getxattr/listxattr, and an execve of every ELF);
 * (the execve, and the read-only look after the writes below, for every
 * third image only: they cost more than all the rest); one whose
 * (damaged) superblock offers free space is then mounted
 * read-write from the window or MTD and every file is written (pwrite,
 * truncate down and up, a hole punched, a store through a shared
 * mapping, msync, fsync), then sync, unmount, a read-only mount and a
 * walk.  Errors are expected; only the kernel's behaviour is judged, on
 * the host, from the console.
 *
 * Each image's mount, walk and unmount run in a child; the parent waits
 * at most SECONDS (default 60).  Output, one line each:
 *   B NAME MEDIUM             before the image (also in the kernel log as
 *                             "xipfuzz: image NAME MEDIUM", which is how a
 *                             console splat is pinned to its image)
 *   R NAME MEDIUM MOUNT ERRS RW RWERRS MS RWMS
 *                             MOUNT ok or the errno's name, ERRS the
 *                             failed calls of the walk, RW the read-write
 *                             mount's result or "-", RWERRS its walk's;
 *                             the milliseconds each part took
 *   HANG NAME MEDIUM          the child did not finish in time: the blocked
 *                             tasks go to the console (sysrq w) and
 *                             xipfuzz exits 3 at once (the mount may be
 *                             stuck for good)
 *   CHILD NAME MEDIUM STATUS  the child died otherwise (a signal)
 * -P splat:NAME or -P hang:NAME plants a problem at image NAME (a fake
 * "WARNING:" line in the kernel log, or a walker that sleeps forever), to
 * show that the host side catches and names it.
 * Exit status 0 when every image was handled, 3 on a hang, 1 on errors of
 * its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/xipfs_fs.h>

#include "helpers.h"

#define MAX_FILE	(4 << 20)	/* bytes read or mapped per file */
#define MAX_ENTRIES	4096		/* per directory */
#define MAX_DEPTH	16
#define MAX_FILES	256		/* files walked per mount */
#define MAX_WRITES	8		/* files written per read-write mount */

static const char *mnt = "/mnt", *mtddev, *physaddr = "0x30000000", *plant = "";
static unsigned int timeout_s = 60;
static unsigned long errs, files, writes;
/*
 * The costly parts (an execve under KASAN; the read-only look after the
 * writes) for every third image only: more images per minute matter more.
 */
static bool heavy;
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t in_touch;

static void on_bus(int sig)
{
	if (in_touch)
		siglongjmp(bus_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void kmsg(const char *fmt, const char *a, const char *b)
{
	char line[512];
	int fd = open("/dev/kmsg", O_WRONLY), n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), fmt, a, b);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		errs += 0;
	close(fd);
}

static void touch_map(int fd, off_t size)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t len = size > MAX_FILE ? MAX_FILE : (size_t)size;
	volatile unsigned char *p;
	unsigned long sum = 0;

	if (!len)
		return;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		errs++;
		return;
	}
	for (volatile size_t off = 0; off < len; off += (size_t)ps) {
		if (sigsetjmp(bus_jmp, 1)) {
			in_touch = 0;
			errs++;
			continue;
		}
		in_touch = 1;
		sum += p[off];
		in_touch = 0;
	}
	(void)sum;
	munmap((void *)p, len);
}

static void try_exec(const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		errs++;
		return;
	}
	if (!pid) {
		char *argv[] = { (char *)path, NULL }, *envp[] = { NULL };
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		alarm(10);
		execve(path, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		errs++;
}

static void write_file(const char *path)
{
	static char buf[5000];
	int fd = open(path, O_RDWR);
	void *p;

	if (fd < 0) {
		errs++;
		return;
	}
	memset(buf, 0x5a, sizeof(buf));
	if (pwrite(fd, buf, sizeof(buf), 100) < 0)
		errs++;
	if (ftruncate(fd, 3000) || ftruncate(fd, 9000))
		errs++;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096))
		errs++;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		errs++;
	} else {
		if (sigsetjmp(bus_jmp, 1)) {
			in_touch = 0;
			errs++;
		} else {
			in_touch = 1;
			((volatile char *)p)[1] = 0x41;
			in_touch = 0;
			if (msync(p, 4096, MS_SYNC))
				errs++;
		}
		munmap(p, 4096);
	}
	if (fsync(fd))
		errs++;
	close(fd);
}

/* List @path's attributes and read each: whole, sized, and too short. */
static void xattrs(const char *path, char *buf, size_t size)
{
	char val[512];
	ssize_t n = llistxattr(path, buf, size);

	if (n < 0) {
		if (errno != EOPNOTSUPP)
			errs++;
		return;
	}
	for (char *p = buf; p < buf + n && p + strnlen(p, buf + n - p) < buf + n;
	     p += strlen(p) + 1) {
		if (lgetxattr(path, p, NULL, 0) < 0)
			errs++;
		if (lgetxattr(path, p, val, sizeof(val)) < 0 && errno != ERANGE)
			errs++;
		(void)lgetxattr(path, p, val, 1);
	}
}

static void walk(const char *dir, int depth, bool rw)
{
	char path[4096];
	struct dirent *de;
	unsigned int n = 0;
	DIR *d;

	if (depth > MAX_DEPTH)
		return;
	d = opendir(dir);
	if (!d) {
		errs++;
		return;
	}
	snprintf(path, sizeof(path), "%s/no-such-name", dir);
	if (!access(path, F_OK))
		errs++;
	for (errno = 0; (de = readdir(d)) && n < MAX_ENTRIES; n++, errno = 0) {
		struct stat st;
		char buf[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st)) {
			errs++;
			continue;
		}
		if (lgetxattr(path, "user.xipfuzz", buf, sizeof(buf)) < 0 && errno != ENODATA &&
		    errno != EOPNOTSUPP)
			errs++;
		xattrs(path, buf, sizeof(buf));
		if (S_ISDIR(st.st_mode)) {
			walk(path, depth + 1, rw);
		} else if (S_ISLNK(st.st_mode)) {
			if (readlink(path, buf, sizeof(buf)) < 0)
				errs++;
			/* Follow it too: a target may lead back into the mount. */
			(void)stat(path, &st);
		} else if (S_ISREG(st.st_mode) && files++ < MAX_FILES) {
			int fd = open(path, O_RDONLY);
			ssize_t r, total = 0;
			unsigned char magic[4] = { 0 };

			if (fd < 0) {
				errs++;
				continue;
			}
			if (pread(fd, magic, 4, 0) < 0)
				errs++;
			while (total < MAX_FILE && (r = read(fd, buf, sizeof(buf))) > 0)
				total += r;
			if (r < 0)
				errs++;
			touch_map(fd, st.st_size);
			close(fd);
			if (heavy && !memcmp(magic, "\177ELF", 4) && (st.st_mode & 0111) && !rw)
				try_exec(path);
			if (rw && writes++ < MAX_WRITES)
				write_file(path);
		}
	}
	if (errno)
		errs++;
	closedir(d);
}

/* A free loop device bound to file (read-only); its fd stays open. */
static int loop_attach(const char *file, char *dev, size_t devlen)
{
	int ctl = open("/dev/loop-control", O_RDWR), nr, lfd, ffd;

	if (ctl < 0)
		return -1;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -1;
	snprintf(dev, devlen, "/dev/loop%d", nr);
	lfd = open(dev, O_RDWR);
	ffd = open(file, O_RDONLY);
	if (lfd < 0 || ffd < 0 || ioctl(lfd, LOOP_SET_FD, ffd)) {
		if (lfd >= 0)
			close(lfd);
		if (ffd >= 0)
			close(ffd);
		return -1;
	}
	close(ffd);
	return lfd;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Child: mount, walk (or write), unmount.  Exit status: errno of mount, or 0. */
static int one_mount(const char *medium, const char *loopdev, bool rw)
{
	char opts[64] = "";
	const char *src = "none";
	unsigned long fl = rw ? 0 : MS_RDONLY;

	if (!strcmp(medium, "window"))
		snprintf(opts, sizeof(opts), "physaddr=%s", physaddr);
	else if (!strcmp(medium, "mtd"))
		src = "mtd:xip";
	else
		src = loopdev;
	struct timespec t0;
	long mount_ms, walk_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mount(src, mnt, "xipfs", fl, opts[0] ? opts : NULL))
		return errno ? errno : 255;
	mount_ms = ms_since(&t0);
	walk(mnt, 0, rw);
	walk_ms = ms_since(&t0) - mount_ms;
	if (rw) {
		sync();
		if (umount(mnt))
			errs++;
		/* What the writes left, read-only. */
		if (heavy && !mount(src, mnt, "xipfs", MS_RDONLY, opts[0] ? opts : NULL)) {
			walk(mnt, 0, false);
			if (umount(mnt))
				errs++;
		}
	} else if (umount(mnt)) {
		errs++;
	}
	/* Errors, then where the time went (for the log). */
	printf("%lu %ld %ld %ld\n", errs, mount_ms, walk_ms, ms_since(&t0) - mount_ms - walk_ms);
	return 0;
}

/* Run one_mount in a child under the timeout; its result into res. */
static int supervised(const char *name, const char *medium, const char *loopdev, bool rw,
		      char *res, size_t reslen, unsigned long *nerrs)
{
	int pfd[2], st;
	pid_t pid;
	struct timespec t0, now;
	char out[128] = "";
	ssize_t r;

	if (pipe(pfd))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(pfd[0]);
		dup2(pfd[1], 1);
		if (!strncmp(plant, "hang:", 5) && !strcmp(plant + 5, name))
			for (;;)
				pause();
		_exit(one_mount(medium, loopdev, rw));
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			int fd;

			printf("HANG %s %s%s\n", name, medium, rw ? " rw" : "");
			fflush(stdout);
			kmsg("xipfuzz: HANG %s %s\n", name, medium);
			fd = open("/proc/sysrq-trigger", O_WRONLY);
			if (fd >= 0) {
				if (write(fd, "w", 1) < 0)
					errs += 0;
				close(fd);
			}
			kill(pid, SIGKILL);
			exit(3);
		}
		usleep(20000);
	}
	r = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	if (r > 0)
		out[r] = '\0';
	*nerrs = strtoul(out, NULL, 10);
	out[strcspn(out, "\n")] = '\0';
	if (strchr(out, ' '))
		printf("T %s %s%s %s\n", name, medium, rw ? " rw" : "", strchr(out, ' ') + 1);
	if (WIFSIGNALED(st)) {
		printf("CHILD %s %s signal %d\n", name, medium, WTERMSIG(st));
		snprintf(res, reslen, "signal%d", WTERMSIG(st));
		return -1;
	}
	if (WEXITSTATUS(st))
		snprintf(res, reslen, "%s", strerrorname_np(WEXITSTATUS(st)) ?
			 strerrorname_np(WEXITSTATUS(st)) : "E?");
	else
		snprintf(res, reslen, "ok");
	return 0;
}

struct base {
	char name[64];
	unsigned char *buf;
	size_t len;
};

static struct base bases[32];
static unsigned int nbases;
static const char *basedir;

static struct base *get_base(const char *name)
{
	char path[4096];
	struct stat st;
	struct base *b;
	int fd;

	for (unsigned int i = 0; i < nbases; i++)
		if (!strcmp(bases[i].name, name))
			return &bases[i];
	if (nbases == sizeof(bases) / sizeof(bases[0]))
		die("too many base images");
	b = &bases[nbases++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s.img", basedir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(path);
	b->len = (size_t)st.st_size;
	b->buf = malloc(b->len + 1);
	if (!b->buf || read(fd, b->buf, b->len) != (ssize_t)b->len)
		die(path);
	close(fd);
	return b;
}

static unsigned char *img;
static size_t img_cap, mtd_high;

/*
 * The image (@len bytes of img) onto the MTD device, zeros past its end:
 * the previous image's bytes would not repeat.
 */
static void put_mtd(size_t len)
{
	size_t n = len > mtd_high ? len : mtd_high;
	int fd = open(mtddev, O_WRONLY);

	if (fd < 0 || pwrite(fd, img, n, 0) != (ssize_t)n)
		die(mtddev);
	close(fd);
	mtd_high = len;
}

static void run_image(const char *name, size_t len, unsigned int k, char **media,
		      unsigned int nmedia)
{
	struct timespec t0;
	long ro_ms, rw_ms = 0;

	const char *medium = media[k % nmedia];
	char loopdev[64] = "", res[64], rwres[64] = "-";
	unsigned long nerrs = 0, rwerrs = 0;
	uint64_t fcompat = 0;
	int lfd = -1, fd;

	heavy = k % 3 == 0;
	printf("B %s %s\n", name, medium);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kmsg("xipfuzz: image %s %s\n", name, medium);
	if (!strncmp(plant, "splat:", 6) && !strcmp(plant + 6, name))
		kmsg("WARNING: %s%s (planted by xipfuzz -P)\n", "", "");
	if (strcmp(medium, "loop")) {
		put_mtd(len);
	} else {
		fd = open("/tmp/xipfuzz.img", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, img, len) != (ssize_t)len)
			die("/tmp/xipfuzz.img");
		close(fd);
		lfd = loop_attach("/tmp/xipfuzz.img", loopdev, sizeof(loopdev));
		if (lfd < 0)
			die("loop device");
	}
	supervised(name, medium, loopdev, false, res, sizeof(res), &nerrs);
	ro_ms = ms_since(&t0);
	if (lfd >= 0) {
		ioctl(lfd, LOOP_CLR_FD, 0);
		close(lfd);
	}
	if (len >= XIPFS_SB_SIZE) {
		memcpy(&fcompat, img + offsetof(struct xipfs_super_block, s_feature_compat), 4);
		if (fcompat & XIPFS_FEATURE_COMPAT_FREE_SPACE) {
			const char *rwm = strcmp(medium, "loop") ? medium : "mtd";

			if (!strcmp(medium, "loop"))
				put_mtd(len);
			kmsg("xipfuzz: image %s %s rw\n", name, rwm);
			supervised(name, rwm, loopdev, true, rwres, sizeof(rwres), &rwerrs);
			rw_ms = ms_since(&t0) - ro_ms;
		}
	}
	printf("R %s %s %s %lu %s %lu %ld %ld\n", name, medium, res, nerrs, rwres, rwerrs,
	       ro_ms, rw_ms);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char *media[8] = { "window", "mtd", "loop" }, *line = NULL;
	unsigned int nmedia = 3, k = 0;
	size_t linecap = 0;
	int opt;

	while ((opt = getopt(argc, argv, "t:w:d:m:M:P:")) != -1) {
		switch (opt) {
		case 't': timeout_s = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': physaddr = optarg; break;
		case 'd': mtddev = optarg; break;
		case 'M': mnt = optarg; break;
		case 'P': plant = optarg; break;
		case 'm':
			nmedia = 0;
			for (char *s = strtok(optarg, ","); s && nmedia < 8; s = strtok(NULL, ","))
				media[nmedia++] = s;
			break;
		default:
			fprintf(stderr, "usage: xipfuzz [-t SEC] [-w PHYS] [-d MTDDEV] [-m MEDIA] [-M DIR] BASEDIR PATCHFILE...\n");
			return 1;
		}
	}
	if (argc - optind < 2 || !nmedia) {
		fprintf(stderr, "xipfuzz: need BASEDIR and PATCHFILEs\n");
		return 1;
	}
	if (!mtddev) {
		for (unsigned int i = 0; i < nmedia; i++)
			if (strcmp(media[i], "loop"))
				die("no -d MTDDEV for the window and mtd media");
	}
	signal(SIGBUS, on_bus);
	signal(SIGSEGV, on_bus);
	basedir = argv[optind];
	for (int a = optind + 1; a < argc; a++) {
		FILE *f = fopen(argv[a], "r");
		char name[128] = "";
		size_t len = 0;

		if (!f)
			die(argv[a]);
		while (getline(&line, &linecap, f) > 0) {
			char bname[64];

			if (line[0] == 'I') {
				struct base *b;

				if (sscanf(line, "I %127s %63s %zu", name, bname, &len) != 3)
					die("bad I line");
				b = get_base(bname);
				if (b->len > img_cap) {
					img = realloc(img, b->len);
					if (!img)
						die("realloc");
					memset(img, 0, b->len);
					img_cap = b->len;
				}
				/* Zeros past len, for the MTD copy. */
				memset(img, 0, img_cap);
				memcpy(img, b->buf, len < b->len ? len : b->len);
				if (len > b->len)
					len = b->len;
			} else if (line[0] == 'P') {
				char *hex;
				size_t off = strtoul(line + 2, &hex, 10);

				hex++;
				for (; hex[0] && hex[1] && hex[0] != '\n' && off < len; hex += 2, off++) {
					char by[3] = { hex[0], hex[1], 0 };

					img[off] = (unsigned char)strtoul(by, NULL, 16);
				}
			} else if (line[0] == 'E') {
				run_image(name, len, k++, media, nmedia);
			}
		}
		fclose(f);
	}
	printf("xipfuzz: %u images\n", k);
	return 0;
}
