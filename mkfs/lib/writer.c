// SPDX-License-Identifier: GPL-2.0
/*
 * Writing an image: number the tree, run the data pass, lay the metadata
 * out behind the superblock, then assemble superblock, metadata, XIP and
 * compressed areas in a temporary file that is renamed over IMAGE only
 * once complete and synced.
 *
 * Metadata order (each item 8-byte aligned, items in inode order):
 * inode table, directory blocks, page maps, symlink targets, extended
 * attributes (shared table, then inode bodies; writer_xattr.c), tail
 * data, cluster table.  The format leaves some choices open; this writer makes
 * them as follows:
 *  - i_data is a byte offset from the start of the image; a TAIL
 *    entry's offset is from s_meta_off ("in the metadata area").
 *  - Inodes are numbered breadth first; an inode is compact when it fits
 *    and the options allow it (not with --free-space: a rw mount stores
 *    64-bit sizes and nanoseconds), else extended and numbered two apart.
 *  - s_max_cluster_shift is that of the largest cluster written, so a
 *    grouped map's COMP entries step through clusters of that size.
 *  - A file without map capacity still has i_data at its (empty) map's
 *    place in the page map section, so that i_data is always valid.
 *  - s_meta_size is the exact metadata length (a multiple of 8); the
 *    zero padding up to the next page is not covered by s_meta_crc.
 *  - Without --free-space, s_free_off is the end of the compressed area
 *    (page-aligned) and s_free_size 0.  The free area is zero-filled.
 *  - With --free-space, each file's page map gets room to grow:
 *    i_map_cap = pages + max(pages / 4, 16), rounded up to 8 entries.
 *  - Grouped maps (-E maps=grouped, and maps=compact, the default without
 *    --free-space): each file gets the group shift G <= 7 (and end run)
 *    that stores the fewest entries its pages allow (every page's entry
 *    is what its group's first entry derives for it), i_map_cap = pages
 *    and ceil(pages / 2^G) entries; no growth room, since a rw mount
 *    rewrites such a map as a per-page one first.  Files without pages
 *    keep G = 0.  INCOMPAT_GROUPED_MAPS is set iff some G > 0.
 *  - Extent maps (maps=compact: where smaller than the per-page or grouped
 *    map, a tie keeping those; maps=extents: every file with pages): the
 *    greedy, shortest extent list, i_map_cap = pages, no growth room.
 *    INCOMPAT_EXTENT_MAPS is set iff some file has one.
 *    For them (writer_data.c) clusters start at multiples of the cluster
 *    size in the file and zero pages are compressed inside their cluster;
 *    only a cluster-sized group without compressed data is holes (not
 *    in a file whose XIP ranges cut such groups: there, as flat maps).
 *  - s_uuid is a 128-bit hash (two CRC-64s) of the whole image with
 *    s_uuid and s_checksum zero, marked as an RFC 9562 version 8 UUID.
 *  - With fragments, shared clusters follow all other clusters (in the
 *    table and in the compressed area); their pieces are in packing
 *    order (writer_data.c); a lone partial last page is a tail only if
 *    its raw bytes cost no more than the page compressed with its zero
 *    padding.  With grouped maps and span, only pieces that are whole
 *    files span two shared clusters.
 *  - With dedupe (the default without --free-space, -E dedupe), a regular
 *    file whose bytes are an earlier file's (dedupe.c) is not read again:
 *    it gets a copy of that file's page map entries (same XIP pages,
 *    clusters, tail data), unless the XIP ranges set up front for it
 *    differ.  RO_COMPAT_SHARED_DATA is set iff some file does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc64.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <mtd/mtd-user.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "xw_xipset.h"

_Static_assert(sizeof(struct xipfs_super_block) == XIPFS_SB_SIZE, "sb");
_Static_assert(sizeof(struct xipfs_inode) == XIPFS_INODE_SIZE, "inode");
_Static_assert(sizeof(struct xipfs_inode_compact) == XIPFS_INODE_SLOT, "compact inode");
_Static_assert(sizeof(struct xipfs_dirent) == XIPFS_DIRENT_SIZE, "dirent");
_Static_assert(sizeof(struct xipfs_dir_header) == XIPFS_DIR_HEADER_SIZE, "dirhdr");

/* The temporary image, for the signal handler to remove. */
static char tmp_image[4096];

static void on_signal(int sig)
{
	if (tmp_image[0])
		unlink(tmp_image);
	signal(sig, SIG_DFL);
	raise(sig);
}

void xw_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * A temporary file in dir (kept, for the image, or unlinked at once, for
 * scratch data); an error names IMAGE, the directory and the reason.
 */
static int tmpfile_in(const char *dir, const char *tag, char *path, size_t cap,
		      bool keep)
{
	int fd;

	if ((size_t)snprintf(path, cap, "%s/.%s.XXXXXX", dir, tag) >= cap) {
		xw_error("%s: temporary file in %s: path too long", xw_image_name, dir);
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		xw_error("%s: cannot create a temporary file in %s: %s", xw_image_name,
			 dir, strerror(errno));
		return -1;
	}
	if (!keep)
		unlink(path);
	return fd;
}

/*
 * Where the image goes, found before the source is read: IMAGE with its
 * symlinks followed; an existing regular file (replaced by a new file
 * renamed over it, keeping owner and mode), a new file, a block or
 * character device (written in place, after every check), or /dev/null
 * (a dry run: everything but the writing).
 */
enum out_kind { OUT_NEW, OUT_FILE, OUT_DEVICE, OUT_NULL };

struct xw_output {
	char *name;		/* IMAGE as given: what messages name */
	char *path;		/* symlinks followed */
	char *dir;		/* path's directory: the temporary image goes there */
	char *scratch;		/* scratch files: $TMPDIR, else dir (or /tmp) */
	enum out_kind kind;
	struct stat st;		/* OUT_FILE, OUT_DEVICE */
	int dev_fd;		/* OUT_DEVICE: open (block devices: O_EXCL) */
	uint64_t dev_size;	/* OUT_DEVICE: bytes, 0 if unknown */
	bool quiet;
};

/* Follow IMAGE's symlinks (the last may dangle: the image is made there). */
static char *follow_links(const char *image)
{
	char *cur = strdup(image);

	for (int hops = 0; cur && hops < 40; hops++) {
		char buf[PATH_MAX], *next;
		ssize_t n = readlink(cur, buf, sizeof(buf) - 1);

		if (n < 0) {
			if (errno == EINVAL || errno == ENOENT)
				return cur;
			xw_error("%s: %s", image, strerror(errno));
			free(cur);
			return NULL;
		}
		buf[n] = 0;
		if (buf[0] == '/' || !strchr(cur, '/')) {
			next = strdup(buf);
		} else {
			int dl = (int)(strrchr(cur, '/') - cur);

			if (asprintf(&next, "%.*s/%s", dl, cur, buf) < 0)
				next = NULL;
		}
		free(cur);
		cur = next;
	}
	if (cur) {
		xw_error("%s: %s", image, strerror(ELOOP));
		free(cur);
	} else {
		xw_error("out of memory");
	}
	return NULL;
}

const char *xw_image_name = "IMAGE";

