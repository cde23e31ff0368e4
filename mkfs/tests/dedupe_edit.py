#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Damage a deduped image behind valid checksums, for t-dedupe:
dedupe_edit.py IMAGE OUT ACTION [ARGS]
  nobit          the superblock loses RO_COMPAT_SHARED_DATA (0x1)
  overlap A B    inode B's first stored map entry becomes inode A's (two
                 different files then share a page or cluster)
  size INO DELTA inode INO's i_size changes by DELTA bytes"""
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

img, out, action = sys.argv[1], sys.argv[2], sys.argv[3]
args = [int(a) for a in sys.argv[4:]]
b = bytearray(open(img, 'rb').read())
ro_compat, = struct.unpack_from('<I', b, 20)
inode_off, meta_off, meta_size = struct.unpack_from('<QQQ', b, 56)


def slot(ino):
    """(slot offset, extended?) of inode ino: 32-byte slots."""
    s = inode_off + ino * 32
    flags, = struct.unpack_from('<H', b, s + 2)
    return s, bool(flags & 1)


def map_off(ino):
    """Entry 0 of ino's map: i_data (at 40 extended, 24 compact) less G."""
    s, ext = slot(ino)
    d, = struct.unpack_from('<Q', b, s + (40 if ext else 24))
    return d & ~7


if action == 'nobit':
    struct.pack_into('<I', b, 20, ro_compat & ~1)
elif action == 'overlap':
    e, = struct.unpack_from('<Q', b, map_off(args[0]))
    struct.pack_into('<Q', b, map_off(args[1]), e)
elif action == 'size':
    s, ext = slot(args[0])
    if ext:
        v, = struct.unpack_from('<Q', b, s + 16)
        struct.pack_into('<Q', b, s + 16, v + args[1])
    else:
        v, = struct.unpack_from('<I', b, s + 16)
        struct.pack_into('<I', b, s + 16, v + args[1])
else:
    sys.exit('unknown action ' + action)
struct.pack_into('<I', b, 80, crc32c(bytes(b[meta_off:meta_off + meta_size])))
sb = bytearray(b[:256])
struct.pack_into('<I', sb, 4, 0)
struct.pack_into('<H', sb, 12, 0)
struct.pack_into('<I', b, 4, crc32c(bytes(sb)))
open(out, 'wb').write(b)
