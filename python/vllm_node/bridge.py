"""The engine loop, driven one iteration at a time by the addon's engine thread.

Each `run_once` call applies the commands queued by JavaScript (add / abort / call), runs one
`LLMEngine.step()` when requests are unfinished, and returns the resulting events as one JSON array.
Requests from all callers share one engine, so vLLM's scheduler batches them continuously; streamed
requests use RequestOutputKind.DELTA, the others FINAL_ONLY.
"""
from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from . import bootstrap

# Seconds vLLM may take to stop its EngineCore gracefully at close() before it kills it.
SHUTDOWN_GRACE_S = 15.0


def _error(code: str, exc: BaseException, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "pyType": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": "".join(traceback.format_exception(exc)),
        **extra,
    }


def _classify_add_error(exc: BaseException) -> str:
    from .requests import InvalidOptions

    if isinstance(exc, InvalidOptions):
        return exc.code
    text = str(exc)
    if type(exc).__name__ == "EngineDeadError":
        return "ENGINE_DIED"
    if "maximum model length" in text or "maximum context length" in text:
        return "PROMPT_TOO_LONG"
    if "chat template" in text.lower():
        return "CHAT_TEMPLATE_MISSING"
    return "INVALID_REQUEST"


def _classify_start_error(exc: BaseException) -> str:
    from . import config

    if isinstance(exc, config.UnsupportedSetting) or getattr(exc, "code", None) == "UNSUPPORTED_SETTING":
        return "UNSUPPORTED_SETTING"
    if isinstance(exc, config.UnsupportedVllm):
        return "VLLM_VERSION_UNSUPPORTED"
    text = str(exc)
    if getattr(exc, "code", None) == "INSUFFICIENT_GPU_MEMORY" or any(
        s in text for s in ("available KV cache memory", "No available memory for the cache blocks",
                            "Free memory on device", "CUDA out of memory")):
        return "INSUFFICIENT_GPU_MEMORY"
    return "MODEL_LOAD_FAILED"


def _choice_text(split: Any, text: str) -> dict[str, str]:
    if split is None:
        return {"text": text}
    content, reasoning = split.whole(text)
    return {"text": content, **({"reasoning": reasoning} if reasoning else {})}


def _failure(out: Any, tokens_before: int = 0) -> str | None:
    """Why vLLM ended a finished request with an error (finish_reason "error", e.g. its grammar rejected a token the
    model was forced to emit), or None: such a request rejects instead of resolving with what it had so far."""
    if not out.finished:
        return None
    failed = [c for c in out.outputs if c.finish_reason == "error"]
    if not failed:
        return None
    error = getattr(out, "error", None)  # vLLM's RequestError, where it sets one
    why = f": {error.code}: {error.message}" if error is not None else ""
    return (f'vLLM ended the request with finish_reason "error" after {tokens_before + len(failed[0].token_ids)} tokens{why}; its '
            'EngineCore log says why (a structured-output grammar that rejected a token logs "Failed to advance FSM")')


# One engine start at a time in this process (one Python for every Node thread): an engine's start sets
# process environment variables for the vLLM processes it spawns (memory.Plan.env), and vLLM's start-up is not
# thread-safe. JS serialises the starts of one Node environment; this covers engines made in worker_threads too.
_START_LOCK = threading.Lock()


