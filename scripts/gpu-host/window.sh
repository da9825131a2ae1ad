#!/usr/bin/env bash
# One GPU window for the open measurements on the newest admitted vLLM (0.33), detached from the caller, after
# scripts/offline-kit/install.sh with the vllm033.env kit:
#   setsid nohup bash scripts/gpu-host/window.sh STEPS > /tmp/vllm-node-out/window.log 2>&1 < /dev/null &
# STEPS (comma-separated, in order; default all): check, throughput, extraction, seed, manager, budget, memory.
#   install     scripts/offline-kit/install.sh with the kit's parts in VLLM_NODE_KIT_PARTS (/tmp/kit), then its env.sh
#   check       environment facts, the addon, the random-weight models (scripts/gpu-host/run.sh check)
#   throughput  bench/throughput-window.sh (issue 29): plain vLLM / vllm-node / vllm serve, interleaved rounds
#   extraction  bench/extraction.mjs (issue 25, item 6): 256 postings, extractMany / LLM.chat + structured outputs /
#               vllm serve + response_format on the qwen3-4b shape (random weights: throughput and latency; the
#               fields-right figures need real weights), 0.28 of the card per engine, then single-posting latency
#               with and without n-gram speculation; EX_ARGS adds flags (e.g. "--model DIR" for real weights)
#   seed        tests/gpu/seed.test.ts (the seed's promises)
#   manager     tests/gpu/model-manager.test.ts
#   budget      tests/gpu/model-manager-budget.test.ts (issue 24: the card sampled every 250 ms, every sample <= cap)
#   memory      tests/gpu/memory.test.ts
#   gpubench    bench/gpu.mjs on the 4B shape (scripts/gpu-host/run.sh bench: Python LLM.generate, Node, vllm serve +
#               openai, streaming TTFT, single 50-token latency, switch time; issue 23's bench on the newest vLLM)
# Run when named (not in the default):
#   budget09    issue 24's second run: the budget catalog under gpuMemoryUtilization 0.9 of the whole card, the 32B
#               without weight offload
#   budget32fast  the 14.4 GiB budget test with the 32B's cold start without vLLM's DeepGEMM warm-up
#               (VLLM_DEEP_GEMM_WARMUP=skip) and FlashInfer autotune (enable_flashinfer_autotune=false): order 32b,4b,32b
#   deterministic  tests/gpu/deterministic.test.ts (issue 26, items 1-2): deterministic: true + cacheDir on the 4B
#               shape (bf16, compiled): a seeded sampled request alone and inside batches of 64 in other orders gives
#               identical text; the compile cache lands in cacheDir (VLLM_NODE_GPU_CACHE_DIR, default a temp folder;
#               run it twice with the same folder for the warm start) and doctor's check says warm
#   faults      tests/gpu/faults.test.ts: EngineCore / GPU worker killed mid-batch, a second engine that cannot fit, a
#               dead sleeper of a ModelManager (4B shape, load_format dummy)
#   cachewarm   issue 26 item 1, a cache folder that travels: `vllm-node generate` (greedy, 32 tokens, 4 prompts) on the
#               4B shape with VLLM_NODE_CACHE_DIR set to an empty folder (a cold start), the folder packed with tar and
#               removed, ~/.cache moved aside, the folder unpacked where it was, the same command again (a fresh host
#               that restored the folder); both starts' timings and outputs in cachewarm-*.log/.jsonl, cmp of outputs
#   gap         issue 23/29, the GPU extraction gap split: bench/throughput.mjs on the extraction workload, every path
#               with the same KV cache (GAP_KV_BYTES, default 14 GiB) and GAP_ARGS (the batch limits and grammar setting of
#               earlier windows by default), 0.3 of the card each: gap-split (plain vLLM, vllm-node, ref = LLM.generate on
#               vllm-node's engine: engine or Node bridge, and (e) a second vllm-node engine with fastStart off: the
#               EngineCore spawned, not forked), gap-stats (plain, node, (e) with disable_log_stats=true: vLLM's
#               per-request stats and Prometheus recording off, as plain LLM has them), gap-ref (plain, node, ref only: no
#               third engine start), gap-own (no GAP_KV_BYTES: each engine sizes its own KV cache, as users run it; (e) is
#               vllm-node with the cap's fraction but worker_extension_cls=vllm_node.worker.NoExtension, so no allocator
#               bound: node < plain with e = node puts the cost on the reserve's KV cache, e = plain on the bound),
#               own-node and own-alt (the same, two engines at a time: for GAP_GPU_MEM=0.44, where three do not fit);
#               GAP_RUNS picks them (default split)
#   speculative bench/speculative.mjs on the GPU (issue 25, item 6): n-gram speculation's acceptance and single-posting
#               speed-up with real weights, SmolLM2-135M-Instruct (its checkpoint as tar parts in /tmp/smol), the seed's
#               fp8 configuration, compiled (SPEC_EAGER=1: eager), two engines at 0.4 of the card each; the section it
#               writes is speculative.md
#   detcost     issue 26, item 2: what deterministic: true costs, bench/throughput.mjs on the seed workload, bf16 (vLLM's
#               batch-invariant kernels cover bf16), plain vLLM as vLLM runs by default against vllm-node with
#               deterministic: true, 0.4 of the card each
#   soak        bench/soak.mjs: SOAK_S (600) seconds, 64 concurrent generate/stream/extract/aborts on the 4B shape with
#               load_format dummy, compiled; every call settles once; Node RSS and the card every 5 s ($out/soak/);
#               SOAK_ARGS adds flags (e.g. --eager)
# Every step logs to /tmp/vllm-node-out/<step>.log; steps.log has each step's start, end and exit status; card.csv
# samples the card every 250 ms across the whole window. Poll with `tail`; copy the folder to $OUT.
# Poll with calls back to back, each sleeping up to ~4 min: the device goes back after ~30 s without a call, and the
# detached window dies with it (2026-12-07 17:36: a window lost to two minutes of local work between polls).
# What a window costs before its first step, on a fresh host: the start (~130 s), the kit's 31 parts and SmolLM2's 5
# (one call each: 3.5-5 s a call on 2026-12-07 17:30, 9-23 s at 22:37), install.sh (~64 s): 5-10 minutes of device
# time. A refused start costs 90-180 s; below ~600 s of budget left, a window cannot reach its first engine.
# 2026-12-08, measured: an H100 that came with 772 s left gave its first extraction round 9.5 minutes later (uploads
# 168 s, install 69 s, plain vLLM's start 95 s, vllm-node's 58 s, one warm-up each 47 s), then ~36 s per round of two
# eager paths at 128 postings: 6 rounds before it went back. Ten rounds of two paths need ~950 s of budget at arrival.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=/tmp/vllm-node-out
mkdir -p "$out"
export VLLM_NODE_GPU_MODELS=${VLLM_NODE_GPU_MODELS:-/tmp/models}
# shellcheck disable=SC1091
kit_env() { source "${VLLM_NODE_KIT_DIR:-/tmp/vllm-node-kit}/env.sh"; }
[[ -f ${VLLM_NODE_KIT_DIR:-/tmp/vllm-node-kit}/env.sh ]] && kit_env
# WINDOW_CACHE_DIR: every path of the window (plain vLLM, vllm serve, vllm-node, the tests) reads and writes its compile
# and JIT caches there, in cacheDir's layout (python/vllm_node/preimport.py): one engine's FlashInfer JIT and compile
# serve the others, and the folder is what a later fresh host restores (issue 26, item 1).
if [[ -n ${WINDOW_CACHE_DIR:-} ]]; then
  eval "$(PYTHONPATH=python python3 -c 'import sys, shlex; from vllm_node.preimport import cache_env