void xw_output_free(struct xw_output *out)
{
	if (!out)
		return;
	if (out->dev_fd >= 0)
		close(out->dev_fd);
	free(out->name);
	free(out->path);
	free(out->dir);
	free(out->scratch);
	free(out);
}

struct xw_output *xw_output_open(const char *image, bool quiet)
{
	struct xw_output *out = calloc(1, sizeof(*out));
	const char *tmpdir = getenv("TMPDIR");
	struct stat dst;
	char *dup;

	if (!out) {
		xw_error("out of memory");
		return NULL;
	}
	out->dev_fd = -1;
	out->quiet = quiet;
	out->name = strdup(image);
	if (!out->name)
		goto oom;
	xw_image_name = out->name;
	out->path = follow_links(image);
	if (!out->path)
		goto fail;
	dup = strdup(out->path);
	if (!dup)
		goto oom;
	out->dir = strdup(dirname(dup));
	free(dup);
	if (!out->dir)
		goto oom;
	if (!stat(out->path, &out->st)) {
		if (S_ISREG(out->st.st_mode)) {
			out->kind = OUT_FILE;
		} else if (S_ISCHR(out->st.st_mode) && out->st.st_rdev == makedev(1, 3)) {
			out->kind = OUT_NULL;
		} else if (S_ISBLK(out->st.st_mode) || S_ISCHR(out->st.st_mode)) {
			out->kind = OUT_DEVICE;
		} else {
			xw_error("%s: %s, not a file or a device", image,
				 S_ISDIR(out->st.st_mode) ? "a directory" :
				 S_ISFIFO(out->st.st_mode) ? "a FIFO" :
				 S_ISSOCK(out->st.st_mode) ? "a socket" : "of another type");
			goto fail;
		}
	} else if (errno != ENOENT) {
		xw_error("%s: %s", image, strerror(errno));
		goto fail;
	} else {
		out->kind = OUT_NEW;
	}
	if (out->kind == OUT_DEVICE) {
		/*
		 * Opened now, so that a busy (mounted) or read-only device is
		 * refused before the source is read; nothing is written
		 * before the whole image is laid out and known to fit.
		 */
		out->dev_fd = open(out->path, O_WRONLY | O_CLOEXEC |
				   (S_ISBLK(out->st.st_mode) ? O_EXCL : 0));
		if (out->dev_fd < 0) {
			xw_error("%s: %s%s", image, strerror(errno),
				 errno == EBUSY ? " (mounted, or in use?)" : "");
			goto fail;
		}
		if (S_ISBLK(out->st.st_mode)) {
			uint64_t sz;

			if (ioctl(out->dev_fd, BLKGETSIZE64, &sz)) {
				xw_error("%s: cannot get the device size: %s", image,
					 strerror(errno));
				goto fail;
			}
			out->dev_size = sz;
		} else {
			struct mtd_info_user mi;

			/* An MTD character device knows its size; others not. */
			if (!ioctl(out->dev_fd, MEMGETINFO, &mi))
				out->dev_size = mi.size;
		}
	} else if (out->kind != OUT_NULL) {
		if (stat(out->dir, &dst)) {
			xw_error("%s: directory %s: %s", image, out->dir, strerror(errno));
			goto fail;
		}
		if (!S_ISDIR(dst.st_mode)) {
			xw_error("%s: %s: %s", image, out->dir, strerror(ENOTDIR));
			goto fail;
		}
		if (access(out->dir, W_OK | X_OK)) {
			xw_error("%s: cannot create files in %s: %s", image, out->dir,
				 strerror(errno));
			goto fail;
		}
	}
	if (tmpdir && *tmpdir)
		out->scratch = strdup(tmpdir);
	else
		out->scratch = strdup(out->kind == OUT_FILE || out->kind == OUT_NEW ?
				      out->dir : "/tmp");
	if (!out->scratch)
		goto oom;
	return out;
oom:
	xw_error("out of memory");
fail:
	xw_output_free(out);
	xw_image_name = "IMAGE";
	return NULL;
}

bool xw_output_file_id(const struct xw_output *out, dev_t *dev, ino_t *ino)
{
	if (out->kind != OUT_FILE)
		return false;
	*dev = out->st.st_dev;
	*ino = out->st.st_ino;
	return true;
}

