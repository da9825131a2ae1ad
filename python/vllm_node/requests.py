"""Builds vLLM inputs (prompts, chat renders, SamplingParams) from the plain dicts TypeScript sends."""
from __future__ import annotations

from typing import Any

_SET_HERE = {"structured_outputs", "output_kind", "skip_clone", "output_text_buffer_length", "extra_args"}
# Payload key -> StructuredOutputsParams field.
_CONSTRAINTS = {"json_schema": "json", "regex": "regex", "choice": "choice", "grammar": "grammar"}


# Upstream, the nearest report of vLLM's thinking budget forcing the end of the reasoning over what constrains the
# output (there a tool call's arguments; here the grammar).
BUDGET_OVER_GRAMMAR_ISSUE = "vllm-project/vllm#44676"


class InvalidOptions(ValueError):
    """A call's options that this engine refuses before vLLM sees them: INVALID_OPTIONS naming `option`."""

    code = "INVALID_OPTIONS"

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def check_budget_with_constraint(params: dict[str, Any], grammar_in_reasoning: bool) -> None:
    """InvalidOptions for a thinking budget with a constraint where the grammar also applies inside the reasoning
    (structured_outputs_config.enable_in_reasoning): vLLM's budget then forces the end-of-reasoning tokens past the
    grammar's mask (its logits processor runs after the bitmask), the grammar rejects them ("Failed to advance FSM")
    and vLLM ends the request with finish_reason "error". Where the grammar starts after the reasoning (vLLM's
    default) the budget ends the reasoning before any grammar applies, and the pair works."""
    if params.get("thinking_token_budget") is None or not grammar_in_reasoning:
        return
    constraint = next((key for key in _CONSTRAINTS if params.get(key) is not None), None)
    if constraint is None:
        return
    name = {"json_schema": "jsonSchema"}.get(constraint, constraint)
    raise InvalidOptions(
        "thinking",
        f'Invalid option "thinking": budgetTokens cannot be combined with {name} on this engine: its structured outputs '
        f"apply inside the reasoning (structured_outputs_config.enable_in_reasoning), and vLLM's thinking budget forces "
        f"the end of the reasoning past the grammar, which rejects it and fails the request (upstream: "
        f"{BUDGET_OVER_GRAMMAR_ISSUE}). Use thinking: true without a budget, or an engine without enable_in_reasoning",
    )


def sampling_params(params: dict[str, Any], stream: bool, grammar_in_reasoning: bool = False):
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    check_budget_with_constraint(params, grammar_in_reasoning)
    # The names and values were checked by the options schema (src/options.ts); a public SamplingParams field
    # passes, except those vllm-node sets itself.
    if params.get("thinking_token_budget") is not None and "thinking_token_budget" not in SamplingParams.__struct_fields__:
        import vllm

        raise ValueError(f"thinking.budgetTokens: vLLM {vllm.__version__} has no thinking_token_budget")
    kwargs = {k: v for k, v in params.items()
              if k in SamplingParams.__struct_fields__ and not k.startswith("_") and k not in _SET_HERE and v is not None}
    if "logit_bias" in kwargs:  # JSON object keys are strings; vLLM wants token ids
        kwargs["logit_bias"] = {int(t): float(b) for t, b in kwargs["logit_bias"].items()}
    # At most one constraint (checked in src/sampling.ts); vLLM validates it when the request is added, so a regex or
    # grammar it cannot compile fails that request alone.
    constraint = {so: params[key] for key, so in _CONSTRAINTS.items() if params.get(key) is not None}
    if constraint:
        from vllm.sampling_params import StructuredOutputsParams

        # Compact JSON comes from the engine's structured_outputs_config (src/engine/channel.ts): vLLM reads
        # disable_any_whitespace engine-wide and ignores StructuredOutputsParams' own field (0.32, 0.33).
        kwargs["structured_outputs"] = StructuredOutputsParams(**constraint)
    kwargs["output_kind"] = RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY
    return SamplingParams(**kwargs)


def engine_input(llm: Any, req: dict[str, Any]):
    """Renders a completion prompt or a chat exactly as LLM.generate / LLM.chat do, through vLLM's public Renderer
    (`LLM.renderer`, the prompt processing that LLM and the OpenAI server share)."""
    renderer = llm.renderer
    if "messages" in req:
        from vllm.renderers import ChatParams, merge_kwargs

        params = ChatParams(
            chat_template=req.get("chat_template"),
            chat_template_kwargs=merge_kwargs(req.get("chat_template_kwargs"), {
                "add_generation_prompt": req.get("add_generation_prompt", True),
                "continue_final_message": False,
                "tools": req.get("tools"),
                "tokenize": _tokenizes_in_template(llm, renderer),
            }),
        )
        # The chat template emits BOS/EOS itself (LLM.chat passes the same).
        tok_params = renderer.default_chat_tok_params.with_kwargs(add_special_tokens=False)
        _, (rendered,) = renderer.render_chat([req["messages"]], params, tok_params)
        return rendered
    from vllm.renderers.inputs.preprocess import parse_model_prompt

    (rendered,) = renderer.render_cmpl([parse_model_prompt(llm.model_config, req["prompt"])], renderer.default_cmpl_tok_params)
    return rendered


def _tokenizes_in_template(llm: Any, renderer: Any) -> bool:
    """LLM.chat lets the template tokenize for Mistral tokenizers and prompt embeddings."""
    if getattr(llm.model_config, "enable_prompt_embeds", False):
        return True
    try:
        from vllm.utils.mistral import is_mistral_tokenizer
    except ImportError:
        return False
    return bool(is_mistral_tokenizer(renderer.tokenizer))


def token_logprobs(completion: Any, top: int) -> list[dict[str, Any]]:
    """Each generated token of `completion` with its log-probability and the `top` most likely tokens at its
    position (vLLM returns the chosen token and the top ones, each with its rank)."""
    out = []
    for token_id, position in zip(completion.token_ids, completion.logprobs or []):
        ranked = sorted(position.items(), key=lambda kv: kv[1].rank if kv[1].rank is not None else 1 << 30)
        chosen = position.get(token_id)
        out.append({
            "token": chosen.decoded_token if chosen is not None else "",
            "tokenId": int(token_id),
            "logprob": float(chosen.logprob) if chosen is not None else float("nan"),
            "top": [{"token": lp.decoded_token, "tokenId": int(t), "logprob": float(lp.logprob)}
                    for t, lp in ranked if lp.rank is not None and lp.rank <= top],
        })
    return out


def metrics(out: Any) -> dict[str, float] | None:
    m = getattr(out, "metrics", None)
    if m is None or not hasattr(m, "queued_ts"):
        return None
    return {
        "arrivalTime": m.arrival_time,
        "queuedTs": m.queued_ts,
        "scheduledTs": m.scheduled_ts,
        "firstTokenTs": m.first_token_ts,
        "lastTokenTs": m.last_token_ts,
        "firstTokenLatency": m.first_token_latency,
    }
