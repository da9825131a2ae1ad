"""engineArgs over vllm-node's own engine arguments (config.build_llm_kwargs on the installed vLLM, CPU backend)."""
from pathlib import Path

import pytest

from vllm_node import config

MODEL = Path(__file__).resolve().parents[2] / ".models" / "tiny-qwen3"
DEFAULT = {"backend": "xgrammar", "disable_any_whitespace": True}


def build(extra):
    if not MODEL.exists():
        pytest.skip("needs .models/tiny-qwen3 (scripts/setup.sh)")
    options = {"engine_kwargs": {"model": str(MODEL), "structured_outputs_config": dict(DEFAULT)},
               "extra_engine_args": extra, "fast_start": False}
    kwargs, notes, _plan = config.build_llm_kwargs(options)
    return kwargs, [n for n in notes if n["option"].startswith("engineArgs.")]


def test_a_partial_config_object_keeps_vllm_nodes_other_fields_and_says_so():
    kwargs, notes = build({"structured_outputs_config": {"enable_in_reasoning": True}})
    assert kwargs["structured_outputs_config"] == {**DEFAULT, "enable_in_reasoning": True}
    assert [n["option"] for n in notes] == ["engineArgs.structured_outputs_config"]
    assert "backend, disable_any_whitespace" in notes[0]["reason"]


def test_a_field_engineargs_sets_wins_and_a_full_object_needs_no_note():
    kwargs, notes = build({"structured_outputs_config": {"backend": "guidance", "disable_any_whitespace": False}})
    assert kwargs["structured_outputs_config"] == {"backend": "guidance", "disable_any_whitespace": False}
    assert notes == []


def test_a_value_that_is_not_an_object_replaces_the_default():
    kwargs, notes = build({"structured_outputs_config": None})
    assert kwargs["structured_outputs_config"] is None
    assert notes == []
