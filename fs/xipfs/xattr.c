// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: extended attributes (COMPAT_XATTRS), read in place from the
 * metadata area: listxattr, the user./trusted./security. handlers (file
 * capabilities reach exec through the security one) and POSIX ACLs.
 * Every entry is bounds checked against the inode's body or the shared
 * table each time it is read.  Attributes cannot be set or removed: the
 * handlers have no ->set, so setxattr() fails with EOPNOTSUPP, also on a
 * read-write mount (which keeps the attributes an image has).
 */
#include <linux/xattr.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include "internal.h"

/* An entry, decoded; name and value point into the metadata area. */
struct xipfs_xentry {
	u8 prefix;
	u8 name_len;
	u16 value_len;
	const char *name;
	const void *value;
};

static const char *const xipfs_prefixes[XIPFS_XATTR_PREFIX_MAX] = {
	[XIPFS_XATTR_USER]		= XATTR_USER_PREFIX,
	[XIPFS_XATTR_TRUSTED]		= XATTR_TRUSTED_PREFIX,
	[XIPFS_XATTR_SECURITY]		= XATTR_SECURITY_PREFIX,
	[XIPFS_XATTR_ACL_ACCESS]	= XATTR_NAME_POSIX_ACL_ACCESS,
	[XIPFS_XATTR_ACL_DEFAULT]	= XATTR_NAME_POSIX_ACL_DEFAULT,
};

static bool xipfs_acl_prefix(unsigned int prefix)
{
	return prefix == XIPFS_XATTR_ACL_ACCESS ||
	       prefix == XIPFS_XATTR_ACL_DEFAULT;
}

/* Decode the entry at @off, which must end by @end; false if it does not. */
static bool xipfs_xentry(struct xipfs_sb_info *sbi, u64 off, u64 end,
			 struct xipfs_xentry *x, u32 *size)
{
	const struct xipfs_xattr_entry *e;
	const u8 *p;

	if (off > end || end - off < XIPFS_XATTR_ENTRY_HDR)
		return false;
	e = xipfs_meta(sbi, off, XIPFS_XATTR_ENTRY_HDR);
	if (!e)
		return false;
	x->prefix = READ_ONCE(e->e_prefix);
	x->name_len = READ_ONCE(e->e_name_len);
	x->value_len = le16_to_cpu(READ_ONCE(e->e_value_len));
	*size = XIPFS_XATTR_ENTRY_SIZE(x->name_len, x->value_len);
	if (*size > end - off)
		return false;
	p = xipfs_meta(sbi, off, *size);
	if (!p || x->prefix >= XIPFS_XATTR_PREFIX_MAX || !x->prefix ||
	    xipfs_acl_prefix(x->prefix) != !x->name_len)
		return false;
	x->name = (const char *)p + XIPFS_XATTR_ENTRY_HDR;
	x->value = p + XIPFS_XATTR_ENTRY_HDR + x->name_len;
	return true;
}

/*
 * Call @fn on each of @inode's attributes until it returns non-zero,
 * which is returned; 0 after the last, -EFSCORRUPTED for a bad body.
 */
static int xipfs_xattr_walk(struct inode *inode,
			    int (*fn)(const struct xipfs_xentry *x, void *arg),
			    void *arg)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 off = XIPFS_I(inode)->xattr, end, pos;
	const struct xipfs_xattr_header *h;
	const __le32 *idx;
	struct xipfs_xentry x;
	unsigned int nshared, count, i;
	u32 size;
	int ret;

	if (!off)
		return 0;
	h = xipfs_meta(sbi, off, XIPFS_XATTR_HEADER_SIZE);
	if (!h)
		goto bad;
	nshared = le16_to_cpu(READ_ONCE(h->h_shared));
	count = le16_to_cpu(READ_ONCE(h->h_count));
	size = le32_to_cpu(READ_ONCE(h->h_size));
	if (size < XIPFS_XATTR_HEADER_SIZE + 4ULL * nshared ||
	    !xipfs_meta(sbi, off, size))
		goto bad;
	end = off + size;
	idx = (const __le32 *)(h + 1);
	for (i = 0; i < nshared; i++) {
		u64 s = sbi->xattr_off + 4ULL * le32_to_cpu(READ_ONCE(idx[i]));

		if (!xipfs_xentry(sbi, s, sbi->xattr_off + sbi->xattr_size,
				  &x, &size))
			goto bad;
		ret = fn(&x, arg);
		if (ret)
			return ret;
	}
	pos = off + XIPFS_XATTR_HEADER_SIZE + 4ULL * nshared;
	for (i = 0; i < count; i++) {
		if (!xipfs_xentry(sbi, pos, end, &x, &size))
			goto bad;
		ret = fn(&x, arg);
		if (ret)
			return ret;
		pos += size;
	}
	return 0;
