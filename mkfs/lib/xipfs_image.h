/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading xipfs images: the half of the library that fsck.xipfs,
 * dump.xipfs and the tests use.
 *
 * Images are untrusted.  Opening one validates the superblock and the area
 * layout; every later accessor checks each offset and length it follows
 * (against the image and against the area it must lie in) before touching
 * the bytes, and returns -EUCLEAN with a message (xipfs_image_error()) when
 * a structure is bad.  Nothing here trusts the checksums to have been
 * verified, so a hostile image can make calls fail but never crash.
 *
 * Functions returning int return 0 or a negative errno; -EUCLEAN means the
 * image is damaged, and xipfs_image_error() says where.
 *
 * Not thread-safe: an image holds a one-cluster decompression cache.
 */
#ifndef XIPFS_IMAGE_H
#define XIPFS_IMAGE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/xipfs_fs.h>

/* The superblock in host byte order. */
struct xipfs_sb {
	uint32_t magic, checksum;
	uint16_t version;
	uint8_t page_shift, max_cluster_shift;
	uint16_t state, comp_algs;
	uint32_t feature_compat, feature_ro_compat, feature_incompat;
	uint32_t root_ino;
	uint64_t image_size;
	int64_t build_time;
	uint32_t build_time_nsec;
	uint32_t inode_count;
	uint64_t inode_off, meta_off, meta_size;
	uint32_t meta_crc, reserved0;
	uint64_t cluster_off, cluster_count;
	uint64_t xip_off, xip_size, comp_off, comp_size, free_off, free_size;
	uint8_t uuid[16];
	char volume_name[17];	/* NUL-terminated copy */
	/* COMPAT_XATTRS: the shared attribute table */
	uint64_t xattr_off;
	uint32_t xattr_size, xattr_count;
	/* RO_COMPAT_DATA_CSUM: the data checksum table (else all zero) */
	uint64_t csum_off, csum_size, csum_reserved;
};

/*
 * An on-media inode (struct xipfs_inode) in host byte order, decoded from
 * either form: what the driver's xipfs_read_inode() reads (the driver's
 * struct xipfs_inode_info is the in-memory VFS inode's).  A compact inode
 * (extended false) gives 16-bit nlink/uid/gid, a 32-bit size and mtime,
 * mtime_nsec 0; its i_map_cap is rdev for a device (map_cap 0 then) and
 * map_cap otherwise (rdev 0); reserved0 is its i_reserved, xattr 0.
 */
struct xipfs_dinode {
	uint32_t ino;
	uint16_t mode, flags;
	uint32_t nlink, uid, gid;
	uint64_t size;
	int64_t mtime;
	uint32_t mtime_nsec, rdev;
	uint64_t data;
	uint32_t map_cap, reserved0;
	uint64_t xattr;		/* i_xattr, whether or not COMPAT_XATTRS is set */
	bool extended;		/* 64 bytes, slots ino and ino + 1 */
};

/*
 * A cluster descriptor, decoded: its data is [off, off + clen) of the
 * image (off absolute: s_comp_off + the descriptor's offset; clen from the
 * next descriptor's offset), and decompresses to ulen bytes, pages pages.
 */
struct xipfs_cluster_info {
	uint64_t index;
	uint64_t desc;		/* the raw descriptor */
	uint64_t off;
	uint32_t clen, ulen;
	uint8_t alg, pages;
	bool shared;		/* XIPFS_CL_SHARED */
};

/*
 * Where a compact cluster table's parts lie (INCOMPAT_COMPACT_CLUSTERS;
 * see "Compact cluster table" in the format header): absolute image
 * offsets, found and bounds-checked at open.  on is false for the 8-byte
 * table.
 */
struct xipfs_ctab {
	bool on;
	uint8_t alg;		/* ct_alg */
	unsigned int w;		/* W: bytes of a length */
	uint64_t n, e;		/* clusters, exception words */
	uint64_t base_off;	/* base[ceil(n / 64)] */
	uint64_t exc_off;	/* exception[e] */
	uint64_t len_off;	/* len[n][w] */
	uint64_t size;		/* xipfs_ct_size(): the table's bytes */
};

/* A directory, as xipfs_dir_open() found it. */
struct xipfs_dir {
	uint32_t ino;
	uint32_t parent;	/* d_parent */
	uint32_t count;		/* d_count */
	uint64_t size;		/* block bytes */
	const uint8_t *block;	/* inside the image */
};

/* One directory entry.  name points into the image: not NUL-terminated. */
struct xipfs_dirent_info {
	uint32_t ino;
	uint32_t name_off;
	uint8_t name_len;
	uint8_t type;
	uint16_t reserved;
	const char *name;
};

