/* SPDX-License-Identifier: GPL-2.0 */
#ifndef XIPFS_CRC32C_H
#define XIPFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC-32C of a buffer: the value the format stores. */
uint32_t xipfs_crc32c(const void *buf, size_t len);
/* Raw running form: start with ~0U, finish with ~crc. */
uint32_t xipfs_crc32c_update(uint32_t crc, const void *buf, size_t len);

#endif
