"""vLLM's own AsyncLLM (the interface vLLM documents for long-lived concurrent callers) on bench/gpu.mjs's workload:
the ceiling of an engine core built on it (issue 11). One process, pure Python, no Node:
  1. N concurrent `AsyncLLM.generate` tasks (final output only), 3 runs after a warm-up: output tok/s, latency
  2. N concurrent streams (delta output): time to first token
  3. one 50-token request, 7 times
Compare with bench/gpu.mjs's (1) Python LLM.generate and (2) Node engine, run the same day on the same card.
  python bench/asyncllm.py MODEL [n=256] [outTokens=128] [eager] [cpu]
`cpu`: the CPU tests' profile (bf16 weights, 1 GiB KV, eager) for a run on a machine without a GPU.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid


def pct(xs: list[float], p: int) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def main() -> None:
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.async_llm import AsyncLLM

    args = [a for a in sys.argv[1:] if "=" not in a and a not in ("eager", "cpu")]
    model = args[0]
    n = int(args[1]) if len(args) > 1 else 256
    out_tokens = int(args[2]) if len(args) > 2 else 128
    cpu = "cpu" in sys.argv
    if cpu:
        engine_args = AsyncEngineArgs(model=model, dtype="bfloat16", max_model_len=1024, enforce_eager=True,
                                      kv_cache_memory_bytes=1 << 30, max_num_seqs=n)
    else:
        engine_args = AsyncEngineArgs(model=model, quantization="fp8", kv_cache_dtype="fp8", gpu_memory_utilization=0.9,
                                      trust_remote_code=True, max_model_len=4096, enforce_eager="eager" in sys.argv)
    prompts = [f"Job posting {i}: We are hiring a Senior Software Engineer at Company {i} to build data pipelines. "
               "Remote, full-time, competitive salary. Extract the job title." for i in range(n)]
    params = dict(max_tokens=out_tokens, temperature=0.1, top_p=0.9, frequency_penalty=0.1, ignore_eos=True)

    t = time.perf_counter()
    engine = AsyncLLM.from_engine_args(engine_args)
    print(f"AsyncLLM start: {time.perf_counter() - t:.1f} s", flush=True)

    async def one(prompt: str, kind: RequestOutputKind, max_tokens: int = out_tokens) -> tuple[float, float, int]:
        sp = SamplingParams(**{**params, "max_tokens": max_tokens}, output_kind=kind)
        s = time.perf_counter()
        first = None
        tokens = 0
        async for out in engine.generate(prompt, sp, str(uuid.uuid4())):
            if first is None:
                first = time.perf_counter() - s
            tokens = len(out.outputs[0].token_ids) if kind == RequestOutputKind.FINAL_ONLY else tokens + len(out.outputs[0].token_ids)
        return time.perf_counter() - s, first or 0.0, tokens

    async def batch(kind: RequestOutputKind) -> tuple[float, int, list[float], list[float]]:
        t0 = time.perf_counter()
        rs = await asyncio.gather(*(one(p, kind) for p in prompts))
        return time.perf_counter() - t0, sum(r[2] for r in rs), [r[0] for r in rs], [r[1] for r in rs]

    try:
        await batch(RequestOutputKind.FINAL_ONLY)
        runs = [await batch(RequestOutputKind.FINAL_ONLY) for _ in range(3)]
        med = sorted(runs, key=lambda r: r[0])[1]
        print(f"(4) AsyncLLM, {n} concurrent generate(): {med[1] / med[0]:.0f} output tok/s "
              f"({', '.join(f'{r[0]:.2f}' for r in runs)} s), request latency p50 {pct(med[2], 50) * 1000:.1f} ms, "
              f"p99 {pct(med[2], 99) * 1000:.1f} ms", flush=True)
        _, _, _, ttft = await batch(RequestOutputKind.DELTA)
        print(f"(4) AsyncLLM streaming, {n} concurrent: time to first token p50 {pct(ttft, 50) * 1000:.1f} ms, "
              f"p99 {pct(ttft, 99) * 1000:.1f} ms", flush=True)
        single = [(await one("Extract job title from: Software Engineer - Remote", RequestOutputKind.FINAL_ONLY, 50))[0]
                  for _ in range(7)]
        print(f"(4) AsyncLLM single 50-token request: median {statistics.median(single) * 1000:.1f} ms "
              f"(7 runs: {', '.join(f'{x * 1000:.0f}' for x in single)} ms)", flush=True)
    finally:
        engine.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
