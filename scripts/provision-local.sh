#!/usr/bin/env bash
# Make this machine a gVisor pod host with the project's own deploy, then build the pod base image.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
pyinfra -y inventory/local.py deploys/vm.py
docker/build-base-image.sh
