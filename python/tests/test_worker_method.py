"""fast_start.worker_method: how a forked EngineCore starts vLLM's worker processes."""
import pytest

from vllm_node import fast_start


@pytest.mark.parametrize(("requested", "cpu", "eager", "method"), [
    (None, True, True, "fork"),  # an eager CPU engine: the worker forked from the EngineCore
    ("", True, True, "fork"),  # bootstrap's mark for "nothing requested", as child processes inherit it
    (None, True, False, ""),  # compiled: spawned, as vLLM's CPU platform asks
    ("spawn", True, True, "spawn"),  # the user's VLLM_WORKER_MULTIPROC_METHOD
    (None, False, True, ""),  # GPU: as bootstrap set them (spawned)
    ("fork", False, False, "fork"),
])
def test_worker_method(monkeypatch, requested, cpu, eager, method):
    if requested is None:
        monkeypatch.delenv("VLLM_NODE_WORKER_METHOD", raising=False)
    else:
        monkeypatch.setenv("VLLM_NODE_WORKER_METHOD", requested)
    assert fast_start.worker_method(cpu, eager) == method
