"""fastStart: start-time settings that cut fixed costs of an engine start without changing what the engine
computes (same kernels, same KV cache, same decode speed). Each one applied, or not, is reported in
`engine.info.notes`; `fastStart: false` starts the engine exactly as vLLM's defaults do (for comparisons).

1. **EngineCore forked from a fork server** (fork_server.py): a spawned EngineCore imports torch and vLLM again
   for every engine (~35 s of a model switch on the H100 host); forked from a fork server that has vLLM's engine
   core imported, it skips that import. The first engine of a process starts the fork server (same cost as one
   spawn); later engines of the process (model switches) save it.
2. **No MoE-router GEMM warm-up for models without experts** (CUDA, SM 9.0+, vLLM < 0.28): vLLM 0.26 compiles and
   runs its `ll_bf16` router kernels at every start whatever the model; a dense model never calls them
   (vllm-project/vllm#49659 skips them upstream from 0.28; internals.LEDGER "router_warmup").

Measured effects are in docs/benchmarks.md ("Model switching").
"""
from __future__ import annotations

from typing import Any

from . import internals
from .settings import SKIP_ROUTER_WARMUP_ENV, model_config_json
# config.json keys whose positive value means the model routes tokens to experts (Mixtral, Qwen-MoE, DeepSeek, ...).
_EXPERT_KEYS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts", "num_experts_per_tok")


def _has_experts(model: str) -> bool | None:
    """True / False from the model folder's config.json; None when it cannot be read."""
    cfg = model_config_json(model)
    if cfg is None:
        return None
    configs = [cfg] + [v for v in cfg.values() if isinstance(v, dict)]  # multimodal models nest text_config
    return any(isinstance(c.get(k), int) and c.get(k) > 0 for c in configs for k in _EXPERT_KEYS)


def plan(options: dict[str, Any], kwargs: dict[str, Any], env: dict[str, str], cuda: bool,
         worker_hooks: bool) -> tuple[bool, list[dict[str, Any]]]:
    """Decides the fast-start settings of one engine; adds what its processes need to `env`.
    Returns (fork the EngineCore from the fork server, notes)."""
    if options.get("fast_start") is False:
        return False, [{"option": "fastStart", "applied": False, "value": False,
                        "reason": "vLLM's own start: the EngineCore is spawned and every warm-up runs"}]
    notes: list[dict[str, Any]] = []
    why_not = internals.fork_engine_core()
    notes.append({"option": "fastStart", "applied": why_not is None, "value": "fork server",
                  "reason": "the EngineCore is forked from vllm-node's fork server, which has vLLM's engine core imported "
                            "(the first engine of the process starts it)" if why_not is None else
                            f"the EngineCore is spawned: {why_not}"})
    if cuda:
        experts = _has_experts(str(kwargs.get("model", "")))
        if experts is False and worker_hooks and internals.router_warmup_applies():
            env[SKIP_ROUTER_WARMUP_ENV] = "1"
            notes.append({"option": "fastStart", "applied": True, "value": "no router warm-up",
                          "reason": "the model has no experts: vLLM's ll_bf16 MoE-router GEMM warm-up is skipped"})
    return why_not is None, notes
