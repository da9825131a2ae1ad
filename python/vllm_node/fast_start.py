"""fastStart: start-time settings that cut fixed costs of an engine start without changing what the engine
computes (same kernels, same KV cache, same decode speed). Each one applied, or not, is reported in
`engine.info.notes`; `fastStart: false` starts the engine exactly as vLLM's defaults do (for comparisons).

1. **EngineCore forked from a fork server** (fork_server.py): a spawned EngineCore imports torch and vLLM again
   for every engine (~35 s of a model switch on the H100 host); forked from a fork server that has vLLM's engine
   core imported, it skips that import. The first engine of a process starts the fork server (same cost as one
   spawn); later engines of the process (model switches) save it.
2. **The worker forked from the EngineCore** for an eager engine on the CPU (`worker_method`): the CPU backend always
   runs one worker process, which a spawn starts by importing torch and vLLM again (docs/benchmarks.md: a start on a
   2-core machine 13.6 s -> 8.7 s). vLLM's CPU platform asks for spawn (it sets VLLM_WORKER_MULTIPROC_METHOD=spawn
   with the Inductor variables of its compiled mode); a forked worker would keep the Inductor settings the fork
   server imported before vLLM set them, so compiled engines keep the spawn. VLLM_WORKER_MULTIPROC_METHOD, when the
   user sets it, decides instead.

(vLLM 0.26 and 0.27 also run an MoE-router GEMM warm-up at every start, ~14 s on an H100, whatever the model; vllm-node
patched it out for dense models until vllm-project/vllm#49659 did so upstream in 0.28. The patch was dropped to keep
the private names vllm-node touches at ten: on those two releases a dense model's start pays it again.)

Measured effects are in docs/benchmarks.md ("Model switching").
"""
from __future__ import annotations

import os
from typing import Any

from . import internals


def worker_method(cpu: bool, eager: bool) -> str:
    """How a forked EngineCore starts vLLM's worker processes: the VLLM_WORKER_MULTIPROC_METHOD the user set (bootstrap
    keeps it as VLLM_NODE_WORKER_METHOD), else fork for an eager engine on the CPU; "" leaves them spawned."""
    return os.environ.get("VLLM_NODE_WORKER_METHOD") or ("fork" if cpu and eager else "")


def plan(options: dict[str, Any], kwargs: dict[str, Any]) -> tuple[bool, list[dict[str, Any]], dict[str, str]]:
    """Decides the fast-start settings of one engine. Returns (fork the EngineCore from the fork server, notes, the
    environment of the engine's processes)."""
    if options.get("fast_start") is False:
        return False, [{"option": "fastStart", "applied": False, "value": False,
                        "reason": "vLLM's own start: the EngineCore is spawned"}], {}
    from vllm.platforms import current_platform

    why_not = internals.fork_engine_core()
    if why_not is not None:
        return False, [{"option": "fastStart", "applied": False, "value": "fork server",
                        "reason": f"the EngineCore is spawned: {why_not}"}], {}
    method = worker_method(current_platform.is_cpu(), bool(kwargs.get("enforce_eager")))
    workers = {"fork": "; vLLM's worker processes, where it starts any, are forked from it",
               "spawn": "; vLLM's worker processes, where it starts any, are spawned"}.get(method, "")
    return True, [{"option": "fastStart", "applied": True, "value": "fork server",
                   "reason": "the EngineCore is forked from vllm-node's fork server, which has vLLM's engine core "
                             f"imported (the first engine of the process starts it){workers}"}], (
        {"VLLM_NODE_ENGINE_WORKER_METHOD": method} if method else {})
