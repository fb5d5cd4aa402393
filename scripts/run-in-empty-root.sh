#!/usr/bin/env bash
# Runs a packaged Lambda artifact the way Lambda would, in an otherwise EMPTY root filesystem,
# which proves the package carries everything it needs (loader, libc, libcurl stack):
#   /var/task  the artifact (read-only)      /tmp   a fresh tmpfs
#   /proc /dev                               /etc/pki/tls/certs/ca-bundle.crt  (Amazon Linux path)
# The network namespace is shared, so a Runtime API emulator on 127.0.0.1 is reachable.
# The environment is inherited (AWS_LAMBDA_RUNTIME_API, _HANDLER, ...).
# Usage: run-in-empty-root.sh ARTIFACT_DIR [-- [NAME=VALUE...] [ARGS...]]
#   NAME=VALUE items after `--` are set in the environment; anything else goes to bootstrap.
set -euo pipefail

art=${1:?usage: run-in-empty-root.sh ARTIFACT_DIR [-- [NAME=VALUE...] [ARGS...]]}
art=$(cd "$art" && pwd)
shift
[[ "${1:-}" == "--" ]] && shift
[[ -x "$art/bootstrap" ]] || { echo "run-in-empty-root: no executable $art/bootstrap" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "run-in-empty-root: bwrap missing (apt-get install bubblewrap)" >&2; exit 1; }
ca=${CA_BUNDLE_SOURCE:-/etc/ssl/certs/ca-certificates.crt}
[[ -r "$ca" ]] || { echo "run-in-empty-root: no CA bundle at $ca" >&2; exit 1; }

opts=(--unshare-all --share-net --die-with-parent --new-session
      --tmpfs / --ro-bind "$art" /var/task --tmpfs /tmp --proc /proc --dev /dev
      --ro-bind "$ca" /etc/pki/tls/certs/ca-bundle.crt
      --remount-ro / --chdir /var/task
      --setenv LAMBDA_TASK_ROOT /var/task)
# Leading NAME=VALUE items become environment variables.
while [[ $# -gt 0 && "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
  opts+=(--setenv "${1%%=*}" "${1#*=}"); shift
done
exec bwrap "${opts[@]}" /var/task/bootstrap "$@"
