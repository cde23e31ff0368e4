// SPDX-License-Identifier: GPL-2.0
/*
 * Extract an image's tree into a directory: contents, modes, owners,
 * mtimes (ns), hard links and special files.  Everything is created
 * relative to directory file descriptors, so depth is not limited by
 * PATH_MAX, and with O_NOFOLLOW/O_EXCL, so a hostile image can't make us
 * write outside the target through a symlink it planted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "xipfs_image.h"

/* Directory fds held open at once; well below the usual 1024 limit. */
#define MAX_DEPTH	900

struct ex {
	struct xipfs_image *img;
	const struct xipfs_extract_opts *opts;
	int rootfd;
	char **link_path;	/* per inode: first extracted path (nlink > 1) */
	bool *dir_seen;
	uint8_t *page;
	char path[PATH_MAX];	/* current directory, relative to the root */
	size_t path_len;
	unsigned int errors;
};

__attribute__((format(printf, 2, 3)))
static void ex_err(struct ex *ex, const char *fmt, ...)
{
	va_list ap;

	ex->errors++;
	fputs("extract: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* new_encode_dev() of the kernel, decoded. */
static dev_t decode_dev(uint32_t d)
{
	unsigned int major = (d & 0xfff00) >> 8;
	unsigned int minor = (d & 0xff) | ((d >> 12) & 0xfff00);

	return makedev(major, minor);
}

/*
 * The inode's extended attributes, after chown (which drops
 * security.capability) and chmod: through @fd, or @name in @dirfd.
 */
static void set_xattrs(struct ex *ex, int dirfd, const char *name, int fd,
		       const struct xipfs_dinode *in, const char *shown)
{
	struct xipfs_xattrs xs;
	struct xipfs_xattr x;
	char xname[XIPFS_XATTR_NAME_BUF], path[64 + 256];
	int r;

	if (ex->opts->xattrs == XIPFS_EXTRACT_XATTRS_NONE)
		return;
	if (xipfs_xattr_open(ex->img, in, &xs)) {
		ex_err(ex, "%s: %s", shown, xipfs_image_error(ex->img));
		return;
	}
	if (fd < 0)
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	while ((r = xipfs_xattr_next(ex->img, &xs, &x)) > 0) {
		if (ex->opts->xattrs == XIPFS_EXTRACT_XATTRS_USER &&
		    x.prefix != XIPFS_XATTR_USER)
			continue;
		if (xipfs_xattr_name(&x, xname)) {
			ex_err(ex, "%s: attribute with unknown prefix %u", shown, x.prefix);
			continue;
		}
		if (fd >= 0 ? fsetxattr(fd, xname, x.value, x.value_len, 0) :
		    lsetxattr(path, xname, x.value, x.value_len, 0))
			ex_err(ex, "%s: setting attribute %s: %s", shown, xname, strerror(errno));
	}
	if (r < 0)
		ex_err(ex, "%s: %s", shown, xipfs_image_error(ex->img));
}

static void set_meta(struct ex *ex, int dirfd, const char *name, int fd,
		     const struct xipfs_dinode *in, const char *shown)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = in->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = in->mtime_nsec < 1000000000U ? in->mtime_nsec : 0;
	if (fd >= 0) {
		/* chown first: it clears set-user-ID bits that chmod sets. */
		if (ex->opts->owners && fchown(fd, in->uid, in->gid))
			ex_err(ex, "%s: chown: %s", shown, strerror(errno));
		if (fchmod(fd, in->mode & 07777))
			ex_err(ex, "%s: chmod: %s", shown, strerror(errno));
		set_xattrs(ex, dirfd, name, fd, in, shown);
		if (futimens(fd, ts))
			ex_err(ex, "%s: utimens: %s", shown, strerror(errno));
		return;
	}
	if (ex->opts->owners &&
	    fchownat(dirfd, name, in->uid, in->gid, AT_SYMLINK_NOFOLLOW))
		ex_err(ex, "%s: chown: %s", shown, strerror(errno));
	if (!S_ISLNK(in->mode) && fchmodat(dirfd, name, in->mode & 07777, 0))
		ex_err(ex, "%s: chmod: %s", shown, strerror(errno));
	set_xattrs(ex, dirfd, name, fd, in, shown);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW))
		ex_err(ex, "%s: utimens: %s", shown, strerror(errno));
}

