/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xipfs on-media format.
 *
 * This header is the single definition of the format: the kernel driver
 * (fs/xipfs) and the image tools (mkfs/) include it unchanged.  Every
 * field is little-endian and naturally aligned, so that the driver can
 * read metadata in place from a memory-mapped flash window, and so that a
 * read-write mount can change one page's location with a single aligned
 * 8-byte store.  Documentation/filesystems/xipfs.rst describes it in prose.
 *
 * Image layout (offsets in bytes from the start of the image):
 *
 *   0                 superblock (struct xipfs_super_block), 256 bytes
 *   s_meta_off        metadata (8-byte aligned, from byte 256 on), covered
 *                     by s_meta_crc:
 *                       inode table (32-byte slots), directory blocks,
 *                       page maps, symlink targets, extended attributes,
 *                       tail data, cluster table (8-byte descriptors,
 *                       or the compact table: INCOMPAT_COMPACT_CLUSTERS),
 *                       data checksum table (RO_COMPAT_DATA_CSUM)
 *   s_xip_off         XIP area: whole, page-aligned, uncompressed file pages
 *   s_comp_off        compressed clusters, byte-packed
 *   s_free_off        free space reserved for read-write mounts (may be empty)
 *   s_image_size      end of the image
 *
 * The areas come in this order and, but for the metadata, start on a page
 * boundary.  One exception: in an image without free space
 * (s_free_size 0) and without XIP pages, the compressed area may start
 * right after the metadata (s_comp_off < s_xip_off: the last metadata page
 * also holds the first compressed bytes).  The XIP, compressed and free
 * areas of an image with free space are the data region,
 * [s_xip_off, s_image_size).
 *
 * After a read-write mount (XIPFS_STATE_META_MODIFIED set), also:
 *  - an XIP page map entry may name any page of the data region;
 *  - a file's page map may have moved to whole pages of the data region
 *    (i_data page-aligned there, ceil(i_map_cap * 8 / page size) pages);
 *  - each page of the data region is used by at most one of: an XIP entry,
 *    a moved page map, live clusters.  A cluster is live while a COMP entry
 *    below the end of its file names it; a dead cluster's bytes may have
 *    been reused.  Clusters stay where mkfs put them (compressed area);
 *  - entries at or past page ceil(i_size / page size) are ignored (a power
 *    cut may leave them behind); readers treat them as holes;
 *  - s_free_off and s_free_size still describe mkfs's free area, not what
 *    is free now: a mount computes that from the page maps.
 *
 * All checksums are standard CRC-32C
 * (Castagnoli; check value 0xe3069283 for "123456789"): initial value
 * ~0, final xor ~0.
 */
#ifndef _UAPI_LINUX_XIPFS_FS_H
#define _UAPI_LINUX_XIPFS_FS_H

#include <linux/types.h>

#define XIPFS_MAGIC		0x50495846	/* "FXIP" read as le32 */
/*
 * s_version: format revision.  2 packed the inode table (32-byte slots,
 * compact inodes) and the cluster table (8-byte descriptors), let a
 * grouped map's COMP entry run on into the next clusters, added end runs
 * and moved the metadata up to byte 256; revision 1 was never released
 * and is not read.
 * Added to revision 2 since, as feature bits: RO_COMPAT_SHARED_DATA
 * (whole-file dedupe), COMPAT_XATTRS (extended attributes),
 * RO_COMPAT_DATA_CSUM (data checksums), INCOMPAT_EXTENT_MAPS,
 * INCOMPAT_COMPACT_CLUSTERS.
 */
#define XIPFS_VERSION		2

#define XIPFS_SB_OFFSET		0		/* superblock byte offset */
#define XIPFS_SB_SIZE		256		/* sizeof(struct xipfs_super_block) */

#define XIPFS_MIN_PAGE_SHIFT	12		/* 4 KiB */
#define XIPFS_MAX_PAGE_SHIFT	16		/* 64 KiB */

/* A cluster is 1 page up to 256 KiB of uncompressed data. */
#define XIPFS_MAX_CLUSTER_SIZE	(256 * 1024)
/*
 * Bound on a cluster's compressed length, so that a reader never needs a
 * larger source buffer (mkfs stores a cluster that compression does not
 * shrink as it is, so its clusters stay below XIPFS_MAX_CLUSTER_SIZE).
 */
#define XIPFS_MAX_CLUSTER_CLEN	(2 * XIPFS_MAX_CLUSTER_SIZE)
#define XIPFS_NAME_MAX		255
#define XIPFS_ROOT_INO		1		/* inode 0 is never used */

