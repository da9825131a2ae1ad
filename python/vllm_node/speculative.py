"""Speculative decoding (vLLM's `speculative_config`), admitted only after a self-check at start.

N-gram speculation together with structured outputs has a long bug history in vLLM (vllm-project/vllm#9423, #10442,
#11484, #15554; #52620 open): drafts accepted past the grammar, grammar state advanced for rejected tokens, outputs
that differ from plain decoding. Greedy speculative decoding must give exactly the tokens plain greedy decoding gives,
so the check runs one probe extraction (a fixed posting, a small JSON Schema, greedy, a fixed token budget) twice on
the started engine and compares the bytes:

- reference: drafting turned off on every worker (worker.py `vllm_node_drafting`), so the scheduler sees no draft
  tokens and each step decodes one token, as an engine without speculation does. vLLM has no per-request switch
  for speculation (SamplingParams has none; the scheduler takes whatever drafts the worker's drafter proposes), and
  a second engine without speculation would cost a second model load; the drafter is the one place that decides.
- speculative: drafting on, as every later request runs.

Each run gets its own cache_salt, so neither reuses the other's prefix cache and both prefill the same way. A
difference refuses the start (UnsupportedSetting -> UNSUPPORTED_SETTING) with both outputs; a match is reported in
`info.notes` with the probe's drafted and accepted tokens. The figures since start are in `engine.metrics()`.
Only drafters whose proposals are per-request token lists on the CPU side can be turned off this way: ngram and
suffix (vLLM's V1 model runner); other methods, and the V2 runner's GPU speculators, are refused.
"""
from __future__ import annotations

import importlib.util
from typing import Any

from .settings import WORKER_EXTENSION, UnsupportedSetting

CHECKABLE_METHODS = ("ngram", "suffix")
PROBE_MAX_TOKENS = 96
PROBE_INSTRUCTIONS = "Extract the requested information from the text below. Reply with JSON only."
PROBE_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "company": {"type": "string"},
        "city": {"type": "string"},
        "skills": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "company", "city", "skills"],
}
PROBE_POSTING = (
    "Senior Data Engineer at Northwind Analytics, Berlin. Northwind Analytics is hiring a Senior Data Engineer "
    "for its Berlin office. You will build data pipelines in Python and SQL, run Apache Spark jobs, and own our "
    "Kubernetes deployments. Skills: Python, SQL, Apache Spark, Kubernetes."
)
# vLLM's prometheus counters of speculative decoding (vllm/v1/metrics/loggers.py).
_COUNTERS = {
    "drafts": "vllm:spec_decode_num_drafts",
    "draftTokens": "vllm:spec_decode_num_draft_tokens",
    "acceptedTokens": "vllm:spec_decode_num_accepted_tokens",
}
_PER_POSITION = "vllm:spec_decode_num_accepted_tokens_per_pos"


def method_of(spec: dict[str, Any]) -> str | None:
    method = spec.get("method") or spec.get("model")
    return "ngram" if method == "[ngram]" else method


def source(options: dict[str, Any]) -> str:
    """The option a speculative_config came from, for notes and errors."""
    return "engineArgs.speculative_config" if "speculative_config" in (options.get("extra_engine_args") or {}) else "speculative"


def plan(options: dict[str, Any], kwargs: dict[str, Any], own_extension: bool) -> None:
    """Checks a requested speculative_config before vLLM starts. The typed option (`speculative`, mapped in
    src/speculative.ts) and a raw engineArgs.speculative_config take the same path; src/ refuses both at once."""
    spec = kwargs.get("speculative_config")
    if spec is None:
        return
    option = source(options)
    if not isinstance(spec, dict):
        raise UnsupportedSetting(option, f"{option} must be an object of vLLM SpeculativeConfig fields, received {type(spec).__name__}")
    method = method_of(spec)
    if method not in CHECKABLE_METHODS:
        raise UnsupportedSetting(
            option,
            f"speculative method {method!r} is not admitted: vllm-node starts speculative decoding only after a self-check "
            "that compares a probe extraction with drafting turned off, which it can do for 'ngram' and 'suffix'")
    if method == "suffix" and importlib.util.find_spec("arctic_inference") is None:
        raise UnsupportedSetting(
            option,
            "speculative method 'suffix' needs Arctic Inference (vLLM's suffix decoding; `pip install arctic-inference`), "
            "which this Python environment lacks; 'ngram' needs nothing more")
    if own_extension:
        raise UnsupportedSetting(
            option,
            "the speculative self-check turns drafting off on vLLM's workers through vllm-node's worker extension, which "
            "engineArgs.worker_extension_cls replaces; drop one of them")
    kwargs["worker_extension_cls"] = WORKER_EXTENSION


def compare(reference: dict[str, Any], speculative: dict[str, Any]) -> str | None:
    """None when both runs produced the same bytes and tokens; otherwise what differs, for the refusal."""
    a, b = reference["text"], speculative["text"]
    if a == b and list(reference["token_ids"]) == list(speculative["token_ids"]):
        return None
    if a == b:
        return f"the same text from different tokens ({len(reference['token_ids'])} without, {len(speculative['token_ids'])} with speculation)"
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"the outputs differ from character {at} on: without speculation {_clip(a, at)!r}, with speculation "
            f"{_clip(b, at)!r}")


def _clip(text: str, at: int, around: int = 40) -> str:
    start = max(0, at - around)
    return ("…" if start else "") + text[start:at + around] + ("…" if at + around < len(text) else "")


