"""fork_server.worker_method: how a forked EngineCore starts vLLM's workers."""
import pytest

from vllm_node import fork_server


@pytest.mark.parametrize(("requested", "cpu", "method"), [
    (None, True, "fork"),  # vLLM's default on the CPU
    ("", True, "fork"),  # bootstrap's mark for "nothing requested", as child processes inherit it
    ("spawn", True, "spawn"),  # the user's VLLM_WORKER_MULTIPROC_METHOD
    (None, False, ""),  # GPU: as bootstrap set them (spawned)
    ("fork", False, "fork"),
])
def test_worker_method(monkeypatch, requested, cpu, method):
    if requested is None:
        monkeypatch.delenv("VLLM_NODE_WORKER_METHOD", raising=False)
    else:
        monkeypatch.setenv("VLLM_NODE_WORKER_METHOD", requested)
    assert fork_server.worker_method(cpu) == method