/*
 * Feature bits.  A kernel that sees an unknown INCOMPAT bit must refuse to
 * mount; an unknown RO_COMPAT bit allows a read-only mount only; unknown
 * COMPAT bits are ignored.
 */
#define XIPFS_FEATURE_COMPAT_FREE_SPACE		0x00000001 /* s_free_* valid */
/*
 * Extended attributes (see "Extended attributes" below): s_xattr_* and
 * i_xattr are valid.  COMPAT, because a driver that ignores them reads
 * every file right (it just shows no attributes), and a read-write mount
 * by such a driver keeps them: it stores single inode fields (i_size,
 * i_data, i_map_cap, mode, owner, mtime), never i_xattr, and never
 * writes the metadata bytes that hold attributes.
 */
#define XIPFS_FEATURE_COMPAT_XATTRS		0x00000002
#define XIPFS_FEATURE_COMPAT_ALL		(XIPFS_FEATURE_COMPAT_FREE_SPACE | \
						 XIPFS_FEATURE_COMPAT_XATTRS)

/*
 * Shared data (whole-file dedupe): regular files with identical contents
 * share their data: the same XIP pages, clusters and tail data, named by
 * page maps that are identical entry for entry (each file has its own
 * map; the files have the same i_size).  No other sharing is allowed: a
 * page, cluster or tail two files with different maps or sizes name is
 * damage, as without the bit.  A read-write mount would write a shared
 * page for every file that names it, so an image with this bit mounts
 * read-only only (mkfs.xipfs -E nodedupe makes images without it).
 */
#define XIPFS_FEATURE_RO_COMPAT_SHARED_DATA	0x00000001
/*
 * Data checksums: s_csum_off and s_csum_size name a table in the metadata
 * area (so s_meta_crc covers it) of s_cluster_count + s_xip_size / page
 * size little-endian 32-bit CRC-32Cs: first one per cluster, in table
 * order, of its compressed bytes as stored (clen bytes, whatever the
 * algorithm), then one per page of the XIP area, in page order, of the
 * whole page.  A read-write mount would leave the checksums of what it
 * writes stale, so an image with this bit mounts read-only only (a
 * kernel that does not know it mounts it read-only: RO_COMPAT).
 */
#define XIPFS_FEATURE_RO_COMPAT_DATA_CSUM	0x00000004
#define XIPFS_FEATURE_RO_COMPAT_ALL		(XIPFS_FEATURE_RO_COMPAT_SHARED_DATA | \
						 XIPFS_FEATURE_RO_COMPAT_DATA_CSUM)

#define XIPFS_FEATURE_INCOMPAT_CLUSTERS		0x00000001 /* compressed clusters */
#define XIPFS_FEATURE_INCOMPAT_TAIL		0x00000002 /* tail-packed pages */
/*
 * Shared clusters (XIPFS_CL_SHARED): a cluster whose pages may belong
 * to several files, and to several places of one file.
 */
#define XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS	0x00000004
/* Grouped page maps (i_data bits 0..2, see "Grouped page maps"). */
#define XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS	0x00000008
/*
 * Compact inodes (struct xipfs_inode_compact) may be present.  They have
 * no room for what a read-write mount stores (64-bit sizes, nanoseconds),
 * so an image with this bit mounts read-only only.
 */
#define XIPFS_FEATURE_INCOMPAT_COMPACT_INODES	0x00000010
/* Extent maps (XIPFS_INODE_EXTENT_MAP, see "Extent maps"). */
#define XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS	0x00000020
/* The cluster table is the compact one (see "Compact cluster table"). */
#define XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS	0x00000040
#define XIPFS_FEATURE_INCOMPAT_ALL		(XIPFS_FEATURE_INCOMPAT_CLUSTERS | \
						 XIPFS_FEATURE_INCOMPAT_TAIL | \
						 XIPFS_FEATURE_INCOMPAT_SHARED_CLUSTERS | \
						 XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS | \
						 XIPFS_FEATURE_INCOMPAT_COMPACT_INODES | \
						 XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS | \
						 XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS)

/*
 * s_state.  A read-write mount changes metadata in place, which makes
 * s_meta_crc stale: it sets XIPFS_STATE_META_MODIFIED (and clears
 * XIPFS_STATE_CLEAN while mounted) before its first metadata store.
 * s_state is left out of s_checksum so that this is one 2-byte store.
 */
#define XIPFS_STATE_CLEAN		0x0001	/* not mounted read-write now */
#define XIPFS_STATE_META_MODIFIED	0x0002	/* s_meta_crc no longer valid */

