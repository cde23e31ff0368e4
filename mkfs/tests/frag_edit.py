#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Damage an image with shared clusters behind valid checksums, for
t-fragments: frag_edit.py IMAGE OUT ACTION INO
  hole     the inode's page 0 entry (its group's, in a grouped map)
           becomes a hole
  unshare  the cluster of the inode's page 0 loses XIPFS_CL_SHARED (bit 63)
           of its descriptor, or of its compact table exception word
  nofeat   the superblock loses INCOMPAT_SHARED_CLUSTERS
Prints the cluster and index that page 0 named."""
import struct
import sys


def crc32c(data):
    table = crc32c.table
    if table is None:
        table = crc32c.table = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


crc32c.table = None

img, out, action, ino = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = bytearray(open(img, 'rb').read())
incompat, = struct.unpack_from('<I', b, 24)
inode_off, meta_off, meta_size = struct.unpack_from('<QQQ', b, 56)
cluster_off, = struct.unpack_from('<Q', b, 88)
# 32-byte slots; an extended inode (i_flags bit 0) has i_data at 40, a
# compact one at 24.
slot = inode_off + ino * 32
i_flags, = struct.unpack_from('<H', b, slot + 2)
i_data, = struct.unpack_from('<Q', b, slot + (40 if i_flags & 1 else 24))
# The low 3 bits are a grouped map's group shift; entry 0 is page 0's either way.
i_data &= ~7
e, = struct.unpack_from('<Q', b, i_data)
if e >> 62 != 2:
    sys.exit('page 0 of inode %d is not compressed' % ino)
cl, idx = e & ((1 << 48) - 1), (e >> 48) & 0xFF
print(cl, idx)
if action == 'hole':
    struct.pack_into('<Q', b, i_data, 0)
elif action == 'unshare':
    at = cluster_off + cl * 8
    if incompat & 0x40:
        # A compact cluster table: a shared cluster has an exception word
        # (bits 0..37 its index) after the header and a base per 64 clusters.
        count, = struct.unpack_from('<Q', b, 96)
        nexc, = struct.unpack_from('<I', b, cluster_off)
        exc = cluster_off + 8 + (count + 63) // 64 * 8
        at = [exc + 8 * k for k in range(nexc)
              if struct.unpack_from('<Q', b, exc + 8 * k)[0] & ((1 << 38) - 1) == cl][0]
    d, = struct.unpack_from('<Q', b, at)
    struct.pack_into('<Q', b, at, d & ~(1 << 63))
elif action == 'nofeat':
    struct.pack_into('<I', b, 24, incompat & ~4)
else:
    sys.exit('unknown action ' + action)
struct.pack_into('<I', b, 80, crc32c(bytes(b[meta_off:meta_off + meta_size])))
sb = bytearray(b[:256])
struct.pack_into('<I', sb, 4, 0)
struct.pack_into('<H', sb, 12, 0)
struct.pack_into('<I', b, 4, crc32c(bytes(sb)))
open(out, 'wb').write(b)
