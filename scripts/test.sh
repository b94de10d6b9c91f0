#!/usr/bin/env bash
# Install policybot with its test extras (CPU torch first: an unpinned torch pulls a
# multi-GB CUDA build), Debian's chromium for the browser tests and postgresql for the
# database tests, then run pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-browser
bash .ci/install-postgres
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# The CPU build of torch (pinned in constraints.txt): from the configured indexes, else
# from PyTorch's CPU index (PyPI's own torch wheels pull the CUDA libraries).
.venv/bin/python -m pip install --quiet -c constraints.txt torch==2.13.0 \
  || .venv/bin/python -m pip install --quiet -c constraints.txt torch==2.13.0 \
       --index-url https://download.pytorch.org/whl/cpu
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test,st]'
exec .venv/bin/python -m pytest "$@"