/* Compression algorithms (a cluster descriptor's algorithm; bits of s_comp_algs). */
enum xipfs_comp_alg {
	XIPFS_COMP_NONE	= 0,	/* stored: compressed length == ulen */
	XIPFS_COMP_LZ4	= 1,	/* raw LZ4 block (lz4 and lz4hc write it) */
	XIPFS_COMP_ZSTD	= 2,	/* one zstd frame */
	XIPFS_COMP_ZLIB	= 3,	/* one zlib (RFC 1950) stream */
	XIPFS_COMP_XZ	= 4,	/* raw LZMA2 chunks (the .xz filter), no container */
	XIPFS_COMP_MAX
};

struct xipfs_super_block {
	__le32 s_magic;		/* XIPFS_MAGIC */
	__le32 s_checksum;	/* crc32c of this struct, s_checksum and s_state as 0 */
	__le16 s_version;	/* XIPFS_VERSION */
	__u8   s_page_shift;	/* log2(page size); XIP needs == PAGE_SHIFT */
	__u8   s_max_cluster_shift; /* log2(largest cluster's pages, in bytes) */
	__le16 s_state;		/* XIPFS_STATE_* */
	__le16 s_comp_algs;	/* bit (1 << alg) for each algorithm used */
	__le32 s_feature_compat;
	__le32 s_feature_ro_compat;
	__le32 s_feature_incompat;
	__le32 s_root_ino;	/* XIPFS_ROOT_INO */
	__le64 s_image_size;	/* bytes; multiple of the page size */
	__le64 s_build_time;	/* seconds since the epoch (mkfs -T) */
	__le32 s_build_time_nsec;
	__le32 s_inode_count;	/* inode table slots, including unused slot 0 */
	__le64 s_inode_off;	/* inode table: s_inode_count * 32 bytes */
	__le64 s_meta_off;	/* metadata area, covered by s_meta_crc */
	__le64 s_meta_size;
	__le32 s_meta_crc;	/* crc32c of [s_meta_off, s_meta_off + s_meta_size) */
	__le32 s_reserved0;
	__le64 s_cluster_off;	/* cluster table: (s_cluster_count + 1) * 8 bytes */
	__le64 s_cluster_count;
	__le64 s_xip_off;	/* XIP area, page-aligned */
	__le64 s_xip_size;
	__le64 s_comp_off;	/* compressed data area */
	__le64 s_comp_size;
	__le64 s_free_off;	/* free space for read-write mounts, page-aligned */
	__le64 s_free_size;
	__u8   s_uuid[16];	/* derived from the contents: reproducible */
	char   s_volume_name[16]; /* NUL-padded label */
	/* COMPAT_XATTRS: the shared attribute table; all zero without it */
	__le64 s_xattr_off;	/* metadata byte offset, 4-byte aligned */
	__le32 s_xattr_size;	/* bytes: s_xattr_count entries back to back */
	__le32 s_xattr_count;
	__u8   s_xattr_reserved[8]; /* zero */
	/*
	 * RO_COMPAT_DATA_CSUM: byte offset of the data checksum table
	 * (4-byte aligned, inside the metadata area) and its size in bytes,
	 * 4 * (s_cluster_count + s_xip_size / page size).  Zero without it.
	 */
	__le64 s_csum_off;
	__le64 s_csum_size;
	__le64 s_csum_reserved;	/* zero */
	__u8   s_reserved[24];	/* zero */
};

/*
 * The inode table is an array of 32-byte slots at s_inode_off; inode
 * number n starts at slot n.  A compact inode (struct xipfs_inode_compact)
 * fills one slot, an extended inode (struct xipfs_inode, i_flags has
 * XIPFS_INODE_EXTENDED) fills slots n and n + 1, and n + 1 is then not an
 * inode number.  i_mode and i_flags are at the same offsets in both.
 * Slot 0 is unused and zero; every other slot belongs to an inode.
 * mkfs writes a compact inode when everything fits (INCOMPAT_COMPACT_INODES
 * set), so most inodes of a read-only image cost 32 bytes.
 */
#define XIPFS_INODE_EXTENDED	0x0001	/* i_flags: 64-byte inode */
#define XIPFS_INODE_END_RUN	0x0002	/* i_flags: see "Grouped page maps" */
#define XIPFS_INODE_EXTENT_MAP	0x0004	/* i_flags: see "Extent maps" */
#define XIPFS_INODE_FLAG_ALL	(XIPFS_INODE_EXTENDED | XIPFS_INODE_END_RUN | \
				 XIPFS_INODE_EXTENT_MAP)

/*
 * Extended inode: 64 bytes, two slots.  Times other than mtime are
 * reported equal to mtime.
 */
