// SPDX-License-Identifier: GPL-2.0
/*
 * Reading xipfs images safely.  The image is hostile until proven
 * otherwise: every field is loaded with memcpy (no alignment assumed) and
 * every offset/length pair is checked with overflow-safe arithmetic
 * before the bytes it names are touched.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "crc32c.h"
#include "image_internal.h"

#define FLD(type, field) offsetof(struct type, field)

const char *xipfs_image_error(const struct xipfs_image *img)
{
	return img->err;
}

bool xipfs_range_in(uint64_t off, uint64_t len, uint64_t start, uint64_t size)
{
	return off >= start && len <= size && off - start <= size - len;
}

uint64_t xipfs_size_pages(const struct xipfs_image *img, uint64_t size)
{
	unsigned int shift = img->sb.page_shift;

	return (size >> shift) + ((size & (img->page_size - 1)) != 0);
}

uint64_t xipfs_tail_offset(const struct xipfs_image *img, uint64_t pte)
{
	/*
	 * An offset from s_meta_off ("in the metadata area", as the kernel's
	 * data.c also reads it); the data must lie inside the metadata.
	 */
	return img->sb.meta_off + (pte & XIPFS_PTE_TAIL_MASK);
}

unsigned int xipfs_mode_dtype(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return DT_REG;
	case S_IFDIR: return DT_DIR;
	case S_IFLNK: return DT_LNK;
	case S_IFCHR: return DT_CHR;
	case S_IFBLK: return DT_BLK;
	case S_IFIFO: return DT_FIFO;
	case S_IFSOCK: return DT_SOCK;
	}
	return DT_UNKNOWN;
}

static void parse_sb(const uint8_t *p, struct xipfs_sb *sb)
{
#define S(f) FLD(xipfs_super_block, f)
	sb->magic = ld32(p + S(s_magic));
	sb->checksum = ld32(p + S(s_checksum));
	sb->version = ld16(p + S(s_version));
	sb->page_shift = p[S(s_page_shift)];
	sb->max_cluster_shift = p[S(s_max_cluster_shift)];
	sb->state = ld16(p + S(s_state));
	sb->comp_algs = ld16(p + S(s_comp_algs));
	sb->feature_compat = ld32(p + S(s_feature_compat));
	sb->feature_ro_compat = ld32(p + S(s_feature_ro_compat));
	sb->feature_incompat = ld32(p + S(s_feature_incompat));
	sb->root_ino = ld32(p + S(s_root_ino));
	sb->image_size = ld64(p + S(s_image_size));
	sb->build_time = (int64_t)ld64(p + S(s_build_time));
	sb->build_time_nsec = ld32(p + S(s_build_time_nsec));
	sb->inode_count = ld32(p + S(s_inode_count));
	sb->inode_off = ld64(p + S(s_inode_off));
	sb->meta_off = ld64(p + S(s_meta_off));
	sb->meta_size = ld64(p + S(s_meta_size));
	sb->meta_crc = ld32(p + S(s_meta_crc));
	sb->reserved0 = ld32(p + S(s_reserved0));
	sb->cluster_off = ld64(p + S(s_cluster_off));
	sb->cluster_count = ld64(p + S(s_cluster_count));
	sb->xip_off = ld64(p + S(s_xip_off));
	sb->xip_size = ld64(p + S(s_xip_size));
	sb->comp_off = ld64(p + S(s_comp_off));
	sb->comp_size = ld64(p + S(s_comp_size));
	sb->free_off = ld64(p + S(s_free_off));
	sb->free_size = ld64(p + S(s_free_size));
	memcpy(sb->uuid, p + S(s_uuid), sizeof(sb->uuid));
	memcpy(sb->volume_name, p + S(s_volume_name), 16);
	sb->volume_name[16] = '\0';
	sb->xattr_off = ld64(p + S(s_xattr_off));
	sb->xattr_size = ld32(p + S(s_xattr_size));
	sb->xattr_count = ld32(p + S(s_xattr_count));
	sb->csum_off = ld64(p + S(s_csum_off));
	sb->csum_size = ld64(p + S(s_csum_size));
	sb->csum_reserved = ld64(p + S(s_csum_reserved));
#undef S
}

static uint32_t sb_crc(const uint8_t *p)
{
	uint8_t copy[XIPFS_SB_SIZE];

	memcpy(copy, p, sizeof(copy));
	memset(copy + FLD(xipfs_super_block, s_checksum), 0, 4);
	memset(copy + FLD(xipfs_super_block, s_state), 0, 2);
	return xipfs_crc32c(copy, sizeof(copy));
}

/*
 * Which slots are second halves of extended inodes: only a walk from
 * slot 1 can tell (slot 0 is one unused slot).
 */
static int walk_slots(struct xipfs_image *img)
{
	const uint8_t *t = img->base + img->sb.inode_off;
	uint32_t n = img->sb.inode_count;

	img->second_slot = calloc((size_t)n / 8 + 1, 1);
	if (!img->second_slot) {
		snprintf(img->err, sizeof(img->err), "out of memory (inode table of %u slots)", n);
		return -ENOMEM;
	}
	for (uint32_t i = 1; i < n; i++) {
		if (!(ld16(t + (uint64_t)i * XIPFS_INODE_SLOT + FLD(xipfs_inode, i_flags)) &
		      XIPFS_INODE_EXTENDED))
			continue;
		if (i + 1 == n) {
			img->cut_ino = i;
			break;
		}
		i++;
		img->second_slot[i / 8] |= (uint8_t)(1U << (i % 8));
	}
	return 0;
}

bool xipfs_slot_is_second(const struct xipfs_image *img, uint32_t n)
{
	return n < img->sb.inode_count && (img->second_slot[n / 8] & (1U << (n % 8)));
}

/*
 * The compact cluster table (INCOMPAT_COMPACT_CLUSTERS).  Its descriptors
 * are rebuilt on each read, in place, as the kernel reads them: at most
 * 63 lengths summed and a binary search of the exception words.  The
 * helpers take the bytes and the located table, so that a raw copy
 * (fix_data_csums()) reads it as an open image does.
 */

/* Locate the table's parts from its header; false if they can't be (overflow). */
static bool ct_locate(const uint8_t *p, size_t len, const struct xipfs_sb *sb,
		      struct xipfs_ctab *ct)
{
	memset(ct, 0, sizeof(*ct));
	ct->on = true;
	ct->n = sb->cluster_count;
	ct->w = XIPFS_CT_LEN_BYTES(sb->max_cluster_shift);
	/* Each cluster takes W >= 2 bytes: bounding n keeps the sizes in range. */
	if (!xipfs_range_in(sb->cluster_off, XIPFS_CT_HEADER_SIZE, 0, len) ||
	    ct->n > len / 2)
		return false;
	ct->e = ld32(p + sb->cluster_off + FLD(xipfs_cluster_table, ct_exceptions));
	ct->alg = p[sb->cluster_off + FLD(xipfs_cluster_table, ct_alg)];
	ct->size = xipfs_ct_size(ct->n, ct->e, sb->max_cluster_shift);
	ct->base_off = sb->cluster_off + XIPFS_CT_HEADER_SIZE;
	ct->exc_off = ct->base_off +
		      ((ct->n + (1U << XIPFS_CT_GROUP_SHIFT) - 1) >> XIPFS_CT_GROUP_SHIFT) * 8;
	ct->len_off = ct->exc_off + ct->e * 8;
	return xipfs_range_in(sb->cluster_off, ct->size, 0, len);
}

