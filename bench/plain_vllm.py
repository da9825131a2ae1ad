"""Plain vLLM in its own Python process, resident for a whole bench/throughput.mjs run (issue 29, path (a)).

Builds `vllm.LLM(**engine kwargs)` once, exactly as a Python user would (text prompts, detokenized output, vLLM's
defaults for everything not given), then answers commands, one JSON object per line on stdin:
  {"op": "load", "id": W, "prompts": [...], "params": {SamplingParams fields}, "schema": {...} | null, "single": bool}
  {"op": "run", "id": W, "repeats": K}     K batches (LLM.generate of all prompts), or K single requests
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
                sp = SamplingParams(**cmd["params"],
                                    structured_outputs=StructuredOutputsParams(json=schema) if schema else None)
                prompts = cmd["prompts"]
                lens = [len(tokenizer.encode(p)) for p in prompts]
                loads[cmd["id"]] = {"prompts": prompts, "params": sp, "single": bool(cmd.get("single"))}
                reply({"ok": True, "promptTokens": {"min": min(lens), "max": max(lens), "mean": sum(lens) / len(lens)}})
            elif op == "run":
                w = loads[cmd["id"]]
                batches = []
                for _ in range(int(cmd.get("repeats", 1))):
                    t = time.perf_counter()
                    outs = llm.generate(w["prompts"], w["params"], use_tqdm=False)
                    seconds = time.perf_counter() - t
                    batches.append({"seconds": seconds, "outputTokens": sum(len(o.outputs[0].token_ids) for o in outs),
                                    "requests": len(outs)})
                reply({"ok": True, "batches": batches})
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-4000:]})
    del llm


if __name__ == "__main__":
    main()
