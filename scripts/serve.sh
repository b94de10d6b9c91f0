#!/usr/bin/env bash
# Install policybot into .venv and serve the bundled corpus on http://127.0.0.1:8000
# (builds the index first when there is none). Extra arguments go to `policybot serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e .
exec .venv/bin/policybot serve "$@"
