"""The plan arithmetic: the cap -> vLLM's fraction, the reserve, small-card batch sizes, the refusals."""
import pytest

from vllm_node import memory
from vllm_node.settings import LOAD_LIMIT_ENV, WORKER_EXTENSION, UnsupportedSetting

GiB = memory.GiB
H200 = 143771 * memory.MiB


@pytest.fixture
def card(monkeypatch):
    # vLLM's release as the plan sees it (the reserve depends on it): 0.26 unless a test says otherwise.
    state = {"total": H200, "used": 0, "release": "0.26.0"}
    key = memory.versions._key  # noqa: SLF001
    monkeypatch.setattr(memory.versions, "at_least", lambda v: key(v) <= key(state["release"]))
    monkeypatch.setattr(memory, "cards", lambda n: [{"index": 0, "total": state["total"], "used": state["used"]}] * n)
    monkeypatch.setattr(memory, "estimate", lambda kwargs: memory.Estimate(int(4.4 * GiB), 73728, 4096))
    monkeypatch.setattr(memory, "_quantized_online", lambda kwargs: False)
    monkeypatch.delenv("VLLM_NODE_MEMORY_RESERVE_GIB", raising=False)
    return state


def kw(**extra):
    return {"model": "/m", "gpu_memory_utilization": 0.9, **extra}


def test_fraction_leaves_the_reserve_for_what_vllm_does_not_count(card):
    kwargs = kw()
    p, notes = memory.plan({}, kwargs, cuda=True)
    assert p.cap_bytes == int(0.9 * H200)
    # vLLM 0.26 on a large card batches 16K tokens: 0.5 GiB fixed + 3.5 GiB for the batch.
    assert p.reserve_bytes == 4 * GiB
    assert kwargs["gpu_memory_utilization"] == round((p.cap_bytes - 4 * GiB) / H200, 4)
    assert kwargs["worker_extension_cls"] == WORKER_EXTENSION
    assert p.env[LOAD_LIMIT_ENV] == str(p.cap_bytes - memory.LOAD_OUTSIDE_RESERVE)
    assert "max_num_seqs" not in kwargs
    assert any(n["option"] == "gpuMemoryUtilization" and n["applied"] for n in notes)


def test_from_vllm_033_one_smaller_reserve_for_any_batch(card):
    card["release"] = memory.RESERVE_SINCE[0]
    for gib in (None, 14.4):  # 16K-token chunks on the whole card, 8K under a small card's cap
        kwargs = kw()
        p, _ = memory.plan({} if gib is None else {"gpu_memory_gib": gib}, kwargs, cuda=True)
        assert p.reserve_bytes == int(2.25 * GiB)
        assert kwargs["gpu_memory_utilization"] == round((p.cap_bytes - p.reserve_bytes) / H200, 4)


def test_a_small_cap_on_a_large_card_batches_as_a_small_card(card):
    kwargs = kw()
    p, notes = memory.plan({"gpu_memory_gib": 14.4}, kwargs, cuda=True)
    assert p.cap_bytes == int(14.4 * GiB) and p.source == "gpuMemoryGiB"
    assert kwargs["max_num_batched_tokens"] == 8192 and kwargs["max_num_seqs"] == 256
    assert p.reserve_bytes == int(0.5 * GiB) + int(3.5 * GiB) // 2
    assert any("small card" in n["reason"] for n in notes)


def test_explicit_batch_settings_are_kept(card):
    kwargs = kw(max_num_seqs=64)
    memory.plan({"gpu_memory_gib": 14.4}, kwargs, cuda=True)
    assert kwargs["max_num_seqs"] == 64 and "max_num_batched_tokens" not in kwargs


def test_a_model_that_cannot_fit_is_refused_with_the_offload_advice(card):
    with pytest.raises(memory.InsufficientMemory) as err:
        memory.plan({"gpu_memory_gib": 3}, kw(), cuda=True)
    assert "does not fit under the memory cap" in str(err.value) and "cpu_offload_gb" in str(err.value)


def test_a_cap_over_the_free_memory_is_refused(card):
    card["used"] = int(100 * GiB)
    with pytest.raises(memory.InsufficientMemory) as err:
        memory.plan({}, kw(), cuda=True)
    assert "only" in str(err.value) and "free now" in str(err.value)


def test_offload_with_online_quantization_is_unsupported(card, monkeypatch):
    monkeypatch.setattr(memory, "_quantized_online", lambda kwargs: True)
    with pytest.raises(UnsupportedSetting):
        memory.plan({}, kw(cpu_offload_gb=8, quantization="fp8"), cuda=True)


def test_cpu_backend_sizes_the_kv_cache_from_the_cap(card):
    kwargs = kw()
    p, notes = memory.plan({"gpu_memory_gib": 8}, kwargs, cuda=False)
    assert kwargs["kv_cache_memory_bytes"] == 8 * GiB - int(4.4 * GiB) - memory.CPU_ACTIVATION_RESERVE
    assert "gpu_memory_utilization" not in kwargs and p.platform == "cpu"


def test_cpu_backend_without_a_cap_changes_nothing(card):
    kwargs = kw()
    p, notes = memory.plan({}, kwargs, cuda=False)
    assert kwargs == kw() and notes == [] and p.cap_bytes is None
