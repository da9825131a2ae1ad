#!/usr/bin/env bash
# Runs bench/switch.mjs phases one after the other (each its own Node process), detached from the caller:
#   bash scripts/gpu-host/switch.sh MODELS_DIR phase[:arg[:arg]] ...   e.g.  warmup switch switch:fast=0:models=qwen3-4b,qwen3-8b
# Logs go to $VLLM_NODE_OUT_DIR (default /tmp/vllm-node-out; not the caller's $OUT, which may be removed when the
# caller returns): switch.log (the steps), bench-<phase>.log (vLLM's own lines).
set -uo pipefail
export OUT=${VLLM_NODE_OUT_DIR:-/tmp/vllm-node-out}
mkdir -p "$OUT"
dir=$1; shift
for step in "$@"; do
  phase=${step%%:*}; args=(); [[ $step == *:* ]] && IFS=: read -ra args <<< "${step#*:}"
  echo "$(date +%T) start $step" >> "$OUT/switch.log"
  node bench/switch.mjs "$dir" "$phase" "${args[@]}" > "$OUT/bench-${step//[:=,]/_}.log" 2>&1
  rc=$?; echo "$(date +%T) end $step rc=$rc" >> "$OUT/switch.log"
done
echo "$(date +%T) switch.sh done" >> "$OUT/switch.log"
