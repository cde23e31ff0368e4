// SPDX-License-Identifier: GPL-2.0
/*
 * treecmp A B [--no-owner]: compare two trees the way a round trip through
 * an image must preserve them: names, types, permission bits, owners,
 * mtime with nanoseconds, sizes, contents, device numbers, symlink
 * targets, link counts, and which names share an inode (hard link
 * groups).  Prints every difference; exits 1 if there is one.
 *
 * treecmp --mksock PATH: create a Unix socket file (the shell can't).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static bool check_owner = true;
static unsigned long diffs, entries;

/* Hard link groups: inode in A <-> inode in B must be a bijection. */
struct pair { ino_t a, b; };
static struct pair *pairs;
static size_t npairs, cap;

static void diff(const char *rel, const char *fmt, const char *x, const char *y)
{
	diffs++;
	if (diffs <= 200)
		printf("%s: %s differs: %s vs %s\n", *rel ? rel : ".", fmt, x, y);
}

static void diffu(const char *rel, const char *what, unsigned long long x, unsigned long long y)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), "%llu", x);
	snprintf(b, sizeof(b), "%llu", y);
	diff(rel, what, a, b);
}

static int namecmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int no_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

static void link_pair(const char *rel, ino_t a, ino_t b)
{
	for (size_t i = 0; i < npairs; i++) {
		if (pairs[i].a == a || pairs[i].b == b) {
			if (pairs[i].a != a || pairs[i].b != b)
				diff(rel, "hard link group", "one inode", "another");
			return;
		}
	}
	if (npairs == cap) {
		cap = cap ? 2 * cap : 256;
		pairs = realloc(pairs, cap * sizeof(*pairs));
		if (!pairs)
			abort();
	}
	pairs[npairs].a = a;
	pairs[npairs++].b = b;
}

static void cmp_content(const char *rel, const char *pa, const char *pb)
{
	static char ba[1 << 16], bb[1 << 16];
	int fa = open(pa, O_RDONLY), fb = open(pb, O_RDONLY);
	off_t pos = 0;

	if (fa < 0 || fb < 0) {
		diff(rel, "readability", fa < 0 ? "unreadable" : "ok", fb < 0 ? "unreadable" : "ok");
		goto out;
	}
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba)), nb = read(fb, bb, sizeof(bb));

		/* Regular files: short reads only at EOF. */
		if (na != nb || (na > 0 && memcmp(ba, bb, (size_t)na))) {
			char where[32];

			snprintf(where, sizeof(where), "near byte %lld", (long long)pos);
			diff(rel, "content", where, "");
			break;
		}
		if (na <= 0)
			break;
		pos += na;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

static void walk(const char *a, const char *b, const char *rel)
{
	struct stat sa, sb;
	char pa[PATH_MAX], pb[PATH_MAX], r[PATH_MAX];

	entries++;
	if (lstat(a, &sa) || lstat(b, &sb)) {
		diff(rel, "existence", access(a, F_OK) ? "missing" : "present",
		     access(b, F_OK) ? "missing" : "present");
		return;
	}
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
		diffu(rel, "file type", sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
		return;
	}
	if ((sa.st_mode & 07777) != (sb.st_mode & 07777) && !S_ISLNK(sa.st_mode))
		diffu(rel, "permissions", sa.st_mode & 07777, sb.st_mode & 07777);
	if (check_owner && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)) {
		diffu(rel, "uid", sa.st_uid, sb.st_uid);
		diffu(rel, "gid", sa.st_gid, sb.st_gid);
	}
	if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
		char x[48], y[48];

		snprintf(x, sizeof(x), "%lld.%09ld", (long long)sa.st_mtim.tv_sec, sa.st_mtim.tv_nsec);
		snprintf(y, sizeof(y), "%lld.%09ld", (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
		diff(rel, "mtime", x, y);
	}
	if (sa.st_nlink != sb.st_nlink)
		diffu(rel, "link count", sa.st_nlink, sb.st_nlink);
	if (!S_ISDIR(sa.st_mode) && sa.st_nlink > 1)
		link_pair(rel, sa.st_ino, sb.st_ino);

	if (S_ISREG(sa.st_mode)) {
		if (sa.st_size != sb.st_size)
			diffu(rel, "size", (unsigned long long)sa.st_size, (unsigned long long)sb.st_size);
		else
			cmp_content(rel, a, b);
	} else if (S_ISLNK(sa.st_mode)) {
		static char ta[PATH_MAX + 1], tb[PATH_MAX + 1];
		ssize_t na = readlink(a, ta, PATH_MAX), nb = readlink(b, tb, PATH_MAX);

		if (na < 0 || nb < 0 || na != nb || memcmp(ta, tb, (size_t)na))
			diff(rel, "symlink target", "", "");
	} else if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) {
		if (sa.st_rdev != sb.st_rdev)
			diffu(rel, "device number", sa.st_rdev, sb.st_rdev);
	} else if (S_ISDIR(sa.st_mode)) {
		struct dirent **la, **lb;
		int na = scandir(a, &la, no_dots, namecmp), nb = scandir(b, &lb, no_dots, namecmp);
		int i = 0, j = 0;

		if (na < 0 || nb < 0) {
			diff(rel, "directory", na < 0 ? "unreadable" : "ok", nb < 0 ? "unreadable" : "ok");
			return;
		}
		while (i < na || j < nb) {
			int c = i >= na ? 1 : j >= nb ? -1 : strcmp(la[i]->d_name, lb[j]->d_name);

			if (c) {
				const char *name = c < 0 ? la[i]->d_name : lb[j]->d_name;

				snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", name);
				diff(r, "existence", c < 0 ? "present" : "missing",
				     c < 0 ? "missing" : "present");
				c < 0 ? i++ : j++;
				continue;
			}
			snprintf(pa, sizeof(pa), "%s/%s", a, la[i]->d_name);
			snprintf(pb, sizeof(pb), "%s/%s", b, lb[j]->d_name);
			snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", la[i]->d_name);
			walk(pa, pb, r);
			i++;
			j++;
		}
		for (i = 0; i < na; i++)
			free(la[i]);
		for (j = 0; j < nb; j++)
			free(lb[j]);
		free(la);
		free(lb);
	}
}

static int mksock(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mksock: path too long\n");
		return 1;
	}
	strcpy(sun.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		perror("mksock");
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--mksock"))
		return mksock(argv[2]);
	if (argc == 4 && !strcmp(argv[3], "--no-owner"))
		check_owner = false;
	else if (argc != 3) {
		fprintf(stderr, "usage: treecmp A B [--no-owner] | treecmp --mksock PATH\n");
		return 2;
	}
	walk(argv[1], argv[2], "");
	printf("%lu entries compared, %lu differences\n", entries, diffs);
	return diffs ? 1 : 0;
}
