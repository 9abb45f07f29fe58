#!/usr/bin/env bash
# The whole test suite: lint, types, unit, Lima template, integration (real Docker + gVisor),
# browser (Chromium driving real pods through their routers), and the testinfra checks against
# this host. Needs a provisioned host with both images (scripts/up.sh or scripts/provision-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests benchmarks deploys inventory scripts
ruff format --check src tests benchmarks deploys inventory scripts
mypy
# The host scripts in shell (pinacle-edge-auth is Python: its tests run it for real).
mapfile -t host_shell_scripts < <(grep -l '^#!.*\bsh$\|^#!.*bash$' src/pinacle/host_scripts/*)
shellcheck -e SC1091 scripts/*.sh docker/*.sh docker/lib/*.sh docker/ttyd/*.sh docker/images/*/setup.sh \
    docker/rootfs/usr/local/bin/pinacle-reload "${host_shell_scripts[@]}"
# The slowest tests are printed so that the suite's time budget can be kept honestly.
pytest --durations=40 tests/unit tests/lima tests/integration tests/browser "$@"
# The testinfra checks look at the pods a host has: give them one (pods/example.yaml under a slug
# of its own), and take it away afterwards.
pod_file=$(mktemp --suffix=.yaml)
sed 's/^slug: example$/slug: infra-check/' pods/example.yaml >"$pod_file"
trap 'pinacle delete -i @local infra-check --purge >/dev/null; rm -f "$pod_file"' EXIT
pinacle-deploy -i @local "$pod_file" >/dev/null
PINACLE_INFRA_PODS=infra-check pytest tests/infra --hosts=local:// "$@"
