"""Synchronous helpers run on the engine thread (`engine.call`): tokenizer access, sleep mode, memory."""
from __future__ import annotations

import importlib.util
import os
from typing import Any

from . import memory


class CallError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


TEST_CALLS_ENV = "VLLM_NODE_TEST_CALLS"
_test_methods: dict[str, Any] | None = None
_test_hooks: dict[str, Any] = {}


def dispatch(engine: Any, method: str, args: dict[str, Any]) -> Any:
    fn = _METHODS.get(method) or _test_calls().get(method)
    if fn is None:
        raise CallError("INVALID_REQUEST", f"unknown method {method!r}")
    return fn(engine, **args)


def _test_calls() -> dict[str, Any]:
    """The calls a test suite adds (reference runs, in-flight counts; tests/helpers/engine_calls.py): the METHODS of
    the Python file named by VLLM_NODE_TEST_CALLS, read once. The package itself ships none."""
    global _test_methods
    if _test_methods is None:
        path = os.environ.get(TEST_CALLS_ENV)
        if not path:
            _test_methods = {}
        else:
            spec = importlib.util.spec_from_file_location("vllm_node_test_calls", path)
            if spec is None or spec.loader is None:
                raise CallError("INVALID_REQUEST", f"{TEST_CALLS_ENV}={path} is not a Python file")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _test_methods = dict(module.METHODS)
            _test_hooks.update(getattr(module, "HOOKS", {}))
    return _test_methods


def test_hook(name: str) -> Any:
    """A hook the test suite's file defines in HOOKS (the speculative self-check's output: speculative.py), or None."""
    _test_calls()
    hook = _test_hooks.get(name)
    return hook() if hook is not None else None


def _tokenize(engine: Any, text: str, add_special_tokens: bool = True) -> list[int]:
    return list(engine.llm.get_tokenizer().encode(text, add_special_tokens=add_special_tokens))


def _detokenize(engine: Any, ids: list[int]) -> str:
    tokenizer = engine.llm.get_tokenizer()
    size = len(tokenizer)
    outside = next((i for i in ids if not 0 <= i < size), None)
    if outside is not None:  # the tokenizer would decode it to "" or fail deep inside
        raise CallError("INVALID_REQUEST", f"token id {outside} is outside the vocabulary (0 to {size - 1})")
    return tokenizer.decode(ids)


def _count_tokens(engine: Any, **req: Any) -> int:
    """The prompt tokens of a completion prompt or of a chat, rendered as generate() / chat() render them."""
    from . import requests

    try:
        rendered = requests.engine_input(engine.llm, req)
    except Exception as exc:  # noqa: BLE001 - a chat template that fails fails the call, as it fails chat()
        code = "CHAT_TEMPLATE_MISSING" if "chat template" in str(exc).lower() else "INVALID_REQUEST"
        raise CallError(code, f"{type(exc).__name__}: {exc}") from exc
    return len(rendered["prompt_token_ids"])


def _sleep(engine: Any, level: int = 1) -> bool:
    """vLLM sleep mode (CUDA, engine created with enable_sleep_mode): level 1 offloads the weights to host
    memory and drops the KV cache; wake_up restores them."""
    if engine.pending:
        raise CallError("ENGINE_BUSY", "cannot sleep with requests in flight")
    if engine.sleep_prepared:
        memory.sleep_ready(engine.llm)
    engine.llm.sleep(level=level)
    return True


def _prepare_sleep(engine: Any) -> dict[str, Any]:
    """Pins the CPU memory of the first sleep in the background (memory.prepare_sleep)."""
    why = memory.why_no_sleep_preparation(engine.llm)
    if why is not None:
        return {"applied": False, "reason": why}
    # Set first: a worker may have started pinning even where another one fails, and a sleep must wait for it.
    engine.sleep_prepared = True
    return memory.prepare_sleep(engine.llm)


def _wake_up(engine: Any) -> bool:
    engine.llm.wake_up()
    return True


def _metrics(engine: Any) -> dict[str, Any]:
    """Speculative decoding since the engine became ready (the self-check's probe is in info.notes); None without it."""
    from . import speculative

    if engine.speculation_baseline is None:
        return {"speculative": None}
    return {"speculative": speculative.acceptance(engine.speculation_baseline, speculative.counters(engine.llm))}


_METHODS = {
    "metrics": _metrics,
    "tokenize": _tokenize,
    "detokenize": _detokenize,
    "count_tokens": _count_tokens,
    "sleep": _sleep,
    "memory": lambda engine: engine.memory(),
    "wake_up": _wake_up,
    "prepare_sleep": _prepare_sleep,
}
