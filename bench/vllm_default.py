"""vLLM's own sizing, for comparison with vllm-node's memory cap (bench/models.mjs, phase `compare`).

Runs plain Python vLLM (`LLM.generate`) with the default configuration and `gpu_memory_utilization` as given,
on the load that bench/models.mjs writes to a JSON file (the same prompts, output lengths and JSON-schema share),
and prints one line `RESULT {json}`: KV cache tokens, seconds, output tokens. bench/models.mjs samples nvidia-smi
meanwhile.
  python bench/vllm_default.py LOAD.json
"""
import json
import sys
import time

from vllm import LLM, SamplingParams
from vllm.sampling_params import StructuredOutputsParams


def main() -> None:
    load = json.load(open(sys.argv[1]))
    llm = LLM(model=load["model"], quantization="fp8", kv_cache_dtype="fp8", trust_remote_code=True,
              gpu_memory_utilization=load["gpuMemoryUtilization"], max_model_len=load["maxModelLen"])
    cache = llm.llm_engine.vllm_config.cache_config
    params = [
        SamplingParams(max_tokens=r["maxTokens"], temperature=0.1, ignore_eos=r["ignoreEos"],
                       structured_outputs=StructuredOutputsParams(json=load["schema"]) if r["jsonSchema"] else None)
        for r in load["requests"]
    ]
    t = time.perf_counter()
    outs = llm.generate([r["prompt"] for r in load["requests"]], params, use_tqdm=False)
    seconds = time.perf_counter() - t
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    print("RESULT " + json.dumps({"kvCacheTokens": (cache.num_gpu_blocks or 0) * cache.block_size,
                                  "seconds": seconds, "outputTokens": tokens}), flush=True)


if __name__ == "__main__":
    main()
