#!/usr/bin/env bash
# Runs bench/models.mjs (memory cap, model switching) and, when it prints KILL-ME with an engine loaded,
# SIGKILLs the Node process and times how long the card takes to return to its memory before the bench (issue 15).
set -uo pipefail
export OUT=/tmp/vllm-node-out BENCH_GPU=1
used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
before=$(used)
node bench/models.mjs "$@" > "$OUT/bench-stdout.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  if grep -q KILL-ME "$OUT/models.log" 2>/dev/null; then
    loaded=$(used); t0=$(date +%s%N); kill -9 "$pid"
    while (( $(used) > before + 100 )) && (( $(date +%s%N) - t0 < 60000000000 )); do sleep 0.1; done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "$(date +%T) SIGKILL of Node with the 8B engine loaded: card ${loaded} MiB -> $(used) MiB (before the bench: ${before} MiB) in ${ms} ms; vLLM processes left: $(pgrep -fc 'VLLM::|multiprocessing' || true)" >> "$OUT/models.log"
    break
  fi
  sleep 1
done
wait "$pid" 2>/dev/null
echo "$(date +%T) models.sh done" >> "$OUT/models.log"
