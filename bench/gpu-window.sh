#!/usr/bin/env bash
# Issue 10 and 11 measurements in one GPU window, detached from the caller (after scripts/offline-kit/install.sh):
#   setsid nohup bash bench/gpu-window.sh /tmp/models > /tmp/vllm-node-out/window.log 2>&1 < /dev/null &
# With two GPUs the two chains run side by side (chain 1 on GPU 1); with one, one after the other.
#   chain 0: warm-up (first starts on a fresh host: 4B, then the 32B shape), then the switches with fastStart and
#            with vLLM's own start (bench/switch.mjs; decode throughput compared at the end of each)
#   chain 1: warm-up of the 8B, the GPU test of ModelManager (tests/gpu/model-manager.test.ts), and with
#            WINDOW_COMPARE=1 bench/gpu.mjs (Python LLM.generate vs Node) and bench/asyncllm.py (AsyncLLM)
# Logs: /tmp/vllm-node-out/c0/, c1/ (switch.log, bench-*.log, gpu-test.log, gpu.log, asyncllm.log); docs/benchmarks.md appended.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-/tmp/models}
base=/tmp/vllm-node-out
mkdir -p "$base/c0" "$base/c1"
gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
chain0() {
  CUDA_VISIBLE_DEVICES=0 VLLM_NODE_OUT_DIR=$base/c0 bash scripts/gpu-host/switch.sh "$dir" \
    warmup:models=qwen3-4b warmup:models=qwen3-32b \
    switch:models=qwen3-4b,qwen3-8b,qwen3-4b,qwen3-32b,qwen3-8b switch:fast=0:models=qwen3-4b,qwen3-8b,qwen3-4b
}
chain1() {
  local gpu=$1
  export CUDA_VISIBLE_DEVICES=$gpu
  VLLM_NODE_OUT_DIR=$base/c1 bash scripts/gpu-host/switch.sh "$dir" warmup:models=qwen3-8b
  echo "$(date +%T) tests/gpu/model-manager.test.ts" >> "$base/c1/switch.log"
  VITEST_FILES=tests/gpu/model-manager.test.ts VLLM_NODE_GPU_MODELS=$dir bash scripts/gpu-host/run.sh test > "$base/c1/gpu-test.log" 2>&1
  rc=$?; echo "$(date +%T) gpu test rc=$rc" >> "$base/c1/switch.log"
  [[ ${WINDOW_COMPARE:-0} == 1 ]] || return 0
  echo "$(date +%T) gpu.mjs" >> "$base/c1/switch.log"
  OUT=$base/c1 BENCH_GPU=1 node bench/gpu.mjs "$dir/qwen3-4b" 256 128 skip-http > "$base/c1/gpu.log" 2>&1
  rc=$?; echo "$(date +%T) gpu.mjs rc=$rc; asyncllm.py" >> "$base/c1/switch.log"
  PYTHONUNBUFFERED=1 "$VLLM_NODE_PYTHON" bench/asyncllm.py "$dir/qwen3-4b" 256 128 > "$base/c1/asyncllm.log" 2>&1
  rc=$?; echo "$(date +%T) chain 1 done rc=$rc" >> "$base/c1/switch.log"
}
if [[ $gpus -ge 2 ]]; then
  chain1 1 & chain0; wait
else
  chain1 0; chain0
fi
echo "$(date +%T) window done" >> "$base/c0/switch.log"
