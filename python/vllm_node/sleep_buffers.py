"""Pinned CPU memory for an engine's first sleep, prepared in the background (runs in each GPU worker).

vLLM's level-1 sleep copies each weight allocation into a new pinned CPU tensor. Pinning fresh memory runs at about
2 GB/s (H100 host, vLLM 0.26: the first sleep of an 8B took 4.7-7.7 s, of a 32B 17.7 s), while a later sleep gets
the blocks that torch's pinned-memory cache kept from the last wake-up and only copies (the 4B: 0.14 s). `start()`
allocates the same sizes once, on a thread of the worker, and frees them into that cache, so that the first sleep is
as fast as later ones. The memory stays pinned until the engine closes, as it does after a first sleep anyway.
`wait()` runs before a sleep: a sleep never competes with an unfinished preparation for the same blocks.
"""
from __future__ import annotations

import threading
from typing import Any

from . import internals

_thread: threading.Thread | None = None
_result: dict[str, Any] = {}


def _pinned(size: int) -> int:
    """What torch's pinned-memory cache takes for `size` bytes: sizes round up to a power of two."""
    return 1 << max(0, size - 1).bit_length()


def start() -> dict[str, Any]:
    global _thread
    if _thread is not None:
        return dict(_result)
    sizes, why = internals.sleep_backup_sizes()
    if sizes is None:
        return {"applied": False, "reason": why}
    _result.update(applied=True, bytes=sum(sizes), pinnedBytes=sum(_pinned(s) for s in sizes))
    _thread = threading.Thread(target=_pin, args=(sizes,), name="vllm-node-sleep-buffers", daemon=True)
    _thread.start()
    return dict(_result)


def _pin(sizes: list[int]) -> None:
    import torch

    try:
        # All at once, so that each size gets its own block; freed together into torch's pinned-memory cache.
        held = [torch.empty(size, dtype=torch.uint8, pin_memory=True) for size in sizes]
        del held
    except Exception as exc:  # noqa: BLE001 - out of pinnable memory: the sleep pins what it needs itself
        _result.update(applied=False, reason=f"pinning failed: {exc}")


def wait() -> None:
    if _thread is not None:
        _thread.join()