static int write_file(struct ex *ex, int fd, const struct xipfs_dinode *in,
		      const char *shown)
{
	struct xipfs_image *img = ex->img;
	uint64_t pages = xipfs_size_pages(img, in->size), ps = img->page_size;

	for (uint64_t p = 0; p < pages; p++) {
		uint64_t e, valid = p + 1 < pages ? ps : in->size - p * ps;
		const uint8_t *b;
		size_t left;
		off_t pos = (off_t)(p * ps);

		if (xipfs_pte_get(img, in, p, &e)) {
			ex_err(ex, "%s: %s", shown, xipfs_image_error(img));
			return -1;
		}
		if (e == 0)
			continue;	/* a hole stays a hole */
		if (xipfs_read_page(img, in, p, ex->page)) {
			ex_err(ex, "%s: %s", shown, xipfs_image_error(img));
			return -1;
		}
		for (b = ex->page, left = valid; left; ) {
			ssize_t n = pwrite(fd, b, left, pos);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				ex_err(ex, "%s: write: %s", shown, strerror(errno));
				return -1;
			}
			b += n;
			left -= (size_t)n;
			pos += n;
		}
	}
	if (ftruncate(fd, (off_t)in->size)) {
		ex_err(ex, "%s: truncate: %s", shown, strerror(errno));
		return -1;
	}
	return 0;
}

static bool name_ok(const struct xipfs_dirent_info *e)
{
	if (memchr(e->name, '/', e->name_len) || memchr(e->name, '\0', e->name_len))
		return false;
	if (e->name_len == 1 && e->name[0] == '.')
		return false;
	return !(e->name_len == 2 && e->name[0] == '.' && e->name[1] == '.');
}

static void extract_dir(struct ex *ex, int dirfd, uint32_t dino, unsigned int depth);

static void extract_entry(struct ex *ex, int dirfd, const struct xipfs_dirent_info *e,
			  unsigned int depth)
{
	struct xipfs_image *img = ex->img;
	struct xipfs_dinode in;
	char name[XIPFS_NAME_MAX + 1];
	size_t saved = ex->path_len;
	const char *shown;
	int fd;

	memcpy(name, e->name, e->name_len);
	name[e->name_len] = '\0';
	/* The path below the target, for messages and for hard links. */
	if (ex->path_len + 1 + e->name_len < sizeof(ex->path)) {
		if (ex->path_len)
			ex->path[ex->path_len++] = '/';
		memcpy(ex->path + ex->path_len, name, e->name_len + 1);
		ex->path_len += e->name_len;
		shown = ex->path;
	} else {
		ex->path_len = sizeof(ex->path);	/* too long to name */
		shown = name;
	}
	if (xipfs_read_inode(img, e->ino, &in)) {
		ex_err(ex, "%s: %s", shown, xipfs_image_error(img));
		goto out;
	}
	if (ex->opts->verbose)
		printf("%s\n", shown);

	if (!S_ISDIR(in.mode) && ex->link_path[e->ino]) {
		if (linkat(ex->rootfd, ex->link_path[e->ino], dirfd, name, 0))
			ex_err(ex, "%s: link to %s: %s", shown, ex->link_path[e->ino],
			       strerror(errno));
		goto out;
	}
	switch (in.mode & S_IFMT) {
	case S_IFDIR:
		if (ex->dir_seen[e->ino]) {
			ex_err(ex, "%s: directory inode %u seen twice, skipped", shown, e->ino);
			goto out;
		}
		ex->dir_seen[e->ino] = true;
		if (depth >= MAX_DEPTH) {
			ex_err(ex, "%s: deeper than %d levels, skipped", shown, MAX_DEPTH);
			goto out;
		}
		if (mkdirat(dirfd, name, 0700) && errno != EEXIST) {
			ex_err(ex, "%s: mkdir: %s", shown, strerror(errno));
			goto out;
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ex_err(ex, "%s: open: %s", shown, strerror(errno));
			goto out;
		}
		extract_dir(ex, fd, e->ino, depth + 1);
		/* After the contents, so that their creation doesn't touch mtime. */
		set_meta(ex, -1, NULL, fd, &in, shown);
		close(fd);
		goto out;
	case S_IFREG:
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0) {
			ex_err(ex, "%s: create: %s", shown, strerror(errno));
			goto out;
		}
		if (!write_file(ex, fd, &in, shown))
			set_meta(ex, -1, NULL, fd, &in, shown);
		close(fd);
		break;
	case S_IFLNK: {
		const char *t;
		size_t len;
		char target[4096];

		if (xipfs_read_link(img, &in, &t, &len)) {
			ex_err(ex, "%s: %s", shown, xipfs_image_error(img));
			goto out;
		}
		memcpy(target, t, len);
		target[len] = '\0';
		if (symlinkat(target, dirfd, name)) {
			ex_err(ex, "%s: symlink: %s", shown, strerror(errno));
			goto out;
		}
		set_meta(ex, dirfd, name, -1, &in, shown);
		break;
	}
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		if (mknodat(dirfd, name, (in.mode & S_IFMT) | 0600,
			    S_ISCHR(in.mode) || S_ISBLK(in.mode) ? decode_dev(in.rdev) : 0)) {
			ex_err(ex, "%s: mknod: %s", shown, strerror(errno));
			goto out;
		}
		set_meta(ex, dirfd, name, -1, &in, shown);
		break;
	default:
		ex_err(ex, "%s: inode %u has invalid mode 0%o", shown, e->ino, in.mode);
		goto out;
	}
	if (in.nlink > 1) {
		if (ex->path_len < sizeof(ex->path))
			ex->link_path[e->ino] = strdup(ex->path);
		if (!ex->link_path[e->ino])
			ex_err(ex, "%s: path too long to hard-link its other names to", shown);
	}
