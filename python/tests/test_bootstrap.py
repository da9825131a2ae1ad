"""bootstrap: vLLM's processes are spawned from Node's process, and a start method the user set is reported, not
replaced silently."""
from vllm_node import bootstrap


def test_spawn_replaces_another_method_and_says_which():
    env = {"VLLM_WORKER_MULTIPROC_METHOD": "fork"}
    assert bootstrap.spawn_only(env) == "fork"
    assert env["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"


def test_spawn_or_unset_is_nothing_to_report():
    assert bootstrap.spawn_only({"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}) is None
    env: dict[str, str] = {}
    assert bootstrap.spawn_only(env) is None
    assert env["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"


def test_the_engine_notes_name_the_replaced_method(monkeypatch):
    monkeypatch.setattr(bootstrap, "_replaced_method", None)
    assert bootstrap.notes() == []
    monkeypatch.setattr(bootstrap, "_replaced_method", "fork")
    (note,) = bootstrap.notes()
    assert note["option"] == "VLLM_WORKER_MULTIPROC_METHOD"
    assert note["applied"] is False
    assert note["value"] == "fork"
    assert "spawned" in str(note["reason"])
