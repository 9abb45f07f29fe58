#!/usr/bin/env bash
# Install pinacle and its test tools into .venv (idempotent, fast when already there).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

# Debian packages some tests drive for real (Debian/Ubuntu as root only; elsewhere those tests
# fail and say what is missing):
#   openssh-server  tests/integration/test_ssh_target.py reaches this machine through a throwaway
#                   sshd, as production reaches pod hosts, and each host of the test fleet
#                   (scripts/fleet.sh, tests/integration/fleet/) runs one;
#   chromium        tests/browser drive Debian's Chromium with Playwright (Playwright's own browser
#                   download is not reachable here), with fonts-liberation for the pages' text;
#   nginx-light     tests/unit/test_router.py checks the rendered router with the real `nginx -t`;
#   tini            the PID 1 of each test fleet host (scripts/fleet.sh);
#   (and ShellCheck: the host and image scripts are checked with it in the unit tests).
wanted=()
for pair in /usr/sbin/sshd:openssh-server /usr/bin/chromium:chromium /usr/share/fonts/truetype/liberation:fonts-liberation \
    /usr/sbin/nginx:nginx-light /usr/bin/tini:tini \
    /usr/bin/shellcheck:shellcheck; do
    [ -e "${pair%%:*}" ] || wanted+=("${pair#*:}")
done
if [ "${#wanted[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}" >/dev/null; }
    install || { apt-get update -q >/dev/null && install; } ||
        echo "bootstrap: could not install ${wanted[*]}; the tests that use them will fail" >&2
fi
