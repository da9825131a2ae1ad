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


def test_a_budget_with_a_constraint_is_refused_only_where_the_grammar_applies_inside_the_reasoning():
    from vllm_node import bridge, requests

    for key, name in (("json_schema", "jsonSchema"), ("regex", "regex"), ("choice", "choice"), ("grammar", "grammar")):
        params = {"thinking_token_budget": 8, key: "x"}
        requests.check_budget_with_constraint(params, grammar_in_reasoning=False)  # vLLM's default: the pair works
        with pytest.raises(requests.InvalidOptions) as err:
            requests.check_budget_with_constraint(params, grammar_in_reasoning=True)
        assert (err.value.code, err.value.option) == ("INVALID_OPTIONS", "thinking")
        assert f"budgetTokens cannot be combined with {name} on this engine" in str(err.value)
        assert requests.BUDGET_OVER_GRAMMAR_ISSUE in str(err.value)
        assert bridge._classify_add_error(err.value) == "INVALID_OPTIONS"
    requests.check_budget_with_constraint({"thinking_token_budget": 8}, grammar_in_reasoning=True)
    requests.check_budget_with_constraint({"regex": "a+", "thinking_token_budget": None}, grammar_in_reasoning=True)


def test_a_request_vllm_ended_with_an_error_is_a_failure_not_a_result():
    from vllm_node import bridge

    def out(finished, *reasons, error=None):
        outputs = [SimpleNamespace(finish_reason=r, token_ids=[1, 2, 3]) for r in reasons]
        return SimpleNamespace(finished=finished, outputs=outputs, error=error)

    assert bridge._failure(out(True, "stop")) is None
    assert bridge._failure(out(False, None)) is None
    assert 'finish_reason "error" after 3 tokens' in bridge._failure(out(True, "stop", "error"))
    why = bridge._failure(out(True, "error", error=SimpleNamespace(code="grammar", message="rejected")))
    assert ": grammar: rejected;" in why
