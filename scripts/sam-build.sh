#!/usr/bin/env bash
# `sam build` of both functions without Docker, in the source tree (no copy of .build), then checks
# that each artifact has an executable `bootstrap` pointing at its own loader, and a lib/.
# Extra arguments go to `sam build` (e.g. --parameter-overrides Runtime=provided.al2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export SAM_CLI_TELEMETRY=0
grep -qs '^include deploy.mk' Makefile \
  || { echo "sam-build: ./Makefile must contain 'include deploy.mk' (SAM runs make build-<Function>)" >&2; exit 1; }
# The package is built for this host's architecture only: refuse an arm64/x86_64 mismatch.
host=$(uname -m); [[ $host == aarch64 ]] && host=arm64
if [[ " $* " =~ Architecture=(arm64|x86_64) && ${BASH_REMATCH[1]} != "$host" ]]; then
  echo "sam-build: Architecture=${BASH_REMATCH[1]} needs a ${BASH_REMATCH[1]} build host (this one is $host)" >&2; exit 1
fi
sam=$(scripts/sam-venv.sh)
"$sam" build --build-in-source --template-file template.yaml "$@" \
  || { echo "sam-build: sam build failed" >&2; exit 1; }

for fn in StreamFunction ApiFunction StageFunction ReviewFunction; do
  art=.aws-sam/build/$fn
  [[ -x $art/bootstrap ]] || { echo "sam-build: $art/bootstrap missing or not executable" >&2; exit 1; }
  [[ -d $art/lib ]] || { echo "sam-build: $art/lib missing" >&2; exit 1; }
  interp=$(patchelf --print-interpreter "$art/bootstrap")
  [[ $interp == /var/task/lib/* && -x $art/lib/${interp#/var/task/lib/} ]] \
    || { echo "sam-build: $art/bootstrap interpreter $interp is not in its lib/" >&2; exit 1; }
  echo "sam-build: $art ok (bootstrap $(du -h "$art/bootstrap" | cut -f1), lib/ $(du -sh "$art/lib" | cut -f1))"
done
