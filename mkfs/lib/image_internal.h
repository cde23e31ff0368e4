/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the image reader's files (image.c, xattr.c) share: loads of
 * little-endian fields from unaligned bytes, and the error setter.
 */
#ifndef XIPFS_IMAGE_INTERNAL_H
#define XIPFS_IMAGE_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xipfs_image.h"

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* Say what is wrong with the image (xipfs_image_error()); -EUCLEAN. */
__attribute__((format(printf, 2, 3)))
static inline int fail(struct xipfs_image *img, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img->err, sizeof(img->err), fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

#endif
