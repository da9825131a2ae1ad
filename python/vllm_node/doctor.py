"""Environment report for `vllm-node doctor`: run as a script with the Python being checked; prints JSON."""
import json
import os
import sys
import time


def main() -> None:
    report = {
        "python": {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "prefix": sys.prefix,
                   "venv": sys.prefix != sys.base_prefix},
    }
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from vllm_node import versions  # the admitted releases; no vLLM import

    report["admitted"] = versions.check()
    t = time.monotonic()
    try:
        import torch

        report["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda}
    except Exception as exc:  # noqa: BLE001
        report["torch"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        import vllm
        from vllm.platforms import current_platform

        report["vllm"] = {"version": vllm.__version__, "platform": str(current_platform.device_type),
                          "importSeconds": round(time.monotonic() - t, 1)}
    except Exception as exc:  # noqa: BLE001
        report["vllm"] = {"error": f"{type(exc).__name__}: {exc}"}
    gpus = []
    try:
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                free, total = torch.cuda.mem_get_info(i)
                major, minor = torch.cuda.get_device_capability(i)
                gpus.append({"index": i, "name": torch.cuda.get_device_name(i), "capability": f"{major}.{minor}",
                             "freeGiB": round(free / 2**30, 1), "totalGiB": round(total / 2**30, 1),
                             "fp8": (major, minor) >= (8, 9)})
    except Exception as exc:  # noqa: BLE001
        report["gpuError"] = f"{type(exc).__name__}: {exc}"
    report["gpus"] = gpus
    print(json.dumps(report))


if __name__ == "__main__":
    main()