struct xipfs_inode {
	__le16 i_mode;		/* S_IFMT | permission bits */
	__le16 i_flags;		/* XIPFS_INODE_EXTENDED, END_RUN, EXTENT_MAP */
	__le32 i_nlink;
	__le32 i_uid;
	__le32 i_gid;
	__le64 i_size;		/* REG: bytes; DIR: dir block bytes; LNK: target length */
	__le64 i_mtime;		/* signed seconds since the epoch */
	__le32 i_mtime_nsec;
	__le32 i_rdev;		/* CHR/BLK: new_encode_dev() encoding */
	/*
	 * REG: byte offset of the page map (8-byte aligned) ORed with its
	 *      group shift (XIPFS_MAP_SHIFT: see "Grouped page maps");
	 * DIR: byte offset of the directory block (8-byte aligned);
	 * LNK: byte offset of the target (not NUL-terminated);
	 * others: zero.
	 */
	__le64 i_data;
	__le32 i_map_cap;	/* REG: page map capacity in pages, >= i_size pages */
	__le32 i_reserved0;
	/*
	 * COMPAT_XATTRS: byte offset of the inode's attribute body (struct
	 * xipfs_xattr_header, 4-byte aligned, in the metadata area); 0: no
	 * attributes.  A compact inode has none.
	 */
	__le64 i_xattr;
};

/*
 * Compact inode: 32 bytes, one slot, i_flags without XIPFS_INODE_EXTENDED.
 * For inodes whose nlink, uid and gid are below 65536, whose size is
 * below 4 GiB and whose mtime is whole seconds in [0, 2^32).  Fields mean
 * what they mean in struct xipfs_inode; mtime_nsec is zero.
 */
struct xipfs_inode_compact {
	__le16 i_mode;
	__le16 i_flags;		/* END_RUN, EXTENT_MAP or zero */
	__le16 i_nlink;
	__le16 i_uid;
	__le16 i_gid;
	__le16 i_reserved;	/* zero */
	__le32 i_mtime;		/* unsigned seconds since the epoch */
	__le32 i_size;
	__le32 i_map_cap;	/* REG: as i_map_cap; CHR/BLK: as i_rdev; else 0 */
	__le64 i_data;		/* as i_data */
};

/*
 * Page map entry: one __le64 per file page, index = page number within
 * the file, so finding a page is O(1).  Type in the top two bits:
 *
 *   HOLE  all zero; the page reads as zeros.
 *   XIP   bits 0..51: image page number (byte offset >> s_page_shift) of
 *         an uncompressed page inside the XIP area (after a read-write
 *         mount: anywhere in the data region).
 *   COMP  bits 0..47: index into the cluster table; bits 48..55: this
 *         page's index inside the cluster.  The cluster decompresses to
 *         c_ulen bytes that are the file's pages starting at
 *         (this page - index).
 *         If the cluster has XIPFS_CL_SHARED, bits 48..55 are just
 *         the page of the decompressed cluster that holds this file page,
 *         with no relation to the file page's own index.
 *   TAIL  bits 0..47: byte offset of the page's data from s_meta_off (the
 *         data lies inside the metadata area), which holds
 *         min(page size, i_size - page offset) bytes; only the last page
 *         of a file may be TAIL.
 *
 * Bits 56..61 are reserved and zero.
 */
#define XIPFS_PTE_TYPE_SHIFT	62
#define XIPFS_PTE_TYPE_HOLE	0ULL
#define XIPFS_PTE_TYPE_XIP	1ULL
#define XIPFS_PTE_TYPE_COMP	2ULL
#define XIPFS_PTE_TYPE_TAIL	3ULL
#define XIPFS_PTE_RESERVED_MASK	(0x3fULL << 56)
#define XIPFS_PTE_XIP_MASK	((1ULL << 52) - 1)
#define XIPFS_PTE_CLUSTER_MASK	((1ULL << 48) - 1)
#define XIPFS_PTE_CINDEX_SHIFT	48
#define XIPFS_PTE_CINDEX_MASK	0xffULL
#define XIPFS_PTE_TAIL_MASK	((1ULL << 48) - 1)

#define XIPFS_PTE_TYPE(e)	((__u64)(e) >> XIPFS_PTE_TYPE_SHIFT)
#define XIPFS_PTE_XIP(pgno)	((XIPFS_PTE_TYPE_XIP << XIPFS_PTE_TYPE_SHIFT) | \
				 ((__u64)(pgno) & XIPFS_PTE_XIP_MASK))
