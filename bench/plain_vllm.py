"""Plain vLLM in its own Python process, resident for a whole bench/throughput.mjs run (issue 29, path (a)).

Builds `vllm.LLM(**engine kwargs)` once, exactly as a Python user would (text prompts, detokenized output, vLLM's
defaults for everything not given), then answers commands, one JSON object per line on stdin:
  {"op": "load", "id": W, "prompts": [...], "params": {SamplingParams fields}, "schema": {...} | null}
      or, for chats (bench/extraction.mjs), "messages": [[{role, content}, ...], ...] with "chat_template_kwargs"
      instead of "prompts", and "structured": {StructuredOutputsParams fields} instead of "schema"
  {"op": "run", "id": W, "repeats": K}     K batches (LLM.generate / LLM.chat of all prompts)
      "texts": true  also each request's text and its finish time from the batch's start (`finishSeconds`, by the
                     progress-bar hook LLM offers: use_tqdm takes a tqdm factory)
      "each": true   one request at a time instead of a batch: `seconds` per request
  {"op": "quit"}
Each answer is one stdout line `BENCH-JSON {...}` (vLLM's own log lines go to stdout too, so the prefix marks ours).
Times are taken here, around LLM.generate, as a Python user sees them.
  python bench/plain_vllm.py '{"model": "...", "max_model_len": 4096, ...}'
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback


def reply(obj: dict) -> None:
    sys.stdout.write("BENCH-JSON " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def finish_clock(times: list[float]):
    """A tqdm factory for LLM.generate's use_tqdm: the bar writes nowhere and notes when each request finishes."""
    from tqdm import tqdm

    class Clock(tqdm):
        def update(self, n=1):
            if self.desc.startswith("Processed prompts"):
                times.extend([time.perf_counter()] * int(n))
            return super().update(n)

    return lambda *a, **kw: Clock(*a, **{**kw, "file": open(os.devnull, "w")})  # noqa: SIM115 - closed with the bar


def main() -> None:
    kwargs = json.loads(sys.argv[1])
    started = time.perf_counter()
    try:
        import vllm
        from vllm import LLM, SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        llm = LLM(**kwargs)
    except Exception as exc:  # noqa: BLE001 - reported to the driver
        reply({"ready": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-4000:]})
        return
    cfg = llm.llm_engine.vllm_config
    cache = cfg.cache_config
    sched = cfg.scheduler_config
    reply({
        "ready": True,
        "pid": os.getpid(),
        "startSeconds": round(time.perf_counter() - started, 3),
        "vllmVersion": vllm.__version__,
        "python": sys.version.split()[0],
        "config": {
            "kwargs": kwargs,
            "numGpuBlocks": cache.num_gpu_blocks,
            "blockSize": cache.block_size,
            "kvCacheTokens": (cache.num_gpu_blocks or 0) * cache.block_size,
            "maxNumSeqs": sched.max_num_seqs,
            "maxNumBatchedTokens": sched.max_num_batched_tokens,
            "gpuMemoryUtilization": cache.gpu_memory_utilization,
        },
    })
    tokenizer = llm.get_tokenizer()
    loads: dict[str, dict] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            if op == "quit":
                break
            if op == "load":
                schema = cmd.get("schema")
                structured = cmd.get("structured") or ({"json": schema} if schema else None)
                sp = SamplingParams(**cmd["params"],
                                    structured_outputs=StructuredOutputsParams(**structured) if structured else None)
                chats = cmd.get("messages")
                kw = cmd.get("chat_template_kwargs")
                if chats is not None:
                    # The prompt as LLM.chat renders it (the tokenizer's template), counted the same way.
                    lens = [len(tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True, **(kw or {})))
                            for m in chats]
                else:
                    lens = [len(tokenizer.encode(p)) for p in cmd["prompts"]]
                loads[cmd["id"]] = {"prompts": cmd.get("prompts"), "chats": chats, "kwargs": kw, "params": sp}
                reply({"ok": True, "promptTokens": {"min": min(lens), "max": max(lens), "mean": sum(lens) / len(lens),
                                                    "first": lens[0]}})
            elif op == "run":
                w = loads[cmd["id"]]
                texts = bool(cmd.get("texts"))

                def run(items, use_tqdm):
                    if w["chats"] is not None:
                        return llm.chat(items, w["params"], use_tqdm=use_tqdm, chat_template_kwargs=w["kwargs"])
                    return llm.generate(items, w["params"], use_tqdm=use_tqdm)

                items = w["chats"] if w["chats"] is not None else w["prompts"]
                batches = []
                for _ in range(int(cmd.get("repeats", 1))):
                    if cmd.get("each"):
                        outs, per = [], []
                        for item in items:
                            t = time.perf_counter()
                            outs += run([item], False)
                            per.append(time.perf_counter() - t)
                        batch = {"seconds": sum(per), "requestSeconds": per}
                    else:
                        finished: list[float] = []
                        t = time.perf_counter()
                        outs = run(items, finish_clock(finished) if texts else False)
                        batch = {"seconds": time.perf_counter() - t}
                        if texts:
                            batch["finishSeconds"] = [x - t for x in finished]
                    batch.update({"outputTokens": sum(len(o.outputs[0].token_ids) for o in outs), "requests": len(outs)})
                    if texts:
                        batch["texts"] = [o.outputs[0].text for o in outs]
                        batch["promptTokens"] = [len(o.prompt_token_ids or []) for o in outs]
                    batches.append(batch)
                reply({"ok": True, "batches": batches})
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-4000:]})
    del llm


if __name__ == "__main__":
    main()