static uint32_t ct_len(const uint8_t *p, const struct xipfs_ctab *ct, uint64_t i)
{
	const uint8_t *q = p + ct->len_off + i * ct->w;

	return (q[0] | (uint32_t)q[1] << 8 | (ct->w > 2 ? (uint32_t)q[2] << 16 : 0)) + 1;
}

/* Descriptor i <= n; the table lies in p's bytes (ct_locate()). */
static uint64_t ct_desc(const uint8_t *p, const struct xipfs_sb *sb,
			const struct xipfs_ctab *ct, uint64_t i)
{
	uint64_t last = i < ct->n ? i : i - 1, off, lo = 0, hi = ct->e;
	unsigned int cshift = sb->max_cluster_shift - sb->page_shift;
	uint32_t full = 1U << sb->max_cluster_shift;

	if (i > ct->n)
		return 0;
	if (!ct->n)
		return 0;	/* the sentinel of no clusters: no data */
	off = ld64(p + ct->base_off + (last >> XIPFS_CT_GROUP_SHIFT) * 8);
	for (uint64_t k = last & ~((1ULL << XIPFS_CT_GROUP_SHIFT) - 1); k < i; k++)
		off += ct_len(p, ct, k);
	/* Only an offset; unmasked, so that one out of range shows. */
	if (i == ct->n)
		return off;
	/* The exception words are sorted by index (fsck checks it). */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint64_t x = ld64(p + ct->exc_off + mid * 8);

		if ((x & XIPFS_CL_OFF_MASK) == i)
			return (off & XIPFS_CL_OFF_MASK) | (x & XIPFS_CL_DESC_MASK);
		if ((x & XIPFS_CL_OFF_MASK) < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return XIPFS_CL_DESC(off, 1U << cshift, full, sb->page_shift,
			     ct_len(p, ct, i) == full ? XIPFS_COMP_NONE : ct->alg, false);
}

/* The compact table's checks at open: what readers need to read it safely. */
static int validate_ct(struct xipfs_image *img)
{
	const struct xipfs_sb *sb = &img->sb;
	struct xipfs_ctab *ct = &img->ct;
	const uint8_t *h;
	uint64_t end;

	if (sb->cluster_off % 8)
		return fail(img, "compact cluster table at %llu: not 8-byte aligned",
			    (unsigned long long)sb->cluster_off);
	if (!ct_locate(img->base, img->len, sb, ct) ||
	    !xipfs_range_in(sb->cluster_off, ct->size, sb->meta_off, sb->meta_size))
		return fail(img, "compact cluster table [%llu, +%llu bytes: %llu clusters, %llu exceptions) outside the metadata area",
			    (unsigned long long)sb->cluster_off, (unsigned long long)ct->size,
			    (unsigned long long)ct->n, (unsigned long long)ct->e);
	h = img->base + sb->cluster_off + FLD(xipfs_cluster_table, ct_reserved);
	if (h[0] || h[1] || h[2])
		return fail(img, "compact cluster table: reserved bytes 0x%02x%02x%02x not zero",
			    h[2], h[1], h[0]);
	if (ct->alg >= XIPFS_COMP_MAX ||
	    (ct->alg != XIPFS_COMP_NONE && !(sb->comp_algs & (1U << ct->alg))))
		return fail(img, "compact cluster table: algorithm %u of regular clusters %s (superblock's list 0x%x)",
			    ct->alg, ct->alg >= XIPFS_COMP_MAX ? "unknown" : "not in the superblock's list",
			    sb->comp_algs);
	end = ct_desc(img->base, sb, ct, ct->n);
	if (end > sb->comp_size)
		return fail(img, "compact cluster table: the last cluster (cluster %llu) ends at %llu, past the %llu-byte compressed area",
			    (unsigned long long)(ct->n - 1), (unsigned long long)end,
			    (unsigned long long)sb->comp_size);
	return 0;
}

/* The checks without which no other structure can be located safely. */
static int validate_sb(struct xipfs_image *img)
{
	struct xipfs_sb *sb = &img->sb;
	uint64_t ps, isz;
	struct { const char *name; uint64_t off, size; } areas[4];
	int ret;

	if (img->len < XIPFS_SB_SIZE) {
		snprintf(img->err, sizeof(img->err),
			 "image is %zu bytes, smaller than a superblock", img->len);
		return -ENOTXIPFS;
	}
	parse_sb(img->base, sb);
	if (sb->magic != XIPFS_MAGIC) {
		snprintf(img->err, sizeof(img->err),
			 "bad magic 0x%08x: not an xipfs image", sb->magic);
		return -ENOTXIPFS;
	}
	if (sb_crc(img->base) != sb->checksum)
		return fail(img, "superblock checksum mismatch (stored 0x%08x, computed 0x%08x)",
			    sb->checksum, sb_crc(img->base));
	if (sb->version != XIPFS_VERSION)
		return fail(img, "unsupported format version %u", sb->version);
	if (sb->page_shift < XIPFS_MIN_PAGE_SHIFT || sb->page_shift > XIPFS_MAX_PAGE_SHIFT)
		return fail(img, "page shift %u out of range %d..%d", sb->page_shift,
			    XIPFS_MIN_PAGE_SHIFT, XIPFS_MAX_PAGE_SHIFT);
	if (sb->feature_incompat & ~(uint32_t)XIPFS_FEATURE_INCOMPAT_ALL)
		return fail(img, "unknown incompatible features 0x%x",
			    sb->feature_incompat & ~(uint32_t)XIPFS_FEATURE_INCOMPAT_ALL);
	/* Without FREE_SPACE the free area fields mean nothing (the kernel's view). */
	if (!(sb->feature_compat & XIPFS_FEATURE_COMPAT_FREE_SPACE)) {
		img->ignored_free_size = sb->free_size;
		sb->free_off = sb->free_size = 0;
	}
	ps = img->page_size = 1U << sb->page_shift;
	isz = sb->image_size;
	if (isz < ps || isz % ps)
		return fail(img, "image size %llu is not a positive multiple of the page size %llu",
			    (unsigned long long)isz, (unsigned long long)ps);
	if (isz > img->len)
		return fail(img, "image truncated: superblock says %llu bytes, only %zu present",
			    (unsigned long long)isz, img->len);

	areas[0].name = "metadata"; areas[0].off = sb->meta_off; areas[0].size = sb->meta_size;
	areas[1].name = "XIP"; areas[1].off = sb->xip_off; areas[1].size = sb->xip_size;
	areas[2].name = "compressed"; areas[2].off = sb->comp_off; areas[2].size = sb->comp_size;
	areas[3].name = "free"; areas[3].off = sb->free_off; areas[3].size = sb->free_size;
	/*
	 * The metadata is 8-byte aligned; the other areas are page-aligned,
	 * but for the compressed area of an image without XIP pages and free
	 * space, which may follow the metadata directly.
	 */
	for (int i = 0; i < 4; i++) {
		uint64_t align = i == 0 ? 8 : i == 2 && !sb->xip_size && !sb->free_size ? 1 : ps;

		if (areas[i].off % align)
			return fail(img, "%s area offset %llu not %s-aligned", areas[i].name,
				    (unsigned long long)areas[i].off, align == 8 ? "8-byte" : "page");
		if (!xipfs_range_in(areas[i].off, areas[i].size, 0, isz))
			return fail(img, "%s area [%llu, +%llu) outside the image (%llu bytes)",
				    areas[i].name, (unsigned long long)areas[i].off,
				    (unsigned long long)areas[i].size, (unsigned long long)isz);
		if (areas[i].size && areas[i].off < XIPFS_SB_SIZE)
			return fail(img, "%s area overlaps the superblock", areas[i].name);
	}
	/* Non-empty areas come in the documented order and don't overlap. */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (areas[i].size && areas[j].size &&
			    areas[i].off + areas[i].size > areas[j].off)
				return fail(img, "%s area overlaps or follows the %s area",
					    areas[i].name, areas[j].name);
	if (sb->xip_size % ps)
		return fail(img, "XIP area size %llu not a multiple of the page size",
			    (unsigned long long)sb->xip_size);
	if (sb->free_size % ps)
		return fail(img, "free area size %llu not a multiple of the page size",
			    (unsigned long long)sb->free_size);
	img->meta_end = sb->meta_off + sb->meta_size;
	img->rw = sb->state & XIPFS_STATE_META_MODIFIED;
	img->data_off = sb->xip_off;
	/*
	 * After a read-write mount the data region [s_xip_off, s_image_size)
	 * is one pool of pages: it must hold the compressed and free areas
	 * and stay clear of the metadata, even when the XIP area is empty.
	 */
	if (img->rw) {
		if (sb->xip_off < img->meta_end)
			return fail(img, "data region (XIP area offset %llu) starts inside the metadata area [%llu, +%llu)",
				    (unsigned long long)sb->xip_off,
				    (unsigned long long)sb->meta_off,
				    (unsigned long long)sb->meta_size);
		for (int i = 2; i < 4; i++)
			if (areas[i].size && areas[i].off < sb->xip_off)
				return fail(img, "%s area starts before the data region (XIP area offset %llu)",
					    areas[i].name, (unsigned long long)sb->xip_off);
	}

	if (sb->inode_count < 2)
		return fail(img, "inode count %u: no root inode", sb->inode_count);
	/* 32-bit count: the product cannot overflow. */
	if (!xipfs_range_in(sb->inode_off, (uint64_t)sb->inode_count * XIPFS_INODE_SLOT,
			    sb->meta_off, sb->meta_size))
		return fail(img, "inode table [%llu, +%u slots of %d bytes) outside the metadata area",
			    (unsigned long long)sb->inode_off, sb->inode_count,
			    XIPFS_INODE_SLOT);
	if (sb->root_ino != XIPFS_ROOT_INO)
		return fail(img, "root inode %u, expected %d", sb->root_ino, XIPFS_ROOT_INO);
	/*
	 * Grouped maps step through clusters of 2^(this - page shift) pages,
	 * and a compact table's regular clusters are that size.
	 */
	if ((sb->feature_incompat & (XIPFS_FEATURE_INCOMPAT_CLUSTERS |
				     XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS)) &&
	    (sb->max_cluster_shift < sb->page_shift ||
	     sb->max_cluster_shift > __builtin_ctz(XIPFS_MAX_CLUSTER_SIZE)))
		return fail(img, "max cluster shift %u out of range %u..%d", sb->max_cluster_shift,
			    sb->page_shift, __builtin_ctz(XIPFS_MAX_CLUSTER_SIZE));
	if (sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS) {
		ret = validate_ct(img);
		if (ret)
			return ret;
	} else if (sb->cluster_count >= sb->meta_size / XIPFS_CLUSTER_SIZE ||
		   !xipfs_range_in(sb->cluster_off, (sb->cluster_count + 1) * XIPFS_CLUSTER_SIZE,
				   sb->meta_off, sb->meta_size)) {
		/* (count + 1) descriptors, the last the sentinel; overflow-safe. */
		return fail(img, "cluster table [%llu, +%llu clusters and the sentinel) outside the metadata area",
			    (unsigned long long)sb->cluster_off,
			    (unsigned long long)sb->cluster_count);
	}
	if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM) {
		/* cluster_count < meta_size / 2: the sum cannot overflow. */
		uint64_t n = sb->cluster_count + (sb->xip_size >> sb->page_shift);

		if (sb->csum_off % 4 || sb->csum_size != n * XIPFS_CSUM_SIZE ||
		    !xipfs_range_in(sb->csum_off, sb->csum_size, sb->meta_off, sb->meta_size))
			return fail(img, "data checksum table [%llu, +%llu) is not %llu entries inside the metadata area, 4-byte aligned",
				    (unsigned long long)sb->csum_off,
				    (unsigned long long)sb->csum_size, (unsigned long long)n);
		/* A read-write mount (of a kernel that refuses none) left them stale. */
		img->csum = !img->rw;
	}
	return walk_slots(img);
}

