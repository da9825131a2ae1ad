#!/usr/bin/env bash
# Issue 29 in one GPU window: bench/throughput.mjs's workloads back to back on one card, (a) plain vLLM in its own
# process, (b) vllm-node, (c) vllm serve + openai, all three resident with the same engine arguments (0.28 of the
# card each), interleaved rounds. Run after scripts/offline-kit/install.sh, detached from the caller:
#   setsid nohup bash bench/throughput-window.sh /tmp/vllm-node-out/tp > /tmp/vllm-node-out/tp-window.log 2>&1 < /dev/null &
# Writes to DIR: window.log (the steps, with exit codes), throughput.log (the bench's own lines), throughput.json and
# throughput.md (rewritten after each workload, so a cut-off run keeps what it finished), plain.log and serve.log
# (vLLM's lines of those paths), nvidia-smi.csv (the card every 2 s).
# Environment (defaults): VLLM_NODE_GPU_MODELS (/tmp/models; the qwen3-4b shape is built there when missing),
#   TP_WORKLOADS (seed,c1024,c4096,extraction,single), TP_ROUNDS (10), TP_MIN_ROUND_S (5), TP_GPU_MEM (0.28),
#   TP_PATHS (plain,node,serve; add ref for the reference_generate diagnostic), TP_EAGER=1 (enforce_eager everywhere),
#   TP_JSON_PINNED=1 (then the extraction workload again with vllm-node's structured_outputs_config given to all
#   three paths, into DIR/extraction-pinned), TP_SEPARATE=1 (one Node process per workload, each starting its three
#   engines: slower, but one failure costs one workload only), TP_ARGS (more flags for bench/throughput.mjs, e.g. "--engine-arg max_num_seqs=1024").
# One process for all workloads starts each engine once (~1-2 min each with warm caches, more on a fresh host); the
# rounds themselves take roughly 3 min (seed), 4 (c1024), 8 (c4096), 3 (extraction), 3 (single) on an H200.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:?usage: bash bench/throughput-window.sh OUT_DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
step() { echo "$(date -u +%T) $*" >> "$dir/window.log"; }
kit=${VLLM_NODE_KIT_DIR:-/tmp/vllm-node-kit}
# shellcheck disable=SC1091
[[ -f $kit/env.sh ]] && source "$kit/env.sh"
models=${VLLM_NODE_GPU_MODELS:-/tmp/models}
export VLLM_NODE_GPU_MODELS=$models BENCH_GPU=1
step "start: $(git rev-parse --short HEAD 2>/dev/null) models $models python ${VLLM_NODE_PYTHON:-?} node $(node --version)"
if [[ ! -f build/Release/vllm_node.node ]] || [[ native/addon.cc -nt build/Release/vllm_node.node ]]; then
  step "building the addon"
  node scripts/build-native.mjs > "$dir/build-native.log" 2>&1; step "addon rc=$?"
fi
if [[ ! -f $models/qwen3-4b/config.json ]]; then
  step "building the qwen3-4b shape"
  "${VLLM_NODE_PYTHON:-python3}" scripts/gpu-host/build-models.py "$models" .models/tiny-qwen3 4b >> "$dir/window.log" 2>&1; step "models rc=$?"
fi
nvidia-smi --query-gpu=timestamp,memory.used,memory.total,utilization.gpu --format=csv -l 2 > "$dir/nvidia-smi.csv" 2>/dev/null &
smi=$!
trap 'kill $smi 2>/dev/null' EXIT
workloads=${TP_WORKLOADS:-seed,c1024,c4096,extraction,single}
flags=(--paths "${TP_PATHS:-plain,node,serve}" --rounds "${TP_ROUNDS:-10}" --min-round-s "${TP_MIN_ROUND_S:-5}" --gpu-mem "${TP_GPU_MEM:-0.28}")
[[ ${TP_EAGER:-0} == 1 ]] && flags+=(--eager)
# shellcheck disable=SC2206
[[ -n ${TP_ARGS:-} ]] && flags+=(${TP_ARGS})
if [[ ${TP_SEPARATE:-0} == 1 ]]; then
  for w in ${workloads//,/ }; do
    step "throughput.mjs --workloads $w"
    node bench/throughput.mjs --workloads "$w" --out "$dir/$w" "${flags[@]}" > "$dir/throughput-$w.log" 2>&1
    step "$w rc=$?"
  done
  cat "$dir"/*/throughput.md > "$dir/throughput.md" 2>/dev/null
else
  step "throughput.mjs --workloads $workloads"
  node bench/throughput.mjs --workloads "$workloads" --out "$dir" "${flags[@]}" > "$dir/throughput.log" 2>&1
  step "throughput.mjs rc=$?"
fi
if [[ ${TP_JSON_PINNED:-0} == 1 ]]; then
  # The extraction workload again with vllm-node's structured-output setting given to all three paths (like for like:
  # vLLM's xgrammar reads disable_any_whitespace engine-wide; plain vLLM and vllm serve default to whitespace allowed).
  step "throughput.mjs --workloads extraction, structured_outputs_config pinned"
  node bench/throughput.mjs --workloads extraction --out "$dir/extraction-pinned" "${flags[@]}" \
    --engine-arg 'structured_outputs_config={"backend":"xgrammar","disable_any_whitespace":true}' > "$dir/throughput-extraction-pinned.log" 2>&1
  step "extraction pinned rc=$?"
  cat "$dir/extraction-pinned/throughput.md" >> "$dir/throughput.md" 2>/dev/null
fi
step "window done; markdown: $dir/throughput.md"
