#!/usr/bin/env bash
# Sets up a fresh machine: Python venv with vLLM (CPU build without a CUDA GPU), npm packages, the addon,
# the TypeScript build and the offline model fixtures. Idempotent; every step skips work already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s (%s s in)\n' "$*" "$SECONDS"; }
step "Python venv with vLLM"
bash scripts/setup-python.sh
step "npm packages"
if [[ ! -f node_modules/.package-lock.json ]]; then npm ci --no-audit --no-fund; elif [[ package.json -nt node_modules/.package-lock.json ]]; then npm install --no-audit --no-fund; fi
step "native addon"
node scripts/build-native.mjs
step "TypeScript"
npx tsc -p tsconfig.build.json
step "model fixtures"
bash scripts/build-models.sh