static int open_common(struct xipfs_image *img, char *err, size_t errlen)
{
	int ret;

	img->cbuf_index = UINT64_MAX;
	ret = validate_sb(img);
	if (ret && err)
		snprintf(err, errlen, "%s", img->err);
	return ret;
}

int xipfs_image_open_mem(const void *buf, size_t len,
			 struct xipfs_image **imgp, char *err, size_t errlen)
{
	struct xipfs_image *img = calloc(1, sizeof(*img));
	int ret;

	*imgp = NULL;
	if (!img) {
		if (err)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	img->base = buf;
	img->len = len;
	ret = open_common(img, err, errlen);
	if (ret) {
		xipfs_image_close(img);
		return ret;
	}
	*imgp = img;
	return 0;
}

int xipfs_image_open(const char *path, struct xipfs_image **imgp,
		     char *err, size_t errlen)
{
	struct xipfs_image *img;
	struct stat st;
	int fd, ret;
	uint64_t size;

	*imgp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			size = 0;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		close(fd);
		if (err)
			snprintf(err, errlen, "%s: not a regular file or block device", path);
		return -EINVAL;
	}
	if (size > SIZE_MAX) {
		close(fd);
		if (err)
			snprintf(err, errlen, "%s: too large to map", path);
		return -EFBIG;
	}
	img = calloc(1, sizeof(*img));
	if (!img) {
		close(fd);
		if (err)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (size) {
		img->map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (img->map == MAP_FAILED) {
			ret = -errno;
			if (err)
				snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
			close(fd);
			free(img);
			return ret;
		}
		img->map_len = size;
	} else {
		img->map = NULL;
	}
	close(fd);
	img->base = img->map ? img->map : (const uint8_t *)"";
	img->len = size;
	ret = open_common(img, NULL, 0);
	if (ret) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, img->err);
		xipfs_image_close(img);
		return ret;
	}
	*imgp = img;
	return 0;
}

