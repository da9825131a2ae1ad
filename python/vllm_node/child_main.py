"""Runs first in every process that vLLM spawns from the embedded interpreter (multiprocessing imports it as
`__mp_main__`, because bootstrap names it as the parent's main module).

It ties the child's life to the Node process: when Node dies without running any cleanup (SIGKILL, or a
default-handled SIGTERM/SIGINT), the kernel sends the EngineCore SIGTERM, vLLM shuts down its workers, and
no orphaned engine keeps the GPU.
"""
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def _tie_to_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort; vLLM's own liveness checks remain
        return
    expected = os.environ.get("VLLM_NODE_PARENT_PID")
    # The parent may have died before prctl: then nobody will send the signal.
    if expected and os.getppid() != int(expected):
        os.kill(os.getpid(), signal.SIGTERM)
    # Processes this one spawns (vLLM's workers) run this too, and compare against us.
    os.environ["VLLM_NODE_PARENT_PID"] = str(os.getpid())


if os.environ.get("VLLM_NODE_PARENT_PID"):
    _tie_to_parent()
