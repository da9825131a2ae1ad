"""The memory cap: `gpuMemoryUtilization` (a fraction of each card) or `gpuMemoryGiB` (an absolute budget) is a
limit on the engine's whole footprint on each card, not only on what vLLM's profiler counts.

vLLM sizes the KV cache as `gpu_memory_utilization x total - (weights + peak activations + non-torch growth
it saw) - CUDA-graph estimate` and leaves out the CUDA context, blocks the torch allocator keeps cached after
the warm-ups that run once the KV cache exists, and library workspaces. On an H100 with 0.9 the card showed
~94%. The cap is kept in four steps:

1. **Before loading** (`plan`): estimate the weights from the model's config (a model built on the meta
   device: no memory, no checkpoint read) and the smallest KV cache vLLM accepts (one `max_model_len`
   sequence). When they cannot fit under the cap, fail at once with INSUFFICIENT_GPU_MEMORY, saying what is
   needed and offering vLLM's weight offload (`cpu_offload_gb`). Otherwise give vLLM the cap minus a
   `reserve` for what its profiler leaves out, as its `gpu_memory_utilization`.
2. **While loading** (`_bound_loading`, internals.bound_load, which says why): each GPU worker's torch allocator
   is bounded under the cap until the weights are loaded and processed.
3. **After start** (`hold_cap`, in every GPU worker through the worker extension, worker.py): release the
   allocator's cached blocks, measure the footprint on the card (used now minus used before the engine
   started), and bound the torch allocator with `set_per_process_memory_fraction` so that allocator memory
   plus what lies outside it never exceeds the cap: under load the allocator frees its cache and reuses it
   instead of growing past the cap.
4. **Check**: a footprint over the cap after start fails the start with INSUFFICIENT_GPU_MEMORY and the reserve
   that would have covered it (never seen in a recorded run).

On the CPU backend only `gpuMemoryGiB` applies: it sizes the KV cache (`kv_cache_memory_bytes`) as the cap
minus the estimated weights and an activation reserve.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import internals, versions
from .settings import LOAD_LIMIT_ENV, WORKER_EXTENSION, UnsupportedSetting, model_config_json

GiB = 1 << 30
MiB = 1 << 20

# While the model loads, each GPU worker's torch allocator is bounded at the cap minus this (the CUDA context and
# libraries loaded by then: ~0.55 GiB measured on an H100), through LOAD_LIMIT_ENV (worker.py).
LOAD_OUTSIDE_RESERVE = 1 * GiB
# What vLLM's profiler leaves out on a CUDA card: a fixed part (CUDA context, workspaces) and a part that grows
# with the batch (sampler buffers for max_num_seqs requests, activations of a max_num_batched_tokens chunk, which
# its profiling under-counts). Measured on an H100 with 16,384-token chunks and 1,024 sequences: 3.9 GiB over
# vLLM's budget at the peak of a 256-request load.
FIXED_RESERVE = int(0.5 * GiB)
BATCH_RESERVE_AT_16K = int(3.5 * GiB)
# vLLM 0.33's profiler counts most of that: under 256-request loads it went 0.8 GiB over its budget on an H200 with
# 16,384-token chunks and 1.5 GiB on an H100 with 8,192 (docs/benchmarks.md, 2026-12-06), against the 3.9 GiB of 0.26.
# One reserve for any batch from that release on; 0.26's 4 GiB at 16K left 3.1 GiB of the cap unused, and a KV cache
# 12% smaller than plain vLLM's cost 18% of the extraction workload's throughput.
RESERVE_SINCE = ("0.33.0", int(2.25 * GiB))
# vLLM picks its batch defaults from the card's size (EngineArgs.get_batch_defaults): under a cap, size them for a
# card of the cap's size, as vLLM would on that card.
SMALL_CARD_BATCH = {"max_num_batched_tokens": 8192, "max_num_seqs": 256}
LARGE_CARD_BYTES = 70 * GiB
# Activations and the sampler's buffers on the CPU backend, outside the KV cache and the weights.
CPU_ACTIVATION_RESERVE = 512 * MiB
# The weight offload that the INSUFFICIENT_GPU_MEMORY message offers is the bare minimum plus this much: vLLM's
# profiled activations and CUDA graphs of a large model exceed the rough estimate below. 2 GiB served vLLM 0.26; on
# vLLM 0.33 (H100, 2026-12-07) the 32B-fp8 shape at 14.4 GiB with the 24 GiB it gave left vLLM 0.54 GiB of KV cache
# where one 8,192-token sequence needs 1.0 GiB, and the start failed: 1 GiB more.
OFFLOAD_HEADROOM_GIB = 3
# Rough peak activations for the pre-load check only (vLLM profiles the real value).
ACTIVATION_ESTIMATE = 1 * GiB


class InsufficientMemory(ValueError):
    """The model cannot run under the memory cap."""

    code = "INSUFFICIENT_GPU_MEMORY"


@dataclass
class Estimate:
    weight_bytes: int
    kv_bytes_per_token: int
    max_model_len: int

    @property
    def min_kv_bytes(self) -> int:
        return self.kv_bytes_per_token * self.max_model_len


@dataclass
class Plan:
    platform: str  # "cuda" | "cpu"
    cap_bytes: int | None  # per card
    source: str  # "gpuMemoryUtilization" | "gpuMemoryGiB"
    total_bytes: int | None = None  # per card
    reserve_bytes: int = 0
    baseline_bytes: list[int] = field(default_factory=list)  # per card, before the engine started
    estimate: Estimate | None = None
    cpu_offload_gib: float = 0.0
    env: dict[str, str] = field(default_factory=dict)  # set while the engine starts (its processes inherit it)
    fork: bool = False  # fastStart: the EngineCore is forked from the fork server


_DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2}


def _dtype_bytes(name: Any, fallback: int = 2) -> int:
    return _DTYPE_BYTES.get(str(name).replace("torch.", ""), fallback)


def estimate(kwargs: dict[str, Any]) -> Estimate | None:
    """Weights and KV bytes per token from the model's config, without reading a checkpoint. None when the
    model cannot be built on the meta device (then only vLLM's own checks apply)."""
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        trust = bool(kwargs.get("trust_remote_code", False))
        cfg = AutoConfig.from_pretrained(kwargs["model"], trust_remote_code=trust)
        text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        dtype = kwargs.get("dtype") or "auto"
        wbytes = _dtype_bytes(getattr(text, "dtype", None) or getattr(text, "torch_dtype", None)) if dtype == "auto" else _dtype_bytes(dtype)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg, trust_remote_code=trust)
        fp8 = kwargs.get("quantization") == "fp8"
        weights = 0
        seen: set[int] = set()
        head = model.get_output_embeddings()
        for module in model.modules():
            for p in module.parameters(recurse=False):
                if id(p) in seen:
                    continue
                seen.add(id(p))
                # Online fp8 quantizes the linear layers of the decoder, not the embeddings or the LM head.
                quantized = fp8 and isinstance(module, torch.nn.Linear) and module is not head and p.dim() == 2
                weights += p.numel() * (1 if quantized else wbytes)
        heads = text.num_attention_heads
        kv_heads = getattr(text, "num_key_value_heads", None) or heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        kv_dtype = str(kwargs.get("kv_cache_dtype") or "auto")
        kv_elem = 1 if kv_dtype.startswith("fp8") else wbytes
        per_token = 2 * text.num_hidden_layers * kv_heads * head_dim * kv_elem
        max_len = int(kwargs.get("max_model_len") or getattr(text, "max_position_embeddings", 0) or 0)
        tp = int(kwargs.get("tensor_parallel_size") or 1)
        return Estimate(weights // tp, per_token // tp, max_len)
    except Exception:  # noqa: BLE001 - the estimate is an early check; vLLM's own checks remain
        return None


def _visible_physical_indices(count: int) -> list[int]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
        return [int(i) for i in ids[:count] if i.isdigit()]
    return list(range(count))


def cards(count: int) -> list[dict[str, int]]:
    """Total and used memory of the cards the engine will use, from NVML (no CUDA context in this process)."""
    import pynvml

    pynvml.nvmlInit()
    try:
        out = []
        for index in _visible_physical_indices(count):
            info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
            out.append({"index": index, "total": int(info.total), "used": int(info.used)})
        return out
    finally:
        pynvml.nvmlShutdown()


def _fits_message(cap: int, source: str, est: Estimate, overhead: int, where: str, online_quant: bool = False) -> str:
    need = est.weight_bytes + est.min_kv_bytes + overhead
    offload = max(1, -(-(need - cap) // GiB)) + OFFLOAD_HEADROOM_GIB
    advice = (f"keep part of the weights in CPU memory with vLLM's weight offload: engineArgs: {{ cpu_offload_gb: {offload} }} "
              "(slower: those weights cross PCIe at every step)")
    if online_quant:
        advice += (", with a checkpoint already quantized (e.g. an -FP8 release of the model): vLLM cannot offload the "
                   "weights it quantizes online")
    return (
        f"the model does not fit under the memory cap ({source}): it needs about {need / GiB:.1f} GiB per {where} "
        f"(weights {est.weight_bytes / GiB:.1f} GiB, KV cache for one {est.max_model_len}-token sequence "
        f"{est.min_kv_bytes / GiB:.1f} GiB, runtime {overhead / GiB:.1f} GiB) and the cap is {cap / GiB:.1f} GiB. "
        f"Raise the cap, lower maxModelLen, or {advice}."
    )


def _quantized_online(kwargs: dict[str, Any]) -> bool:
    """`quantization` asked for a checkpoint that is not quantized already: vLLM quantizes it while loading."""
    if not kwargs.get("quantization"):
        return False
    cfg = model_config_json(kwargs["model"])
    if cfg is None:
        return False
    return not (cfg.get("quantization_config") or cfg.get("compression_config"))


def plan(options: dict[str, Any], kwargs: dict[str, Any], cuda: bool) -> tuple[Plan, list[dict[str, Any]]]:
    """Turns the cap into vLLM arguments (edits `kwargs`) before the engine starts; returns the plan and notes."""
    notes: list[dict[str, Any]] = []
    gib = options.get("gpu_memory_gib")
    util = kwargs.get("gpu_memory_utilization")
    source = "gpuMemoryGiB" if gib is not None else "gpuMemoryUtilization"
    asked = gib if gib is not None else util
    offload_gib = float(kwargs.get("cpu_offload_gb") or 0)
    explicit_kv = kwargs.get("kv_cache_memory_bytes")
    if not cuda:
        if gib is None:
            return Plan("cpu", None, source), notes
        cap = int(gib * GiB)
        p = Plan("cpu", cap, source, estimate=estimate(kwargs))
        kwargs.pop("gpu_memory_utilization", None)
        if p.estimate is None:
            raise InsufficientMemory(f"gpuMemoryGiB needs the model's size, and the config at {kwargs['model']} could not be read")
        runtime = CPU_ACTIVATION_RESERVE
        kv = int(explicit_kv) if explicit_kv is not None else cap - p.estimate.weight_bytes - runtime
        if p.estimate.weight_bytes + max(kv, p.estimate.min_kv_bytes) + runtime > cap or kv < p.estimate.min_kv_bytes:
            raise InsufficientMemory(_fits_message(cap, f"gpuMemoryGiB {gib}", p.estimate, runtime, "engine"))
        kwargs["kv_cache_memory_bytes"] = kv
        notes.append({"option": "gpuMemoryGiB", "applied": True, "value": gib,
                      "reason": f"CPU backend: KV cache {kv / GiB:.2f} GiB = cap - weights (~{p.estimate.weight_bytes / GiB:.2f} GiB) - "
                                f"{runtime // MiB} MiB for activations" if explicit_kv is None else
                                "CPU backend: the KV cache size comes from engineArgs.kv_cache_memory_bytes, checked against the cap"})
        return p, notes

    tp = int(kwargs.get("tensor_parallel_size") or 1)
    devices = cards(tp)
    total = min(d["total"] for d in devices)
    cap = int(gib * GiB) if gib is not None else int((util if util is not None else 0.9) * total)
    p = Plan("cuda", cap, source, total_bytes=total, baseline_bytes=[d["used"] for d in devices],
             estimate=estimate(kwargs), cpu_offload_gib=offload_gib)
    if cap > total:
        raise InsufficientMemory(f"gpuMemoryGiB {gib} is more than the card has ({total / GiB:.1f} GiB)")
    online_quant = _quantized_online(kwargs)
    if offload_gib > 0 and online_quant:
        # Measured with vLLM 0.26 on an H100: online quantization builds the weights on the meta device, which the
        # offloader cannot copy ("Cannot copy out of meta tensor"), and on the V2 model runner the offload is ignored.
        raise UnsupportedSetting(
            "engineArgs.cpu_offload_gb",
            f"vLLM cannot keep weights in CPU memory (cpu_offload_gb {offload_gib:g}) while it quantizes them online "
            f"(quantization {kwargs['quantization']!r} on the unquantized checkpoint {kwargs['model']}): use a checkpoint "
            "already quantized (e.g. an -FP8 release of the model) or leave quantization unset")
    if cap < LARGE_CARD_BYTES <= total and not any(k in kwargs for k in SMALL_CARD_BATCH):
        kwargs.update(SMALL_CARD_BATCH)
        notes.append({"option": source, "applied": True, "value": asked,
                      "reason": f"the cap ({cap / GiB:.1f} GiB) is a small card's memory: the batch is sized as vLLM sizes it on "
                                "a card under 70 GiB (max_num_batched_tokens 8192, max_num_seqs 256; engineArgs can set them)"})
    batch_tokens = int(kwargs.get("max_num_batched_tokens") or (16384 if total >= LARGE_CARD_BYTES else 8192))
    default_reserve = (RESERVE_SINCE[1] if versions.at_least(RESERVE_SINCE[0])
                       else FIXED_RESERVE + BATCH_RESERVE_AT_16K * min(batch_tokens, 16384) // 16384)
    p.reserve_bytes = int(float(os.environ.get("VLLM_NODE_MEMORY_RESERVE_GIB", default_reserve / GiB)) * GiB)
    if p.estimate is not None:
        weights = max(0, p.estimate.weight_bytes - int(offload_gib * GiB))
        overhead = p.reserve_bytes + ACTIVATION_ESTIMATE
        est = Estimate(weights, p.estimate.kv_bytes_per_token, p.estimate.max_model_len)
        if weights + est.min_kv_bytes + overhead > cap:
            raise InsufficientMemory(_fits_message(cap, f"{source} {asked}", est, overhead, "card", online_quant))
    free = min(d["total"] - d["used"] for d in devices)
    if cap > free:
        raise InsufficientMemory(
            f"the memory cap ({source}) is {cap / GiB:.1f} GiB per card but only {free / GiB:.1f} GiB is free now "
            f"(other processes hold {max(d['used'] for d in devices) / GiB:.1f} GiB); lower the cap or free the card")
    apply(p, kwargs)
    notes += _weight_offload_runner(p, offload_gib)
    notes += _bound_loading(p)
    kwargs["worker_extension_cls"] = WORKER_EXTENSION
    notes.append({"option": source, "applied": True, "value": asked,
                  "reason": f"a cap on the engine's whole footprint per card ({cap / GiB:.2f} GiB): vLLM sizes the KV cache "
                            f"with gpu_memory_utilization {kwargs['gpu_memory_utilization']} (the cap minus "
                            f"{p.reserve_bytes / GiB:.2f} GiB for the CUDA context and workspaces its profiler does not "
                            "count), and the torch allocator is bounded under the cap after start"})
    return p, notes


def _weight_offload_runner(p: Plan, offload_gib: float) -> list[dict[str, Any]]:
    """Weight offload (`cpu_offload_gb`) needs a model runner that installs vLLM's offloader: before the release that
    fixed it (internals.V2_RUNNER_IGNORES_OFFLOAD) the engine starts on the V1 runner, and a note says so."""
    issue, fixed_in = internals.V2_RUNNER_IGNORES_OFFLOAD
    if offload_gib <= 0 or versions.at_least(fixed_in):
        return []
    import vllm

    chosen = os.environ.get("VLLM_USE_V2_MODEL_RUNNER")
    if chosen is not None:
        return [{"option": "engineArgs.cpu_offload_gb", "applied": chosen.strip().lower() in ("0", "false"), "value": offload_gib,
                 "reason": f"VLLM_USE_V2_MODEL_RUNNER={chosen} is set in the environment and kept; vLLM "
                           f"{vllm.__version__}'s V2 model runner ignores weight offload ({issue})"}]
    p.env["VLLM_USE_V2_MODEL_RUNNER"] = "0"
    return [{"option": "engineArgs.cpu_offload_gb", "applied": True, "value": offload_gib,
             "reason": f"{offload_gib:g} GiB of weights in CPU memory, on vLLM's V1 model runner "
                       f"(VLLM_USE_V2_MODEL_RUNNER=0 for this engine): vLLM {vllm.__version__}'s V2 runner, its default for "
                       f"this model, ignores weight offload ({issue}, fixed in {fixed_in})"}]


def _bound_loading(p: Plan) -> list[dict[str, Any]]:
    """The bound of each GPU worker's allocator while the model loads (LOAD_OUTSIDE_RESERVE, worker.py), or why none."""
    if p.cap_bytes is None:
        return []
    limit = p.cap_bytes - LOAD_OUTSIDE_RESERVE
    if limit <= 0:
        return [{"option": p.source, "applied": False, "value": round(p.cap_bytes / GiB, 2),
                 "reason": f"the cap is under {LOAD_OUTSIDE_RESERVE // GiB} GiB: the model load is not bounded"}]
    p.env[LOAD_LIMIT_ENV] = str(limit)
    return []


def apply(p: Plan, kwargs: dict[str, Any]) -> None:
    """vLLM's own sizing gets the cap minus the reserve for what its profiler does not see."""
    assert p.total_bytes
    kwargs["gpu_memory_utilization"] = round((p.cap_bytes - p.reserve_bytes) / p.total_bytes, 4)


def hold_cap(llm: Any, p: Plan) -> list[dict[str, Any]]:
    """Runs in every GPU worker: release cached blocks, measure, and bound the torch allocator under the cap."""
    return llm.collective_rpc("vllm_node_hold_cap", args=(p.cap_bytes, p.baseline_bytes))


def why_no_sleep_preparation(llm: Any) -> str | None:
    """Why prepare_sleep cannot apply to this engine, or None."""
    config = llm.llm_engine.vllm_config
    if not getattr(config.model_config, "enable_sleep_mode", False):
        return "the engine was started without sleep mode"
    backend = getattr(config.model_config, "sleep_mode_backend", "cumem")
    if backend != "cumem":
        return f"the sleep-mode backend is {backend!r}, not vLLM's cumem allocator"
    if config.parallel_config.worker_extension_cls != WORKER_EXTENSION:
        return "engineArgs.worker_extension_cls replaces vllm-node's worker extension"
    return None


def prepare_sleep(llm: Any) -> dict[str, Any]:
    """Starts pinning, in every GPU worker, the CPU memory that the engine's first sleep copies its weights into
    (worker.py); returns at once with what is being pinned, or why nothing is. Call only where
    why_no_sleep_preparation says nothing."""
    workers = llm.collective_rpc("vllm_node_prepare_sleep")
    failed = next((w for w in workers if not w.get("applied")), None)
    if failed is not None:
        return {"applied": False, "reason": failed.get("reason", "")}
    return {"applied": True, "bytes": sum(w["bytes"] for w in workers), "pinnedBytes": sum(w["pinnedBytes"] for w in workers)}


def sleep_ready(llm: Any) -> None:
    """Waits for a preparation started by prepare_sleep to finish in every worker (before a sleep)."""
    llm.collective_rpc("vllm_node_sleep_ready")


def summary(llm: Any, p: Plan, workers: list[dict[str, Any]] | None) -> dict[str, Any]:
    cache = llm.llm_engine.vllm_config.cache_config
    tokens = (cache.num_gpu_blocks or 0) * cache.block_size
    out: dict[str, Any] = {
        "capMiB": round(p.cap_bytes / MiB) if p.cap_bytes else None,
        "capSource": p.source,
        "kvCacheTokens": tokens,
        "cpuOffloadGiB": p.cpu_offload_gib,
    }
    if p.platform == "cpu":
        kv = cache.kv_cache_memory_bytes
        out["kvCacheMiB"] = round(kv / MiB) if kv else None
        out["weightsMiB"] = round(p.estimate.weight_bytes / MiB) if p.estimate else None
        return out
    out["reserveMiB"] = round(p.reserve_bytes / MiB)
    out["vllmGpuMemoryUtilization"] = cache.gpu_memory_utilization
    if workers:
        out["measuredMiB"] = max(round(w["footprint"] / MiB) for w in workers)
        kv = [w.get("kvCache") for w in workers]
        out["kvCacheMiB"] = round(max(k for k in kv if k) / MiB) if any(kv) else None
        # vLLM's own sizing at the same fraction would have handed the reserve to the KV cache too.
        if out["kvCacheMiB"] and tokens:
            per_token = out["kvCacheMiB"] * MiB / tokens
            out["vllmDefaultKvCacheTokens"] = int(tokens + p.reserve_bytes / per_token)
        out["perCard"] = [_in_mib(w) for w in workers]
    return out


def now(llm: Any, p: Plan) -> dict[str, Any]:
    """The cap and the footprint now (CUDA: every worker's view, through the worker extension)."""
    if p.platform != "cuda":
        return summary(llm, p, None) if p.platform == "cpu" else {}
    workers = llm.collective_rpc("vllm_node_memory")
    out = summary(llm, p, None)
    out["perCard"] = [_in_mib(w) for w in workers]
    out["measuredMiB"] = max(round((w["deviceUsed"] - b) / MiB) for w, b in zip(workers, p.baseline_bytes))
    return out


def _in_mib(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker's byte figures in MiB (its pid as is)."""
    return {k: (round(v / MiB) if isinstance(v, int) and k != "pid" else v) for k, v in worker.items()}