class Engine:
    def __init__(self, options_json: str):
        self.llm = None
        self.memory_plan = None
        self.internal_notes: list[dict[str, Any]] = []
        self.ready_events: list[dict[str, Any]] = []
        self.pending: dict[str, dict[str, Any]] = {}
        self.dead: BaseException | None = None
        self.sleep_prepared = False  # calls.prepare_sleep started pinning the first sleep's CPU memory
        self.speculation_baseline = None  # speculative decoding's counters when the engine became ready
        self.reasoner = None  # reasoning.Reasoner with the engine option reasoningParser
        self.grammar_in_reasoning = False  # vLLM's structured_outputs_config.enable_in_reasoning, as it started
        self._holds_fork_server = False
        self._core_error: int | None = None  # a descriptor of the file the EngineCore writes why it failed to (bootstrap.CORE_ERROR_ENV)
        self._stop = threading.Event()
        options = json.loads(options_json)
        try:
            bootstrap.prepare(options.get("python_executable"), options.get("log_level"))
            from . import config

            started = time.monotonic()
            with _START_LOCK:
                from . import preimport

                # Before anything imports vLLM (the fork server below does): cacheDir, deterministic.
                preimport.apply(options.get("cache_dir"), bool(options.get("deterministic")))
                if options.get("fast_start") is not False:
                    # Started now, the fork server imports vLLM while this thread does the same (a first start in
                    # this process); released below if the plan does not fork after all.
                    from . import fork_server

                    fork_server.hold()
                    self._holds_fork_server = True
                    fork_server.ensure_running()
                kwargs, notes, self.memory_plan = config.build_llm_kwargs(options)
                from . import reasoning

                parser_cls = reasoning.parser_class(kwargs.get("reasoning_parser"))
                if self._holds_fork_server and not getattr(self.memory_plan, "fork", False):
                    self._release_fork_server()
                self._start(kwargs)
                if parser_cls is not None:
                    self.reasoner = reasoning.Reasoner(parser_cls, self.llm)
                memory_info = self._hold_memory_cap(kwargs, notes)
                if kwargs.get("speculative_config") is not None:
                    from . import speculative

                    note, self.speculation_baseline = speculative.self_check(self.llm, speculative.source(options))
                    notes.append(note)
            info = config.effective_config(self.llm, kwargs, notes + self.internal_notes)
            info["gpuMemoryUtilization"] = options["engine_kwargs"].get("gpu_memory_utilization")
            info["gpuMemoryGiB"] = options.get("gpu_memory_gib")
            info["memory"] = memory_info
            info["startupSeconds"] = round(time.monotonic() - started, 3)
            self.ready_events.append({"t": "ready", "info": info})
            threading.Thread(target=self._watch_core, name="vllm-node-core-watch", daemon=True).start()
        except Exception as exc:  # noqa: BLE001 - reported to JS as a typed error
            from . import config

            code = _classify_start_error(exc)
            event = {"t": "fatal", **_error(code, exc)}
            if isinstance(exc, config.UnsupportedSetting):
                event["option"] = exc.option
            self.ready_events.append(event)
            if self.llm is not None:
                self.shutdown()  # started, then failed (the memory cap): stop its EngineCore
            else:
                self._release()

    def _start(self, kwargs: dict[str, Any]) -> None:
        from vllm import LLM

        from . import internals

        env = dict(getattr(self.memory_plan, "env", None) or {})
        # A file with no name in memory, reached by the EngineCore through this process's descriptor: it ends with this
        # process, however that ends. Only a diagnostic: without it, vLLM's own errors stand.
        try:
            self._core_error = os.memfd_create("vllm-node-core-error", os.MFD_CLOEXEC)
            env[bootstrap.CORE_ERROR_ENV] = f"/proc/{os.getpid()}/fd/{self._core_error}"
        except (OSError, AttributeError):
            self._core_error = None
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # vLLM's processes are started inside LLM() and inherit it
        bootstrap.quiet_stat_lines()
        internals.fork_server_on = bool(getattr(self.memory_plan, "fork", False))  # held since __init__ when so
        try:
            self.llm = LLM(**kwargs)
        except Exception as exc:
            # vLLM's own error names only the failed process: the EngineCore wrote why (bootstrap.CORE_ERROR_ENV).
            why = self._core_failure()
            if why:
                raise RuntimeError(f"vLLM's EngineCore failed to start: {why}") from exc
            raise
        finally:
            internals.fork_server_on = False
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.engine = self.llm.llm_engine
        self.internal_notes = internals.check(self.llm)
        structured = getattr(getattr(self.engine, "vllm_config", None), "structured_outputs_config", None)
        self.grammar_in_reasoning = bool(getattr(structured, "enable_in_reasoning", False))

    def _hold_memory_cap(self, kwargs: dict[str, Any], notes: list[dict[str, Any]]) -> dict[str, Any]:
        """On CUDA: release the allocator's cache, measure the footprint per card and bound the allocator under the
        cap (memory.hold_cap). A footprint over the cap fails the start with what to change: the plan's reserve has
        covered every recorded start, so an excess is news, not something to paper over with a restart."""
        from . import memory

        p = self.memory_plan
        if p.platform != "cuda":
            return memory.summary(self.llm, p, None) if p.platform == "cpu" else {}
        workers = memory.hold_cap(self.llm, p)
        over = max(w["footprint"] for w in workers) - p.cap_bytes
        if over > 0:
            raise memory.InsufficientMemory(
                f"after start the engine holds {over / memory.MiB:.0f} MiB more than the cap ({p.cap_bytes / memory.GiB:.2f} GiB, "
                f"{p.reserve_bytes / memory.GiB:.2f} GiB of it reserved for what vLLM's profiler does not count): raise "
                f"VLLM_NODE_MEMORY_RESERVE_GIB above {(p.reserve_bytes + over) / memory.GiB:.2f} or lower maxModelLen")
        return memory.summary(self.llm, p, workers)

    def memory(self) -> dict[str, Any]:
        from . import memory

        return memory.now(self.llm, self.memory_plan)

    def run_once(self, commands_json: str, closing: bool) -> tuple[str, bool, bool]:
        events = self.ready_events
        self.ready_events = []
        if self.llm is None:
            return json.dumps(events), False, False
        for cmd in json.loads(commands_json):
            op = cmd.get("op")
            if op == "add":
                self._add(cmd, events)
            elif op == "abort":
                self._abort(cmd["ids"])
            elif op == "call":
                self._call(cmd, events)
        if self.dead is not None:
            events.append({"t": "fatal", **_error("ENGINE_DIED", self.dead, **self._core_failure_note(self.dead))})
            self.shutdown()
            return json.dumps(events), False, False
        if closing:
            self.shutdown()
            events.append({"t": "closed"})
            return json.dumps(events), False, False
        if self.engine.has_unfinished_requests():
            try:
                outputs = self.engine.step()
            except Exception as exc:  # noqa: BLE001 - EngineDeadError and anything else from the core
                events.append({"t": "fatal", **_error("ENGINE_DIED", exc, **self._core_failure_note(exc))})
                self.shutdown()
                return json.dumps(events), False, False
            for out in outputs:
                events.append(self._output_event(out))
        unfinished = self.engine.has_unfinished_requests()
        if not unfinished and self.pending:
            # vLLM has nothing left, yet these never finished: nothing would ever settle them.
            for rid in list(self.pending):
                self.pending.pop(rid)
                events.append({"t": "error", "id": rid, "code": "REQUEST_FAILED",
                               "message": "vLLM dropped the request without a result (its EngineCore log may say why)"})
        return json.dumps(events), unfinished, True

    def _add(self, cmd: dict[str, Any], events: list[dict[str, Any]]) -> None:
        from . import requests

        rid = cmd["id"]
        try:
            stream = bool(cmd.get("stream"))
            params = requests.sampling_params(cmd.get("params") or {}, stream, self.grammar_in_reasoning)
            prompt = requests.engine_input(self.llm, cmd)
            split = None
            if self.reasoner is not None and "messages" in cmd:
                split = self.reasoner.start(cmd, params, prompt.get("prompt_token_ids") if isinstance(prompt, dict) else None)
            self.engine.add_request(rid, prompt, params)
        except Exception as exc:  # noqa: BLE001 - rejects this request only
            if type(exc).__name__ == "EngineDeadError":
                self.dead = exc
            option = {"option": exc.option} if isinstance(getattr(exc, "option", None), str) else {}
            events.append({"t": "error", "id": rid, **_error(_classify_add_error(exc), exc, **option)})
            return
        self.pending[rid] = {"tokens": 0, "logprobs": params.logprobs, "split": split, "stream": stream}

    def _abort(self, ids: list[str]) -> None:
        live = [i for i in ids if self.pending.pop(i, None) is not None]
        if live:
            self.engine.abort_request(live)

    def _output_event(self, out: Any) -> dict[str, Any]:
        from . import requests

        rid = out.request_id
        failed = _failure(out, (self.pending.get(rid) or {}).get("tokens", 0))  # streamed: the deltas before this one
        if failed is not None:
            self.pending.pop(rid, None)
            return {"t": "error", "id": rid, "code": "REQUEST_FAILED", "message": failed}
        completion = out.outputs[0] if out.outputs else None
        state = self.pending.get(rid) or {"tokens": 0, "logprobs": None}
        if completion is not None:
            state["tokens"] += len(completion.token_ids)
        event: dict[str, Any] = {
            "t": "out",
            "id": rid,
            "text": completion.text if completion is not None else "",
            "done": bool(out.finished),
        }
        split = state.get("split")
        if split is not None and completion is not None:
            if state.get("stream"):
                event["text"], reasoning = split.delta(completion.text, completion.token_ids, bool(out.finished))
            else:
                event["text"], reasoning = split.whole(completion.text)
            if reasoning:
                event["reasoning"] = reasoning
        top = state.get("logprobs")
        if top is not None and completion is not None:
            event["logprobs"] = requests.token_logprobs(completion, top)
        if out.finished and len(out.outputs) > 1:
            event["choices"] = [{**_choice_text(split, c.text), "finishReason": c.finish_reason, "outputTokens": len(c.token_ids),
                                 **({"logprobs": requests.token_logprobs(c, top)} if top is not None else {})}
                                for c in out.outputs]
        if out.finished:
            self.pending.pop(rid, None)
            event["finishReason"] = completion.finish_reason if completion is not None else None
            event["promptTokens"] = len(out.prompt_token_ids or [])
            event["outputTokens"] = state["tokens"]
            event["metrics"] = requests.metrics(out)
        return event

    def _core_failure(self) -> str:
        """What the EngineCore (or its workers) logged as it failed (bootstrap.CORE_ERROR_ENV), or ""."""
        if self._core_error is None:  # no file: memfd missing, or the engine already released
            return ""
        try:
            return os.pread(self._core_error, 1 << 16, 0).decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _core_failure_note(self, exc: BaseException) -> dict[str, str]:
        """The error's message with what the EngineCore logged as it died, where it logged something."""
        why = self._core_failure()
        return {"message": f"{str(exc) or type(exc).__name__} (the EngineCore logged: {why})"} if why else {}

    def _watch_core(self) -> None:
        """vLLM marks the client dead when its EngineCore process exits, but a step() already waiting on the
        output queue would wait forever: wake it with the error so pending requests fail within a second."""
        from . import internals

        resources, queue = internals.core_liveness(self.engine)
        if resources is None or queue is None:
            return  # reported at start (internals.check)
        while not self._stop.wait(0.5):
            if getattr(resources, "engine_dead", False):
                from vllm.v1.engine.exceptions import EngineDeadError

                self.dead = self.dead or EngineDeadError("the vLLM EngineCore process exited unexpectedly")
                try:
                    queue.put_nowait(self.dead)
                except Exception:  # noqa: BLE001
                    pass
                return

    # -- calls that need the engine thread (and so the GIL) -----------------------------------------
    def _call(self, cmd: dict[str, Any], events: list[dict[str, Any]]) -> None:
        from . import calls

        try:
            value = calls.dispatch(self, cmd["method"], cmd.get("args") or {})
            events.append({"t": "result", "id": cmd["id"], "value": value})
        except Exception as exc:  # noqa: BLE001
            events.append({"t": "error", "id": cmd["id"], **_error(getattr(exc, "code", "CALL_FAILED"), exc)})

    def shutdown(self) -> None:
        self._stop.set()
        if self.llm is None:
            return
        if self.pending:
            try:
                self.engine.abort_request(list(self.pending))
            except Exception:  # noqa: BLE001 - the engine may already be dead
                pass
            self.pending.clear()
        from . import internals

        procs = internals.core_processes(self.engine)
        internals.shutdown_core(self.engine, SHUTDOWN_GRACE_S)
        # vLLM's force-kill path sends SIGKILL without waiting for the process: reap it here, or every closed
        # engine leaves a zombie EngineCore entry in the host process (this process is its parent).
        for proc in procs:
            try:
                proc.join(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        self._release()

    def _release_fork_server(self) -> None:
        if self._holds_fork_server:
            from . import fork_server

            self._holds_fork_server = False
            fork_server.release()

    def _release(self) -> None:
        if self._core_error is not None:
            os.close(self._core_error)
            self._core_error = None
        self.llm = None
        self.engine = None
        self._release_fork_server()
        gc.collect()
        # Never the first import of torch: a start refused before vLLM was imported (preimport) leaves the process
        # free to start an engine with other cacheDir/deterministic settings.
        torch = sys.modules.get("torch")
        try:
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass
