"""What vLLM's per-request statistics (`disable_log_stats: false`, which vllm-node passes for `GenerationResult.timings`)
cost per engine step, on this machine's CPU: the scheduler (EngineCore side) and the output processing and stat
recording (front-end side), in milliseconds per step, with the statistics on and off.

The EngineCore runs in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0) so that both sides are timed around vLLM's own
methods: Scheduler.schedule / update_from_output / make_stats, OutputProcessor.process_outputs and
StatLoggerManager.record. The model's forward pass is not timed. One batch of N requests x M tokens after a warm-up.
  python bench/step_costs.py MODEL on|off [N] [M] ['{"extra": "engine kwargs"}']
Prints one line: STEP-COSTS {"stats": ..., "<Class.method>": [calls, ms per call], ...}
"""
from __future__ import annotations

import collections
import json
import os
import sys
import time

os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"


def main() -> None:
    model, stats = sys.argv[1], sys.argv[2] == "on"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 24
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    from vllm import LLM, SamplingParams
    from vllm.platforms import current_platform
    from vllm.v1.core.sched.scheduler import Scheduler
    from vllm.v1.engine.output_processor import OutputProcessor
    from vllm.v1.metrics.loggers import StatLoggerManager

    total: dict[str, float] = collections.defaultdict(float)
    calls: dict[str, int] = collections.defaultdict(int)

    def timed(cls: type, name: str) -> None:
        inner = getattr(cls, name)
        key = f"{cls.__name__}.{name}"

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                total[key] += time.perf_counter() - t
                calls[key] += 1

        setattr(cls, name, wrapper)

    for cls, name in ((Scheduler, "schedule"), (Scheduler, "update_from_output"), (Scheduler, "make_stats"),
                      (OutputProcessor, "process_outputs"), (StatLoggerManager, "record")):
        if hasattr(cls, name):
            timed(cls, name)
    kwargs = {"model": model, "max_model_len": 1024, "max_num_seqs": max(n, 1), "disable_log_stats": not stats}
    if current_platform.is_cpu():
        kwargs.update(dtype="float32", enforce_eager=True, kv_cache_memory_bytes=1 << 30)
    kwargs.update(extra)
    llm = LLM(**kwargs)
    params = SamplingParams(max_tokens=tokens, ignore_eos=True, temperature=0.8, top_p=0.9)
    prompts = [f"Posting {i}: senior data engineer in Berlin, hybrid, EUR 70-85k. Extract the title and salary." for i in range(n)]
    llm.generate(prompts[:4], params, use_tqdm=False)
    total.clear()
    calls.clear()
    llm.generate(prompts, params, use_tqdm=False)
    out = {"stats": stats, "n": n, "tokens": tokens}
    out.update({k: [calls[k], round(1000 * v / max(1, calls[k]), 3)] for k, v in sorted(total.items())})
    print("STEP-COSTS " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