void xipfs_image_close(struct xipfs_image *img)
{
	if (!img)
		return;
	if (img->map)
		munmap(img->map, img->map_len);
	free(img->cbuf);
	free(img->second_slot);
	free(img);
}

int xipfs_read_inode(struct xipfs_image *img, uint32_t ino,
		     struct xipfs_dinode *in)
{
	const uint8_t *p;

	memset(in, 0, sizeof(*in));
	in->ino = ino;
	if (ino >= img->sb.inode_count)
		return fail(img, "inode %u out of range (%u inode table slots)", ino,
			    img->sb.inode_count);
	if (xipfs_slot_is_second(img, ino))
		return fail(img, "inode %u: slot %u is the second half of extended inode %u, not an inode",
			    ino, ino, ino - 1);
	if (ino && ino == img->cut_ino)
		return fail(img, "inode %u: extended inode in the last slot of the inode table (%u slots): its second half is missing",
			    ino, img->sb.inode_count);
	p = img->base + img->sb.inode_off + (uint64_t)ino * XIPFS_INODE_SLOT;
	in->mode = ld16(p + FLD(xipfs_inode, i_mode));
	in->flags = ld16(p + FLD(xipfs_inode, i_flags));
	/* Slot 0 is one slot whatever it holds (it must be zero). */
	if ((in->flags & XIPFS_INODE_EXTENDED) && ino) {
#define I(f) FLD(xipfs_inode, f)
		in->extended = true;
		in->nlink = ld32(p + I(i_nlink));
		in->uid = ld32(p + I(i_uid));
		in->gid = ld32(p + I(i_gid));
		in->size = ld64(p + I(i_size));
		in->mtime = (int64_t)ld64(p + I(i_mtime));
		in->mtime_nsec = ld32(p + I(i_mtime_nsec));
		in->rdev = ld32(p + I(i_rdev));
		in->data = ld64(p + I(i_data));
		in->map_cap = ld32(p + I(i_map_cap));
		in->reserved0 = ld32(p + I(i_reserved0));
		in->xattr = ld64(p + I(i_xattr));
#undef I
	} else {
#define I(f) FLD(xipfs_inode_compact, f)
		uint32_t cap = ld32(p + I(i_map_cap));

		in->nlink = ld16(p + I(i_nlink));
		in->uid = ld16(p + I(i_uid));
		in->gid = ld16(p + I(i_gid));
		in->reserved0 = ld16(p + I(i_reserved));
		in->mtime = ld32(p + I(i_mtime));
		in->size = ld32(p + I(i_size));
		if (S_ISCHR(in->mode) || S_ISBLK(in->mode))
			in->rdev = cap;
		else
			in->map_cap = cap;
		in->data = ld64(p + I(i_data));
#undef I
	}
	return 0;
}

int xipfs_dir_open(struct xipfs_image *img, const struct xipfs_dinode *in,
		   struct xipfs_dir *d)
{
	const uint8_t *p;

	if (!S_ISDIR(in->mode))
		return fail(img, "inode %u is not a directory", in->ino);
	if (in->size < XIPFS_DIR_HEADER_SIZE ||
	    !xipfs_range_in(in->data, in->size, img->sb.meta_off, img->sb.meta_size))
		return fail(img, "inode %u: directory block [%llu, +%llu) outside the metadata area",
			    in->ino, (unsigned long long)in->data,
			    (unsigned long long)in->size);
	p = img->base + in->data;
	d->ino = in->ino;
	d->block = p;
	d->size = in->size;
	d->count = ld32(p + FLD(xipfs_dir_header, d_count));
	d->parent = ld32(p + FLD(xipfs_dir_header, d_parent));
	if (d->count > (in->size - XIPFS_DIR_HEADER_SIZE) / XIPFS_DIRENT_SIZE)
		return fail(img, "inode %u: %u directory entries don't fit in %llu bytes",
			    in->ino, d->count, (unsigned long long)in->size);
	return 0;
}

int xipfs_dir_entry(struct xipfs_image *img, const struct xipfs_dir *d,
		    uint32_t i, struct xipfs_dirent_info *e)
{
	const uint8_t *p;

	if (i >= d->count)
		return fail(img, "directory %u: entry %u out of range", d->ino, i);
	p = d->block + XIPFS_DIR_HEADER_SIZE + (uint64_t)i * XIPFS_DIRENT_SIZE;
#define D(f) FLD(xipfs_dirent, f)
	e->ino = ld32(p + D(d_ino));
	e->name_off = ld32(p + D(d_name_off));
	e->name_len = p[D(d_name_len)];
	e->type = p[D(d_type)];
	e->reserved = ld16(p + D(d_reserved));
#undef D
	e->name = NULL;
	if (e->name_len == 0)
		return fail(img, "directory %u: entry %u has an empty name", d->ino, i);
	if (!xipfs_range_in(e->name_off, e->name_len, 0, d->size))
		return fail(img, "directory %u: entry %u name [%u, +%u) outside the %llu-byte block",
			    d->ino, i, e->name_off, e->name_len,
			    (unsigned long long)d->size);
	e->name = (const char *)d->block + e->name_off;
	return 0;
}

/* Bytewise order, shorter first when one name is a prefix of the other. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int xipfs_lookup(struct xipfs_image *img, uint32_t dir_ino,
		 const char *name, size_t len, uint32_t *ino)
{
	struct xipfs_dinode in;
	struct xipfs_dir d;
	struct xipfs_dirent_info e;
	uint32_t lo = 0, hi;
	int ret;

	ret = xipfs_read_inode(img, dir_ino, &in);
	if (!ret)
		ret = xipfs_dir_open(img, &in, &d);
	if (ret)
		return ret;
	hi = d.count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c;

		ret = xipfs_dir_entry(img, &d, mid, &e);
		if (ret)
			return ret;
		c = name_cmp(name, len, e.name, e.name_len);
		if (!c) {
			*ino = e.ino;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	snprintf(img->err, sizeof(img->err), "%.*s: no such entry",
		 (int)(len > 255 ? 255 : len), name);
	return -ENOENT;
}

int xipfs_resolve(struct xipfs_image *img, const char *path, uint32_t *inop)
{
	uint32_t ino = XIPFS_ROOT_INO;
	const char *p = path;

	while (*p) {
		const char *end;
		size_t len;
		int ret;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 1 && p[0] == '.') {
			/* stay */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			struct xipfs_dinode in;
			struct xipfs_dir d;

			ret = xipfs_read_inode(img, ino, &in);
			if (!ret)
				ret = xipfs_dir_open(img, &in, &d);
			if (ret)
				return ret;
			ino = d.parent;
		} else {
			struct xipfs_dinode in;

			ret = xipfs_read_inode(img, ino, &in);
			if (ret)
				return ret;
			if (!S_ISDIR(in.mode)) {
				snprintf(img->err, sizeof(img->err), "%s: not a directory", path);
				return -ENOTDIR;
			}
			ret = xipfs_lookup(img, ino, p, len, &ino);
			if (ret == -ENOENT)
				snprintf(img->err, sizeof(img->err), "%s: no such file or directory",
					 path);
			if (ret)
				return ret;
		}
		p = end;
	}
	*inop = ino;
	return 0;
}

