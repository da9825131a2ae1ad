"""Builds vLLM inputs (prompts, chat renders, SamplingParams) from the plain dicts TypeScript sends."""
from __future__ import annotations

from typing import Any

_SET_HERE = {"structured_outputs", "output_kind", "skip_clone", "output_text_buffer_length", "extra_args"}


def sampling_params(params: dict[str, Any], stream: bool):
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    # The names and values were checked by the options schema (src/options.ts); a public SamplingParams field
    # passes, except those vllm-node sets itself.
    kwargs = {k: v for k, v in params.items()
              if k in SamplingParams.__struct_fields__ and not k.startswith("_") and k not in _SET_HERE and v is not None}
    if "logit_bias" in kwargs:  # JSON object keys are strings; vLLM wants token ids
        kwargs["logit_bias"] = {int(t): float(b) for t, b in kwargs["logit_bias"].items()}
    schema = params.get("json_schema")
    if schema is not None:
        from vllm.sampling_params import StructuredOutputsParams

        # Compact JSON: no free whitespace for the model to wander in (fewer tokens, no runaway output).
        kwargs["structured_outputs"] = StructuredOutputsParams(json=schema, disable_any_whitespace=True)
    kwargs["output_kind"] = RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY
    return SamplingParams(**kwargs)


def engine_input(llm: Any, req: dict[str, Any]):
    """Renders a completion prompt or a chat exactly as LLM.generate / LLM.chat do."""
    from . import internals

    if "messages" in req:
        return internals.render_chat(  # the same path LLM.chat takes
            llm,
            req["messages"],
            chat_template=req.get("chat_template"),
            add_generation_prompt=req.get("add_generation_prompt", True),
            chat_template_kwargs=req.get("chat_template_kwargs"),
            tools=req.get("tools"),
        )
    return internals.render_completion(llm, req["prompt"])  # the same path LLM.generate takes


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