bool xw_output_dir_id(const struct xw_output *out, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if ((out->kind != OUT_FILE && out->kind != OUT_NEW) || stat(out->dir, &st))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

const char *xw_output_scratch_dir(const struct xw_output *out)
{
	return out->scratch;
}

bool xw_output_dry(const struct xw_output *out)
{
	return out->kind == OUT_NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Does every page p in [from, to) of @in have the entry that @e derives
 * for page p - base?  (p - base < 2^7: within a group or an end run.)
 */
static bool derives(const struct xw_inode *in, uint64_t e, uint64_t base,
		    uint64_t from, uint64_t to, unsigned int cshift)
{
	for (uint64_t p = from; p < to; p++)
		if (in->map[p] != xipfs_pte_in_group(e, (unsigned int)(p - base), cshift))
			return false;
	return true;
}

/*
 * The group shift (and end run) that stores the fewest entries, such that
 * every page's entry is the one its group's first entry, or the end run's,
 * derives for it.  Decided on the entries before relocation: that adds
 * one constant to every XIP page number (and TAIL offset), which keeps the
 * rule.  Sets in->map_shift, end_run and run_start.
 */
static void pick_map_shift(struct xw_inode *in, unsigned int cshift)
{
	uint64_t best = in->npages;	/* G = 0: one entry per page */

	in->map_shift = 0;
	in->end_run = false;
	for (unsigned int g = 1; g <= XIPFS_MAP_MAX_SHIFT; g++) {
		uint64_t mask = (1ULL << g) - 1, ngroups = (in->npages + mask) >> g;
		uint64_t p, last = (ngroups - 1) << g;

		/* The first page whose group entry does not derive it. */
		for (p = 0; p < in->npages; p++)
			if (!derives(in, in->map[p & ~mask], p & ~mask, p, p + 1, cshift))
				break;
		if (p == in->npages) {
			if (ngroups <= best) {
				best = ngroups;
				in->map_shift = g;
				in->end_run = false;
			}
			continue;
		}
		/* An end run from p on, inside the last group. */
		if (p >= last && derives(in, in->map[p], p, p, in->npages, cshift) &&
		    ngroups + 2 < best) {
			best = ngroups + 2;
			in->map_shift = g;
			in->end_run = true;
			in->run_start = p;
		}
	}
}

/*
 * The extents of @in's smallest extent map, greedily: an extent goes on
 * while its entry derives each next page's, and since an extent starting
 * inside another derives what that one does from there on, no list is
 * shorter.  Counts them; with @x, also stores them (entries relocated,
 * which keeps every derivation: see pick_map_shift()).
 */
static uint64_t map_extents(const struct xw_inode *in, unsigned int cshift,
			    struct xipfs_map_extent *x, uint64_t (*reloc)(const void *, uint64_t),
			    const void *arg)
{
	uint64_t n = 0, first = 0;

	for (uint64_t p = 0; p < in->npages; p++) {
		/* npages <= UINT32_MAX: the distance fits. */
		if (p && in->map[p] == xipfs_pte_in_group(in->map[first],
							  (unsigned int)(p - first), cshift))
			continue;
		if (x) {
			x[n].x_page = htole64(p);
			x[n].x_entry = htole64(reloc(arg, in->map[p]));
		}
		first = p;
		n++;
	}
	return n;
}

static uint32_t map_cap(const struct xw_options *o, const struct xw_inode *in)
{
	uint64_t cap = in->npages, pages = in->npages;

	/* A rw mount rewrites these as per-page maps before any change. */
	if (in->map_shift || in->extent_map)
		return cap;
	if (o->free_space) {
		cap += pages / 4 > 16 ? pages / 4 : 16;
		cap = round_up(cap, 8);
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
	}
	return cap;
}

static size_t dir_bytes(const struct xw_inode *dir)
{
	size_t n = XIPFS_DIR_HEADER_SIZE + dir->nkids * XIPFS_DIRENT_SIZE;

	for (size_t i = 0; i < dir->nkids; i++)
		n += dir->kids[i].len;
	return n;
}

/* Does @in fit a compact inode (struct xipfs_inode_compact)? */
static bool fits_compact(const struct xw_inode *in)
{
	uint64_t size = S_ISDIR(in->mode) ? dir_bytes(in) : in->size;

	return in->nlink <= UINT16_MAX && in->uid <= UINT16_MAX &&
	       in->gid <= UINT16_MAX && size <= UINT32_MAX &&
	       in->mtime >= 0 && in->mtime <= UINT32_MAX && !in->mtime_nsec;
}

/* Inode numbers are table slots: an extended inode takes two. */
static int number_slots(struct xw_tree *t, const struct xw_options *o)
{
	uint64_t slot = XIPFS_ROOT_INO;

	for (uint32_t i = XIPFS_ROOT_INO; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		/* Only an extended inode has i_xattr. */
		in->extended = !xw_compact_inodes(o) || !fits_compact(in) || in->nxattrs;
		in->ino = slot;
		slot += in->extended ? 2 : 1;
		if (slot > UINT32_MAX) {
			xw_error("too many inodes (%llu inode table slots)",
				 (unsigned long long)slot);
			return -1;
		}
	}
	t->nslots = slot;
	return 0;
}

static unsigned int dtype(mode_t m)
{
	return IFTODT(m);
}

static int copy_area(int from, int to, uint64_t len, uint64_t dst_off,
		     const char *what)
{
	loff_t in_off = 0, out_off = dst_off;
	static char buf[1 << 20];

	while (len) {
		ssize_t n = copy_file_range(from, &in_off, to, &out_off, len, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP))
			break;
		if (n <= 0) {
			xw_error("%s: writing %s: %s", xw_image_name, what,
				 n < 0 ? strerror(errno) : "short copy");
			return -1;
		}
		len -= n;
	}
	while (len) {
		size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = pread(from, buf, chunk, in_off);

		if (n <= 0) {
			xw_error("%s: reading %s back from a temporary file: %s",
				 xw_image_name, what, n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		if (xw_pwrite_full(to, what, buf, n, out_off))
			return -1;
		in_off += n;
		out_off += n;
		len -= n;
	}
	return 0;
}

static void print_ranges(const struct xw_inode *in, uint64_t type)
{
	uint64_t pg = 0;
	const char *sep = "";

	while (pg < in->npages) {
		uint64_t end;

		if (XIPFS_PTE_TYPE(in->map[pg]) != type) {
			pg++;
			continue;
		}
		for (end = pg; end + 1 < in->npages &&
		     XIPFS_PTE_TYPE(in->map[end + 1]) == type; end++)
			;
		if (end == pg)
			printf("%s%llu", sep, (unsigned long long)pg);
		else
			printf("%s%llu-%llu", sep, (unsigned long long)pg,
			       (unsigned long long)end);
		sep = ",";
		pg = end + 1;
	}
}

struct layout {
	uint64_t page, meta_off, meta_size, inode_off, tails_off, cl_off;
	uint64_t csum_off, csum_size;	/* data checksum table; 0 without */
	uint64_t xip_off, comp_off, free_off, free_size, image_size;
	unsigned int cluster_shift;	/* s_max_cluster_shift */
	/* The compact cluster table: written, its ct_alg, exceptions, bytes */
	bool ct;
	unsigned int ct_alg;
	uint64_t ct_exc, ct_size;
	bool grouped;			/* some file's map has G > 0 */
	bool extents;			/* some file has an extent map */
	bool compact;			/* some inode is compact */
};

/*
 * Bytes of a file's map: the count and the extents of an extent map, else
 * one entry per group of 2^G pages (and an end run's two words).
 */
static uint64_t map_bytes(const struct xw_options *o, const struct xw_inode *in)
{
	if (in->extent_map)
		return xipfs_extent_map_size(in->nextents);
	return ((((uint64_t)map_cap(o, in) + (1ULL << in->map_shift) - 1) >> in->map_shift) +
		(in->map_shift && in->end_run ? 2 : 0)) * 8;
}

/* A data pass entry as stored: XIP page numbers and TAIL offsets placed. */
static uint64_t relocate(const struct layout *L, const struct xw_options *o, uint64_t e)
{
	if (XIPFS_PTE_TYPE(e) == XIPFS_PTE_TYPE_XIP)
		return XIPFS_PTE_XIP((e & XIPFS_PTE_XIP_MASK) + (L->xip_off >> o->page_shift));
	if (XIPFS_PTE_TYPE(e) == XIPFS_PTE_TYPE_TAIL)
		return XIPFS_PTE_TAIL((e & XIPFS_PTE_TAIL_MASK) + L->tails_off - L->meta_off);
	return e;
}

struct reloc_arg {
	const struct layout *L;
	const struct xw_options *o;
};

static uint64_t relocate_cb(const void *arg, uint64_t e)
{
	const struct reloc_arg *a = arg;

	return relocate(a->L, a->o, e);
}

/*
 * An extent map instead of the per-page or grouped map pick_map_shift()
 * chose, for every file with pages (maps=extents) or where it is smaller
 * (a tie keeps the form older kernels read).
 */
static void pick_extent_map(const struct xw_options *o, struct xw_inode *in,
			    unsigned int cshift)
{
	uint64_t n = map_extents(in, cshift, NULL, NULL, NULL);

	if (o->maps != XW_MAPS_EXTENTS && xipfs_extent_map_size(n) >= map_bytes(o, in))
		return;
	in->extent_map = true;
	in->nextents = n;
	in->map_shift = 0;
	in->end_run = false;
}

/* A cluster's compressed length: up to the next one's data, or the end. */
static uint64_t cl_clen(const struct xw_data *d, uint64_t i)
{
	return (i + 1 < d->ncl ? d->cl[i + 1].off : d->comp_size) - d->cl[i].off;
}

/*
 * Is cluster i regular in a compact table of ct_alg (no exception word):
 * full, of one file, and compressed with ct_alg, or stored (its length
 * then a full cluster's, which is what tells readers it is stored).
 */
static bool ct_regular(const struct xw_data *d, const struct layout *L, unsigned int page_shift,
		       uint64_t i)
{
	const struct xw_cluster *c = &d->cl[i];
	uint64_t full = 1ULL << L->cluster_shift;

	if (c->shared || c->ulen != full || ((uint64_t)c->pages << page_shift) != full)
		return false;
	if (cl_clen(d, i) == full)
		return c->alg == XIPFS_COMP_NONE;
	return c->alg == L->ct_alg;
}

/*
 * The compact table's plan: ct_alg is the algorithm of most of the
 * clusters that could be regular (the image's one compressing algorithm,
 * but for mixed images), the others are exceptions.
 */
static void ct_plan(const struct xw_data *d, const struct xw_options *o, struct layout *L)
{
	uint64_t count[XIPFS_COMP_MAX] = { 0 }, full = 1ULL << L->cluster_shift;

	L->ct = o->cltable != XW_CLTABLE_FULL && d->ncl;
	L->ct_alg = XIPFS_COMP_NONE;
	L->ct_exc = 0;
	if (!L->ct)
		return;
	for (uint64_t i = 0; i < d->ncl; i++) {
		const struct xw_cluster *c = &d->cl[i];

		if (!c->shared && c->ulen == full && ((uint64_t)c->pages << o->page_shift) == full &&
		    c->alg != XIPFS_COMP_NONE && c->alg < XIPFS_COMP_MAX && cl_clen(d, i) < full)
			count[c->alg]++;
	}
	for (unsigned int a = 1; a < XIPFS_COMP_MAX; a++)
		if (count[a] > count[L->ct_alg])
			L->ct_alg = a;
	for (uint64_t i = 0; i < d->ncl; i++)
		L->ct_exc += !ct_regular(d, L, o->page_shift, i);
	/*
	 * Many small files without fragments make most clusters exceptions,
	 * 8 + W bytes each: then the 8-byte table is smaller, and older
	 * kernels read it (a tie keeps it too).
	 */
	if (o->cltable == XW_CLTABLE_AUTO &&
	    xipfs_ct_size(d->ncl, L->ct_exc, L->cluster_shift) >= (d->ncl + 1) * XIPFS_CLUSTER_SIZE) {
		L->ct = false;
		L->ct_exc = 0;
		L->ct_alg = XIPFS_COMP_NONE;
		return;
	}
	L->ct_size = xipfs_ct_size(d->ncl, L->ct_exc, L->cluster_shift);
}

/* Write the compact table at t (L->ct_size bytes, zeroed). */
static int ct_emit(const struct xw_data *d, const struct xw_options *o, const struct layout *L,
		   unsigned char *t)
{
	unsigned int w = XIPFS_CT_LEN_BYTES(L->cluster_shift);
	uint64_t ngroups = (d->ncl + (1U << XIPFS_CT_GROUP_SHIFT) - 1) >> XIPFS_CT_GROUP_SHIFT;
	unsigned char *base = t + XIPFS_CT_HEADER_SIZE, *exc = base + ngroups * 8;
	unsigned char *len = exc + L->ct_exc * 8;
	uint32_t e32 = htole32((uint32_t)L->ct_exc);
	uint64_t v;

	memcpy(t + offsetof(struct xipfs_cluster_table, ct_exceptions), &e32, 4);
	t[offsetof(struct xipfs_cluster_table, ct_alg)] = (unsigned char)L->ct_alg;
	for (uint64_t j = 0; j < ngroups; j++) {
		v = htole64(d->cl[j << XIPFS_CT_GROUP_SHIFT].off);
		memcpy(base + j * 8, &v, 8);
	}
	for (uint64_t i = 0; i < d->ncl; i++) {
		uint64_t clen = cl_clen(d, i);

		/* Never more than its ulen, itself at most a full cluster. */
		if (!clen || (clen - 1) >> (8 * w)) {
			xw_error("cluster %llu: compressed length %llu does not fit the compact cluster table",
				 (unsigned long long)i, (unsigned long long)clen);
			return -1;
		}
		for (unsigned int b = 0; b < w; b++)
			len[i * w + b] = (unsigned char)((clen - 1) >> (8 * b));
		if (ct_regular(d, L, o->page_shift, i))
			continue;
		v = htole64(i | (XIPFS_CL_DESC(0, d->cl[i].pages, d->cl[i].ulen, o->page_shift,
					       d->cl[i].alg, d->cl[i].shared) & XIPFS_CL_DESC_MASK));
		memcpy(exc, &v, 8);
		exc += 8;
	}
	return 0;
}

static int build_meta(struct xw_tree *t, const struct xw_options *o,
		      struct xw_data *d, struct layout *L, unsigned char **out,
		      struct xw_stats *st)
{
	uint64_t pos;
	unsigned char *m;

	L->page = 1ULL << o->page_shift;
	L->meta_off = XIPFS_SB_SIZE;
	L->inode_off = L->meta_off;
	L->cluster_shift = 0;
	if (d->ncl) {
		L->cluster_shift = o->page_shift;
		for (uint64_t i = 0; i < d->ncl; i++)
			while (((uint64_t)d->cl[i].pages << o->page_shift) > (1ULL << L->cluster_shift))
				L->cluster_shift++;
	}
	pos = L->inode_off + (uint64_t)t->nslots * XIPFS_INODE_SLOT;
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (S_ISDIR(in->mode)) {
			in->data_off = pos;
			in->size = dir_bytes(in);
			pos = round_up(pos + in->size, 8);
		}
	}
	L->grouped = false;
	L->extents = false;
	L->compact = false;
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];
		unsigned int cshift = d->ncl ? L->cluster_shift - o->page_shift : 0;

		if (!S_ISREG(in->mode))
			continue;
		in->map_shift = 0;
		in->end_run = false;
		in->extent_map = false;
		if (xw_grouped_maps(o) && in->npages)
			pick_map_shift(in, cshift);
		if (xw_extent_maps(o) && in->npages)
			pick_extent_map(o, in, cshift);
		L->grouped |= in->map_shift > 0;
		L->extents |= in->extent_map;
		in->data_off = pos;
		pos += map_bytes(o, in);
	}
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (S_ISLNK(in->mode)) {
			in->data_off = pos;
			pos = round_up(pos + in->size, 8);
		}
	}
	pos = round_up(xw_xattr_layout(t, pos), 8);
	L->tails_off = pos;
	pos += d->tails_len;
	L->cl_off = pos;
	ct_plan(d, o, L);
	if (L->ct)
		pos = round_up(pos + L->ct_size, 8);
	else
		pos += (d->ncl + 1) * XIPFS_CLUSTER_SIZE;	/* and the sentinel */
	L->csum_off = L->csum_size = 0;
	if (o->checksums) {
		L->csum_off = pos;
		L->csum_size = (d->ncl + d->xip_pages) * XIPFS_CSUM_SIZE;
		pos = round_up(pos + L->csum_size, 8);
	}
	L->meta_size = pos - L->meta_off;
	L->xip_off = round_up(pos, L->page);
	L->comp_off = L->xip_off + (d->xip_pages << o->page_shift);
	/* Without XIP pages and free space, no page boundary is needed. */
	if (!d->xip_pages && !o->free_space)
		L->comp_off = pos;
	L->free_off = round_up(L->comp_off + d->comp_size, L->page);
	L->free_size = round_up(o->free_space, L->page);
	L->image_size = L->free_off + L->free_size;

	m = calloc(1, L->meta_size);
	if (!m) {
		xw_error("out of memory (metadata of %llu bytes)",
			 (unsigned long long)L->meta_size);
		return -1;
	}
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];
		void *slot = m + L->inode_off - L->meta_off + (uint64_t)in->ino * XIPFS_INODE_SLOT;
		/* Only inodes with data have a meaningful data_off. */
		unsigned char *data = S_ISREG(in->mode) || S_ISDIR(in->mode) ||
				      S_ISLNK(in->mode) ? m + (in->data_off - L->meta_off) : NULL;
		uint64_t i_data = in->data_off;
		uint32_t cap = 0;
		uint16_t flags = 0;

		if (S_ISREG(in->mode)) {
			i_data |= in->map_shift;
			cap = map_cap(o, in);
			if (in->map_shift && in->end_run)
				flags |= XIPFS_INODE_END_RUN;
			if (in->extent_map)
				flags |= XIPFS_INODE_EXTENT_MAP;
		}
		if (in->extended) {
			struct xipfs_inode *di = slot;

			di->i_mode = htole16(in->mode);
			di->i_flags = htole16(XIPFS_INODE_EXTENDED | flags);
			di->i_nlink = htole32(in->nlink);
			di->i_uid = htole32(in->uid);
			di->i_gid = htole32(in->gid);
			di->i_size = htole64(in->size);
			di->i_mtime = htole64((uint64_t)in->mtime);
			di->i_mtime_nsec = htole32(in->mtime_nsec);
			di->i_rdev = htole32(in->rdev);
			di->i_data = htole64(i_data);
			di->i_map_cap = htole32(cap);
			di->i_xattr = htole64(in->xattr_off);
		} else {
			struct xipfs_inode_compact *di = slot;

			di->i_mode = htole16(in->mode);
			di->i_flags = htole16(flags);
			di->i_nlink = htole16(in->nlink);
			di->i_uid = htole16(in->uid);
			di->i_gid = htole16(in->gid);
			di->i_mtime = htole32((uint32_t)in->mtime);
			di->i_size = htole32(in->size);
			di->i_map_cap = htole32(S_ISCHR(in->mode) || S_ISBLK(in->mode) ?
						in->rdev : cap);
			di->i_data = htole64(i_data);
			st->compact_inodes++;
			L->compact = true;
		}
		if (S_ISREG(in->mode)) {
			uint64_t *map = (uint64_t *)data;
			uint64_t n[4] = { 0 };
			unsigned int g = in->map_shift;

			st->files++;
			st->data_pages += in->npages;
			st->map_bytes += map_bytes(o, in);
			st->grouped_files += g > 0;
			st->extent_files += in->extent_map;
			for (uint64_t p = 0; p < in->npages; p++) {
				n[XIPFS_PTE_TYPE(in->map[p])]++;
				/* A grouped map stores its groups' first entries. */
				if (!in->extent_map && !(p & ((1ULL << g) - 1)))
					map[p >> g] = htole64(relocate(L, o, in->map[p]));
			}
			if (in->extent_map) {
				struct reloc_arg ra = { L, o };

				map[0] = htole64(in->nextents);
				map_extents(in, d->ncl ? L->cluster_shift - o->page_shift : 0,
					    (struct xipfs_map_extent *)(map + 1), relocate_cb, &ra);
				st->extents += in->nextents;
			}
			if (g && in->end_run) {
				uint64_t ng = (in->npages + (1ULL << g) - 1) >> g;

				map[ng] = htole64(in->run_start);
				map[ng + 1] = htole64(relocate(L, o, in->map[in->run_start]));
			}
			st->hole_pages += n[XIPFS_PTE_TYPE_HOLE];
			st->xip_pages += n[XIPFS_PTE_TYPE_XIP];
			st->comp_pages += n[XIPFS_PTE_TYPE_COMP];
			st->tail_pages += n[XIPFS_PTE_TYPE_TAIL];
			if (in->nlink > 1)
				st->hardlinks++;
			if (o->verbose) {
				printf("%s: %llu pages, %llu xip, %llu comp, %llu hole, %llu tail",
				       in->path, (unsigned long long)in->npages,
				       (unsigned long long)n[1], (unsigned long long)n[2],
				       (unsigned long long)n[0], (unsigned long long)n[3]);
				if (g)
					printf(", map 1 entry per %u pages", 1U << g);
				if (g && in->end_run)
					printf(" (end run from page %llu)",
					       (unsigned long long)in->run_start);
				if (in->extent_map)
					printf(", extent map of %llu extent%s",
					       (unsigned long long)in->nextents,
					       in->nextents == 1 ? "" : "s");
				if (n[1]) {
					printf(", xip pages ");
					print_ranges(in, XIPFS_PTE_TYPE_XIP);
				}
				putchar('\n');
			}
		} else if (S_ISDIR(in->mode)) {
			struct xipfs_dir_header *h = (void *)data;
			struct xipfs_dirent *de = (void *)(h + 1);
			uint32_t name_off = XIPFS_DIR_HEADER_SIZE +
					    in->nkids * XIPFS_DIRENT_SIZE;

			st->dirs++;
			h->d_count = htole32(in->nkids);
			h->d_parent = htole32(in->parent->ino);
			for (size_t k = 0; k < in->nkids; k++) {
				de[k].d_ino = htole32(in->kids[k].inode->ino);
				de[k].d_name_off = htole32(name_off);
				de[k].d_name_len = in->kids[k].len;
				de[k].d_type = dtype(in->kids[k].inode->mode);
				memcpy(data + name_off, in->kids[k].name, in->kids[k].len);
				name_off += in->kids[k].len;
			}
		} else if (S_ISLNK(in->mode)) {
			st->symlinks++;
			memcpy(data, in->target, in->size);
		} else {
			st->specials++;
		}
	}
	xw_xattr_emit(t, m, L->meta_off);
	for (uint32_t i = 1; i < t->ninodes; i++) {
		const struct xw_inode *in = t->inodes[i];

		st->xattr_inodes += in->nxattrs > 0;
		st->xattrs += in->nxattrs;
		for (size_t k = 0; k < in->nxattrs; k++)
			st->xattr_bytes += in->xattrs[k].value_len;
	}
	st->xattr_shared = t->nxshared;
	if (d->tails_len)
		memcpy(m + L->tails_off - L->meta_off, d->tails, d->tails_len);
	if (L->ct) {
		if (ct_emit(d, o, L, m + L->cl_off - L->meta_off)) {
			free(m);
			return -1;
		}
	} else if (d->ncl) {
		uint64_t *cl = (uint64_t *)(m + L->cl_off - L->meta_off);

		for (uint64_t i = 0; i < d->ncl; i++)
			cl[i] = htole64(XIPFS_CL_DESC(d->cl[i].off, d->cl[i].pages,
						      d->cl[i].ulen, o->page_shift,
						      d->cl[i].alg, d->cl[i].shared));
		cl[d->ncl] = htole64(d->comp_size);	/* the sentinel: end of the data */
	}
	*out = m;
	return 0;
}