out:
	ex->path_len = saved;
	if (saved < sizeof(ex->path))
		ex->path[saved] = '\0';
}

static void extract_dir(struct ex *ex, int dirfd, uint32_t dino, unsigned int depth)
{
	struct xipfs_image *img = ex->img;
	struct xipfs_dinode in;
	struct xipfs_dir d;
	struct xipfs_dirent_info e;

	if (xipfs_read_inode(img, dino, &in) || xipfs_dir_open(img, &in, &d)) {
		ex_err(ex, "%s: %s", ex->path_len ? ex->path : "/", xipfs_image_error(img));
		return;
	}
	for (uint32_t i = 0; i < d.count; i++) {
		if (xipfs_dir_entry(img, &d, i, &e)) {
			ex_err(ex, "%s: %s", ex->path_len ? ex->path : "/", xipfs_image_error(img));
			continue;
		}
		if (!name_ok(&e)) {
			ex_err(ex, "directory inode %u: entry %u has an invalid name, skipped",
			       dino, i);
			continue;
		}
		if (e.ino == 0 || e.ino >= img->sb.inode_count || e.ino == XIPFS_ROOT_INO) {
			ex_err(ex, "directory inode %u: entry %u points to inode %u, skipped",
			       dino, i, e.ino);
			continue;
		}
		extract_entry(ex, dirfd, &e, depth);
	}
}

int xipfs_extract(struct xipfs_image *img, const char *dir,
		  const struct xipfs_extract_opts *opts)
{
	struct ex ex = { .img = img, .opts = opts };
	struct xipfs_dinode root;
	struct rlimit rl;
	struct stat st;

	/* One fd per level: make sure MAX_DEPTH of them are allowed. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "extract: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	ex.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ex.rootfd < 0 || fstat(ex.rootfd, &st)) {
		fprintf(stderr, "extract: %s: %s\n", dir, strerror(errno));
		if (ex.rootfd >= 0)
			close(ex.rootfd);
		return -1;
	}
	ex.link_path = calloc(img->sb.inode_count, sizeof(*ex.link_path));
	ex.dir_seen = calloc(img->sb.inode_count, sizeof(*ex.dir_seen));
	ex.page = malloc(img->page_size);
	if (!ex.link_path || !ex.dir_seen || !ex.page) {
		ex_err(&ex, "out of memory");
		goto out;
	}
	if (xipfs_read_inode(img, XIPFS_ROOT_INO, &root) || !S_ISDIR(root.mode)) {
		ex_err(&ex, "root inode is not a directory");
		goto out;
	}
	ex.dir_seen[XIPFS_ROOT_INO] = true;
	extract_dir(&ex, ex.rootfd, XIPFS_ROOT_INO, 0);
	set_meta(&ex, -1, NULL, ex.rootfd, &root, dir);
out:
	if (ex.link_path)
		for (uint32_t i = 0; i < img->sb.inode_count; i++)
			free(ex.link_path[i]);
	free(ex.link_path);
	free(ex.dir_seen);
	free(ex.page);
	close(ex.rootfd);
	return ex.errors ? -1 : 0;
}