#define XIPFS_PTE_COMP(cl, idx)	((XIPFS_PTE_TYPE_COMP << XIPFS_PTE_TYPE_SHIFT) | \
				 (((__u64)(idx) & XIPFS_PTE_CINDEX_MASK) << \
				  XIPFS_PTE_CINDEX_SHIFT) | \
				 ((__u64)(cl) & XIPFS_PTE_CLUSTER_MASK))
#define XIPFS_PTE_TAIL(off)	((XIPFS_PTE_TYPE_TAIL << XIPFS_PTE_TYPE_SHIFT) | \
				 ((__u64)(off) & XIPFS_PTE_TAIL_MASK))

/*
 * Grouped page maps.  The low three bits of a regular file's i_data are
 * the map's group shift G; the map itself starts at i_data with those bits
 * cleared.  G = 0: one entry per page, as above.  G = 1..7: one entry per
 * group of 2^G pages, ngroups = ceil(i_map_cap / 2^G) entries, and page
 * p's entry is xipfs_pte_in_group(map[p >> G], p & (2^G - 1), C), where C is
 * s_max_cluster_shift - s_page_shift (0 in an image without clusters).
 * A group's entry names its first page; the others follow it: the next XIP
 * pages, or the next pages of the same cluster and then of the following
 * clusters, taking 2^C pages from each (so a run of full clusters of one
 * file needs one entry per group).  A TAIL entry only describes the first
 * page of its group.  Derived entries that do not fit are invalid (their
 * reserved bits are set).
 *
 * End run: with G > 0 and XIPFS_INODE_END_RUN in i_flags, the group
 * entries are followed by two more words: R, a page number inside the last
 * group ((ngroups - 1) * 2^G <= R < i_map_cap), and the entry of page R.
 * Page p >= R then has the entry xipfs_pte_in_group(entry of R, p - R, C)
 * instead of its group's.  This lets a file whose last pages lie elsewhere
 * (the end of a large file packed into a shared cluster) keep large
 * groups.  The flag means nothing with G = 0.
 *
 * mkfs writes a grouped map for a file whose pages all follow these
 * rules; grouped maps lie in the metadata area only.
 * A read-write mount never changes one: before it changes any entry of
 * such a file it writes the per-page map to free pages and stores i_data
 * (pointer and G = 0) with one aligned 8-byte store.
 */
#define XIPFS_MAP_SHIFT_MASK	7ULL
#define XIPFS_MAP_MAX_SHIFT	7
#define XIPFS_MAP_SHIFT(data)	((unsigned int)((__u64)(data) & XIPFS_MAP_SHIFT_MASK))
#define XIPFS_MAP_OFF(data)	((__u64)(data) & ~XIPFS_MAP_SHIFT_MASK)
#define XIPFS_PTE_INVALID	XIPFS_PTE_RESERVED_MASK

/*
 * The entry of page @k of a group (or extent) whose entry is @e, in an
 * image whose full clusters hold 2^@cshift pages (@cshift <= 6).
 */
static inline __u64 xipfs_pte_in_group(__u64 e, unsigned int k,
				       unsigned int cshift)
{
	__u64 n, cl;

	switch (XIPFS_PTE_TYPE(e)) {
	case XIPFS_PTE_TYPE_XIP:
		if ((e & XIPFS_PTE_XIP_MASK) + k > XIPFS_PTE_XIP_MASK)
			return XIPFS_PTE_INVALID;
		return e + k;
	case XIPFS_PTE_TYPE_COMP:
		if (!k)
			return e;
		n = ((e >> XIPFS_PTE_CINDEX_SHIFT) & XIPFS_PTE_CINDEX_MASK) + k;
		cl = (e & XIPFS_PTE_CLUSTER_MASK) + (n >> cshift);
		if (cl > XIPFS_PTE_CLUSTER_MASK || (e & XIPFS_PTE_RESERVED_MASK))
			return XIPFS_PTE_INVALID;
		return XIPFS_PTE_COMP(cl, n & ((1U << cshift) - 1));
	case XIPFS_PTE_TYPE_TAIL:
		return k ? XIPFS_PTE_INVALID : e;
	default:
		return e;	/* HOLE: the whole group is a hole */
	}
}

/* No end run: a page past every map (i_map_cap is 32-bit). */
#define XIPFS_MAP_NO_RUN	0xffffffffULL
/* xipfs_map_slot(): the page's entry derives from the end run's entry. */
#define XIPFS_MAP_RUN_SLOT	(~0ULL)

/* Stored group (or page) entries of a map for @cap pages, group shift @g. */
static inline __u64 xipfs_map_groups(__u64 cap, unsigned int g)
{
	return (cap + (1ULL << g) - 1) >> g;
}