struct xipfs_image {
	const uint8_t *base;	/* the image bytes */
	size_t len;		/* bytes available (>= sb.image_size once open) */
	void *map;		/* mmap()ed by xipfs_image_open(), else NULL */
	size_t map_len;
	struct xipfs_sb sb;
	uint32_t page_size;
	uint64_t meta_end;	/* sb.meta_off + sb.meta_size */
	/*
	 * After a read-write mount (sb.state has META_MODIFIED): XIP pages,
	 * clusters and page maps may lie anywhere in the data region,
	 * [data_off, sb.image_size) (data_off = sb.xip_off).
	 */
	bool rw;
	uint64_t data_off;
	/* s_free_size of an image without FREE_SPACE (sb.free_* are then 0). */
	uint64_t ignored_free_size;
	/*
	 * Inode table slots that are the second half of an extended inode
	 * (a bit per slot), and the first extended inode, if any, whose
	 * second slot would be past the table (0: none).
	 */
	uint8_t *second_slot;
	uint32_t cut_ino;
	/*
	 * The image has data checksums (RO_COMPAT_DATA_CSUM, table checked
	 * at open) that still hold: not after a read-write mount.
	 */
	bool csum;
	/* The compact cluster table, if the image has one. */
	struct xipfs_ctab ct;
	/* One decompressed cluster, so that sequential reads cost O(size). */
	uint8_t *cbuf;
	uint64_t cbuf_index;	/* UINT64_MAX: empty */
	char err[256];
};

/* Type (XIPFS_PTE_TYPE_*) of page map entry e. */
static inline unsigned int xipfs_pte_type(uint64_t e)
{
	return (unsigned int)(e >> XIPFS_PTE_TYPE_SHIFT);
}

/*
 * Open an image read-only (mmap) or from memory (buf must outlive the
 * image).  Returns 0, -EUCLEAN for a corrupt superblock or area layout,
 * -ENOTXIPFS (below) when the start is not an xipfs superblock at all, or
 * another -errno; err (may be NULL) receives a message.
 */
#define ENOTXIPFS	EMEDIUMTYPE
int xipfs_image_open(const char *path, struct xipfs_image **imgp,
		     char *err, size_t errlen);
int xipfs_image_open_mem(const void *buf, size_t len,
			 struct xipfs_image **imgp, char *err, size_t errlen);
void xipfs_image_close(struct xipfs_image *img);
/* The message of the last failed call. */
const char *xipfs_image_error(const struct xipfs_image *img);

/* Pages of a file of size bytes, overflow-safe. */
uint64_t xipfs_size_pages(const struct xipfs_image *img, uint64_t size);
/* Is [off, off + len) inside [start, start + size)? Overflow-safe. */
bool xipfs_range_in(uint64_t off, uint64_t len, uint64_t start, uint64_t size);
/* Image offset of a TAIL entry's data. */
uint64_t xipfs_tail_offset(const struct xipfs_image *img, uint64_t pte);

/*
 * Inode ino, either form (checks that ino is inside the table and that
 * slot ino starts an inode, not its contents).  Slot 0 reads as an inode
 * too (it should be zero).
 */
int xipfs_read_inode(struct xipfs_image *img, uint32_t ino,
		     struct xipfs_dinode *inode);
/*
 * Is slot n the second slot of an extended inode (inode n - 1)?  The
 * table is walked from slot 1 once, at open.
 */
bool xipfs_slot_is_second(const struct xipfs_image *img, uint32_t n);
/* Slot count an inode takes: 2 for an extended one, else 1. */
static inline unsigned int xipfs_inode_slots(const struct xipfs_dinode *in)
{
	return in->extended ? 2 : 1;
}

/* Directory access: bounds checked, not sortedness. */
int xipfs_dir_open(struct xipfs_image *img, const struct xipfs_dinode *dir,
		   struct xipfs_dir *d);
int xipfs_dir_entry(struct xipfs_image *img, const struct xipfs_dir *d,
		    uint32_t i, struct xipfs_dirent_info *e);
/* Binary search; -ENOENT if absent. */
int xipfs_lookup(struct xipfs_image *img, uint32_t dir_ino,
		 const char *name, size_t len, uint32_t *ino);
/* Resolve an absolute or root-relative path, no symlinks followed. */
int xipfs_resolve(struct xipfs_image *img, const char *path, uint32_t *ino);

/* Symlink target (points into the image, not NUL-terminated). */
int xipfs_read_link(struct xipfs_image *img, const struct xipfs_dinode *inode,
		    const char **target, size_t *len);

