#!/usr/bin/env bash
# Runs ON THE GPU HOST, after scripts/offline-kit/install.sh: builds the addon against the host's Python, builds the
# random-weight Qwen3 models, then runs one step:
#   bash scripts/gpu-host/run.sh check        # environment facts only
#   bash scripts/gpu-host/run.sh test         # GPU suite (npm run test:gpu) + CPU-free unit tests
#   bash scripts/gpu-host/run.sh bench        # bench/gpu.mjs: Python vs Node vs HTTP, latency, switching
# Results (docs/benchmarks.md, logs) are copied to $OUT when it is set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODELS="${VLLM_NODE_GPU_MODELS:-/tmp/models}"
STEP="${1:-check}"
cd "$ROOT"
# shellcheck disable=SC1091
source "${VLLM_NODE_KIT_DIR:-/tmp/vllm-node-kit}/env.sh"
export VLLM_NODE_GPU_MODELS="$MODELS"
log() { echo "run: $*" >&2; }

if [[ ! -f build/Release/vllm_node.node ]] || [[ native/addon.cc -nt build/Release/vllm_node.node ]]; then
  log "building the addon for $VLLM_NODE_PYTHON"
  node scripts/build-native.mjs > /tmp/vllm-node-build.log 2>&1 || { tail -30 /tmp/vllm-node-build.log; exit 1; }
fi
mkdir -p "$MODELS"
"$VLLM_NODE_PYTHON" scripts/gpu-host/build-models.py "$MODELS" .models/tiny-qwen3 4b 8b 32b 32b-fp8

case "$STEP" in
  check)
    nvidia-smi --query-gpu=name,memory.total,memory.used,compute_cap --format=csv
    "$VLLM_NODE_PYTHON" -c 'import vllm, torch; print("vllm", vllm.__version__, "torch", torch.__version__, "cuda", torch.version.cuda)'
    node -e "import('./dist/index.js').then(m => console.log('vllm-node loads', Object.keys(m).length, 'exports'))"
    ;;
  test)
    node node_modules/vitest/vitest.mjs run --project gpu ${VITEST_FILES:-} 2>&1 | tee "${VLLM_NODE_GPU_TEST_LOG:-/tmp/vllm-node-gpu-test.log}" | grep -v '^(EngineCore\|^(Worker\|^INFO\|^WARNING' ;;
  bench)
    shift
    BENCH_GPU=1 node bench/gpu.mjs "$@" 2>&1 | tee /tmp/vllm-node-bench.log | grep -v '^(EngineCore\|^(Worker\|^INFO\|^WARNING\|^(APIServer' ;;
  models)
    # bench/models.mjs runs longer than one call may: start it detached, then poll with `run.sh poll`.
    shift
    mkdir -p /tmp/vllm-node-out
    setsid nohup bash scripts/gpu-host/models.sh "$MODELS" "$@" > /tmp/vllm-node-out/wrapper.log 2>&1 < /dev/null &
    sleep "${POLL_S:-420}"; tail -c 6000 /tmp/vllm-node-out/models.log ;;
  poll)
    sleep "${POLL_S:-500}"; tail -c 8000 /tmp/vllm-node-out/models.log; tail -5 /tmp/vllm-node-out/wrapper.log ;;
  *) log "unknown step $STEP"; exit 2 ;;
esac
if [[ -n "${OUT:-}" ]]; then
  cp docs/benchmarks.md "$OUT/" 2>/dev/null || true
  cp /tmp/vllm-node-*.log "$OUT/" 2>/dev/null || true
  cp /tmp/vllm-node-out/* "$OUT/" 2>/dev/null || true
fi
