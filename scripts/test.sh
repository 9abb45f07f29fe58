#!/usr/bin/env bash
# The whole test suite: lint, types, unit, Lima template, integration (real Docker + gVisor),
# browser (Chromium driving real pods through their routers), and the testinfra checks against
# this host. Needs a provisioned host with both images (scripts/up.sh or scripts/provision-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests benchmarks deploys inventory
ruff format --check src tests benchmarks deploys inventory
mypy
shellcheck -e SC1091 scripts/*.sh docker/*.sh docker/lib/*.sh docker/ttyd/*.sh docker/images/*/setup.sh docker/rootfs/usr/local/bin/pinacle-reload
pytest tests/unit tests/lima tests/integration tests/browser "$@"
pytest tests/infra --hosts=local:// "$@"
