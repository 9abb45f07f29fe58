#!/usr/bin/env bash
# Make this machine a gVisor pod host with the project's own deploy, then build the pod images.
# Both builds are cached by the hash of their inputs: an unchanged image costs a fraction of a second.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
pyinfra -y inventory/local.py deploys/vm.py
docker/build-base-image.sh
docker/build-image.sh workstation
