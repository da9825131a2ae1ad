"""Turns the validated options from TypeScript into `vllm.LLM` keyword arguments, checks them against the
platform, and reports the configuration that is really in effect.

Requested settings are never changed silently: what the installed vLLM or platform cannot honour is either
an error (`UnsupportedSetting`) or recorded in `notes` of the effective configuration.
"""
from __future__ import annotations

import dataclasses
from typing import Any


class UnsupportedSetting(ValueError):
    """A requested setting that this platform or vLLM version cannot honour."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def engine_arg_names() -> set[str]:
    from vllm.engine.arg_utils import EngineArgs

    return {f.name for f in dataclasses.fields(EngineArgs)}


def build_llm_kwargs(options: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Returns (kwargs for vllm.LLM, notes about settings that were adapted)."""
    from vllm.platforms import current_platform

    kwargs = dict(options["engine_kwargs"])
    kwargs.update(options.get("extra_engine_args") or {})
    notes: list[dict[str, Any]] = []
    names = engine_arg_names()

    if current_platform.is_cpu():
        if kwargs.get("quantization") == "fp8":
            raise UnsupportedSetting(
                "quantization",
                'quantization "fp8" needs a CUDA GPU with compute capability 8.9 or newer; the CPU backend '
                "cannot run it. Pass quantization: null (env VLLM_QUANTIZATION=none) on this machine.",
            )
        if str(kwargs.get("kv_cache_dtype", "auto")).startswith("fp8"):
            raise UnsupportedSetting(
                "kvCacheDtype",
                'kvCacheDtype "fp8" is not supported by the CPU backend (it conflicts with chunked prefill and '
                'prefix caching). Pass kvCacheDtype: "auto" (env VLLM_KV_CACHE_DTYPE=auto) on this machine.',
            )
    elif kwargs.get("quantization") == "fp8" and hasattr(current_platform, "get_device_capability"):
        cap = current_platform.get_device_capability()
        if cap is not None and cap.to_int() < 89:
            raise UnsupportedSetting(
                "quantization",
                f'quantization "fp8" needs compute capability 8.9 or newer; this GPU has {cap.major}.{cap.minor}.',
            )

    swap = options.get("swap_space")
    if swap is not None:
        if "swap_space" in names:
            kwargs["swap_space"] = swap
            notes.append({"option": "swapSpace", "applied": True, "value": swap})
        else:
            notes.append(
                {
                    "option": "swapSpace",
                    "applied": False,
                    "value": swap,
                    "reason": "this vLLM has no swap_space engine argument (the V1 engine preempts by "
                    "recomputation, so CPU swap space does not exist); the value was not passed",
                }
            )

    unknown = sorted(k for k in kwargs if k not in names and k not in _LLM_ONLY_KWARGS)
    if unknown:
        raise UnsupportedSetting(
            "engineArgs", f"vLLM {_vllm_version()} has no engine argument named {', '.join(unknown)}"
        )
    return kwargs, notes


# LLM() keyword arguments that are not EngineArgs fields.
_LLM_ONLY_KWARGS = {"hf_token", "disable_log_stats"}


def _vllm_version() -> str:
    import vllm

    return vllm.__version__


def effective_config(llm: Any, kwargs: dict[str, Any], notes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the engine really runs with, read back from vLLM's own config objects."""
    from vllm.platforms import current_platform

    cfg = llm.llm_engine.vllm_config
    model, cache, parallel = cfg.model_config, cfg.cache_config, cfg.parallel_config
    device = {"platform": str(current_platform.device_type)}
    if not current_platform.is_cpu():
        try:
            device["name"] = current_platform.get_device_name()
            cap = current_platform.get_device_capability()
            device["capability"] = f"{cap.major}.{cap.minor}" if cap else None
        except Exception:  # noqa: BLE001 - informational only
            pass
    return {
        "vllmVersion": _vllm_version(),
        "device": device,
        "model": model.model,
        "dtype": str(model.dtype).replace("torch.", ""),
        "quantization": model.quantization,
        "kvCacheDtype": cache.cache_dtype,
        "gpuMemoryUtilization": cache.gpu_memory_utilization,
        "maxModelLen": model.max_model_len,
        "tensorParallelSize": parallel.tensor_parallel_size,
        "trustRemoteCode": model.trust_remote_code,
        "enforceEager": model.enforce_eager,
        "numGpuBlocks": cache.num_gpu_blocks,
        "blockSize": cache.block_size,
        "seed": model.seed,
        "requested": kwargs,
        "notes": notes,
    }