for k, v in cache_env(sys.argv[1]).items(): print(f"export {k}={shlex.quote(v)}; mkdir -p {shlex.quote(v)}")' "$WINDOW_CACHE_DIR")"
fi
log() { echo "$(date -u +%T) $*" >> "$out/steps.log"; }
nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -lms 250 > "$out/card.csv" 2>/dev/null &
trap 'kill $! 2>/dev/null' EXIT
# The qwen3-4b shape (random weights) the benchmarks run, built once; its log is $out/STEP-models.log.
shape_4b() {
  [[ -f $VLLM_NODE_GPU_MODELS/qwen3-4b/config.json ]] || "${VLLM_NODE_PYTHON:-python3}" scripts/gpu-host/build-models.py "$VLLM_NODE_GPU_MODELS" .models/tiny-qwen3 4b > "$out/$1-models.log" 2>&1
}
# The full log (vLLM's lines included) goes straight to $out, so a window cut short keeps it.
gpu_test() {
  VLLM_NODE_GPU_TEST_LOG="$out/$2-full.log" VITEST_FILES="$1" bash scripts/gpu-host/run.sh test > "$out/$2.log" 2>&1
}
steps=${1:-check,throughput,extraction,seed,manager,budget,memory}
for step in ${steps//,/ }; do
  log "start $step"
  # Every step after install runs vllm-node: the addon for the kit's Python, built once (a fresh host has none).
  if [[ $step != install && ! -f build/Release/vllm_node.node ]]; then
    node scripts/build-native.mjs > "$out/addon.log" 2>&1 || log "addon build failed (addon.log)"
  fi
  case "$step" in
    install) bash scripts/offline-kit/install.sh "${VLLM_NODE_KIT_PARTS:-/tmp/kit}" > "$out/install.log" 2>&1 && kit_env ;;
    check) bash scripts/gpu-host/run.sh check > "$out/check.log" 2>&1 ;;
    throughput) TP_WORKLOADS=${TP_WORKLOADS:-seed,c1024,single} bash bench/throughput-window.sh "$out/throughput" ;;
    extraction)
      shape_4b extraction
      # shellcheck disable=SC2086
      BENCH_GPU=1 node bench/extraction.mjs --gpu-mem 0.28 --out "$out/extraction" ${EX_ARGS:-} > "$out/extraction.log" 2>&1 ;;
    seed) gpu_test tests/gpu/seed.test.ts seed ;;
    manager) gpu_test tests/gpu/model-manager.test.ts manager ;;
    # vLLM's info log: where a cold start's time goes (the 32B's four quiet minutes of 2026-12-07).
    budget) VLLM_NODE_LOG_LEVEL=${VLLM_NODE_LOG_LEVEL:-info} gpu_test tests/gpu/model-manager-budget.test.ts budget ;;
    # The 32B's cold start without vLLM's DeepGEMM warm-up and FlashInfer autotune (both read the offloaded weights
    # across PCIe at every step; docs/benchmarks.md 2026-12-07 14:40): 4B, then 32B cold, 4B, 32B warm.
    budget32fast) VLLM_NODE_LOG_LEVEL=${VLLM_NODE_LOG_LEVEL:-info} VLLM_DEEP_GEMM_WARMUP=skip GPU_TEST_ORDER=32b,4b,32b \
      GPU_TEST_32B_ENGINE_ARGS='{"enable_flashinfer_autotune":false}' gpu_test tests/gpu/model-manager-budget.test.ts budget32fast ;;
    budget09) VLLM_NODE_LOG_LEVEL=${VLLM_NODE_LOG_LEVEL:-info} GPU_TEST_BUDGET_UTIL=0.9 GPU_TEST_32B_OFFLOAD_GIB=0 gpu_test tests/gpu/model-manager-budget.test.ts budget09 ;;
    memory) gpu_test tests/gpu/memory.test.ts memory ;;
    gpubench)
      rm -f /tmp/vllm-node-bench.log
      bash scripts/gpu-host/run.sh bench > "$out/gpubench.log" 2>&1; rc=$?
      cp /tmp/vllm-node-bench.log "$out/gpubench-full.log" 2>/dev/null; (exit $rc) ;;
    deterministic) gpu_test tests/gpu/deterministic.test.ts deterministic ;;
    faults) gpu_test tests/gpu/faults.test.ts faults ;;
    cachewarm)
      cw=/tmp/vllm-node-cachewarm; rm -rf "$cw"; mkdir -p "$cw"
      for i in 1 2 3 4; do echo "{\"prompt\": \"Posting $i: Senior data engineer, Berlin. Extract the title:\"}"; done > "$cw/prompts.jsonl"
      cw_run() { local t0; t0=$(date +%s.%N)
        VLLM_NODE_CACHE_DIR=$cw/cache node dist/cli/main.js generate --model "$VLLM_NODE_GPU_MODELS/qwen3-4b" --temperature 0 --max-tokens 32 -i "$cw/prompts.jsonl" > "$out/cachewarm-$1.jsonl" 2> "$out/cachewarm-$1.log"
        echo "$1 rc=$? wall_s=$(awk "BEGIN{print $(date +%s.%N) - $t0}")" >> "$out/cachewarm.log"; }
      [[ -d ~/.cache ]] && mv ~/.cache ~/.cache.window
      cw_run cold
      tar -C "$cw" -czf "$cw/cache.tgz" cache && echo "folder $(du -sm "$cw/cache" | cut -f1) MiB, tgz $(du -sm "$cw/cache.tgz" | cut -f1) MiB" >> "$out/cachewarm.log"
      rm -rf "$cw/cache" ~/.cache && tar -C "$cw" -xzf "$cw/cache.tgz"
      cw_run restored
      cmp "$out/cachewarm-cold.jsonl" "$out/cachewarm-restored.jsonl" >> "$out/cachewarm.log" 2>&1 && echo "outputs identical" >> "$out/cachewarm.log"
      rm -rf ~/.cache; [[ -d ~/.cache.window ]] && mv ~/.cache.window ~/.cache ;;
    gap)
      shape_4b gap
      gap_args=(--workloads extraction --gpu-mem "${GAP_GPU_MEM:-0.3}" --rounds "${GAP_ROUNDS:-10}")
      same_kv=(--engine-arg "kv_cache_memory_bytes=${GAP_KV_BYTES:-15032385536}")
      gap_default='--engine-arg max_num_seqs=1024 --engine-arg max_num_batched_tokens=16384 --engine-arg structured_outputs_config={"backend":"xgrammar","disable_any_whitespace":true}'
      # shellcheck disable=SC2206
      gap_args+=(${GAP_ARGS:-$gap_default})
      runs=${GAP_RUNS:-split}
      for run in ${runs//,/ }; do
        case "$run" in
          stats) extra=("${same_kv[@]}" --paths plain,node,alt --alt-engine-arg disable_log_stats=true) ;;
          split) extra=("${same_kv[@]}" --paths plain,node,ref,alt --alt-fast-start off) ;;
          ref) extra=("${same_kv[@]}" --paths plain,node,ref) ;;
          # Each engine sizes its own KV cache, as users run it; alt keeps the cap's fraction without the bound.
          own) extra=(--paths plain,node,alt --alt-engine-arg worker_extension_cls=vllm_node.worker.NoExtension) ;;
          # The same two at a time, for shares where three engines do not fit the card (0.44: own-node, then own-alt).
          own-node) extra=(--paths plain,node) ;;
          own-alt) extra=(--paths plain,alt --alt-engine-arg worker_extension_cls=vllm_node.worker.NoExtension) ;;
          *) echo "unknown gap run $run" >> "$out/gap.log"; continue ;;
        esac
        log "gap $run"
        BENCH_GPU=1 node bench/throughput.mjs "${gap_args[@]}" "${extra[@]}" --out "$out/gap-$run" > "$out/gap-$run.log" 2>&1
        log "gap $run rc=$?"
      done ;;
    speculative)
      if [[ ! -f $VLLM_NODE_GPU_MODELS/smollm2-135m-instruct/model.safetensors ]]; then
        mkdir -p "$VLLM_NODE_GPU_MODELS" && cat /tmp/smol/smol.tar.part-* | tar -C "$VLLM_NODE_GPU_MODELS" -xf -
      fi
      BENCH_GPU=1 node bench/speculative.mjs "$VLLM_NODE_GPU_MODELS/smollm2-135m-instruct" 10 4 > "$out/speculative.log" 2>&1; rc=$?
      awk '/^## Speculative decoding/{s=1} s' docs/benchmarks.md | tail -n 20 > "$out/speculative.md"; (exit $rc) ;;
    detcost)
      shape_4b detcost
      BENCH_GPU=1 node bench/throughput.mjs --workloads seed --paths plain,node --deterministic --gpu-mem 0.4 \
        --engine-arg quantization=null --engine-arg kv_cache_dtype=auto --engine-arg dtype=bfloat16 --out "$out/detcost" > "$out/detcost.log" 2>&1 ;;
    soak)
      shape_4b soak
      # shellcheck disable=SC2086
      BENCH_GPU=1 node bench/soak.mjs --model "$VLLM_NODE_GPU_MODELS/qwen3-4b" --dummy --seconds "${SOAK_S:-600}" --concurrency 64 --sample-s 5 --out "$out/soak" --record ${SOAK_ARGS:-} > "$out/soak.log" 2>&1 ;;
    *) echo "unknown step $step" ;;
  esac
  log "end $step rc=$?"
done
log "window done"
