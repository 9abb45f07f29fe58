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

# pytest runs in two streams at once (the 2 cores sit idle about 40 % of a serial run, waiting on
# gVisor, Docker and SSH), each stream a sequence of pytest runs, each printing its 40 slowest tests
# so that the suite's time budget can be kept from figures:
#   fleet stream: unit and Lima tests and the test fleet (engines of its own, nothing of this
#                 machine's engine), then the browser tests;
#   host stream:  first the tests that re-apply a pod and assert "no changes" (a rollout killed
#                 by the kill tests leaves the edge's pod table for the next run to fix: a change),
#                 then everything else that runs on this machine's engine, the lifecycle tests that
#                 kill rollouts, snapshots and restores midway last.
# The browser tests start only once the host stream's quiet part is over. The streams are balanced
# by their measured times, which the README's CI paragraph keeps (one home for the figures).
quiet_files=(tests/integration/test_host_deploy.py tests/integration/test_rollout.py tests/integration/api
    tests/integration/test_local_reads.py tests/integration/test_ssh_target.py)
kill_files=(tests/integration/lifecycle/test_snapshot_kill.py tests/integration/lifecycle/test_killed_deploy.py)
ignored=()
for path in tests/integration/fleet "${kill_files[@]}" "${quiet_files[@]}"; do ignored+=("--ignore=$path"); done
streams=$(mktemp -d)
fleet_stream=
stop_streams() {  # on any exit: the fleet stream (its pytest, then its subshell), and the streams' files
    if [ -n "$fleet_stream" ]; then
        pkill -TERM -P "$fleet_stream" 2>/dev/null || true
        kill -TERM "$fleet_stream" 2>/dev/null || true
    fi
    rm -rf "$streams"
}
trap stop_streams EXIT
run_pytest() {  # a pytest run of the suite: its exit status, 0 when "$@"'s selection left it no test
    local status=0
    pytest --durations=40 "$@" || status=$?
    if [ "$status" = 5 ] && [ -n "$selection" ]; then status=0; fi
    return "$status"
}
selection="$*"
(
    status=0
    run_pytest tests/unit tests/lima tests/integration/fleet "$@" || status=1
    while [ ! -e "$streams/quiet-done" ]; do sleep 1; done
    run_pytest tests/browser "$@" || status=1
    exit "$status"
) >"$streams/fleet.log" 2>&1 &
fleet_stream=$!
status=0
run_pytest "${quiet_files[@]}" "$@" || status=1
touch "$streams/quiet-done"
run_pytest tests/integration "${ignored[@]}" "$@" || status=1
run_pytest "${kill_files[@]}" "$@" || status=1
wait "$fleet_stream" || status=1
fleet_stream=
echo "=== the fleet stream (unit, Lima, the test fleet, the browser tests) ==="
cat "$streams/fleet.log"
[ "$status" = 0 ] || exit "$status"
# The testinfra checks look at the pods a host has: give them one (pods/example.yaml under a slug
# of its own), and take it away afterwards.
pod_file=$(mktemp --suffix=.yaml)
sed 's/^slug: example$/slug: infra-check/' pods/example.yaml >"$pod_file"
trap 'pinacle delete -i @local infra-check --purge >/dev/null; rm -f "$pod_file"; stop_streams' EXIT
pinacle-deploy -i @local "$pod_file" >/dev/null
PINACLE_INFRA_PODS=infra-check pytest tests/infra --hosts=local:// "$@"