static void fill_sb(struct xipfs_super_block *sb, const struct xw_tree *t,
		    const struct xw_options *o, const struct xw_data *d,
		    const struct layout *L, const unsigned char *meta)
{
	uint64_t h[2];
	uint32_t incompat = 0, ro_compat = 0;

	memset(sb, 0, sizeof(*sb));
	sb->s_magic = htole32(XIPFS_MAGIC);
	sb->s_version = htole16(XIPFS_VERSION);
	sb->s_page_shift = o->page_shift;
	sb->s_state = htole16(XIPFS_STATE_CLEAN);
	sb->s_comp_algs = htole16(d->comp_algs);
	if (d->ncl) {
		sb->s_max_cluster_shift = L->cluster_shift;
		incompat |= XIPFS_FEATURE_INCOMPAT_CLUSTERS;
	}
	if (d->tails_len)
		incompat |= XIPFS_FEATURE_INCOMPAT_TAIL;
	if (d->shared_clusters)
		incompat |= XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS;
	if (L->grouped)
		incompat |= XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS;
	if (L->extents)
		incompat |= XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS;
	if (L->compact)
		incompat |= XIPFS_FEATURE_INCOMPAT_COMPACT_INODES;
	if (L->ct)
		incompat |= XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS;
	sb->s_feature_incompat = htole32(incompat);
	if (o->free_space)
		sb->s_feature_compat = htole32(XIPFS_FEATURE_COMPAT_FREE_SPACE);
	for (uint32_t i = 1; i < t->ninodes; i++)
		if (t->inodes[i]->nxattrs) {
			sb->s_feature_compat |= htole32(XIPFS_FEATURE_COMPAT_XATTRS);
			break;
		}
	if (t->nxshared) {
		sb->s_xattr_off = htole64(t->xshared_off);
		sb->s_xattr_size = htole32(t->xshared_size);
		sb->s_xattr_count = htole32(t->nxshared);
	}
	if (d->dedup_files)
		ro_compat |= XIPFS_FEATURE_RO_COMPAT_SHARED_DATA;
	if (o->checksums) {
		ro_compat |= XIPFS_FEATURE_RO_COMPAT_DATA_CSUM;
		sb->s_csum_off = htole64(L->csum_off);
		sb->s_csum_size = htole64(L->csum_size);
	}
	sb->s_feature_ro_compat = htole32(ro_compat);
	sb->s_root_ino = htole32(XIPFS_ROOT_INO);
	sb->s_image_size = htole64(L->image_size);
	sb->s_build_time = htole64((uint64_t)o->build_time);
	sb->s_build_time_nsec = htole32(o->build_time_nsec);
	sb->s_inode_count = htole32(t->nslots);
	sb->s_inode_off = htole64(L->inode_off);
	sb->s_meta_off = htole64(L->meta_off);
	sb->s_meta_size = htole64(L->meta_size);
	sb->s_meta_crc = htole32(xipfs_crc32c(meta, L->meta_size));
	sb->s_cluster_off = htole64(L->cl_off);
	sb->s_cluster_count = htole64(d->ncl);
	sb->s_xip_off = htole64(L->xip_off);
	sb->s_xip_size = htole64(d->xip_pages << o->page_shift);
	sb->s_comp_off = htole64(L->comp_off);
	sb->s_comp_size = htole64(d->comp_size);
	sb->s_free_off = htole64(L->free_off);
	sb->s_free_size = htole64(L->free_size);
	memcpy(sb->s_volume_name, o->label, strnlen(o->label, sizeof(sb->s_volume_name)));

	/* The uuid: a hash of everything else in the image. */
	h[0] = crc64_ecma_refl(0, (void *)sb, sizeof(*sb));
	h[1] = crc64_iso_refl(0, (void *)sb, sizeof(*sb));
	h[0] = crc64_ecma_refl(h[0], meta, L->meta_size);
	h[1] = crc64_iso_refl(h[1], meta, L->meta_size);
	h[0] = crc64_ecma_refl(h[0], (void *)d->crc_xip, sizeof(d->crc_xip));
	h[1] = crc64_iso_refl(h[1], (void *)d->crc_xip, sizeof(d->crc_xip));
	h[0] = crc64_ecma_refl(h[0], (void *)d->crc_comp, sizeof(d->crc_comp));
	h[1] = crc64_iso_refl(h[1], (void *)d->crc_comp, sizeof(d->crc_comp));
	h[0] = htole64(h[0]);
	h[1] = htole64(h[1]);
	memcpy(sb->s_uuid, h, 16);
	sb->s_uuid[6] = (sb->s_uuid[6] & 0x0f) | 0x80;
	sb->s_uuid[8] = (sb->s_uuid[8] & 0x3f) | 0x80;
	/* s_state is left out: a mount changes it with one 2-byte store. */
	{
		struct xipfs_super_block tmp = *sb;

		tmp.s_state = 0;
		sb->s_checksum = htole32(xipfs_crc32c(&tmp, sizeof(tmp)));
	}
}