/* Does an end run from page @run start inside the last group, as it must? */
static inline int xipfs_map_run_ok(__u64 run, __u64 cap, unsigned int g)
{
	__u64 n = xipfs_map_groups(cap, g);

	return n && run >= (n - 1) << g && run < cap;
}

/*
 * The derivation of page @p's entry in a page map of group shift @g whose
 * end run starts at page @run (XIPFS_MAP_NO_RUN: none; ignored with
 * G = 0), which the driver and the image library both use: returns the
 * index of the stored entry it derives from (its group's), or
 * XIPFS_MAP_RUN_SLOT for the end run's entry, and sets *@k to the page's
 * place after the page that entry names.  Page @p's entry is
 * xipfs_pte_in_group(that entry, *@k, C); with G = 0, *@k is 0 and that
 * leaves the stored entry as it is.
 */
static inline __u64 xipfs_map_slot(__u64 p, unsigned int g, __u64 run,
				   unsigned int *k)
{
	if (g && p >= run) {
		*k = (unsigned int)(p - run);
		return XIPFS_MAP_RUN_SLOT;
	}
	*k = (unsigned int)(p & ((1ULL << g) - 1));
	return p >> g;
}

/*
 * Extent maps (INCOMPAT_EXTENT_MAPS).  A regular file with
 * XIPFS_INODE_EXTENT_MAP in i_flags has an extent map at i_data (group
 * shift 0, no END_RUN; in the metadata area only): a __le64 extent count
 * n, 1 <= n <= i_map_cap, then n struct xipfs_map_extent sorted by
 * x_page, the first at page 0, each x_page < i_map_cap and larger than
 * the one before.  Page p's entry is xipfs_pte_in_group(x_entry, p -
 * x_page, C) of the last extent whose x_page <= p (C as for grouped
 * maps): an extent is a run of pages that follow its first page as a
 * group's pages follow theirs, however long.  A file of a few runs
 * (a library whose segments are separated by holes, a sparse file) costs
 * a few extents instead of an entry per page or per group.  mkfs writes
 * one when it is smaller than the file's grouped map.  An image with the
 * feature mounts read-only only: making an extent map per-page would
 * change both i_flags and i_data, which no single store does.
 */
struct xipfs_map_extent {
	__le64 x_page;		/* first page of the extent */
	__le64 x_entry;		/* its page map entry */
};

#define XIPFS_MAP_EXTENT_SIZE	16

/* Bytes of an extent map of @n extents: the count and the extents. */
static inline __u64 xipfs_extent_map_size(__u64 n)
{
	return 8 + n * XIPFS_MAP_EXTENT_SIZE;
}

/*
 * Cluster table: s_cluster_count + 1 little-endian 64-bit descriptors at
 * s_cluster_off.  A cluster holds 1..64 pages (at most
 * XIPFS_MAX_CLUSTER_SIZE bytes) of one file, compressed together, or
 * pieces of several files (XIPFS_CL_SHARED).  Descriptor bits:
 *
 *    0..37  byte offset of the compressed data from s_comp_off
 *   38..53  bytes of the last page, minus one
 *   54..59  pages, minus one
 *   60..62  enum xipfs_comp_alg
 *   63      XIPFS_CL_SHARED
 *
 * Clusters lie back to back in table order: cluster i's compressed
 * length is the offset of descriptor i + 1 minus its own, and the last
 * descriptor is a sentinel holding only the end of the compressed data
 * (<= s_comp_size).  The cluster decompresses to exactly
 * (pages - 1) * page size + last-page bytes (its ulen); the rest of the
 * last page reads as zeros.  A stored cluster (XIPFS_COMP_NONE) is its
 * ulen bytes as they are.  Without XIPFS_CL_SHARED the pages are
 * consecutive pages of one file.
 *
 * XIPFS_CL_SHARED (only with INCOMPAT_SHARED_CLUSTERS): the cluster's
 * pages may belong to several files and to several places of one file
 * (mkfs packs small files and the last partial cluster of larger files
 * into such clusters, each piece starting on a page boundary of the
 * decompressed cluster); a COMP entry's bits 48..55 name the page.  Bytes
 * of a page past the end of the file that maps it are not part of that
 * file.
 */
#define XIPFS_CL_OFF_MASK	((1ULL << 38) - 1)
/* Not bits 0..37: what a compact table's exception word gives. */
#define XIPFS_CL_DESC_MASK	(~XIPFS_CL_OFF_MASK)
#define XIPFS_CL_LAST_SHIFT	38
#define XIPFS_CL_LAST_MASK	0xffffULL
#define XIPFS_CL_PAGES_SHIFT	54
#define XIPFS_CL_PAGES_MASK	0x3fULL
#define XIPFS_CL_ALG_SHIFT	60
#define XIPFS_CL_ALG_MASK	0x7ULL
#define XIPFS_CL_SHARED		(1ULL << 63)