int xipfs_read_link(struct xipfs_image *img, const struct xipfs_dinode *in,
		    const char **target, size_t *len)
{
	if (!S_ISLNK(in->mode))
		return fail(img, "inode %u is not a symlink", in->ino);
	if (in->size == 0 || in->size >= 4096 ||
	    !xipfs_range_in(in->data, in->size, img->sb.meta_off, img->sb.meta_size))
		return fail(img, "inode %u: symlink target [%llu, +%llu) invalid or outside the metadata area",
			    in->ino, (unsigned long long)in->data,
			    (unsigned long long)in->size);
	*target = (const char *)img->base + in->data;
	*len = in->size;
	return 0;
}

bool xipfs_xip_page_ok(const struct xipfs_image *img, uint64_t off)
{
	const struct xipfs_sb *sb = &img->sb;

	if (img->rw)
		return xipfs_range_in(off, img->page_size, img->data_off,
				      sb->image_size - img->data_off);
	return xipfs_range_in(off, img->page_size, sb->xip_off, sb->xip_size);
}

/*
 * An extent map: the flag's rules, then the count and the whole map in
 * the metadata area.  Sortedness is xipfs_check()'s (a reader's binary
 * search stays in bounds either way).
 */
static int extent_map_get(struct xipfs_image *img, const struct xipfs_dinode *in,
			  struct xipfs_map *m)
{
	const struct xipfs_sb *sb = &img->sb;
	uint64_t n;

	if (!(sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS))
		return fail(img, "inode %u: extent map flag without the EXTENT_MAPS feature",
			    in->ino);
	if (m->shift)
		return fail(img, "inode %u: extent map with group shift %u in i_data 0x%llx (must be 0)",
			    in->ino, m->shift, (unsigned long long)in->data);
	if (in->flags & XIPFS_INODE_END_RUN)
		return fail(img, "inode %u: extent map flag together with the end-run flag",
			    in->ino);
	if (!xipfs_range_in(m->off, 8, sb->meta_off, sb->meta_size))
		return fail(img, "inode %u: extent map at offset %llu outside the metadata area",
			    in->ino, (unsigned long long)m->off);
	n = ld64(img->base + m->off);
	if (!n || n > in->map_cap)
		return fail(img, "inode %u: extent map of %llu extents (must be 1 to the capacity, %u)",
			    in->ino, (unsigned long long)n, in->map_cap);
	/* n <= i_map_cap < 2^32: the size cannot overflow. */
	if (!xipfs_range_in(m->off, xipfs_extent_map_size(n), sb->meta_off, sb->meta_size))
		return fail(img, "inode %u: extent map [%llu, +%llu bytes: %llu extents) runs past the metadata area",
			    in->ino, (unsigned long long)m->off,
			    (unsigned long long)xipfs_extent_map_size(n), (unsigned long long)n);
	m->extents = true;
	m->entries = n;
	return 0;
}

/*
 * An image with extent maps mounts read-only only (the format header:
 * making one per-page would take two stores), so the flag always means
 * an extent map in the metadata area, as the driver reads it.
 */
int xipfs_map_get(struct xipfs_image *img, const struct xipfs_dinode *in,
		  struct xipfs_map *m)
{
	const struct xipfs_sb *sb = &img->sb;
	uint64_t bytes, ps = img->page_size, np;

	if (!S_ISREG(in->mode))
		return fail(img, "inode %u is not a regular file", in->ino);
	m->off = XIPFS_MAP_OFF(in->data);
	m->shift = XIPFS_MAP_SHIFT(in->data);
	/* i_map_cap is 32-bit: neither this nor bytes can overflow. */
	m->entries = xipfs_map_groups(in->map_cap, m->shift);
	m->moved = false;
	m->pages = 0;
	m->end_run = m->shift && (in->flags & XIPFS_INODE_END_RUN);
	m->run_start = m->run_entry = 0;
	m->extents = false;
	if (in->flags & XIPFS_INODE_EXTENT_MAP)
		return extent_map_get(img, in, m);
	bytes = (m->entries + (m->end_run ? 2 : 0)) * 8;
	/* To a reader without the feature these bits misalign the map. */
	if (m->shift && !(sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_GROUPED_MAPS))
		return fail(img, "inode %u: page map offset %llu not 8-byte aligned (group shift %u without the GROUPED_MAPS feature)",
			    in->ino, (unsigned long long)in->data, m->shift);
	if (xipfs_range_in(m->off, bytes, sb->meta_off, sb->meta_size)) {
		if (!m->end_run)
			return 0;
		/* The end run starts inside the last group. */
		m->run_start = ld64(img->base + m->off + m->entries * 8);
		m->run_entry = ld64(img->base + m->off + m->entries * 8 + 8);
		if (!xipfs_map_run_ok(m->run_start, in->map_cap, m->shift))
			return fail(img, "inode %u: end run from page %llu outside the last group of its page map (%llu groups of %u pages, capacity %u)",
				    in->ino, (unsigned long long)m->run_start,
				    (unsigned long long)m->entries, 1U << m->shift, in->map_cap);
		return 0;
	}
	/* Grouped maps stay where mkfs put them: a rw mount never moves one. */
	if (m->shift)
		return fail(img, "inode %u: grouped page map [%llu, +%llu entries) outside the metadata area",
			    in->ino, (unsigned long long)m->off, (unsigned long long)m->entries);
	/* A read-write mount may move a map to whole pages of the data region. */
	if (!img->rw || in->data < img->data_off || in->data >= sb->image_size)
		return fail(img, "inode %u: page map [%llu, +%u entries) outside the metadata area%s",
			    in->ino, (unsigned long long)in->data, in->map_cap,
			    img->rw ? " and the data region" : "");
	if (in->data % ps)
		return fail(img, "inode %u: page map at offset %llu in the data region is not page-aligned",
			    in->ino, (unsigned long long)in->data);
	np = (bytes + ps - 1) / ps;
	if (!xipfs_range_in(in->data, np * ps, img->data_off, sb->image_size - img->data_off))
		return fail(img, "inode %u: page map [%llu, +%llu pages) runs past the end of the image (%llu bytes)",
			    in->ino, (unsigned long long)in->data, (unsigned long long)np,
			    (unsigned long long)sb->image_size);
	m->moved = true;
	m->pages = np;
	return 0;
}

int xipfs_map_locate(struct xipfs_image *img, const struct xipfs_dinode *in,
		     bool *moved, uint64_t *pages)
{
	struct xipfs_map m = { 0 };
	int ret = xipfs_map_get(img, in, &m);

	*moved = m.moved;
	*pages = m.pages;
	return ret;
}

