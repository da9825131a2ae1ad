"""Turns the validated options from TypeScript into `vllm.LLM` keyword arguments, checks them against the
platform, and reports the configuration that is really in effect.

Requested settings are never changed silently: what the installed vLLM or platform cannot honour is either
an error (`UnsupportedSetting`) or recorded in `notes` of the effective configuration.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from . import bootstrap, fast_start, memory, preimport, speculative, versions
from .settings import UnsupportedSetting


def engine_arg_names() -> set[str]:
    from vllm.engine.arg_utils import EngineArgs

    return {f.name for f in dataclasses.fields(EngineArgs)}


def build_llm_kwargs(options: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """Returns (kwargs for vllm.LLM, notes about settings that were adapted, the memory plan)."""
    from vllm.platforms import current_platform

    kwargs = dict(options["engine_kwargs"])
    extra = options.get("extra_engine_args") or {}
    notes: list[dict[str, Any]] = [version_note(), *preimport.notes(options, current_platform), *bootstrap.notes()]
    for key, value in extra.items():
        default = kwargs.get(key)
        kept = sorted(set(default) - set(value)) if isinstance(default, dict) and isinstance(value, dict) else []
        if kept:
            # vllm-node's own defaults inside a config object (structured_outputs_config: xgrammar, compact JSON)
            # stay for the fields engineArgs leaves out.
            value = {**default, **value}
            notes.append({"option": f"engineArgs.{key}", "applied": True, "value": value,
                          "reason": f"vllm-node's defaults kept for the fields engineArgs.{key} leaves out ({', '.join(kept)})"})
        kwargs[key] = value
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

    sleep_mode = options.get("sleep_mode") or "off"
    if sleep_mode != "off" and "enable_sleep_mode" not in kwargs:
        available = current_platform.is_sleep_mode_available()
        if sleep_mode == "on" and not available:
            raise UnsupportedSetting("sleepMode", f'sleepMode "on": vLLM has no sleep mode on {current_platform.device_type}; use "auto" or "off"')
        kwargs["enable_sleep_mode"] = available
        notes.append({"option": "sleepMode", "applied": available, "value": sleep_mode,
                      "reason": "vLLM sleep mode enabled" if available else
                      f"{current_platform.device_type} has no sleep mode: a model switch closes and re-creates the engine"})

    swap = options.get("swap_space")
    if swap:
        notes.append(_swap_space(swap, kwargs, names, current_platform.is_cpu()))

    unknown = sorted(k for k in kwargs if k not in names and k not in _LLM_ONLY_KWARGS)
    if unknown:
        raise UnsupportedSetting(
            "engineArgs", f"vLLM {_vllm_version()} has no engine argument named {', '.join(unknown)}"
        )
    cap_plan, cap_notes = memory.plan(options, kwargs, cuda=current_platform.is_cuda())
    own_extension = "worker_extension_cls" in (options.get("extra_engine_args") or {})
    cap_plan.fork, start_notes = fast_start.plan(options)
    cap_notes += start_notes
    speculative.plan(options, kwargs, own_extension)
    if own_extension:
        kwargs["worker_extension_cls"] = options["extra_engine_args"]["worker_extension_cls"]
        cap_plan.platform = "cuda-unchecked"
        cap_plan.env.pop(memory.LOAD_LIMIT_ENV, None)
        notes.append({"option": "gpuMemoryUtilization", "applied": False, "value": kwargs.get("gpu_memory_utilization"),
                      "reason": "engineArgs.worker_extension_cls replaces vllm-node's, so the cap is not held while the "
                                "model loads, nor measured or held after start"})
    return kwargs, notes + cap_notes, cap_plan


class UnsupportedVllm(RuntimeError):
    code = "VLLM_VERSION_UNSUPPORTED"


def version_note() -> dict[str, Any]:
    """The installed vLLM against the releases vllm-node admits (versions.py): a note, or UnsupportedVllm."""
    found = versions.check()
    if not found["admitted"] and not versions.allow_any():
        raise UnsupportedVllm(found["message"])
    return {"option": "vllmVersion", "applied": bool(found["admitted"]), "value": found["version"],
            "reason": f"{found['distribution']} {found['version']} is admitted (tested releases: "
                      f"{', '.join(found['admittedVersions'])})" if found["admitted"] else
                      f"{found['message'].split(';')[0]}; running it because {versions.ALLOW_ANY_ENV}=1"}


def _swap_space(swap: float, kwargs: dict[str, Any], names: set[str], cpu: bool) -> dict[str, Any]:
    """The seed's `swap_space` (automatic CPU offload of the KV cache), applied the way the installed vLLM can."""
    if "swap_space" in names:
        kwargs["swap_space"] = swap
        return {"option": "swapSpace", "applied": True, "value": swap, "reason": "passed as vLLM's swap_space"}
    if cpu:
        return {"option": "swapSpace", "applied": False, "value": swap,
                "reason": "the CPU backend keeps the KV cache in CPU memory already; there is nothing to offload to"}
    if "kv_offloading_size" in names:
        if kwargs.get("kv_offloading_size") is not None:
            return {"option": "swapSpace", "applied": False, "value": swap,
                    "reason": "engineArgs.kv_offloading_size is set and takes precedence"}
        kwargs["kv_offloading_size"] = float(swap)
        kwargs.setdefault("kv_offloading_backend", "native")
        return {"option": "swapSpace", "applied": True, "value": swap,
                "reason": f"vLLM's native CPU KV-cache offload: kv_offloading_size={swap} GiB of CPU memory "
                          "(blocks evicted from the GPU prefix cache are kept there and loaded back on a hit)"}
    return {"option": "swapSpace", "applied": False, "value": swap,
            "reason": "this vLLM has neither swap_space (the V1 engine preempts by recomputation) nor "
                      "kv_offloading_size; the value was not passed"}


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
    import torch

    return {
        "vllmVersion": _vllm_version(),
        "torchVersion": torch.__version__,
        "device": device,
        "model": model.model,
        "dtype": str(model.dtype).replace("torch.", ""),
        "quantization": model.quantization,
        "kvCacheDtype": cache.cache_dtype,
        "gpuMemoryUtilization": cache.gpu_memory_utilization,
        "gpuMemoryGiB": None,
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