/*
 * A regular file's page map (see "Grouped page maps" in the format
 * header): i_data without its group shift bits, the shift, and the
 * number of 8-byte entries, ceil(i_map_cap / 2^shift).  An extent map
 * ("Extent maps") has shift 0 and entries = its extent count n; its
 * extents start at off + 8.
 */
struct xipfs_map {
	uint64_t off;		/* image offset of entry 0 (extent map: of the count) */
	unsigned int shift;	/* G: one entry per 2^G pages (0: per page) */
	uint64_t entries;	/* group (or page) entries; extents */
	bool end_run;		/* G > 0 and XIPFS_INODE_END_RUN: two more words */
	uint64_t run_start, run_entry;	/* end run: R and page R's entry */
	bool extents;		/* XIPFS_INODE_EXTENT_MAP: an extent map */
	bool moved;		/* in whole pages of the data region (rw) */
	uint64_t pages;		/* moved: how many */
};
/* Bytes a map that has not moved takes in the metadata area. */
static inline uint64_t xipfs_map_bytes(const struct xipfs_map *m)
{
	if (m->extents)
		return xipfs_extent_map_size(m->entries);
	return (m->entries + (m->end_run ? 2 : 0)) * 8;
}
/*
 * Where a regular file's page map is, validated: in the metadata area, or
 * (a per-page map only) after a read-write mount in whole pages of the
 * data region.  A group shift needs INCOMPAT_GROUPED_MAPS; an extent map
 * INCOMPAT_EXTENT_MAPS, G = 0, no END_RUN and 1..i_map_cap extents, all in
 * the metadata area (not that they are sorted: xipfs_check() checks that).
 * -EUCLEAN if not so.
 */
int xipfs_map_get(struct xipfs_image *img, const struct xipfs_dinode *inode,
		  struct xipfs_map *map);
/* The same, for callers that only need where: *moved, and *pages if so. */
int xipfs_map_locate(struct xipfs_image *img, const struct xipfs_dinode *inode,
		     bool *moved, uint64_t *pages);
/*
 * Page map entry of page idx < i_map_cap, decoded from its group's entry
 * for a grouped map, from its extent's for an extent map (the last extent
 * whose first page is <= idx, by binary search; none: invalid)
 * (XIPFS_PTE_INVALID where it does not fit); also past the end of the
 * file (where readers ignore it: it reads as a hole).
 */
int xipfs_map_read(struct xipfs_image *img, const struct xipfs_dinode *inode,
		   uint64_t idx, uint64_t *pte);
/*
 * Stored entry i < xipfs_map.entries: a group's entry for a grouped map,
 * extent i's x_entry for an extent map.
 */
int xipfs_map_raw(struct xipfs_image *img, const struct xipfs_dinode *inode,
		  uint64_t i, uint64_t *pte);
/* Extent i < xipfs_map.entries of an extent map: x_page and x_entry. */
int xipfs_map_extent(struct xipfs_image *img, const struct xipfs_dinode *inode,
		     uint64_t i, uint64_t *page, uint64_t *pte);
/* Page map entry pgno of a regular file (pgno < pages). */
int xipfs_pte_get(struct xipfs_image *img, const struct xipfs_dinode *inode,
		  uint64_t pgno, uint64_t *pte);
/* Is the page at image offset off a page the XIP entries may name? */
bool xipfs_xip_page_ok(const struct xipfs_image *img, uint64_t off);
/*
 * Cluster descriptor, decoded, fields validated against the layout: the
 * next descriptor's offset (the sentinel's for the last cluster) is past
 * its own and at most s_comp_size.  The sentinel's other bits are
 * xipfs_cluster_end()'s to check.
 */
int xipfs_get_cluster(struct xipfs_image *img, uint64_t index,
		      struct xipfs_cluster_info *c);
/*
 * Raw descriptor i <= s_cluster_count (the sentinel); 0 past it.  With a
 * compact table, the 8-byte descriptor it stands for (the sentinel: the
 * end of the last cluster), as readers rebuild it.
 */
uint64_t xipfs_cluster_desc(const struct xipfs_image *img, uint64_t i);
/*
 * Bytes of the cluster table, whichever its form: (s_cluster_count + 1)
 * descriptors or xipfs_ct_size().
 */
