#!/usr/bin/env bash
# Build the pinacle pod base image, pinacle/base:<inputs-hash12> + pinacle/base:latest:
#
#   docker/build-base-image.sh [--mode auto|dockerfile|debootstrap] [--force] [--no-cache] [--prune]
#                              [--print-hash]
#
# The same as `docker/build-image.sh base ...` (see there; other images: docker/images/).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/build-image.sh" base "$@"