def self_check(llm: Any, option: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the probe with and without drafting; raises UnsupportedSetting on a difference. Returns (the note for
    info.notes, the counters after the check: engine.metrics() reports what came after)."""
    from . import calls

    spec = llm.llm_engine.vllm_config.speculative_config
    prompt = _probe_prompt(llm)
    why = _drafting(llm, False)
    try:
        if why is not None:
            raise UnsupportedSetting(option, f"the speculative self-check cannot run: {why}")
        reference = _run(llm, prompt, "reference")
    finally:
        _drafting(llm, True)
    before = counters(llm)
    speculative = _run(llm, prompt, "speculative")
    after = counters(llm)
    hook = calls.test_hook("speculative_output")
    if hook is not None:  # the tests' way to make the runs differ (tests/helpers/engine_calls.py)
        speculative = hook(speculative)
    described = f"{spec.method}, num_speculative_tokens {spec.num_speculative_tokens}"
    difference = compare(reference, speculative)
    if difference is not None:
        raise UnsupportedSetting(
            option,
            f"speculative decoding ({described}) changed the output of the greedy probe extraction: {difference}. "
            "Greedy decoding must give the same bytes with and without speculation; vLLM's speculative decoding with "
            "structured outputs has had such bugs (vllm-project/vllm#9423, #11484, #15554, #52620). Start the engine "
            "without speculative decoding")
    probe = acceptance(before, after)
    return {
        "option": option, "applied": True, "value": described,
        "reason": f"self-check passed: a greedy probe extraction (JSON Schema, {len(reference['token_ids'])} tokens) gave "
                  f"byte-identical output with drafting off and on; with it on, {probe['draftTokens']} draft tokens were "
                  f"proposed and {probe['acceptedTokens']} accepted"
                  + (f" ({probe['acceptanceRate']:.0%})" if probe["acceptanceRate"] is not None else "")
                  + ("" if probe["draftTokens"] else "; the probe drew no drafts, so the check did not exercise them"),
    }, after


def _probe_prompt(llm: Any) -> Any:
    """The probe as extraction sends it (system instructions with the schema, the posting as the user's message);
    a completion prompt for a model without a chat template."""
    import json

    from . import requests

    system = f"{PROBE_INSTRUCTIONS}\nJSON Schema:\n{json.dumps(PROBE_SCHEMA, separators=(',', ':'))}"
    try:
        return requests.engine_input(llm, {"messages": [{"role": "system", "content": system},
                                                        {"role": "user", "content": PROBE_POSTING}]})
    except Exception:  # noqa: BLE001 - no chat template: the same text as one prompt
        return requests.engine_input(llm, {"prompt": f"{system}\n\n{PROBE_POSTING}\n"})


def _run(llm: Any, prompt: Any, salt: str) -> dict[str, Any]:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

    params = SamplingParams(temperature=0, max_tokens=PROBE_MAX_TOKENS, output_kind=RequestOutputKind.FINAL_ONLY,
                            structured_outputs=StructuredOutputsParams(json=PROBE_SCHEMA))
    if isinstance(prompt, dict):
        prompt = {**prompt, "cache_salt": f"vllm-node-speculative-check-{salt}"}
    engine = llm.llm_engine
    rid = f"vllm-node-speculative-check-{salt}"
    engine.add_request(rid, prompt, params)
    final = None
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.request_id == rid and out.finished:
                final = out
    if final is None or not final.outputs:
        raise RuntimeError("the speculative self-check's probe produced no output")
    return {"text": final.outputs[0].text, "token_ids": list(final.outputs[0].token_ids)}


def _drafting(llm: Any, on: bool) -> str | None:
    """Drafting on or off on every worker; why it cannot be turned off, or None."""
    reasons = [r for r in llm.collective_rpc("vllm_node_drafting", args=(on,)) if r]
    return reasons[0] if reasons else None


def counters(llm: Any) -> dict[str, Any]:
    """vLLM's speculative-decoding counters (cumulative, every engine of this process with this model)."""
    name = llm.llm_engine.vllm_config.model_config.served_model_name
    name = name[0] if isinstance(name, (list, tuple)) and name else name
    out: dict[str, Any] = {k: 0 for k in _COUNTERS}
    out["perPosition"] = []
    for metric in llm.get_metrics():
        if (getattr(metric, "labels", None) or {}).get("model_name", name) != name:
            continue
        for key, metric_name in _COUNTERS.items():
            if metric.name == metric_name:
                out[key] += int(getattr(metric, "value", 0))
        if metric.name == _PER_POSITION:
            values = list(getattr(metric, "values", []))
            out["perPosition"] = [a + b for a, b in zip(out["perPosition"], values)] + values[len(out["perPosition"]):]
    return out


def acceptance(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two counter readings: drafts, draft and accepted tokens, the acceptance rate (accepted
    / draft tokens) and the mean tokens per drafted step (1 + accepted / drafts, vLLM's mean acceptance length)."""
    d = {k: max(0, after[k] - before[k]) for k in _COUNTERS}
    old = before.get("perPosition") or []
    d["acceptedPerPosition"] = [max(0, v - (old[i] if i < len(old) else 0)) for i, v in enumerate(after.get("perPosition") or [])]
    d["acceptanceRate"] = d["acceptedTokens"] / d["draftTokens"] if d["draftTokens"] else None
    d["meanAcceptanceLength"] = 1 + d["acceptedTokens"] / d["drafts"] if d["drafts"] else None
    return d
