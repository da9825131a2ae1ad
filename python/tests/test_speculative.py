"""The speculative self-check's pure parts: which configs are admitted before vLLM starts, the comparison of the two
probe runs, and the acceptance figures from vLLM's counters (the check on a real engine: tests/cpu/speculative.test.ts)."""
import importlib.util

import pytest

from vllm_node import speculative
from vllm_node.settings import WORKER_EXTENSION, UnsupportedSetting

NGRAM = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2, "prompt_lookup_max": 4}


def test_typed_and_raw_configs_take_the_same_path_and_get_the_worker_extension():
    kwargs = {"speculative_config": dict(NGRAM)}
    speculative.plan({"engine_kwargs": kwargs, "extra_engine_args": {}}, kwargs, own_extension=False)
    assert kwargs["worker_extension_cls"] == WORKER_EXTENSION
    assert speculative.source({"extra_engine_args": {}}) == "speculative"
    assert speculative.source({"extra_engine_args": {"speculative_config": NGRAM}}) == "engineArgs.speculative_config"
    kwargs = {"speculative_config": {"model": "[ngram]", "num_speculative_tokens": 2}}
    speculative.plan({"extra_engine_args": dict(kwargs)}, kwargs, own_extension=False)


def test_nothing_to_plan_without_a_config():
    kwargs = {"model": "m"}
    speculative.plan({}, kwargs, own_extension=False)
    assert kwargs == {"model": "m"}


@pytest.mark.parametrize("config, message", [
    ({"method": "eagle", "model": "x"}, "speculative method 'eagle' is not admitted"),
    ({"method": "ngram_gpu"}, "speculative method 'ngram_gpu' is not admitted"),
    ("ngram", "must be an object of vLLM SpeculativeConfig fields, received str"),
])
def test_what_the_check_cannot_cover_is_refused(config, message):
    kwargs = {"speculative_config": config}
    with pytest.raises(UnsupportedSetting) as err:
        speculative.plan({"extra_engine_args": dict(kwargs)}, kwargs, own_extension=False)
    assert message in str(err.value)
    assert err.value.option == "engineArgs.speculative_config"


def test_another_worker_extension_is_refused():
    kwargs = {"speculative_config": dict(NGRAM)}
    with pytest.raises(UnsupportedSetting, match="replaces; drop one of them"):
        speculative.plan({"extra_engine_args": {"worker_extension_cls": "x.Y"}}, kwargs, own_extension=True)


@pytest.mark.skipif(importlib.util.find_spec("arctic_inference") is not None, reason="Arctic Inference is installed")
def test_suffix_without_arctic_inference_is_refused():
    kwargs = {"speculative_config": {"method": "suffix"}}
    with pytest.raises(UnsupportedSetting, match=r"needs Arctic Inference .* `pip install arctic-inference`"):
        speculative.plan({"extra_engine_args": {}}, kwargs, own_extension=False)


def test_identical_runs_compare_equal():
    run = {"text": '{"a":"b"}', "token_ids": [1, 2, 3]}
    assert speculative.compare(run, dict(run)) is None


def test_a_difference_names_where_and_shows_both():
    a = {"text": '{"title":"Data Engineer","city":"Berlin"}', "token_ids": [1, 2]}
    b = {"text": '{"title":"Data Engineer","city":"Berl"}', "token_ids": [1, 3]}
    assert speculative.compare(a, b) == (
        "the outputs differ from character 37 on: without speculation '{\"title\":\"Data Engineer\",\"city\":\"Berlin\"}', "
        "with speculation '{\"title\":\"Data Engineer\",\"city\":\"Berl\"}'")
    # One output a prefix of the other: the difference starts where the shorter ends.
    assert "from character 3 on" in speculative.compare({"text": "abc", "token_ids": [1]}, {"text": "abcd", "token_ids": [1, 2]})
    assert speculative.compare({"text": "ab", "token_ids": [1, 2]}, {"text": "ab", "token_ids": [3]}) == (
        "the same text from different tokens (2 without, 1 with speculation)")


def test_long_outputs_are_clipped_around_the_difference():
    a = {"text": "x" * 100 + "A" + "y" * 100, "token_ids": [1]}
    b = {"text": "x" * 100 + "B" + "y" * 100, "token_ids": [2]}
    msg = speculative.compare(a, b)
    assert "from character 100 on" in msg and "'…" + "x" * 40 + "A" + "y" * 39 + "…'" in msg


def test_acceptance_between_two_readings():
    before = {"drafts": 2, "draftTokens": 8, "acceptedTokens": 3, "perPosition": [2, 1]}
    after = {"drafts": 12, "draftTokens": 48, "acceptedTokens": 23, "perPosition": [10, 7, 4, 2]}
    assert speculative.acceptance(before, after) == {
        "drafts": 10, "draftTokens": 40, "acceptedTokens": 20, "acceptedPerPosition": [8, 6, 4, 2],
        "acceptanceRate": 0.5, "meanAcceptanceLength": 3.0}
    zero = {"drafts": 0, "draftTokens": 0, "acceptedTokens": 0, "perPosition": []}
    assert speculative.acceptance(zero, zero) == {
        "drafts": 0, "draftTokens": 0, "acceptedTokens": 0, "acceptedPerPosition": [], "acceptanceRate": None,
        "meanAcceptanceLength": None}
