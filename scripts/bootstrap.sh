#!/usr/bin/env bash
# Install pinacle and its test tools into .venv (idempotent, fast when already there).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
