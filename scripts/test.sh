#!/usr/bin/env bash
# The whole test suite: lint, types, unit, Lima template, integration (real Docker + gVisor),
# and the testinfra checks against this host. Needs a provisioned host (scripts/up.sh or
# scripts/provision-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests benchmarks deploys inventory
ruff format --check src tests benchmarks deploys inventory
mypy
pytest tests/unit tests/lima tests/integration "$@"
pytest tests/infra --hosts=local:// "$@"
