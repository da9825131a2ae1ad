"""Engine calls for the test suites and benchmarks only (not in the package): `engine.call(name)` reaches them when
VLLM_NODE_TEST_CALLS names this file (vitest.config.ts sets it for the CPU and GPU tests, bench/common.mjs for
the benchmarks). Each runs on the engine thread, as python/vllm_node/calls.py's do."""
from __future__ import annotations

import os
import time
from typing import Any

from vllm_node import requests
from vllm_node.calls import CallError


def _reference_generate(engine: Any, prompts: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """vLLM's own LLM.generate on the same engine: the reference for equality tests and the overhead bench.
    It drains the engine, so it refuses to run while other requests are in flight."""
    if engine.pending:
        raise CallError("ENGINE_BUSY", "reference generation needs an idle engine")
    sp = requests.sampling_params(params, stream=False)
    started = time.perf_counter()
    outs = engine.llm.generate(prompts, sp, use_tqdm=False)
    elapsed = time.perf_counter() - started
    latencies = []
    for o in outs:
        m = getattr(o, "metrics", None)
        if m is not None and getattr(m, "last_token_ts", 0):
            latencies.append(m.last_token_ts - m.queued_ts)
    return {
        "texts": [o.outputs[0].text for o in outs],
        "choices": [[c.text for c in o.outputs] for o in outs],
        "logprobs": [requests.token_logprobs(o.outputs[0], sp.logprobs) if sp.logprobs is not None else None for o in outs],
        "outputTokens": [len(o.outputs[0].token_ids) for o in outs],
        "seconds": elapsed,
        "latencies": latencies,
    }


def _in_flight(engine: Any) -> dict[str, int]:
    """Requests still alive: in the bridge's table and in vLLM's engine (commands run in order, so an abort sent
    before this call has been applied)."""
    return {"bridge": len(engine.pending), "vllm": engine.engine.get_num_unfinished_requests()}


def _render_chat(engine: Any, messages: list[dict[str, Any]], chat_template: str | None = None,
                 add_generation_prompt: bool = True) -> dict[str, Any]:
    """The prompt vllm-node's chat path gives vLLM (requests.engine_input), as text and token ids."""
    rendered = requests.engine_input(
        engine.llm, {"messages": messages, "chat_template": chat_template,
                     "add_generation_prompt": add_generation_prompt})
    prompt = rendered.get("prompt") if isinstance(rendered, dict) else None
    token_ids = rendered.get("prompt_token_ids") if isinstance(rendered, dict) else None
    if prompt is None and token_ids is not None:
        prompt = engine.llm.get_tokenizer().decode(token_ids)
    return {"prompt": prompt, "tokenIds": list(token_ids) if token_ids is not None else None}


def _hf_chat_template(engine: Any, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
    """The tokenizer's own apply_chat_template, independent of vLLM's renderer (for comparison tests)."""
    from transformers import AutoTokenizer

    cfg = engine.llm.llm_engine.vllm_config.model_config
    tok = AutoTokenizer.from_pretrained(cfg.tokenizer, trust_remote_code=cfg.trust_remote_code)
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _worker_memory(worker: Any) -> dict[str, Any]:
    """Runs inside each vLLM GPU worker (collective_rpc): the torch allocator's view next to vLLM's budget."""
    import torch

    free, total = torch.cuda.mem_get_info()
    return {
        "pid": os.getpid(),
        "torchAllocated": torch.cuda.memory_allocated(),
        "torchReserved": torch.cuda.memory_reserved(),
        "torchMaxReserved": torch.cuda.max_memory_reserved(),
        "deviceUsed": total - free,
        "deviceTotal": total,
        "requested": getattr(worker, "requested_memory", None),
        "kvCache": getattr(worker, "available_kv_cache_memory_bytes", None),
        "weights": getattr(getattr(worker, "model_runner", None), "model_memory_usage", None),
        "peakActivation": getattr(worker, "peak_activation_memory", None),
    }


def _gpu_memory(engine: Any) -> list[dict[str, Any]]:
    """Per-worker GPU memory (bench/gpu.mjs's diagnostics). vLLM ships a callable to its workers only when the process was
    started with VLLM_ALLOW_INSECURE_SERIALIZATION=1."""
    if os.environ.get("VLLM_ALLOW_INSECURE_SERIALIZATION") != "1":
        raise CallError("INVALID_REQUEST", "gpu_memory needs VLLM_ALLOW_INSECURE_SERIALIZATION=1 in the environment")
    return engine.llm.collective_rpc(_worker_memory)


def _fail_next_step(worker: Any) -> int:
    """Runs in the engine's worker (collective_rpc): the next model step raises, as a GPU fault would, and the
    EngineCore dies of it."""
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected fault: the model step failed")

    worker.execute_model = fail
    return os.getpid()


def _break_engine_core(engine: Any) -> list[int]:
    """The EngineCore dies of an exception at its next step (reliability.test.ts). Needs
    VLLM_ALLOW_INSECURE_SERIALIZATION=1, as gpu_memory does."""
    if os.environ.get("VLLM_ALLOW_INSECURE_SERIALIZATION") != "1":
        raise CallError("INVALID_REQUEST", "break_engine_core needs VLLM_ALLOW_INSECURE_SERIALIZATION=1 in the environment")
    return engine.llm.collective_rpc(_fail_next_step)


_armed: set[str] = set()


def _arm_speculative_mismatch(engine: Any) -> bool:
    """The next speculative self-check in this process sees its speculative run differ (once)."""
    _armed.add("speculative_mismatch")
    return True


def _speculative_output() -> Any:
    """HOOKS' speculative_output (python/vllm_node/speculative.py): when armed, the speculative run's output with
    its last character changed, as a speculation that went wrong late would give."""
    if "speculative_mismatch" not in _armed:
        return None
    _armed.discard("speculative_mismatch")
    return lambda out: {"text": out["text"][:-1] + ("]" if out["text"][-1:] != "]" else "}"), "token_ids": out["token_ids"]}


def _refuse_budget_with_grammar(engine: Any, on: bool) -> bool:
    """Turns the bridge's refusal of a thinking budget with a grammar inside the reasoning off (and back on), so a
    test can send the pair to vLLM and see how a request vLLM fails ends. Returns the previous setting."""
    previous = engine.grammar_in_reasoning
    engine.grammar_in_reasoning = on
    return previous


HOOKS = {"speculative_output": _speculative_output}

METHODS = {
    "break_engine_core": _break_engine_core,
    "arm_speculative_mismatch": _arm_speculative_mismatch,
    "reference_generate": _reference_generate,
    "in_flight": _in_flight,
    "render_chat": _render_chat,
    "hf_chat_template": _hf_chat_template,
    "gpu_memory": _gpu_memory,
    "refuse_budget_with_grammar": _refuse_budget_with_grammar,
}