uint64_t xipfs_cluster_table_size(const struct xipfs_image *img);
/* Compact table: exception word k < ct.e, and compressed length of cluster i < ct.n. */
uint64_t xipfs_ct_exception(const struct xipfs_image *img, uint64_t k);
uint64_t xipfs_ct_base(const struct xipfs_image *img, uint64_t j);
uint32_t xipfs_ct_len(const struct xipfs_image *img, uint64_t i);
/*
 * The sentinel descriptor (index s_cluster_count), validated: only an
 * offset, at most s_comp_size.  *end = s_comp_off + its offset.
 */
int xipfs_cluster_end(struct xipfs_image *img, uint64_t *end);
/*
 * The cluster shift of grouped maps: s_max_cluster_shift - s_page_shift
 * in an image with clusters (INCOMPAT_CLUSTERS), else 0.  Opening checks
 * the range (0..6).
 */
static inline unsigned int xipfs_group_cshift(const struct xipfs_image *img)
{
	return img->sb.feature_incompat & XIPFS_FEATURE_INCOMPAT_CLUSTERS ?
	       (unsigned int)(img->sb.max_cluster_shift - img->sb.page_shift) : 0;
}
/*
 * Data checksums (RO_COMPAT_DATA_CSUM): is the stored checksum of cluster
 * index (of its compressed bytes), or of XIP area page k, that of the
 * bytes?  0, -EUCLEAN with a message if not; 0 when img->csum is false.
 */
int xipfs_cluster_csum_verify(struct xipfs_image *img, uint64_t index);
int xipfs_xip_csum_verify(struct xipfs_image *img, uint64_t k);
/*
 * Decompress a cluster (exactly its ulen bytes) into the image's cache,
 * after checking its data checksum when the image has them.
 */
int xipfs_cluster_load(struct xipfs_image *img, uint64_t index,
		       const uint8_t **data, uint32_t *ulen);
/* One page of a regular file into buf (page_size bytes, zeros past EOF). */
int xipfs_read_page(struct xipfs_image *img, const struct xipfs_dinode *inode,
		    uint64_t pgno, void *buf);

/*
 * Recompute the checksums in a writable copy: the data checksum table
 * (when the superblock names a table that fits the image), then the
 * metadata and superblock checksums.
 */
void xipfs_fix_checksums(void *image, size_t len);
/* Only the metadata and superblock checksums: data checksums stay as they are. */
void xipfs_fix_meta_checksums(void *image, size_t len);

/* DT_* value for a mode, 0 (DT_UNKNOWN) for an invalid one. */
unsigned int xipfs_mode_dtype(uint16_t mode);

/* ---- xattr.c: extended attributes (COMPAT_XATTRS) ---- */

/* One attribute; name and value point into the image. */
struct xipfs_xattr {
	uint8_t prefix;		/* enum xipfs_xattr_prefix */
	uint8_t name_len;
	uint16_t value_len;
	const char *name;	/* after the prefix, not NUL-terminated */
	const uint8_t *value;
	bool shared;		/* from the shared table */
	uint32_t index;		/* shared: its index */
	uint64_t off;		/* image offset of the entry */
	uint32_t size;		/* XIPFS_XATTR_ENTRY_SIZE */
};

/* An inode's attribute body, as xipfs_xattr_open() found it. */
struct xipfs_xattrs {
	uint32_t ino;
	uint64_t off;		/* i_xattr; 0: no attributes */
	uint32_t size;		/* h_size */
	uint16_t nshared, ninline;
	uint32_t next;		/* xipfs_xattr_next(): attributes returned */
	uint64_t pos;		/* its next inline entry's image offset */
};

/* "user." etc., or NULL for an unknown prefix. */
const char *xipfs_xattr_prefix(unsigned int prefix);
/*
 * "prefix" "name" NUL-terminated into buf (at least XIPFS_XATTR_NAME_BUF
 * bytes); -EUCLEAN for an unknown prefix or a name the prefix forbids.
 */
#define XIPFS_XATTR_NAME_BUF	(32 + 256)
int xipfs_xattr_name(const struct xipfs_xattr *x, char *buf);
/*
 * An inode's body (none without COMPAT_XATTRS or with i_xattr 0):
 * header bounds checked, then xipfs_xattr_next() returns its shared
 * entries and then its own, one per call: 1, 0 at the end, or -EUCLEAN.
 */
int xipfs_xattr_open(struct xipfs_image *img, const struct xipfs_dinode *inode,
		     struct xipfs_xattrs *xs);
int xipfs_xattr_next(struct xipfs_image *img, struct xipfs_xattrs *xs,
		     struct xipfs_xattr *x);
/* Shared entry at @index (bounds checked, not that it starts an entry). */
int xipfs_xattr_shared(struct xipfs_image *img, uint32_t index,
		       struct xipfs_xattr *x);

/* ---- check.c: the full consistency check fsck.xipfs runs ---- */

