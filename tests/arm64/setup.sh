#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The arm64 board's setup lives with the other installers.
exec "$(dirname "$0")/../setup/arm64.sh" "$@"