#define XIPFS_CL_OFF(d)		((__u64)(d) & XIPFS_CL_OFF_MASK)
#define XIPFS_CL_PAGES(d)	((unsigned int)(((__u64)(d) >> XIPFS_CL_PAGES_SHIFT) & \
						XIPFS_CL_PAGES_MASK) + 1)
#define XIPFS_CL_ALG(d)		((unsigned int)(((__u64)(d) >> XIPFS_CL_ALG_SHIFT) & \
						XIPFS_CL_ALG_MASK))
/* Uncompressed bytes of the cluster described by @d in an image of @pshift pages. */
#define XIPFS_CL_ULEN(d, pshift) \
	((((__u64)XIPFS_CL_PAGES(d) - 1) << (pshift)) + \
	 (((__u64)(d) >> XIPFS_CL_LAST_SHIFT) & XIPFS_CL_LAST_MASK) + 1)
/* The descriptor of a cluster; @ulen in ((pages - 1) pages, pages pages]. */
#define XIPFS_CL_DESC(off, pages, ulen, pshift, alg, shared) \
	(((__u64)(off) & XIPFS_CL_OFF_MASK) | \
	 ((((__u64)(ulen) - (((__u64)(pages) - 1) << (pshift)) - 1) & \
	   XIPFS_CL_LAST_MASK) << XIPFS_CL_LAST_SHIFT) | \
	 ((((__u64)(pages) - 1) & XIPFS_CL_PAGES_MASK) << XIPFS_CL_PAGES_SHIFT) | \
	 (((__u64)(alg) & XIPFS_CL_ALG_MASK) << XIPFS_CL_ALG_SHIFT) | \
	 ((shared) ? XIPFS_CL_SHARED : 0))

/*
 * Compact cluster table (INCOMPAT_COMPACT_CLUSTERS), instead of the
 * 8-byte table.  Most clusters are regular: full (2^C pages,
 * C = s_max_cluster_shift - s_page_shift; ulen 2^s_max_cluster_shift
 * bytes), of one file, and compressed with the image's one algorithm (or
 * stored, because compressing did not make them smaller): all that a
 * descriptor says of them but their place is known, and their place is
 * the previous cluster's end.  So the compact table at s_cluster_off
 * (8-byte aligned, xipfs_ct_size() bytes) holds, with
 * N = s_cluster_count, B = ceil(N / 64), E = ct_exceptions and
 * W = XIPFS_CT_LEN_BYTES(s_max_cluster_shift):
 *
 *   struct xipfs_cluster_table	8 bytes
 *   __le64 base[B]		offset from s_comp_off of cluster 64 * j
 *   __le64 exception[E]	clusters that are not regular
 *   __u8 len[N][W]		each cluster's compressed length minus one,
 *				little-endian, W bytes
 *
 * Cluster i lies at base[i / 64] plus the lengths of the clusters from
 * 64 * (i / 64) to i - 1 (back to back in table order, as in the 8-byte
 * table; the end of the last cluster is what that table's sentinel holds,
 * <= s_comp_size).  Its descriptor is that offset ORed with the bits
 * 38..63 of the exception word whose bits 0..37 are i, if there is one
 * (exception words are sorted by index, no index twice), or else those
 * of a regular cluster: pages 2^C, last-page bytes a page, not shared,
 * and algorithm XIPFS_COMP_NONE if its length is 2^s_max_cluster_shift
 * (stored), else ct_alg.  A compressed length is at most the cluster's
 * ulen, which is at most 2^s_max_cluster_shift, so W bytes hold it.
 * Readers turn this into the 8-byte descriptors (sentinel included) and
 * go on as with the 8-byte table; the checksum table still has one
 * entry per cluster in table order.  Never changed by a read-write mount
 * (clusters stay where mkfs put them).
 */
struct xipfs_cluster_table {
	__le32 ct_exceptions;	/* E: exception words */
	__u8   ct_alg;		/* enum xipfs_comp_alg of compressed regular clusters */
	__u8   ct_reserved[3];	/* zero */
};

#define XIPFS_CT_HEADER_SIZE	8
#define XIPFS_CT_GROUP_SHIFT	6	/* a base offset every 64 clusters */
#define XIPFS_CT_LEN_BYTES(max_cluster_shift) ((max_cluster_shift) <= 16 ? 2U : 3U)