/*
 * The size the image must fit in: --size, --flash-size, the device's.
 * 0 if none; *what says which.
 */
static uint64_t size_limit(const struct xw_options *o, const struct xw_output *out,
			   const char **what)
{
	uint64_t lim = 0;

	*what = "";
	if (o->size_limit) {
		lim = o->size_limit;
		*what = "--size";
	}
	if (o->flash_size && (!lim || o->flash_size < lim)) {
		lim = o->flash_size;
		*what = "--flash-size";
	}
	if (out->kind == OUT_DEVICE && out->dev_size && (!lim || out->dev_size < lim)) {
		lim = out->dev_size;
		*what = "the device";
	}
	return lim;
}

/* Give the new image the old one's owner and mode (a new file: umask's). */
static int keep_owner_mode(int fd, const struct xw_output *out)
{
	mode_t mode;

	if (out->kind == OUT_FILE) {
		if ((out->st.st_uid != geteuid() || out->st.st_gid != getegid()) &&
		    fchown(fd, out->st.st_uid, out->st.st_gid))
			xw_warn("%s: cannot keep its owner %u:%u (%s): the new image is owned by %u:%u",
				out->name, (unsigned int)out->st.st_uid,
				(unsigned int)out->st.st_gid, strerror(errno),
				(unsigned int)geteuid(), (unsigned int)getegid());
		if (out->st.st_nlink > 1)
			xw_warn("%s: %llu hard links: only this name gets the new image",
				out->name, (unsigned long long)out->st.st_nlink);
		mode = out->st.st_mode & 07777;
	} else {
		/* mkstemp made it 0600; give it the mode a plain create would. */
		mode_t um = umask(0);

		umask(um);
		mode = 0666 & ~um;
	}
	if (fchmod(fd, mode)) {
		xw_error("%s: %s", out->name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The data checksum table: CRC-32C of each cluster's compressed bytes and
 * of each XIP page, read back from the data pass's temporary files.
 */
static int pread_all(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xw_error("%s: reading %s back from a temporary file: %s",
				 xw_image_name, what, n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int fill_csums(const struct xw_data *d, const struct layout *L, unsigned char *meta)
{
	uint32_t *t = (uint32_t *)(meta + (L->csum_off - L->meta_off));
	uint64_t ps = L->page;
	unsigned char *buf;
	int ret = -1;

	buf = malloc(XIPFS_MAX_CLUSTER_CLEN > ps ? XIPFS_MAX_CLUSTER_CLEN : ps);
	if (!buf) {
		xw_error("out of memory");
		return -1;
	}
	for (uint64_t i = 0; i < d->ncl; i++) {
		uint64_t end = i + 1 < d->ncl ? d->cl[i + 1].off : d->comp_size;
		size_t len = end - d->cl[i].off;

		if (pread_all(d->comp_fd, buf, len, d->cl[i].off, "compressed data"))
			goto out;
		t[i] = htole32(xipfs_crc32c(buf, len));
	}
	for (uint64_t k = 0; k < d->xip_pages; k++) {
		if (pread_all(d->xip_fd, buf, ps, k * ps, "XIP pages"))
			goto out;
		t[d->ncl + k] = htole32(xipfs_crc32c(buf, ps));
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

static int assemble(struct xw_tree *t, const struct xw_options *o,
		    struct xw_data *d, struct xw_output *out, struct xw_stats *st)
{
	struct layout L;
	unsigned char *meta = NULL;
	struct xipfs_super_block sb;
	bool device = out->kind == OUT_DEVICE;
	const char *limit_what;
	uint64_t limit = size_limit(o, out, &limit_what);
	int fd = -1, ret = -1;

	if (build_meta(t, o, d, &L, &meta, st))
		return -1;
	/* Every size limit is checked on the layout, before anything is written. */
	if (limit && L.image_size > limit) {
		xw_error("%s: the image would be %llu bytes, more than the %llu bytes of %s%s",
			 out->name, (unsigned long long)L.image_size,
			 (unsigned long long)limit, limit_what,
			 device ? "; nothing was written" : "");
		free(meta);
		return -1;
	}
	if (o->checksums && fill_csums(d, &L, meta)) {
		free(meta);
		return -1;
	}
	fill_sb(&sb, t, o, d, &L, meta);
	st->meta_size = L.meta_size;
	st->csum_bytes = L.csum_size;
	st->image_size = L.image_size;
	st->clusters = d->ncl;
	st->ct_compact = L.ct;
	st->ct_exceptions = L.ct ? L.ct_exc : 0;
	st->cltable_bytes = L.ct ? L.ct_size : (d->ncl + 1) * XIPFS_CLUSTER_SIZE;
	st->stored_clusters = d->stored_clusters;
	st->shared_clusters = d->shared_clusters;
	st->frag_pieces = d->npieces;
	st->frag_dups = d->frag_dups;
	st->frag_pages = d->frag_pages;
	st->dedup_files = d->dedup_files;
	st->dedup_bytes = d->dedup_bytes;
	st->comp_in = d->comp_in;
	st->comp_out = d->comp_out;
	st->inodes = t->ninodes - 1;

	if (out->kind == OUT_NULL) {
		/* The dry run: everything checked, nothing written. */
		ret = 0;
		goto out;
	}
	if (device) {
		/* A flash partition: write in place, there is nothing to rename. */
		fd = out->dev_fd;
		out->dev_fd = -1;
	} else {
		sigset_t all, old;

		/* The handler must see the name as soon as the file exists. */
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		fd = tmpfile_in(out->dir, "xipfs-image", tmp_image, sizeof(tmp_image), true);
		if (fd < 0)
			tmp_image[0] = 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (fd < 0)
		goto out;
	if (!device && keep_owner_mode(fd, out))
		goto out;
	if (!device && ftruncate(fd, L.image_size)) {
		xw_error("%s: %s", out->name, strerror(errno));
		goto out;
	}
	if (xw_pwrite_full(fd, "the superblock", &sb, sizeof(sb), 0) ||
	    xw_pwrite_full(fd, "the metadata", meta, L.meta_size, L.meta_off) ||
	    copy_area(d->xip_fd, fd, d->xip_pages << o->page_shift, L.xip_off, "XIP pages") ||
	    copy_area(d->comp_fd, fd, d->comp_size, L.comp_off, "compressed data"))
		goto out;
	/* Character devices (MTD) may have no fsync: their writes are done. */
	if (fsync(fd) && !(device && S_ISCHR(out->st.st_mode) &&
			   (errno == EINVAL || errno == EROFS || errno == ENOTSUP))) {
		xw_error("%s: fsync: %s", out->name, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		xw_error("%s: %s", out->name, strerror(errno));
		goto out;
	}
	fd = -1;
	if (!device && rename(tmp_image, out->path)) {
		xw_error("%s: %s", out->name, strerror(errno));
		goto out;
	}
	tmp_image[0] = 0;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret && tmp_image[0]) {
		unlink(tmp_image);
		tmp_image[0] = 0;
	}
	free(meta);
	return ret;
}

/*
 * Does @in take its identical file's data in this build (dedupe)?  Its
 * XIP pages must be the same: a plain policy decides them from the bytes,
 * the ranges set up front (lists, profiles, a budget) may differ by path.
 */
static bool takes_dup(const struct xw_inode *in, int xip_policy)
{
	const struct xw_inode *o = in->dup;

	if (!o)
		return false;
	if (xip_policy >= 0)
		return true;
	return in->nxip == o->nxip &&
	       (!in->nxip || !memcmp(in->xip, o->xip, in->nxip * sizeof(*in->xip)));
}

/* Give each file that takes its identical file's data that file's entries. */
static int copy_dups(struct xw_tree *t, struct xw_data *d, int xip_policy)
{
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (!S_ISREG(in->mode) || !takes_dup(in, xip_policy))
			continue;
		in->npages = in->dup->npages;
		in->map = malloc(in->npages * sizeof(*in->map));
		if (!in->map) {
			xw_error("out of memory");
			return -1;
		}
		memcpy(in->map, in->dup->map, in->npages * sizeof(*in->map));
		d->dedup_files++;
		d->dedup_bytes += in->size;
	}
	return 0;
}

/* The image size a layout gives, without writing anything (budget trials). */
static int dry_size(struct xw_tree *t, const struct xw_options *o, struct xw_data *d,
		    struct xw_stats *st)
{
	struct layout L;
	unsigned char *meta = NULL;

	if (build_meta(t, o, d, &L, &meta, st))
		return -1;
	free(meta);
	st->image_size = L.image_size;
	return 0;
}

/*
 * One build: the data pass over every regular file, then the layout,
 * written to image (or with dry only measured into st->image_size).
 * xip_policy: a plain policy the data pass applies, or -1 for the
 * in->xip ranges set up front.  With units, the budget's units are taken
 * from this build's clusters.
 */
static int build(struct xw_tree *t, const struct xw_options *o, struct xw_output *out,
		 struct xw_stats *st, bool dry, int xip_policy,
		 struct xw_unit **units, size_t *nunits)
{
	struct xw_data d = { .o = o, .xip_policy = xip_policy, .xip_fd = -1, .comp_fd = -1,
			     .frag_fd = -1 };
	const char *dir = out->scratch;
	char path[4096];
	uint64_t nfiles = 0, done = 0, nbytes = 0, done_bytes = 0;
	double last = 0;
	bool ok = false;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		/* What an earlier trial build left. */
		free(in->map);
		in->map = NULL;
		in->npages = 0;
	}
	d.xip_fd = tmpfile_in(dir, "xipfs-xip", path, sizeof(path), false);
	if (d.xip_fd < 0)
		goto out;
	d.comp_fd = tmpfile_in(dir, "xipfs-comp", path, sizeof(path), false);
	if (d.comp_fd < 0)
		goto out;
	if (o->fragments) {
		d.frag_fd = tmpfile_in(dir, "xipfs-frag", path, sizeof(path), false);
		if (d.frag_fd < 0)
			goto out;
	}
	for (uint32_t i = 1; i < t->ninodes; i++)
		if (S_ISREG(t->inodes[i]->mode)) {
			nfiles++;
			nbytes += t->inodes[i]->size;
		}
	if (xw_data_start(&d))
		goto finish;
	for (uint32_t i = 1; i < t->ninodes; i++) {
		struct xw_inode *in = t->inodes[i];

		if (!S_ISREG(in->mode))
			continue;
		if (!takes_dup(in, xip_policy) && xw_data_file(&d, t, in))
			goto finish;
		done++;
		done_bytes += in->size;
		if (o->progress && now() - last > 0.25) {
			last = now();
			fprintf(stderr, "\r%s: %llu/%llu files, %llu/%llu MiB read",
				xw_progname, (unsigned long long)done,
				(unsigned long long)nfiles,
				(unsigned long long)(done_bytes >> 20),
				(unsigned long long)(nbytes >> 20));
		}
	}
	ok = true;
finish:
	if (o->progress && last > 0)
		fprintf(stderr, "\r%*s\r", 72, "");
	if (xw_data_finish(&d, ok) || !ok || copy_dups(t, &d, xip_policy))
		goto out;
	if (units && xw_budget_units(t, &d, units, nunits))
		goto out;
	ret = dry ? dry_size(t, o, &d, st) : assemble(t, o, &d, out, st);
out:
	xw_data_free(&d);
	if (d.xip_fd >= 0)
		close(d.xip_fd);
	if (d.comp_fd >= 0)
		close(d.comp_fd);
	if (d.frag_fd >= 0)
		close(d.frag_fd);
	return ret;
}

/* Trial layouts a flash budget may compute, after the all-compressed one. */
#define BUDGET_TRIALS	8

/*
 * --flash-size: the image with only the pinned pages XIP must fit; then
 * the candidates, ranked by xw_budget_units(), are made XIP in that order
 * as far as they fit.  The estimates only guide the search: each trial
 * is a full layout (data pass and metadata, nothing written), the longest
 * prefix of the ranking whose layout fits is kept, and the image written
 * at the end is that layout again (the writer is deterministic), checked
 * once more against the budget before anything is written.
 */
static int budget(struct xw_tree *t, const struct xw_options *o, struct xw_output *out,
		  struct xw_stats *st)
{
	struct xw_options q = *o;
	struct xw_unit *u = NULL;
	size_t n = 0, lo = 0, hi;
	int64_t *cum = NULL;
	uint64_t size = o->flash_size, s_lo, s_hi = 0, floor;
	struct xw_stats ts;
	unsigned int builds = 0;
	int ret = -1;

	q.verbose = 0;
	q.progress = false;
	q.flash_size = 0;
	/* The floor: every candidate compressed. */
	if (xw_xip_apply(t, o->page_shift, false) ||
	    build(t, &q, out, &ts, true, -1, &u, &n))
		goto out;
	builds++;
	s_lo = floor = ts.image_size;
	if (s_lo > size) {
		struct xw_stats cnt = { 0 };

		xw_xip_count(t, o->page_shift, &cnt);
		xw_error("%s: --flash-size=%llu: the image does not fit: with %s compressed it is %llu bytes (%llu too many)%s",
			 out->name, (unsigned long long)size,
			 cnt.pinned_pages ? "every page but those list: pins XIP" : "every page",
			 (unsigned long long)s_lo, (unsigned long long)(s_lo - size),
			 cnt.pinned_pages ? "; list: pins pages XIP whatever the budget" : "");
		goto out;
	}
	cum = malloc((n + 1) * sizeof(*cum));
	if (!cum) {
		xw_error("out of memory");
		goto out;
	}
	cum[0] = 0;
	for (size_t i = 0; i < n; i++)
		cum[i + 1] = cum[i] + u[i].cost;
	/*
	 * Everything first: a budget the all-candidates image fits in gets
	 * that image, and otherwise its size calibrates the estimates.
	 */
	hi = n + 1;	/* not tried: nothing known not to fit */
	while (builds <= BUDGET_TRIALS && lo < n && hi > lo + 1) {
		/*
		 * The next guess: the longest prefix the estimates say fits,
		 * the estimated growth from lo scaled by what the bracket
		 * [lo, hi] actually grew; if none, the next unit alone.
		 */
		double g = 1;
		size_t k = lo;

		if (hi > n) {
			k = n;
		} else {
			if (cum[hi] > cum[lo] && s_hi > s_lo)
				g = (double)(s_hi - s_lo) / (double)(cum[hi] - cum[lo]);
			for (size_t j = lo + 1; j < hi; j++)
				if ((double)s_lo + (double)(cum[j] - cum[lo]) * g <= (double)size)
					k = j;
			if (k == lo)
				k = lo + 1;
		}
		xw_budget_choose(u, n, k);
		if (xw_xip_apply(t, o->page_shift, false) ||
		    build(t, &q, out, &ts, true, -1, NULL, NULL))
			goto out;
		builds++;
		if (ts.image_size <= size) {
			lo = k;
			s_lo = ts.image_size;
		} else {
			hi = k;
			s_hi = ts.image_size;
		}
	}
	/* The image: the longest prefix that fit, checked again by assemble(). */
	xw_budget_choose(u, n, lo);
	if (xw_xip_apply(t, o->page_shift, false) ||
	    build(t, o, out, st, false, -1, NULL, NULL))
		goto out;
	st->floor_size = floor;
	xw_xip_count(t, o->page_shift, st);
	for (size_t i = 0; i < lo; i++) {
		st->chosen_pages += u[i].last - u[i].first + 1;
		st->prof_chosen += u[i].prof_pages;
	}
	st->builds = builds + 1;
	ret = 0;
out:
	free(cum);
	free(u);
	return ret;
}

int xw_write_image_to(struct xw_tree *t, const struct xw_options *o,
		      struct xw_output *out, struct xw_stats *st)
{
	enum xw_xip_policy base;
	bool simple = xw_xip_simple(o, &base);

	memset(st, 0, sizeof(*st));
	if (xw_tree_number(t) || number_slots(t, o))
		return -1;
	if (xw_dedupe(o) && xw_dedupe_find(t))
		return -1;
	if (!simple && xw_xip_resolve(t, o))
		return -1;
	if (o->flash_size)
		return budget(t, o, out, st);
	if (!simple && xw_xip_apply(t, o->page_shift, true))
		return -1;
	return build(t, o, out, st, false, simple ? (int)base : -1, NULL, NULL);
}

int xw_write_image(struct xw_tree *t, const struct xw_options *o,
		   const char *image, struct xw_stats *st)
{
	struct xw_output *out = xw_output_open(image, o->quiet);
	int ret;

	if (!out)
		return -1;
	ret = xw_write_image_to(t, o, out, st);
	xw_output_free(out);
	return ret;
}