bad:
	xipfs_corrupt(sb, "inode %llu: bad extended attribute body at %llu",
		      xipfs_ino(inode), off);
	return -EFSCORRUPTED;
}

struct xipfs_xget {
	unsigned int prefix;
	const char *name;
	size_t name_len;
	void *buffer;
	size_t size;
};

/* > 0: the value's length + 1 (0 is "go on"); -ERANGE if it does not fit. */
static int xipfs_xget_one(const struct xipfs_xentry *x, void *arg)
{
	struct xipfs_xget *g = arg;

	if (x->prefix != g->prefix || x->name_len != g->name_len ||
	    memcmp(x->name, g->name, g->name_len))
		return 0;
	if (g->buffer) {
		if (x->value_len > g->size)
			return -ERANGE;
		memcpy(g->buffer, x->value, x->value_len);
	}
	return x->value_len + 1;
}

/* The value of attribute (@prefix, @name): its length, or -ENODATA. */
static int xipfs_xattr_value(struct inode *inode, unsigned int prefix,
			     const char *name, void *buffer, size_t size)
{
	struct xipfs_xget g = {
		.prefix = prefix, .name = name, .name_len = strlen(name),
		.buffer = buffer, .size = size,
	};
	int ret;

	if (g.name_len > XIPFS_NAME_MAX)
		return -ENODATA;
	ret = xipfs_xattr_walk(inode, xipfs_xget_one, &g);
	if (ret > 0)
		return ret - 1;
	return ret ? ret : -ENODATA;
}

static int xipfs_xattr_get(const struct xattr_handler *handler,
			   struct dentry *unused, struct inode *inode,
			   const char *name, void *buffer, size_t size)
{
	return xipfs_xattr_value(inode, handler->flags, name, buffer, size);
}

static const struct xattr_handler xipfs_user_handler = {
	.prefix	= XATTR_USER_PREFIX,
	.flags	= XIPFS_XATTR_USER,
	.get	= xipfs_xattr_get,
};

static const struct xattr_handler xipfs_trusted_handler = {
	.prefix	= XATTR_TRUSTED_PREFIX,
	.flags	= XIPFS_XATTR_TRUSTED,
	.get	= xipfs_xattr_get,
};

static const struct xattr_handler xipfs_security_handler = {
	.prefix	= XATTR_SECURITY_PREFIX,
	.flags	= XIPFS_XATTR_SECURITY,
	.get	= xipfs_xattr_get,
};

XIPFS_XATTR_HANDLERS xipfs_xattr_handlers[] = {
	&xipfs_user_handler,
	&xipfs_trusted_handler,
	&xipfs_security_handler,
	XIPFS_ACL_XATTR_HANDLERS
	NULL,
};

struct xipfs_xlist {
	struct dentry *dentry;
	char *buffer;
	size_t size, len;
};

