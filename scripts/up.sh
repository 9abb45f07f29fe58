#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine (as root) to a running workstation pod.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/provision-local.sh
.venv/bin/pinacle-deploy -i @local pods/workstation.yaml
