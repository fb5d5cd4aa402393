#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`; exits non-zero on any finding.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export SAM_CLI_TELEMETRY=0
# cfn-lint: the one on PATH, else the one aws-sam-cli brings into its venv.
sam=$(scripts/sam-venv.sh)
cfn_lint=$(command -v cfn-lint || echo "$(dirname "$sam")/cfn-lint")
"$cfn_lint" template.yaml || { echo "lint-template: cfn-lint found problems" >&2; exit 1; }
"$sam" validate --lint --template-file template.yaml --region "${AWS_REGION:-us-east-1}" \
  || { echo "lint-template: sam validate --lint failed" >&2; exit 1; }
echo "lint-template: cfn-lint and sam validate --lint clean"
