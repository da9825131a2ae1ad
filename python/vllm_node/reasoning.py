"""The engine option reasoningParser: vLLM's own reasoning parser for the model, run on chat outputs here, in the
engine thread, so that results carry the reasoning apart from the answer (as vLLM's server returns `reasoning`
beside `content`). vLLM itself gets the same name (`reasoning_parser`): its structured outputs start after the
reasoning, and `thinking_token_budget` needs it."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .settings import UnsupportedSetting


def parser_class(name: str | None) -> Any:
    """The parser class of `name` (None without one); UnsupportedSetting listing the installed vLLM's names when it
    has none of that name. Checked before vLLM starts."""
    if not name:
        return None
    from vllm.reasoning import ReasoningParserManager

    try:
        return ReasoningParserManager.get_reasoning_parser(name)
    except KeyError:
        m = ReasoningParserManager
        registered = m.list_registered() if hasattr(m, "list_registered") else {*m.reasoning_parsers, *getattr(m, "lazy_parsers", {})}
        names = ", ".join(sorted(registered))
        raise UnsupportedSetting(
            "reasoningParser", f'reasoningParser "{name}": the installed vLLM has no reasoning parser of that name; it has {names}'
        ) from None


def _request(chat_template_kwargs: dict[str, Any] | None, skip_special_tokens: bool) -> Any:
    """What a parser reads of a chat request (vLLM's server gives it its ChatCompletionRequest)."""
    return SimpleNamespace(chat_template_kwargs=chat_template_kwargs or {}, skip_special_tokens=skip_special_tokens,
                           tools=None, tool_choice="none", include_reasoning=True, response_format=None,
                           structured_outputs=None)


class Reasoner:
    """One engine's parser class; `start` makes the parser of one chat request."""

    def __init__(self, cls: Any, llm: Any):
        self.cls = cls
        self.tokenizer = llm.get_tokenizer()
        self.model_config = llm.model_config

    def parser(self, chat_template_kwargs: dict[str, Any] | None) -> Any:
        return self.cls(self.tokenizer, chat_template_kwargs=chat_template_kwargs or {}, model_config=self.model_config)

    def start(self, cmd: dict[str, Any], params: Any, prompt_token_ids: list[int] | None) -> Split:
        """Sets what the parser needs of the request's sampling (the server's `adjust_request`: most parsers need the
        special tokens that mark the reasoning kept in the text) before the request is added."""
        kwargs = cmd.get("chat_template_kwargs")
        request = _request(kwargs, params.skip_special_tokens)
        try:
            self.parser(kwargs).adjust_request(request)
        except AttributeError:  # a parser reading more of the server's request than the stand-in has: as it is
            pass
        params.skip_special_tokens = request.skip_special_tokens
        return Split(self, kwargs, request, prompt_token_ids)


class Split:
    """Splits one request's output into reasoning and answer: the whole text at the end (FINAL_ONLY outputs, each of
    `n` completions apart), or delta by delta as it streams, with the parser's streaming method."""

    def __init__(self, reasoner: Reasoner, kwargs: dict[str, Any] | None, request: Any, prompt_token_ids: list[int] | None):
        self.reasoner = reasoner
        self.kwargs = kwargs or {}
        self.request = request
        self.prompt_token_ids = prompt_token_ids or []
        self.stream_parser: Any = None
        self.text = ""
        self.token_ids: list[int] = []

    def whole(self, text: str) -> tuple[str, str]:
        """(answer, reasoning) of a complete output."""
        reasoning, content = self.reasoner.parser(self.kwargs).extract_reasoning(text, self.request)
        return content or "", reasoning or ""

    def delta(self, text: str, token_ids: list[int], finished: bool) -> tuple[str, str]:
        """(answer, reasoning) of the next streamed delta; the parser's held-back text with the last one."""
        if self.stream_parser is None:
            self.stream_parser = self.reasoner.parser(self.kwargs)
            if hasattr(self.stream_parser, "adjust_initial_state_from_prompt"):  # newer vLLM
                self.stream_parser.adjust_initial_state_from_prompt(self.prompt_token_ids)
        previous_text, previous_ids = self.text, self.token_ids
        self.text = previous_text + text
        self.token_ids = previous_ids + list(token_ids)
        content, reasoning = "", ""
        if text or token_ids:
            message = self.stream_parser.extract_reasoning_streaming(
                previous_text, self.text, text, previous_ids, self.token_ids, list(token_ids))
            if message is not None:
                content, reasoning = message.content or "", message.reasoning or ""
        if finished and hasattr(self.stream_parser, "finish_streaming"):
            message = self.stream_parser.finish_streaming()
            if message is not None:
                content, reasoning = content + (message.content or ""), reasoning + (message.reasoning or "")
        return content, reasoning
