# SPDX-License-Identifier: GPL-2.0
# Shared by the tests/setup scripts: paths, messages, locking.
# shellcheck shell=bash

XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
export XIPFS_CACHE
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETUP=$TOP/tests/setup
BUILD=${BUILD:-$TOP/build}

say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# Two runs (two clones, or CI next to a developer) share the cache:
# serialise each piece of work on a lock file in it.
cache_lock() {
	mkdir -p "$XIPFS_CACHE/locks"
	exec {_lockfd}>"$XIPFS_CACHE/locks/$1"
	flock "$_lockfd"
}

# apt without prompts, also when CI has no terminal.
export DEBIAN_FRONTEND=noninteractive
