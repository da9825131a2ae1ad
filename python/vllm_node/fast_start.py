"""fastStart: start-time settings that cut fixed costs of an engine start without changing what the engine
computes (same kernels, same KV cache, same decode speed). Each one applied, or not, is reported in
`engine.info.notes`; `fastStart: false` starts the engine exactly as vLLM's defaults do (for comparisons).

1. **EngineCore forked from a fork server** (fork_server.py): a spawned EngineCore imports torch and vLLM again
   for every engine (~35 s of a model switch on the H100 host); forked from a fork server that has vLLM's engine
   core imported, it skips that import. The first engine of a process starts the fork server (same cost as one
   spawn); later engines of the process (model switches) save it.

(vLLM 0.26 and 0.27 also run an MoE-router GEMM warm-up at every start, ~14 s on an H100, even for dense models, until
vllm-project/vllm#49659 in 0.28; vllm-node does not patch it, to keep the private vLLM names it touches at ten.)

Measured effects are in docs/benchmarks.md ("Model switching").
"""
from __future__ import annotations

from typing import Any

from . import internals


def plan(options: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """Decides the fast-start settings of one engine. Returns (fork the EngineCore from the fork server, notes)."""
    if options.get("fast_start") is False:
        return False, [{"option": "fastStart", "applied": False, "value": False,
                        "reason": "vLLM's own start: the EngineCore is spawned"}]
    notes: list[dict[str, Any]] = []
    why_not = internals.fork_engine_core()
    notes.append({"option": "fastStart", "applied": why_not is None, "value": "fork server",
                  "reason": "the EngineCore is forked from vllm-node's fork server, which has vLLM's engine core imported "
                            "(the first engine of the process starts it)" if why_not is None else
                            f"the EngineCore is spawned: {why_not}"})
    return why_not is None, notes