int xipfs_map_raw(struct xipfs_image *img, const struct xipfs_dinode *in,
		  uint64_t i, uint64_t *pte)
{
	struct xipfs_map m;
	int ret;

	ret = xipfs_map_get(img, in, &m);
	if (ret)
		return ret;
	if (i >= m.entries)
		return fail(img, "inode %u: page map entry %llu beyond its %llu entries", in->ino,
			    (unsigned long long)i, (unsigned long long)m.entries);
	if (m.extents)
		*pte = ld64(img->base + m.off + 8 + i * XIPFS_MAP_EXTENT_SIZE + 8);
	else
		*pte = ld64(img->base + m.off + i * 8);
	return 0;
}

int xipfs_map_extent(struct xipfs_image *img, const struct xipfs_dinode *in,
		     uint64_t i, uint64_t *page, uint64_t *pte)
{
	struct xipfs_map m;
	const uint8_t *x;
	int ret;

	ret = xipfs_map_get(img, in, &m);
	if (ret)
		return ret;
	if (!m.extents)
		return fail(img, "inode %u: no extent map", in->ino);
	if (i >= m.entries)
		return fail(img, "inode %u: extent %llu beyond its %llu extents", in->ino,
			    (unsigned long long)i, (unsigned long long)m.entries);
	x = img->base + m.off + 8 + i * XIPFS_MAP_EXTENT_SIZE;
	*page = ld64(x);
	*pte = ld64(x + 8);
	return 0;
}

/*
 * Page idx's entry in an extent map: the last extent whose x_page <= idx
 * derives it (binary search: in bounds whatever the order).
 */