static int xipfs_xlist_one(const struct xipfs_xentry *x, void *arg)
{
	struct xipfs_xlist *l = arg;
	const char *p = xipfs_prefixes[x->prefix];
	size_t plen = strlen(p), n = plen + x->name_len + 1;

	/* As the generic handlers list them. */
	if (x->prefix == XIPFS_XATTR_TRUSTED && !capable(CAP_SYS_ADMIN))
		return 0;
	if (xipfs_acl_prefix(x->prefix) && !IS_POSIXACL(d_inode(l->dentry)))
		return 0;
	if (l->buffer) {
		if (n > l->size - l->len)
			return -ERANGE;
		memcpy(l->buffer + l->len, p, plen);
		memcpy(l->buffer + l->len + plen, x->name, x->name_len);
		l->buffer[l->len + n - 1] = '\0';
	}
	l->len += n;
	return 0;
}

ssize_t xipfs_listxattr(struct dentry *dentry, char *buffer, size_t size)
{
	struct xipfs_xlist l = { .dentry = dentry, .buffer = buffer, .size = size };
	int ret;

	ret = xipfs_xattr_walk(d_inode(dentry), xipfs_xlist_one, &l);
	return ret ? ret : l.len;
}

/*
 * Does @inode have a file capability (or a body too damaged to tell)?
 * The kernel drops security.capability when a file's data or owner
 * changes, so that a rewritten binary does not keep privileges; xipfs
 * cannot drop it, so a read-write mount refuses those changes instead.
 */
bool xipfs_xattr_has_caps(struct inode *inode)
{
	return xipfs_xattr_value(inode, XIPFS_XATTR_SECURITY,
				 XATTR_CAPS_SUFFIX, NULL, 0) != -ENODATA;
}

#ifdef CONFIG_FS_POSIX_ACL
/* ->get_acl (6.1) or ->get_inode_acl: the ACL from its attribute. */
struct posix_acl *xipfs_get_acl(struct inode *inode, int type, bool rcu)
{
	unsigned int prefix = type == ACL_TYPE_ACCESS ? XIPFS_XATTR_ACL_ACCESS :
						  XIPFS_XATTR_ACL_DEFAULT;
	struct posix_acl *acl;
	void *value;
	int len;

	/* posix_acl_from_xattr() allocates. */
	if (rcu)
		return ERR_PTR(-ECHILD);
	len = xipfs_xattr_value(inode, prefix, "", NULL, 0);
	if (len == -ENODATA)
		return NULL;
	if (len < 0)
		return ERR_PTR(len);
	value = kmalloc(len ? len : 1, GFP_KERNEL);
	if (!value)
		return ERR_PTR(-ENOMEM);
	/* The medium may change in between: take what is there now. */
	len = xipfs_xattr_value(inode, prefix, "", value, len);
	if (len == -ENODATA || len == -ERANGE)
		acl = ERR_PTR(-EFSCORRUPTED);
	else if (len < 0)
		acl = ERR_PTR(len);
	else
		acl = posix_acl_from_xattr(&init_user_ns, value, len);
	kfree(value);
	return acl;
}
#endif

/* Mount: the shared table lies in the metadata area, 4-byte aligned. */
int xipfs_xattr_mount(struct super_block *sb,
		      const struct xipfs_super_block *dsb)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);

	if (!(le32_to_cpu(dsb->s_feature_compat) & XIPFS_FEATURE_COMPAT_XATTRS))
		return 0;
	sbi->xattrs = true;
	sbi->xattr_off = le64_to_cpu(dsb->s_xattr_off);
	sbi->xattr_size = le32_to_cpu(dsb->s_xattr_size);
	if (sbi->xattr_size &&
	    ((sbi->xattr_off & 3) ||
	     !xipfs_meta(sbi, sbi->xattr_off, sbi->xattr_size))) {
		xipfs_err(sb, "shared extended attribute table [%llu, +%u) outside the metadata area",
			  sbi->xattr_off, sbi->xattr_size);
		return -EFSCORRUPTED;
	}
	sb->s_xattr = xipfs_xattr_handlers;
	if (IS_ENABLED(CONFIG_FS_POSIX_ACL))
		sb->s_flags |= SB_POSIXACL;
	return 0;
}
