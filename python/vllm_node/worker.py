"""vllm-node's code in vLLM's GPU worker processes, loaded by vLLM itself through the public engine argument
`worker_extension_cls` (settings.WORKER_EXTENSION). Nothing here runs in Node's interpreter, and nothing here imports
the planning modules: what the worker needs arrives as environment variables that the engine's plan set for its
processes (kept out of `additional_config`, which is part of vLLM's compile-cache key).

- The memory cap while the model loads (LOAD_LIMIT_ENV): set in `init_worker_extension` (vLLM 0.33+, before
  `load_model`), or at import on older releases (internals.bound_load).
- The methods `collective_rpc` calls by name: hold the cap after start, report memory, prepare the first sleep.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from . import internals, versions
from .settings import LOAD_LIMIT_ENV
# vLLM calls WorkerExtension.init_worker_extension after init_device and before load_model from this release on.
INIT_HOOK_SINCE = "0.33.0"

if os.environ.get(LOAD_LIMIT_ENV) and not versions.at_least(INIT_HOOK_SINCE):
    from vllm.v1.worker.gpu_worker import Worker as _Worker

    internals.bound_load(_Worker, int(os.environ[LOAD_LIMIT_ENV]))


class _SleepBuffers:
    """Pinned CPU memory for the engine's first sleep, prepared on a thread of the worker.

    vLLM's level-1 sleep copies each backed-up allocation into a new pinned CPU tensor. Pinning fresh memory runs at
    about 2 GB/s (H100, vLLM 0.26: the first sleep of an 8B took 4.7-7.7 s, of a 32B 17.7 s), while a later sleep gets
    blocks that torch's pinned-memory cache kept from the last wake-up and only copies. Allocating the same sizes once
    and freeing them into that cache makes the first sleep as fast as later ones."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.result: dict[str, Any] = {}

    def start(self, offload_cudagraph: bool) -> dict[str, Any]:
        if self.thread is not None:
            return dict(self.result)
        sizes, why = internals.sleep_backup_sizes(offload_cudagraph)
        if sizes is None:
            return {"applied": False, "reason": why}
        # torch's pinned-memory cache rounds each size up to a power of two.
        self.result.update(applied=True, bytes=sum(sizes), pinnedBytes=sum(1 << max(0, s - 1).bit_length() for s in sizes))
        self.thread = threading.Thread(target=self._pin, args=(sizes,), name="vllm-node-sleep-buffers", daemon=True)
        self.thread.start()
        return dict(self.result)

    def _pin(self, sizes: list[int]) -> None:
        import torch

        try:
            held = [torch.empty(size, dtype=torch.uint8, pin_memory=True) for size in sizes]
            del held
        except Exception as exc:  # noqa: BLE001 - out of pinnable memory: the sleep pins what it needs itself
            self.result.update(applied=False, reason=f"pinning failed: {exc}")

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()


_sleep_buffers = _SleepBuffers()


class WorkerExtension:
    """Mixed into vLLM's worker class by vLLM (`worker_extension_cls`); its names must not clash with the worker's."""

    def init_worker_extension(self) -> None:
        limit = os.environ.get(LOAD_LIMIT_ENV)
        if limit:
            internals.bound_load(self, int(limit))

    def vllm_node_hold_cap(self, cap_bytes: int, baselines: list[int]) -> dict[str, Any]:
        """Releases cached blocks, measures the footprint on the card, and bounds the torch allocator under the cap."""
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info()
        rank = getattr(self, "local_rank", 0) or 0
        baseline = baselines[rank] if rank < len(baselines) else 0
        footprint = total - free - baseline
        reserved = torch.cuda.memory_reserved()
        outside = footprint - reserved  # CUDA context, library workspaces, loaded kernels
        limit = cap_bytes - outside
        capped = limit > reserved
        if capped:
            torch.cuda.set_per_process_memory_fraction(min(1.0, limit / total))
        return {
            "pid": os.getpid(),
            "footprint": int(footprint),
            "torchReserved": int(reserved),
            "torchAllocated": int(torch.cuda.memory_allocated()),
            "outsideAllocator": int(outside),
            "allocatorLimit": int(limit) if capped else None,
            "kvCache": getattr(self, "available_kv_cache_memory_bytes", None),
            "weights": getattr(getattr(self, "model_runner", None), "model_memory_usage", None),
        }

    def vllm_node_prepare_sleep(self) -> dict[str, Any]:
        model_config = getattr(getattr(self, "vllm_config", None), "model_config", None)
        return _sleep_buffers.start(bool(getattr(model_config, "sleep_mode_offload_cudagraph", False)))

    def vllm_node_sleep_ready(self) -> None:
        _sleep_buffers.wait()

    def vllm_node_memory(self) -> dict[str, Any]:
        import torch

        free, total = torch.cuda.mem_get_info()
        return {
            "pid": os.getpid(),
            "deviceUsed": int(total - free),
            "torchReserved": int(torch.cuda.memory_reserved()),
            "torchAllocated": int(torch.cuda.memory_allocated()),
            "torchMaxReserved": int(torch.cuda.max_memory_reserved()),
        }

    def vllm_node_drafting(self, on: bool) -> str | None:
        """Drafting on or off for the speculative self-check's reference run (speculative.py); why not, or None.
        Off, the drafter still runs (suffix decoding keeps its trees current) but every request's draft is empty, so
        the scheduler schedules no draft tokens and each step decodes one token, as without speculation."""
        drafter = getattr(getattr(self, "model_runner", None), "drafter", None)
        if drafter is None or not callable(getattr(drafter, "propose", None)):
            return ("this model runner has no drafter vllm-node can turn off (vLLM's V1 model runner has one; the V2 "
                    "runner's speculators propose on the GPU)")
        drafter.__dict__.pop("propose", None)  # the class's own method again
        if not on:
            propose = drafter.propose

            def no_drafts(*args: Any, **kwargs: Any) -> list[list[int]]:
                return [[] for _ in propose(*args, **kwargs)]

            drafter.propose = no_drafts
        return None


class NoExtension:
    """A worker extension that adds nothing. `engineArgs.worker_extension_cls: "vllm_node.worker.NoExtension"` starts
    an engine with the cap's vLLM fraction (the reserve) but without the cap held in the workers: no bound while
    loading, none after start. The A/B of the allocator bound (bench/throughput.mjs --alt-engine-arg, window.sh gap)."""
