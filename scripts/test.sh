#!/usr/bin/env bash
# Install policybot with its test extras (CPU torch first: an unpinned torch pulls a
# multi-GB CUDA build), Debian's chromium for the browser tests, then run pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-browser
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e '.[test,st]'
exec .venv/bin/python -m pytest "$@"
