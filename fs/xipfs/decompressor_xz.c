// SPDX-License-Identifier: GPL-2.0-only
/*
 * xz clusters: raw LZMA2 chunks (the data of the .xz LZMA2 filter) with no
 * container; the descriptor gives the sizes.  The .xz framing would cost
 * about 60 bytes per cluster.
 *
 * The kernel's xz_dec reads only .xz streams (its MicroLZMA decoder is not
 * LZMA2, and distributions build without it), so we put the container back
 * around the cluster while feeding it to xz_dec_run() in multi-call mode:
 *
 *   1. xipfs_xz_head: a constant stream header and block header;
 *   2. the cluster itself, src[0, slen);
 *   3. a trailer made for this cluster: block padding, an index of one
 *      record (unpadded size 12 + slen, uncompressed size dlen) and the
 *      stream footer.
 *
 * xz_dec checks the index against the block it decoded, so XZ_STREAM_END
 * at the end of the trailer (and not before) means that src is one LZMA2
 * stream, ending with its end marker at its last byte, of exactly dlen
 * bytes: a truncated, padded or overlong cluster fails.  xz_dec never reads
 * past b.in_size nor writes past b.out_size, so each step stays in its own
 * buffer, src and dst included.  It accepts what liblzma's raw decoder
 * (fsck.xipfs) accepts, but for one byte it ignores: the first range coder
 * byte of an LZMA chunk, which cannot change the output (t-kernel-xz.sh
 * in mkfs/tests runs this file with lib/xz in userspace to show it).
 *
 * Multi-call mode decodes into its own dictionary and copies out to dst;
 * single-call mode would need header, cluster and trailer in one buffer,
 * the same copy.  The dictionary (XZ_PREALLOC, XIPFS_MAX_CLUSTER_SIZE) is
 * allocated with the workspace, in the pool's NOFS scope, never while
 * decoding.  Same API and stream parser from 6.1 (lib/xz/xz_dec_stream.c)
 * to 6.12 and later, which only dropped the XZ_EXTERN markers.
 */
#include <linux/build_bug.h>
#include <linux/crc32.h>
#include <linux/err.h>
#include <linux/string.h>
#include <linux/xz.h>
#include <linux/xipfs_fs.h>
#include "decompressor.h"

/* LZMA2 dictionary property: (2 | (p & 1)) << (p / 2 + 11) bytes. */
#define XIPFS_XZ_DICT_PROP	12
static_assert((2 << (XIPFS_XZ_DICT_PROP / 2 + 11)) == XIPFS_MAX_CLUSTER_SIZE);

#define XIPFS_XZ_BLOCK_HEADER	12	/* bytes, as in xipfs_xz_head[12] */

/*
 * The .xz stream header and block header that mkfs.xipfs leaves out
 * (xz-file-format.txt 2.1.1, 3.1).  The CRC32s are the standard CRC-32
 * (python3: zlib.crc32(bytes([0, 0])) and
 * zlib.crc32(bytes([0x02, 0x00, 0x21, 0x01, 0x0c, 0, 0, 0]))), stored
 * little-endian; `xz --check=none --lzma2=dict=256KiB` writes the same
 * 24 bytes.
 */
static const u8 xipfs_xz_head[24] = {
	/* stream header: magic, flags 00 00 (check NONE), CRC32(flags) */
	0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00, 0x00, 0xff, 0x12, 0xd9, 0x41,
	/*
	 * block header: size (2 + 1) * 4, flags 0 (one filter, no size
	 * fields), filter 0x21 LZMA2, 1 property byte: the dictionary,
	 * header padding, CRC32 of the 8 bytes before it
	 */
	0x02, 0x00, 0x21, 0x01, XIPFS_XZ_DICT_PROP, 0x00, 0x00, 0x00,
	0x8f, 0x98, 0x41, 0x9c,
};

/* The .xz CRC32: the standard one (IEEE 802.3, reflected). */
static u32 xipfs_xz_crc32(const u8 *p, size_t len)
{
	return ~crc32_le(~0U, p, len);
}

/* Little-endian, unaligned (asm/ became linux/unaligned.h in 6.12). */
static void xipfs_xz_le32(u8 *p, u32 v)
{
	__le32 le = cpu_to_le32(v);

	memcpy(p, &le, sizeof(le));
}

