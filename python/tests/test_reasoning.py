"""reasoning.py's split with a stand-in parser (no engine), and its check of the parser name against vLLM."""
from types import SimpleNamespace

import pytest

from vllm_node import reasoning
from vllm_node.settings import UnsupportedSetting


class _Parser:
    """Text up to `</r>` is reasoning (as a thinking parser with reasoning first); records its construction."""

    made: list = []

    def __init__(self, tokenizer, chat_template_kwargs=None, model_config=None):
        self.kwargs = chat_template_kwargs
        _Parser.made.append(self)

    def adjust_request(self, request):
        request.skip_special_tokens = False
        return request

    def extract_reasoning(self, text, request):
        head, sep, tail = text.partition("</r>")
        return (head or None, tail or None) if sep else (text or None, None)

    def adjust_initial_state_from_prompt(self, ids):
        self.prompt = ids

    def extract_reasoning_streaming(self, previous, current, delta, *ids):
        if "</r>" in previous:
            return SimpleNamespace(content=delta, reasoning=None)
        if "</r>" in current:
            head, _, tail = current.partition("</r>")
            return SimpleNamespace(content=tail, reasoning=head[len(previous):])
        return SimpleNamespace(content=None, reasoning=delta)


def _reasoner():
    llm = SimpleNamespace(get_tokenizer=lambda: "tok", model_config=None)
    return reasoning.Reasoner(_Parser, llm)


def test_start_applies_the_parsers_request_adjustment_and_passes_the_template_kwargs():
    params = SimpleNamespace(skip_special_tokens=True)
    split = _reasoner().start({"chat_template_kwargs": {"enable_thinking": True}}, params, [1, 2])
    assert params.skip_special_tokens is False
    assert split.whole("abc</r>answer") == ("answer", "abc")
    assert _Parser.made[-1].kwargs == {"enable_thinking": True}


def test_streamed_deltas_split_as_the_whole_text():
    split = _reasoner().start({}, SimpleNamespace(skip_special_tokens=True), [7])
    out = [split.delta(d, [i], finished=(i == 3)) for i, d in enumerate(["ab", "c", "</r>ans", "wer"])]
    assert "".join(c for c, _ in out) == "answer"
    assert "".join(r for _, r in out) == "abc"


def test_an_unknown_parser_name_lists_the_installed_ones():
    pytest.importorskip("vllm")
    assert reasoning.parser_class(None) is None
    with pytest.raises(UnsupportedSetting) as err:
        reasoning.parser_class("no_such_parser")
    assert err.value.option == "reasoningParser"
    assert "qwen3" in str(err.value)
