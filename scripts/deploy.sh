#!/usr/bin/env bash
# npm run deploy [-- <environment> [cdktf deploy options]]: the documented deploy, `npx cdktf deploy`,
# through the CLI pinned in package.json (cdktf-cli 0.21.0). It synthesizes the app of cdktf.json
# (which builds the functions and runs the preflight checks), then runs terraform init, plan and
# apply for the environment. Prerequisites are in docs/deploy.md: terraform >= 1.5 on PATH, Google
# credentials for it, and the ENX_INFRA_* settings.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v terraform >/dev/null || {
  echo "deploy: terraform is not on PATH; install terraform >= 1.5 (see docs/deploy.md)" >&2
  exit 2
}
# Keeps the CLI from calling HashiCorp's version check.
export CHECKPOINT_DISABLE=1
exec npx --no-install cdktf deploy "$@"
