#!/usr/bin/env bash
# Install pinacle and its test tools into .venv (idempotent, fast when already there).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

# The SSH-target test (tests/integration/test_ssh_target.py) reaches this machine through a
# throwaway sshd, as production reaches pod hosts. Debian/Ubuntu as root only; elsewhere that test
# fails and says what is missing.
if [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    install_sshd() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openssh-server >/dev/null; }
    install_sshd || { apt-get update -q >/dev/null && install_sshd; } ||
        echo "bootstrap: could not install openssh-server; tests/integration/test_ssh_target.py will fail" >&2
fi
