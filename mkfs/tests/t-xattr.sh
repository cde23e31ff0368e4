#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extended attributes round-trip: directory -> image -> extract and tar ->
# image, with a file capability, SELinux labels from --file-contexts, long
# values, a POSIX ACL and many shared attributes; --xattrs=user|none; what
# cannot be stored is warned about or refused; fsck finds damaged
# attribute structures (checksums recomputed, so that the structural
# checks are what catches them).
. "$SRCDIR/tests/common.sh"
command -v python3 >/dev/null || skip "python3 not installed"

# xdump DIR: every attribute of every path, sorted, values in hex.
xdump() {
	python3 - "$1" <<'EOF'
import os, sys
d = sys.argv[1]
out = []
for root, dirs, files in os.walk(d):
    for n in ['.'] + dirs + files:
        p = os.path.normpath(os.path.join(root, n))
        if n == '.' and root != d:
            continue
        for a in sorted(os.listxattr(p, follow_symlinks=False)):
            v = os.getxattr(p, a, follow_symlinks=False)
            out.append('%s %s=%s' % (os.path.relpath(p, d), a, v.hex()))
print('\n'.join(sorted(out)))
EOF
}

S=$tmp/src
mkdir -p "$S/bin" "$S/etc" "$S/many" "$S/empty"
python3 -c "import os; open('$S/probe','w').close(); os.setxattr('$S/probe', 'user.x', b'')" 2>/dev/null ||
	skip "no user.* attributes on ${TMPDIR:-/tmp}"
rm "$S/probe"
cp /bin/true "$S/bin/ping"
seq 1 2000 >"$S/etc/long"
ln -s ../etc/long "$S/bin/link"
for i in $(seq 1 300); do echo "$i" >"$S/many/f$i"; done
python3 - "$S" <<'EOF'
import os, struct, sys
d = sys.argv[1]
os.setxattr(d + '/etc/long', 'user.long', bytes(range(256)) * 12)
os.setxattr(d + '/etc/long', 'user.empty', b'')
os.setxattr(d + '/many', 'user.dir', b'directory')
for i in range(1, 301):
    os.setxattr('%s/many/f%d' % (d, i), 'user.shared', b'the same for all')
    os.setxattr('%s/many/f%d' % (d, i), 'user.own', b'%d' % i)
EOF
if is_root; then
	python3 - "$S" <<'EOF'
import os, struct, sys
d = sys.argv[1]
os.setxattr(d + '/etc/long', 'trusted.overlay', b'\x00y')
os.setxattr(d + '/bin/link', 'trusted.link', b'on a symlink', follow_symlinks=False)
acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in
      [(1, 6, 0xffffffff), (2, 4, 1000), (4, 4, 0xffffffff), (0x10, 4, 0xffffffff),
       (0x20, 0, 0xffffffff)])
os.setxattr(d + '/etc/long', 'system.posix_acl_access', acl)
EOF
	command -v setcap >/dev/null && setcap cap_net_raw+ep "$S/bin/ping"
fi
fix_dir_times "$S"
xdump "$S" >"$tmp/src.x"

# Directory -> image -> extract: every attribute back.
"$MKFS" -q "$tmp/d.img" "$S" || fail "mkfs"
"$FSCK" "$tmp/d.img" || fail "fsck of the attribute image"
"$FSCK" -v "$tmp/d.img" | grep -q '^extended attributes: .*, 1 shared entries$' ||
	fail "expected 1 shared entry (user.shared)"
"$DUMP" -x "$tmp/out" "$tmp/d.img" || fail "extract"
xdump "$tmp/out" >"$tmp/out.x"
diff "$tmp/src.x" "$tmp/out.x" || fail "extracted attributes differ from the source"
n=$(wc -l <"$tmp/src.x")
[ "$n" -ge 605 ] || fail "only $n attributes in the source listing"
"$DUMP" -a /etc/long "$tmp/d.img" | grep -q '^user.empty=""$' || fail "dump -a: empty value"
"$DUMP" -a /many/f7 "$tmp/d.img" | grep -q '^user.shared="the same for all"  (shared 0)$' ||
	fail "dump -a: shared attribute"
echo "ok directory: $n attributes round-trip"

