#!/bin/bash
# Placeholder until the board lands: host packages only.
set -e
exit 0