struct xipfs_check_opts {
	/* Called once per problem found; NULL prints to stderr. */
	void (*report)(void *arg, const char *msg);
	void *arg;
	unsigned int max_messages;	/* then only count; 0 = 100 */
	bool skip_data;			/* don't decompress clusters */
};

struct xipfs_check_stats {
	uint64_t errors;		/* problems found (all of them) */
	uint64_t inodes, dirs, files, symlinks, specials, dirents;
	uint64_t compact_inodes, extended_inodes;	/* of inodes */
	uint64_t pages, xip_pages, comp_pages, holes, tails;
	uint64_t clusters, cluster_bytes;
	bool crc_checked;		/* false when META_MODIFIED */
	/* RO_COMPAT_DATA_CSUM: clusters and XIP pages whose checksum was checked */
	uint64_t csum_clusters, csum_xip_pages;
	/* Non-zero page map entries past the end of a file (ignored). */
	uint64_t stale_entries;
	/* Data region pages, and those no XIP entry, map or live cluster uses. */
	uint64_t data_pages, free_pages;
	/* After a read-write mount: maps moved to the data region, dead clusters. */
	uint64_t moved_maps, dead_clusters;
	/* Regular files with a grouped page map (group shift > 0). */
	uint64_t grouped_maps;
	/* Regular files with an extent map, and their extents. */
	uint64_t extent_maps, extents;
	/* SHARED_DATA: files using an identical file's data, and their bytes. */
	uint64_t shared_files, shared_bytes;
	/* COMPAT_XATTRS: inodes with attributes, their attributes, shared entries */
	uint64_t xattr_inodes, xattrs, xattr_shared;
};

/* Returns the number of problems (also in stats->errors). */
uint64_t xipfs_check(struct xipfs_image *img, const struct xipfs_check_opts *opts,
		     struct xipfs_check_stats *stats);

/* ---- extract.c: dump.xipfs --extract ---- */

enum xipfs_extract_xattrs {
	XIPFS_EXTRACT_XATTRS_ALL,	/* every attribute (as root) */
	XIPFS_EXTRACT_XATTRS_USER,	/* user.* only (what a non-root user may set) */
	XIPFS_EXTRACT_XATTRS_NONE,
};

struct xipfs_extract_opts {
	bool owners;		/* chown (as root) */
	enum xipfs_extract_xattrs xattrs;
	bool verbose;		/* print each path */
};

/* Extract the whole tree into dir (created if missing).  0 or -1. */
int xipfs_extract(struct xipfs_image *img, const char *dir,
		  const struct xipfs_extract_opts *opts);

/* ---- profile.c: XIP sets and profiles as path lists ---- */

/*
 * Every inode's path as the list format writes it (xipfs.rst, "Choosing
 * XIP pages"): absolute, the first path a breadth-first walk in name
 * order reaches (hard links: the first name), bytes up to 0x20, 0x7f and
 * '\\' written as \xHH.  (*paths)[ino] is NULL for slots no directory
 * names.  Free with xipfs_paths_free().
 */
int xipfs_paths(struct xipfs_image *img, char ***paths);
void xipfs_paths_free(struct xipfs_image *img, char **paths);

/*
 * The image's XIP set in the list format: "PATH FIRST[-LAST],..." for
 * each regular file with XIP pages, in inode order.  Counts the files and
 * pages written.
 */
int xipfs_xip_list(struct xipfs_image *img, FILE *out, uint64_t *files,
		   uint64_t *pages);

struct xipfs_profile_stats {
	uint64_t lines;			/* page runs read */
	uint64_t files, pages;		/* written */
	/* Inodes that are not regular files of the image, and their runs. */
	uint64_t missing_inodes, missing_lines;
	unsigned int first_missing_line;
	/* Pages past the end of their files (dropped), and their runs. */
	uint64_t past_eof_pages, past_eof_lines;
	unsigned int first_past_eof_line;
};

/*
 * Turn a kernel profile (read from in; name for messages) taken on this
 * image into a path profile (to out): "PATH FIRST[-LAST]:FLAGS:WEIGHT,...".
 * -EINVAL with a message in err for a bad profile (header, page size or
 * uuid not this image's, a bad line, overlapping runs); -EUCLEAN (err
 * from the image), -ENOMEM.  Runs of inodes the image does not have as
 * regular files and pages past the end of files are dropped and counted.
 */
int xipfs_profile_convert(struct xipfs_image *img, FILE *in, const char *name,
			  FILE *out, struct xipfs_profile_stats *st, char *err,
			  size_t errlen);

#endif