# Reproducible, and an image without attributes is what it was.
repro "$S" "" "--free-space=1M"
"$MKFS" -q --xattrs=none "$tmp/none.img" "$S" || fail "mkfs --xattrs=none"
"$DUMP" -s "$tmp/none.img" | grep -q 'shared xattrs' && fail "--xattrs=none: the image has attributes"
"$MKFS" -q --xattrs=user "$tmp/user.img" "$S" || fail "mkfs --xattrs=user"
rm -rf "$tmp/out"
"$DUMP" -x "$tmp/out" "$tmp/user.img" || fail "extract (user)"
xdump "$tmp/out" | grep -v ' user\.' | grep -q . && fail "--xattrs=user stored other attributes"
[ "$(xdump "$tmp/out" | wc -l)" -eq "$(grep -c ' user\.' "$tmp/src.x")" ] ||
	fail "--xattrs=user lost user attributes"
"$MKFS" -q --xattrs=bogus "$tmp/x.img" "$S" 2>/dev/null && fail "--xattrs=bogus accepted"
echo "ok --xattrs=none|user"

# --file-contexts: exact paths win over patterns, the last match among
# equals, <<none>>, a type field.
cat >"$tmp/fc" <<'EOF'
# comment
/.*			system_u:object_r:default_t:s0
/bin(/.*)?		system_u:object_r:bin_t:s0
/bin/link	-l	system_u:object_r:link_t:s0
/many/f[0-9]+	--	system_u:object_r:many_t:s0
/many/f1		<<none>>
/etc/long	-d	system_u:object_r:never_t:s0
EOF
"$MKFS" -q --file-contexts="$tmp/fc" "$tmp/fc.img" "$S" || fail "mkfs --file-contexts"
"$FSCK" "$tmp/fc.img" || fail "fsck (file contexts)"
label() { "$DUMP" -a "$1" "$tmp/fc.img" | sed -n 's/^security.selinux="\(.*\)".*/\1/p'; }
[ "$(label /)" = system_u:object_r:default_t:s0 ] || fail "root label: $(label /)"
[ "$(label /bin/ping)" = system_u:object_r:bin_t:s0 ] || fail "bin label"
[ "$(label /bin/link)" = system_u:object_r:link_t:s0 ] || fail "symlink label: $(label /bin/link)"
[ "$(label /many/f2)" = system_u:object_r:many_t:s0 ] || fail "pattern label"
[ -z "$(label /many/f1)" ] || fail "<<none>>: labelled $(label /many/f1)"
[ "$(label /etc/long)" = system_u:object_r:default_t:s0 ] || fail "type field ignored"
"$FSCK" -v "$tmp/fc.img" | grep -q 'shared entries' || fail "fsck -v: no attribute line"
printf '/x(?=y) system_u:object_r:a_t:s0\n' >"$tmp/fc.bad"
"$MKFS" -q --file-contexts="$tmp/fc.bad" "$tmp/x.img" "$S" 2>"$tmp/err" && fail "PCRE accepted"
grep -q 'PCRE' "$tmp/err" || fail "PCRE: $(cat "$tmp/err")"
echo "ok --file-contexts"

# tar: pax SCHILY.xattr.* and LIBARCHIVE.xattr.* records.
python3 - "$tmp/x.tar" <<'EOF'
import base64, io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    def add(name, pax, data=b'x\n'):
        i = tarfile.TarInfo(name)
        i.size, i.mtime, i.mode = len(data), 1700000000, 0o644
        i.pax_headers = pax
        t.addfile(i, io.BytesIO(data))
    add('a', {'SCHILY.xattr.user.a': 'from schily',
              'SCHILY.xattr.security.selinux': 'system_u:object_r:a_t:s0'})
    add('b', {'LIBARCHIVE.xattr.user.b': base64.b64encode(b'\x00\xffbin').decode(),
              'SCHILY.xattr.user.a': 'from schily'})
    add('c', {'SCHILY.xattr.btrfs.compression': 'zstd'})
    # GNU tar --acls / star: an access ACL in text form
    add('d', {'SCHILY.acl.access': 'user::rw-,user:1000:r--,group::---,mask::r--,other::---'})
EOF
"$MKFS" -q --tar "$tmp/t.img" "$tmp/x.tar" 2>"$tmp/err" || fail "mkfs --tar: $(cat "$tmp/err")"
grep -q 'c: attribute btrfs.compression left out' "$tmp/err" ||
	fail "no warning for an unstorable attribute: $(cat "$tmp/err")"