/* A .xz variable-length integer: 7 bits a byte, low first. */
static unsigned int xipfs_xz_vli(u8 *p, u64 v)
{
	unsigned int n = 0;

	while (v >= 0x80) {
		p[n++] = (v & 0x7f) | 0x80;
		v >>= 7;
	}
	p[n++] = v;
	return n;
}

/*
 * Block padding, index and stream footer (xz-file-format.txt 3.3, 4, 2.1.2)
 * for one block of slen bytes of LZMA2 decoding to dlen, into t (at most
 * 3 + 16 + 12 bytes); returns the length.
 */
static unsigned int xipfs_xz_tail(u8 *t, unsigned int slen, unsigned int dlen)
{
	unsigned int n = 0, index;

	/* Compressed data + padding: a multiple of 4 (so is the header). */
	while ((slen + n) & 3)
		t[n++] = 0;
	index = n;
	t[n++] = 0x00;		/* index indicator */
	t[n++] = 1;		/* number of records */
	/* unpadded size: block header + compressed data + no check */
	n += xipfs_xz_vli(t + n, (u64)XIPFS_XZ_BLOCK_HEADER + slen);
	n += xipfs_xz_vli(t + n, dlen);
	while ((n - index) & 3)
		t[n++] = 0;
	xipfs_xz_le32(t + n, xipfs_xz_crc32(t + index, n - index));
	n += 4;
	/* footer: CRC32, backward size (index / 4 - 1), flags, magic */
	xipfs_xz_le32(t + n + 4, (n - index) / 4 - 1);
	t[n + 8] = 0x00;
	t[n + 9] = 0x00;	/* check NONE, as in the header */
	xipfs_xz_le32(t + n, xipfs_xz_crc32(t + n + 4, 6));
	t[n + 10] = 'Y';
	t[n + 11] = 'Z';
	return n + 12;
}

static void *xipfs_xz_alloc(gfp_t gfp)
{
	return xz_dec_init(XZ_PREALLOC, XIPFS_MAX_CLUSTER_SIZE);
}

static void xipfs_xz_free(void *ws)
{
	xz_dec_end(ws);
}

static struct xipfs_ws_pool xipfs_xz_pool =
	XIPFS_WS_POOL_INIT(xipfs_xz_pool, xipfs_xz_alloc, xipfs_xz_free);

/* Feed all of [in, in + len) to the decoder; its return, or -1 if short. */
static int xipfs_xz_feed(struct xz_dec *s, struct xz_buf *b,
			 const u8 *in, size_t len)
{
	enum xz_ret ret;

	b->in = in;
	b->in_pos = 0;
	b->in_size = len;
	ret = xz_dec_run(s, b);
	return b->in_pos == len ? ret : -1;
}

static int xipfs_xz_decompress(const void *src, unsigned int slen,
			       void *dst, unsigned int dlen)
{
	struct xz_buf b = {
		.out = dst,
		.out_pos = 0,
		.out_size = dlen,
	};
	u8 tail[32];
	unsigned int tlen;
	struct xz_dec *s;
	int err = -EFSCORRUPTED;

	if (!slen || !dlen || dlen > XIPFS_MAX_CLUSTER_SIZE)
		return -EFSCORRUPTED;
	tlen = xipfs_xz_tail(tail, slen, dlen);

	s = xipfs_ws_get(&xipfs_xz_pool);
	if (IS_ERR(s))
		return PTR_ERR(s);
	/* Multi-call mode: a decoder may come back mid-stream after an error. */
	xz_dec_reset(s);
	/* The stream must not end before the last byte of the trailer. */
	if (xipfs_xz_feed(s, &b, xipfs_xz_head, sizeof(xipfs_xz_head)) == XZ_OK &&
	    xipfs_xz_feed(s, &b, src, slen) == XZ_OK &&
	    xipfs_xz_feed(s, &b, tail, tlen) == XZ_STREAM_END &&
	    b.out_pos == dlen)
		err = 0;
	xipfs_ws_put(&xipfs_xz_pool, s);
	return err;
}

static void xipfs_xz_exit(void)
{
	xipfs_ws_pool_destroy(&xipfs_xz_pool);
}

const struct xipfs_decompressor xipfs_decomp_xz = {
	.name = "xz",
	.exit = xipfs_xz_exit,
	.decompress = xipfs_xz_decompress,
};
