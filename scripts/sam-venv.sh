#!/usr/bin/env bash
# Makes sure aws-sam-cli is installed in the project's venv (.venv-sam, gitignored) and prints
# the path of its `sam`. Env: SAM_VENV (default <repo>/.venv-sam), PYTHON (default python3).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SAM_VENV:-$root/.venv-sam}
if [[ ! -x "$venv/bin/sam" ]]; then
  echo "sam-venv: installing aws-sam-cli into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli >&2
fi
echo "$venv/bin/sam"
