// SPDX-License-Identifier: GPL-2.0
/*
 * Reading extended attributes (COMPAT_XATTRS): an inode's body and the
 * shared table, every entry bounds checked against the area it must lie
 * in (the body, or the shared table) before its bytes are touched.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <endian.h>

#include "image_internal.h"

static const char *const prefixes[XIPFS_XATTR_PREFIX_MAX] = {
	[XIPFS_XATTR_USER] = "user.",
	[XIPFS_XATTR_TRUSTED] = "trusted.",
	[XIPFS_XATTR_SECURITY] = "security.",
	[XIPFS_XATTR_ACL_ACCESS] = "system.posix_acl_access",
	[XIPFS_XATTR_ACL_DEFAULT] = "system.posix_acl_default",
};

const char *xipfs_xattr_prefix(unsigned int prefix)
{
	return prefix < XIPFS_XATTR_PREFIX_MAX ? prefixes[prefix] : NULL;
}

static bool acl_prefix(unsigned int prefix)
{
	return prefix == XIPFS_XATTR_ACL_ACCESS || prefix == XIPFS_XATTR_ACL_DEFAULT;
}

int xipfs_xattr_name(const struct xipfs_xattr *x, char *buf)
{
	const char *p = xipfs_xattr_prefix(x->prefix);
	size_t pl;

	if (!p || acl_prefix(x->prefix) != !x->name_len)
		return -EUCLEAN;
	pl = strlen(p);
	memcpy(buf, p, pl);
	memcpy(buf + pl, x->name, x->name_len);
	buf[pl + x->name_len] = 0;
	return 0;
}

/* The entry at image offset @off, which must end by @end. */
static int parse_entry(struct xipfs_image *img, uint64_t off, uint64_t end,
		       struct xipfs_xattr *x, const char *where)
{
	const uint8_t *p = img->base + off;

	if (off > end || end - off < XIPFS_XATTR_ENTRY_HDR)
		return fail(img, "%s: attribute entry at %llu past the end (%llu)", where,
			    (unsigned long long)off, (unsigned long long)end);
	x->off = off;
	x->prefix = p[offsetof(struct xipfs_xattr_entry, e_prefix)];
	x->name_len = p[offsetof(struct xipfs_xattr_entry, e_name_len)];
	x->value_len = ld16(p + offsetof(struct xipfs_xattr_entry, e_value_len));
	x->size = XIPFS_XATTR_ENTRY_SIZE(x->name_len, x->value_len);
	if (x->size > end - off)
		return fail(img, "%s: attribute entry at %llu (%u bytes) past the end (%llu)",
			    where, (unsigned long long)off, x->size,
			    (unsigned long long)end);
	x->name = (const char *)p + XIPFS_XATTR_ENTRY_HDR;
	x->value = p + XIPFS_XATTR_ENTRY_HDR + x->name_len;
	return 0;
}

int xipfs_xattr_shared(struct xipfs_image *img, uint32_t index, struct xipfs_xattr *x)
{
	const struct xipfs_sb *sb = &img->sb;
	uint64_t off = (uint64_t)index * 4;

	if (!(sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS))
		return fail(img, "shared attribute %u without the XATTRS feature", index);
	if (sb->xattr_off % 4 ||
	    !xipfs_range_in(sb->xattr_off, sb->xattr_size, sb->meta_off, sb->meta_size))
		return fail(img, "shared attribute table [%llu, +%u) outside the metadata area",
			    (unsigned long long)sb->xattr_off, sb->xattr_size);
	if (off >= sb->xattr_size)
		return fail(img, "shared attribute %u past the table (%u bytes)", index,
			    sb->xattr_size);
	if (parse_entry(img, sb->xattr_off + off, sb->xattr_off + sb->xattr_size, x,
			"shared table"))
		return -EUCLEAN;
	x->shared = true;
	x->index = index;
	return 0;
}

int xipfs_xattr_open(struct xipfs_image *img, const struct xipfs_dinode *in,
		     struct xipfs_xattrs *xs)
{
	const uint8_t *p;

	memset(xs, 0, sizeof(*xs));
	xs->ino = in->ino;
	if (!(img->sb.feature_compat & XIPFS_FEATURE_COMPAT_XATTRS) || !in->xattr)
		return 0;
	if (in->xattr % 4 ||
	    !xipfs_range_in(in->xattr, XIPFS_XATTR_HEADER_SIZE, img->sb.meta_off,
			    img->sb.meta_size))
		return fail(img, "inode %u: attribute body at %llu outside the metadata area or not 4-byte aligned",
			    in->ino, (unsigned long long)in->xattr);
	p = img->base + in->xattr;
	xs->off = in->xattr;
	xs->nshared = ld16(p + offsetof(struct xipfs_xattr_header, h_shared));
	xs->ninline = ld16(p + offsetof(struct xipfs_xattr_header, h_count));
	xs->size = ld32(p + offsetof(struct xipfs_xattr_header, h_size));
	if (xs->size < XIPFS_XATTR_HEADER_SIZE + 4ULL * xs->nshared ||
	    !xipfs_range_in(in->xattr, xs->size, img->sb.meta_off, img->sb.meta_size))
		return fail(img, "inode %u: attribute body [%llu, +%u) with %u shared entries outside the metadata area",
			    in->ino, (unsigned long long)in->xattr, xs->size, xs->nshared);
	xs->pos = in->xattr + XIPFS_XATTR_HEADER_SIZE + 4ULL * xs->nshared;
	return 0;
}

int xipfs_xattr_next(struct xipfs_image *img, struct xipfs_xattrs *xs,
		     struct xipfs_xattr *x)
{
	char where[32];

	if (!xs->off || xs->next >= (uint32_t)xs->nshared + xs->ninline)
		return 0;
	if (xs->next < xs->nshared) {
		const uint8_t *p = img->base + xs->off + XIPFS_XATTR_HEADER_SIZE +
				   4ULL * xs->next;

		if (xipfs_xattr_shared(img, ld32(p), x))
			return -EUCLEAN;
	} else {
		snprintf(where, sizeof(where), "inode %u", xs->ino);
		if (parse_entry(img, xs->pos, xs->off + xs->size, x, where))
			return -EUCLEAN;
		x->shared = false;
		x->index = 0;
		xs->pos += x->size;
	}
	xs->next++;
	return 1;
}
