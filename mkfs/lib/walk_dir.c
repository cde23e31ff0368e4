// SPDX-License-Identifier: GPL-2.0
/*
 * Directory source: walk a tree with lstat, remember where each regular
 * file's data is (read later, in inode order, by the writer), read each
 * inode's extended attributes, and join hard links (same st_dev and
 * st_ino) into one inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "xw_internal.h"

static int hl_cmp(const void *a, const void *b)
{
	const struct xw_inode *x = a, *y = b;

	if (x->src_dev != y->src_dev)
		return x->src_dev < y->src_dev ? -1 : 1;
	if (x->src_ino != y->src_ino)
		return x->src_ino < y->src_ino ? -1 : 1;
	return 0;
}

static int fill_inode(struct xw_tree *t, struct xw_inode *in,
		      const struct stat *st, const char *path)
{
	in->mode = st->st_mode & (S_IFMT | 07777);
	in->uid = st->st_uid;
	in->gid = st->st_gid;
	xw_tree_time(t, in, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return xw_encode_dev(t, path, major(st->st_rdev),
				     minor(st->st_rdev), &in->rdev);
	return 0;
}

static int walk(struct xw_tree *t, struct xw_inode *dir, int dfd,
		const char *path, const char *rel);

static int add_entry(struct xw_tree *t, struct xw_inode *dir, int dfd,
		     const char *name, const char *path, const char *rel,
		     bool image_dir)
{
	struct stat st;
	struct xw_inode *in;
	size_t len = strlen(name);

	if (xw_excluded(t, rel))
		return 0;
	if (len > XIPFS_NAME_MAX) {
		xw_error("%s: name longer than %d bytes", path, XIPFS_NAME_MAX);
		return -1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		xw_error("%s: %s", path, strerror(errno));
		return -1;
	}
	/* The image being replaced, inside SOURCE: never packed into itself. */
	if (t->opt.have_image_id && S_ISREG(st.st_mode) &&
	    st.st_dev == t->opt.image_dev && st.st_ino == t->opt.image_ino) {
		if (!t->opt.quiet)
			fprintf(stderr, "%s: %s is IMAGE: left out\n", xw_progname, path);
		return 0;
	}
	if (image_dir && S_ISREG(st.st_mode) && !fnmatch(".xipfs-image.??????", name, 0)) {
		if (!t->opt.quiet)
			fprintf(stderr, "%s: %s is the temporary image of an interrupted run: left out\n",
				xw_progname, path);
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		xw_error("%s: unsupported file type 0%o", path, st.st_mode & S_IFMT);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct xw_inode key = { .src_dev = st.st_dev, .src_ino = st.st_ino };
		struct xw_inode **found = tfind(&key, &t->hardlinks, hl_cmp);

		if (found)
			return xw_dir_add(dir, name, len, *found);
	}
	in = xw_inode_new(t, st.st_mode);
	if (!in || fill_inode(t, in, &st, path) || xw_xattr_read_path(t, in, path))
		return -1;
	in->src_dev = st.st_dev;
	in->src_ino = st.st_ino;
	if (S_ISREG(st.st_mode)) {
		in->src = XW_SRC_PATH;
		in->size = st.st_size;
		in->src_mtime = st.st_mtim;
		in->src_path = strdup(path);
		if (!in->src_path) {
			xw_error("out of memory");
			return -1;
		}
	} else if (S_ISLNK(st.st_mode)) {
		size_t cap = (1U << t->opt.page_shift) + 1;
		ssize_t n;

		in->target = malloc(cap);
		if (!in->target) {
			xw_error("out of memory");
			return -1;
		}
		n = readlinkat(dfd, name, in->target, cap);
		if (n < 0) {
			xw_error("%s: %s", path, strerror(errno));
			return -1;
		}
		if ((size_t)n >= cap - 1 || n >= PATH_MAX) {
			xw_error("%s: symlink target longer than %zu bytes",
				 path, cap - 2);
			return -1;
		}
		in->target[n] = 0;
		in->size = n;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
	    !tsearch(in, &t->hardlinks, hl_cmp)) {
		xw_error("out of memory");
		return -1;
	}
	if (xw_dir_add(dir, name, len, in))
		return -1;
	if (S_ISDIR(st.st_mode)) {
		int fd;
		int ret;

		/* Another file system's mount point: kept, empty. */
		if (t->opt.one_file_system && st.st_dev != t->root_dev)
			return 0;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0) {
			xw_error("%s: %s", path, strerror(errno));
			return -1;
		}
		ret = walk(t, in, fd, path, rel);
		close(fd);
		return ret;
	}
	return 0;
}

static int walk(struct xw_tree *t, struct xw_inode *dir, int dfd,
		const char *path, const char *rel)
{
	int fd = dup(dfd);
	DIR *d;
	struct dirent *de;
	struct stat ds;
	bool image_dir = t->opt.have_image_dir && !fstat(dfd, &ds) &&
			 ds.st_dev == t->opt.image_dir_dev && ds.st_ino == t->opt.image_dir_ino;
	int ret = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		xw_error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		char *p, *r;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				xw_error("%s: %s", path, strerror(errno));
				ret = -1;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
			xw_error("out of memory");
			ret = -1;
			break;
		}
		if (asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
			free(p);
			xw_error("out of memory");
			ret = -1;
			break;
		}
		ret = add_entry(t, dir, dfd, de->d_name, p, r, image_dir);
		free(p);
		free(r);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

int xw_tree_add_dir(struct xw_tree *t, const char *dir)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int ret;

	if (fd < 0 || fstat(fd, &st)) {
		int err = errno;

		if (err == ENOTDIR && !stat(dir, &st) && S_ISREG(st.st_mode))
			xw_error("%s: not a directory but a file (a tar archive? add --tar)", dir);
		else
			xw_error("%s: %s", dir, strerror(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	t->root_dev = st.st_dev;
	fill_inode(t, t->root, &st, dir);
	ret = xw_xattr_read_path(t, t->root, dir);
	if (!ret)
		ret = walk(t, t->root, fd, dir, "");
	close(fd);
	if (!ret)
		xw_tree_warn_excludes(t);
	return ret;
}