/* Bytes of a compact cluster table of @n clusters, @e exceptions. */
static inline __u64 xipfs_ct_size(__u64 n, __u64 e, unsigned int max_cluster_shift)
{
	return XIPFS_CT_HEADER_SIZE +
	       ((n + (1U << XIPFS_CT_GROUP_SHIFT) - 1) >> XIPFS_CT_GROUP_SHIFT) * 8 +
	       e * 8 + n * XIPFS_CT_LEN_BYTES(max_cluster_shift);
}

/*
 * Directory block, at the directory inode's i_data, i_size bytes long:
 * a header, d_count entries sorted by name (bytewise memcmp, a shorter
 * name first when one is a prefix of the other; no duplicates), then the
 * names they point at.  "." and ".." are not stored: ".." is d_parent.
 * readdir position n (n >= 2) is entry n - 2, which stays stable.
 */
struct xipfs_dir_header {
	__le32 d_count;		/* entries */
	__le32 d_parent;	/* inode number of the parent; root: itself */
};

/* d_type values are the DT_* values of <dirent.h>. */
struct xipfs_dirent {
	__le32 d_ino;
	__le32 d_name_off;	/* byte offset of the name from the block start */
	__u8   d_name_len;	/* 1..255 */
	__u8   d_type;
	__le16 d_reserved;	/* zero */
};

/*
 * Extended attributes (COMPAT_XATTRS).  An attribute is an entry: a
 * struct xipfs_xattr_entry, e_name_len bytes of name (what follows the
 * prefix e_prefix names; not NUL-terminated), e_value_len bytes of value,
 * zero padding to a multiple of 4 bytes (XIPFS_XATTR_ENTRY_SIZE).
 *
 * The shared table, at s_xattr_off, holds s_xattr_count entries back to
 * back (s_xattr_size bytes): attributes that several inodes have, stored
 * once (one SELinux label on every file, one capability on many
 * binaries).  An entry of it is named by its index: its byte offset from
 * s_xattr_off divided by 4.
 *
 * An inode's body, at i_xattr: a struct xipfs_xattr_header, h_shared
 * __le32 shared indices, then h_count entries, h_size bytes in all.  The
 * inode's attributes are the named shared entries and its own entries;
 * their full names (prefix and name) are unique within the inode.
 * Inodes with the same attributes may have the same i_xattr (one body):
 * bodies are never written in place.  Bodies do not otherwise overlap
 * each other or any other structure.  mkfs
 * writes the shared indices in increasing order and the entries sorted
 * by (prefix, name); readers need neither.
 *
 * The POSIX ACL prefixes are whole names (e_name_len 0); their value is
 * the attribute as getxattr(2) returns it (struct posix_acl_xattr_header
 * and entries, ids in the initial user namespace).  Every other prefix
 * needs a name of 1..255 bytes.
 */
enum xipfs_xattr_prefix {
	XIPFS_XATTR_USER		= 1,	/* "user." */
	XIPFS_XATTR_TRUSTED		= 2,	/* "trusted." */
	XIPFS_XATTR_SECURITY		= 3,	/* "security." */
	XIPFS_XATTR_ACL_ACCESS		= 4,	/* "system.posix_acl_access" */
	XIPFS_XATTR_ACL_DEFAULT		= 5,	/* "system.posix_acl_default" */
	XIPFS_XATTR_PREFIX_MAX
};

struct xipfs_xattr_entry {
	__u8   e_prefix;	/* enum xipfs_xattr_prefix */
	__u8   e_name_len;	/* bytes of name after the prefix */
	__le16 e_value_len;	/* bytes of value (so at most 65535) */
};

struct xipfs_xattr_header {
	__le16 h_shared;	/* shared indices after the header */
	__le16 h_count;		/* entries after them */
	__le32 h_size;		/* bytes of the body, header included */
};

#define XIPFS_XATTR_ENTRY_SIZE(name_len, value_len) \
	((4U + (__u32)(name_len) + (__u32)(value_len) + 3U) & ~3U)

#define XIPFS_INODE_SLOT	32	/* inode table slot; compact inode */
#define XIPFS_INODE_SIZE	64	/* extended inode: two slots */
#define XIPFS_CLUSTER_SIZE	8	/* cluster descriptor */
#define XIPFS_CSUM_SIZE		4	/* data checksum table entry */
#define XIPFS_DIRENT_SIZE	12
#define XIPFS_DIR_HEADER_SIZE	8
#define XIPFS_XATTR_ENTRY_HDR	4	/* struct xipfs_xattr_entry */
#define XIPFS_XATTR_HEADER_SIZE	8	/* struct xipfs_xattr_header */

#endif /* _UAPI_LINUX_XIPFS_FS_H */
