#!/usr/bin/env bash
# npm run deploy [-- <environment>]: synthesizes the stacks, then terraform init + apply for one
# environment (default: the only one, or "production"). Prerequisites are in docs/deploy.md:
# terraform >= 1.5 on PATH, Google credentials for it (gcloud auth application-default login or
# GOOGLE_APPLICATION_CREDENTIALS), and the ENX_INFRA_* settings.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v terraform >/dev/null || {
  echo "deploy: terraform is not on PATH; install terraform >= 1.5 (see docs/deploy.md)" >&2
  exit 2
}
export CHECKPOINT_DISABLE=1
npm run synth
env_name="${1:-}"
if [ -z "$env_name" ]; then
  stacks=(cdktf.out/stacks/*/)
  if [ "${#stacks[@]}" -ne 1 ]; then
    echo "deploy: several environments were synthesized; name one: npm run deploy -- <environment>" >&2
    exit 2
  fi
  env_name="$(basename "${stacks[0]}")"
fi
cd "cdktf.out/stacks/$env_name"
terraform init -input=false
terraform apply