"$FSCK" "$tmp/t.img" || fail "fsck (tar)"
"$DUMP" -a /a "$tmp/t.img" >"$tmp/a.x"
grep -q '^user.a="from schily"  (shared 0)$' "$tmp/a.x" || fail "tar: SCHILY.xattr: $(cat "$tmp/a.x")"
grep -q '^security.selinux="system_u:object_r:a_t:s0"$' "$tmp/a.x" || fail "tar: security"
"$DUMP" -a /b "$tmp/t.img" | grep -q '^user.b=0x00ff62696e$' || fail "tar: LIBARCHIVE.xattr"
python3 - "$tmp/big.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo('big')
    i.pax_headers = {'SCHILY.xattr.user.big': 'v' * 70000}
    t.addfile(i, io.BytesIO(b''))
EOF
"$MKFS" -q --tar "$tmp/x.img" "$tmp/big.tar" 2>"$tmp/err" && fail "a 70000-byte value was accepted"
grep -q 'at most 65535 bytes' "$tmp/err" || fail "big value: $(cat "$tmp/err")"
# The ACL as the kernel stores it: version 2, entries ordered, and the
# mode's group bits the mask (r--: 0640).
"$DUMP" -a /d "$tmp/t.img" | grep -q '^system.posix_acl_access=0x0200000001000600ffffffff02000400e803000004000000ffffffff10000400ffffffff20000000ffffffff$' ||
	fail "tar: ACL: $("$DUMP" -a /d "$tmp/t.img")"
"$DUMP" -l / "$tmp/t.img" | grep -q '^-rw-r----- .* d$' || fail "tar: ACL: mode group bits not the mask"
echo "ok tar"

# Damage, checksums recomputed: fsck must name it.
damage() {
	python3 - "$tmp/d.img" "$tmp/bad.img" "$@" <<'EOF'
import struct, sys
img = bytearray(open(sys.argv[1], 'rb').read())
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 & -(c & 1))
    return c ^ 0xffffffff
# struct xipfs_super_block offsets: s_inode_count 52, s_inode_off 56,
# s_meta_off 64, s_meta_size 72, s_meta_crc 80, s_xattr_count 196
meta_off, meta_size = struct.unpack_from('<QQ', img, 64)
ninodes, inode_off = struct.unpack_from('<IQ', img, 52)
xcount, = struct.unpack_from('<I', img, 196)
what = sys.argv[3]
# The attribute bodies (i_xattr, byte 56 of an extended inode), walking
# the table as readers do: an extended inode takes two slots.
bodies, ino = [], 1
while ino < ninodes:
    flags, = struct.unpack_from('<H', img, inode_off + ino * 32 + 2)
    if flags & 1:
        x, = struct.unpack_from('<Q', img, inode_off + ino * 32 + 56)
        if x:
            bodies.append(x)
    ino += 2 if flags & 1 else 1
def pick(shared):
    for b in bodies:
        ns, cnt, size = struct.unpack_from('<HHI', img, b)
        if (ns if shared else cnt and img[b + 8 + 4 * ns + 1]):
            return b, ns, size
b, nshared, size = pick(what == 'index')
if what == 'prefix':
    img[b + 8 + 4 * nshared] = 9	# the first own entry's prefix
elif what == 'index':
    img[b + 8] += 1			# a shared index: not an entry start
elif what == 'size':
    struct.pack_into('<I', img, b + 4, size + 4)
elif what == 'table':
    struct.pack_into('<I', img, 196, xcount + 1)
elif what == 'name':
    img[b + 8 + 4 * nshared + 4] = 0	# the first byte of its name
struct.pack_into('<I', img, 80, crc32c(img[meta_off:meta_off + meta_size]))
struct.pack_into('<I', img, 4, 0)
sb = bytearray(img[:256]); struct.pack_into('<H', sb, 12, 0)
struct.pack_into('<I', img, 4, crc32c(sb))
open(sys.argv[2], 'wb').write(img)
EOF
	"$FSCK" "$tmp/bad.img" >"$tmp/fsck.log" 2>&1 && fail "fsck missed damage '$1'"
	grep -q "$2" "$tmp/fsck.log" || { cat "$tmp/fsck.log"; fail "damage '$1': expected '$2'"; }
}
damage prefix "unknown name prefix 9"
damage index "does not start an entry of the table\\|shared table: attribute entry at"
damage size "bytes after its entries\|outside the metadata area\|past the end"
damage table "shared attributes, but the table holds"
damage name "NUL byte in the name"
echo "ok fsck finds damaged attributes"