static uint64_t extent_map_entry(const struct xipfs_image *img, const struct xipfs_map *m,
				 uint64_t idx)
{
	const uint8_t *x = img->base + m->off + 8;
	uint64_t lo = 0, hi = m->entries, first;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (ld64(x + mid * XIPFS_MAP_EXTENT_SIZE) <= idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return XIPFS_PTE_INVALID;	/* before the first extent */
	x += (lo - 1) * XIPFS_MAP_EXTENT_SIZE;
	first = ld64(x);
	/* idx < i_map_cap < 2^32: the distance fits. */
	return xipfs_pte_in_group(ld64(x + 8), (unsigned int)(idx - first),
				  xipfs_group_cshift(img));
}

int xipfs_map_read(struct xipfs_image *img, const struct xipfs_dinode *in,
		   uint64_t idx, uint64_t *pte)
{
	struct xipfs_map m;
	uint64_t slot, e;
	unsigned int k;
	int ret;

	ret = xipfs_map_get(img, in, &m);
	if (ret)
		return ret;
	if (idx >= in->map_cap)
		return fail(img, "inode %u: page map entry %llu beyond its capacity %u", in->ino,
			    (unsigned long long)idx, in->map_cap);
	if (m.extents) {
		*pte = extent_map_entry(img, &m, idx);
		return 0;
	}
	slot = xipfs_map_slot(idx, m.shift, m.end_run ? m.run_start : XIPFS_MAP_NO_RUN, &k);
	if (slot == XIPFS_MAP_RUN_SLOT)
		e = m.run_entry;
	else
		e = ld64(img->base + m.off + slot * 8);
	*pte = xipfs_pte_in_group(e, k, xipfs_group_cshift(img));
	return 0;
}

int xipfs_pte_get(struct xipfs_image *img, const struct xipfs_dinode *in,
		  uint64_t pgno, uint64_t *pte)
{
	uint64_t pages;

	if (!S_ISREG(in->mode))
		return fail(img, "inode %u is not a regular file", in->ino);
	pages = xipfs_size_pages(img, in->size);
	if (pgno >= pages)
		return fail(img, "inode %u: page %llu beyond the end", in->ino,
			    (unsigned long long)pgno);
	if (pages > in->map_cap)
		return fail(img, "inode %u: page map capacity %u < %llu pages", in->ino,
			    in->map_cap, (unsigned long long)pages);
	return xipfs_map_read(img, in, pgno, pte);
}

uint64_t xipfs_cluster_desc(const struct xipfs_image *img, uint64_t i)
{
	if (i > img->sb.cluster_count)
		return 0;
	if (img->ct.on)
		return ct_desc(img->base, &img->sb, &img->ct, i);
	return ld64(img->base + img->sb.cluster_off + i * XIPFS_CLUSTER_SIZE);
}

uint64_t xipfs_cluster_table_size(const struct xipfs_image *img)
{
	return img->ct.on ? img->ct.size : (img->sb.cluster_count + 1) * XIPFS_CLUSTER_SIZE;
}

uint64_t xipfs_ct_exception(const struct xipfs_image *img, uint64_t k)
{
	return img->ct.on && k < img->ct.e ? ld64(img->base + img->ct.exc_off + k * 8) : 0;
}

uint64_t xipfs_ct_base(const struct xipfs_image *img, uint64_t j)
{
	return img->ct.on && j << XIPFS_CT_GROUP_SHIFT < img->ct.n ?
	       ld64(img->base + img->ct.base_off + j * 8) : 0;
}

uint32_t xipfs_ct_len(const struct xipfs_image *img, uint64_t i)
{
	return img->ct.on && i < img->ct.n ? ct_len(img->base, &img->ct, i) : 0;
}

int xipfs_cluster_end(struct xipfs_image *img, uint64_t *end)
{
	uint64_t n = img->sb.cluster_count, d = xipfs_cluster_desc(img, n);

	if (d & ~XIPFS_CL_OFF_MASK)
		return fail(img, "cluster table sentinel (descriptor %llu) 0x%016llx: bits other than the offset set",
			    (unsigned long long)n, (unsigned long long)d);
	if (XIPFS_CL_OFF(d) > img->sb.comp_size)
		return fail(img, "cluster table sentinel (descriptor %llu): end of the compressed data %llu past the %llu-byte compressed area",
			    (unsigned long long)n, (unsigned long long)XIPFS_CL_OFF(d),
			    (unsigned long long)img->sb.comp_size);
	*end = img->sb.comp_off + XIPFS_CL_OFF(d);
	return 0;
}

int xipfs_get_cluster(struct xipfs_image *img, uint64_t index,
		      struct xipfs_cluster_info *c)
{
	unsigned int shift = img->sb.page_shift;
	uint64_t d, next, last, clen;

	memset(c, 0, sizeof(*c));
	c->index = index;
	if (index >= img->sb.cluster_count)
		return fail(img, "cluster %llu out of range (%llu clusters)",
			    (unsigned long long)index,
			    (unsigned long long)img->sb.cluster_count);
	d = xipfs_cluster_desc(img, index);
	next = xipfs_cluster_desc(img, index + 1);
	last = ((d >> XIPFS_CL_LAST_SHIFT) & XIPFS_CL_LAST_MASK) + 1;
	c->desc = d;
	c->off = img->sb.comp_off + XIPFS_CL_OFF(d);	/* opening checked comp_off + comp_size */
	c->pages = (uint8_t)XIPFS_CL_PAGES(d);
	c->alg = (uint8_t)XIPFS_CL_ALG(d);
	c->shared = d & XIPFS_CL_SHARED;
	if (((uint64_t)c->pages << shift) > XIPFS_MAX_CLUSTER_SIZE)
		return fail(img, "cluster %llu: %u pages of %u bytes exceed the maximum cluster size %d",
			    (unsigned long long)index, c->pages, img->page_size,
			    XIPFS_MAX_CLUSTER_SIZE);
	if (last > img->page_size)
		return fail(img, "cluster %llu: last page of %llu bytes, more than a page (%u)",
			    (unsigned long long)index, (unsigned long long)last, img->page_size);
	c->ulen = (uint32_t)XIPFS_CL_ULEN(d, shift);
	if (c->alg >= XIPFS_COMP_MAX)
		return fail(img, "cluster %llu: unknown algorithm %u",
			    (unsigned long long)index, c->alg);
	/* Back to back: the next descriptor's offset ends this one's data. */
	if (XIPFS_CL_OFF(next) <= XIPFS_CL_OFF(d))
		return fail(img, "cluster %llu: data at offset %llu of the compressed area, but %s at %llu: clusters must lie back to back, each at least 1 byte",
			    (unsigned long long)index, (unsigned long long)XIPFS_CL_OFF(d),
			    index + 1 == img->sb.cluster_count ? "the sentinel ends the data" :
			    "the next cluster starts", (unsigned long long)XIPFS_CL_OFF(next));
	clen = XIPFS_CL_OFF(next) - XIPFS_CL_OFF(d);
	if (XIPFS_CL_OFF(next) > img->sb.comp_size)
		return fail(img, "cluster %llu: data [%llu, +%llu) outside the compressed area [%llu, +%llu)",
			    (unsigned long long)index, (unsigned long long)c->off,
			    (unsigned long long)clen, (unsigned long long)img->sb.comp_off,
			    (unsigned long long)img->sb.comp_size);
	if (clen > XIPFS_MAX_CLUSTER_CLEN)
		return fail(img, "cluster %llu: compressed length %llu over the limit %d",
			    (unsigned long long)index, (unsigned long long)clen,
			    XIPFS_MAX_CLUSTER_CLEN);
	c->clen = (uint32_t)clen;
	if (c->alg == XIPFS_COMP_NONE && c->clen != c->ulen)
		return fail(img, "cluster %llu: stored cluster with compressed length %u != %u",
			    (unsigned long long)index, c->clen, c->ulen);
	return 0;
}

/* Stored data checksum i (clusters first, then XIP area pages). */
static uint32_t csum_entry(const struct xipfs_image *img, uint64_t i)
{
	return ld32(img->base + img->sb.csum_off + i * XIPFS_CSUM_SIZE);
}

int xipfs_cluster_csum_verify(struct xipfs_image *img, uint64_t index)
{
	struct xipfs_cluster_info c;
	uint32_t crc;
	int ret;

	if (!img->csum)
		return 0;
	ret = xipfs_get_cluster(img, index, &c);
	if (ret)
		return ret;
	crc = xipfs_crc32c(img->base + c.off, c.clen);
	if (crc != csum_entry(img, index))
		return fail(img, "cluster %llu: data checksum mismatch (stored 0x%08x, computed 0x%08x)",
			    (unsigned long long)index, csum_entry(img, index), crc);
	return 0;
}

int xipfs_xip_csum_verify(struct xipfs_image *img, uint64_t k)
{
	uint64_t off = img->sb.xip_off + (k << img->sb.page_shift);
	uint32_t crc;

	if (!img->csum)
		return 0;
	if (k >= img->sb.xip_size >> img->sb.page_shift)
		return fail(img, "XIP area page %llu out of range", (unsigned long long)k);
	crc = xipfs_crc32c(img->base + off, img->page_size);
	if (crc != csum_entry(img, img->sb.cluster_count + k))
		return fail(img, "XIP page %llu (image page %llu): data checksum mismatch (stored 0x%08x, computed 0x%08x)",
			    (unsigned long long)k, (unsigned long long)(off >> img->sb.page_shift),
			    csum_entry(img, img->sb.cluster_count + k), crc);
	return 0;
}

int xipfs_cluster_load(struct xipfs_image *img, uint64_t index,
		       const uint8_t **data, uint32_t *ulen)
{
	struct xipfs_cluster_info c;
	const struct xipfs_compressor *z;
	int ret;

	ret = xipfs_get_cluster(img, index, &c);
	if (ret)
		return ret;
	if (img->cbuf_index == index) {
		*data = img->cbuf;
		*ulen = c.ulen;
		return 0;
	}
	if (!img->cbuf) {
		img->cbuf = malloc(XIPFS_MAX_CLUSTER_SIZE);
		if (!img->cbuf) {
			snprintf(img->err, sizeof(img->err), "out of memory");
			return -ENOMEM;
		}
	}
	img->cbuf_index = UINT64_MAX;
	/* Before decompressing: the checksum covers every stored byte. */
	ret = xipfs_cluster_csum_verify(img, index);
	if (ret)
		return ret;
	if (c.alg == XIPFS_COMP_NONE) {
		memcpy(img->cbuf, img->base + c.off, c.ulen);
	} else {
		z = xipfs_compressor_by_alg(c.alg);
		if (!z)
			return fail(img, "cluster %llu: algorithm %s not supported",
				    (unsigned long long)index, xipfs_alg_name(c.alg));
		if (z->decompress(img->base + c.off, c.clen, img->cbuf, c.ulen))
			return fail(img, "cluster %llu: %s data corrupt or not %u bytes long",
				    (unsigned long long)index, xipfs_alg_name(c.alg), c.ulen);
	}
	img->cbuf_index = index;
	*data = img->cbuf;
	*ulen = c.ulen;
	return 0;
}

int xipfs_read_page(struct xipfs_image *img, const struct xipfs_dinode *in,
		    uint64_t pgno, void *buf)
{
	uint64_t e, ps = img->page_size, shift = img->sb.page_shift;
	uint64_t valid, pos = pgno << shift;
	int ret;

	ret = xipfs_pte_get(img, in, pgno, &e);
	if (ret)
		return ret;
	/* pgno < pages, so pos did not overflow and is < size. */
	valid = in->size - pos < ps ? in->size - pos : ps;
	if (e & XIPFS_PTE_RESERVED_MASK)
		return fail(img, "inode %u page %llu: reserved bits set in map entry 0x%016llx",
			    in->ino, (unsigned long long)pgno, (unsigned long long)e);
	switch (xipfs_pte_type(e)) {
	case XIPFS_PTE_TYPE_HOLE:
		if (e)
			return fail(img, "inode %u page %llu: hole entry not zero (0x%016llx)",
				    in->ino, (unsigned long long)pgno, (unsigned long long)e);
		memset(buf, 0, ps);
		return 0;
	case XIPFS_PTE_TYPE_XIP: {
		uint64_t pg = e & ((1ULL << 56) - 1), off;

		if (pg >= (img->sb.image_size >> shift))
			return fail(img, "inode %u page %llu: XIP page %llu beyond the image",
				    in->ino, (unsigned long long)pgno, (unsigned long long)pg);
		off = pg << shift;
		if (!xipfs_xip_page_ok(img, off))
			return fail(img, "inode %u page %llu: XIP page %llu outside the %s",
				    in->ino, (unsigned long long)pgno, (unsigned long long)pg,
				    img->rw ? "data region" : "XIP area");
		if (img->csum) {
			ret = xipfs_xip_csum_verify(img, (off - img->sb.xip_off) >> shift);
			if (ret)
				return ret;
		}
		/* Past the end of the file the page may hold anything (rw). */
		memcpy(buf, img->base + off, valid);
		memset((uint8_t *)buf + valid, 0, ps - valid);
		return 0;
	}
	case XIPFS_PTE_TYPE_COMP: {
		uint64_t cl = e & XIPFS_PTE_CLUSTER_MASK;
		uint32_t idx = (e >> XIPFS_PTE_CINDEX_SHIFT) & XIPFS_PTE_CINDEX_MASK;
		struct xipfs_cluster_info c;
		const uint8_t *data;
		uint32_t ulen;
		uint64_t coff = (uint64_t)idx << shift, n;

		ret = xipfs_get_cluster(img, cl, &c);
		if (ret)
			return ret;
		if (idx >= c.pages)
			return fail(img, "inode %u page %llu: index %u beyond its %u-page cluster %llu",
				    in->ino, (unsigned long long)pgno, idx, c.pages,
				    (unsigned long long)cl);
		ret = xipfs_cluster_load(img, cl, &data, &ulen);
		if (ret)
			return ret;
		n = ulen > coff ? ulen - coff : 0;
		if (n > valid)
			n = valid;
		memcpy(buf, data + coff, n);
		memset((uint8_t *)buf + n, 0, ps - n);
		return 0;
	}
	default: { /* TAIL */
		uint64_t off;

		if (e & ~(XIPFS_PTE_TAIL_MASK | (3ULL << XIPFS_PTE_TYPE_SHIFT)))
			return fail(img, "inode %u page %llu: tail entry 0x%016llx has bits 48-55 set",
				    in->ino, (unsigned long long)pgno, (unsigned long long)e);
		if (pgno + 1 != xipfs_size_pages(img, in->size))
			return fail(img, "inode %u page %llu: tail entry on a page that is not the last",
				    in->ino, (unsigned long long)pgno);
		off = xipfs_tail_offset(img, e);
		if (!xipfs_range_in(off, valid, img->sb.meta_off, img->sb.meta_size))
			return fail(img, "inode %u page %llu: tail data [%llu, +%llu) outside the metadata area",
				    in->ino, (unsigned long long)pgno, (unsigned long long)off,
				    (unsigned long long)valid);
		memcpy(buf, img->base + off, valid);
		memset((uint8_t *)buf + valid, 0, ps - valid);
		return 0;
	}
	}
}

/*
 * The data checksum table of a copy whose table fits (checked by the
 * caller): a cluster or XIP page whose bytes lie outside the copy keeps
 * its entry.  Cluster extents come from the descriptors, as readers find
 * them (the next one's offset ends each).
 */
static void fix_data_csums(uint8_t *p, size_t len, const struct xipfs_sb *sb)
{
	uint64_t ps = 1ULL << sb->page_shift, npg = sb->xip_size >> sb->page_shift;
	uint8_t *t = p + sb->csum_off;
	struct xipfs_ctab ct = { .on = false };
	uint32_t crc;

	/* A compact table that does not fit the copy: no cluster's entry changes. */
	if ((sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_CLUSTERS) &&
	    (sb->max_cluster_shift < sb->page_shift ||
	     sb->max_cluster_shift > __builtin_ctz(XIPFS_MAX_CLUSTER_SIZE) ||
	     !ct_locate(p, len, sb, &ct))) {
		ct.on = true;
		ct.n = 0;
	}
	for (uint64_t i = 0; ct.on ? i < ct.n : i < sb->cluster_count &&
	     xipfs_range_in(sb->cluster_off, (i + 2) * XIPFS_CLUSTER_SIZE, 0, len); i++) {
		uint64_t a = XIPFS_CL_OFF(ct.on ? ct_desc(p, sb, &ct, i) :
				ld64(p + sb->cluster_off + i * XIPFS_CLUSTER_SIZE));
		uint64_t b = XIPFS_CL_OFF(ct.on ? ct_desc(p, sb, &ct, i + 1) :
				ld64(p + sb->cluster_off + (i + 1) * XIPFS_CLUSTER_SIZE));

		if (b <= a || sb->comp_off > len || !xipfs_range_in(sb->comp_off + a, b - a, 0, len))
			continue;
		crc = htole32(xipfs_crc32c(p + sb->comp_off + a, b - a));
		memcpy(t + i * XIPFS_CSUM_SIZE, &crc, 4);
	}
	/* The caller bounded npg by the table's size, itself inside the copy. */
	for (uint64_t k = 0; k < npg && sb->xip_off <= len; k++) {
		if (!xipfs_range_in(sb->xip_off + k * ps, ps, 0, len))
			break;
		crc = htole32(xipfs_crc32c(p + sb->xip_off + k * ps, ps));
		memcpy(t + (sb->cluster_count + k) * XIPFS_CSUM_SIZE, &crc, 4);
	}
}

void xipfs_fix_checksums(void *image, size_t len)
{
	uint8_t *p = image;
	struct xipfs_sb sb;

	if (len < XIPFS_SB_SIZE)
		return;
	parse_sb(p, &sb);
	if ((sb.feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM) &&
	    sb.page_shift >= XIPFS_MIN_PAGE_SHIFT && sb.page_shift <= XIPFS_MAX_PAGE_SHIFT &&
	    sb.cluster_count < len / XIPFS_CLUSTER_SIZE && sb.csum_off % 4 == 0 &&
	    xipfs_range_in(sb.csum_off, sb.csum_size, 0, len) &&
	    sb.csum_size == (sb.cluster_count + (sb.xip_size >> sb.page_shift)) * XIPFS_CSUM_SIZE)
		fix_data_csums(p, len, &sb);
	xipfs_fix_meta_checksums(image, len);
}

void xipfs_fix_meta_checksums(void *image, size_t len)
{
	uint8_t *p = image;
	struct xipfs_sb sb;
	uint32_t crc;

	if (len < XIPFS_SB_SIZE)
		return;
	parse_sb(p, &sb);
	if (xipfs_range_in(sb.meta_off, sb.meta_size, 0, len)) {
		crc = htole32(xipfs_crc32c(p + sb.meta_off, sb.meta_size));
		memcpy(p + FLD(xipfs_super_block, s_meta_crc), &crc, 4);
	}
	crc = htole32(sb_crc(p));
	memcpy(p + FLD(xipfs_super_block, s_checksum), &crc, 4);
}
