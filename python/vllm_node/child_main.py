"""Runs first in every process that vLLM spawns from the embedded interpreter (multiprocessing imports it as
`__mp_main__`, because bootstrap names it as the parent's main module).

It ties the child's life to its parent's with a parent-death signal of SIGKILL: when Node dies without
running any cleanup (SIGKILL, OOM kill, a crash, a default-handled SIGTERM/SIGINT), the kernel kills the
EngineCore; the EngineCore's death kills its workers the same way; the multiprocessing resource tracker reads
EOF once no process holds its pipe and unlinks the shared memory they leave; the driver frees the GPU memory
of processes that end. A clean `close()` or exit shuts vLLM down gracefully before any of this happens.

Why SIGKILL and not SIGTERM: Linux sends the parent-death signal once per *thread* of the parent that exits while the
child is attached to it (the orphan moves to the next live thread of the same process, and each move signals again),
so a dying Node process, with a dozen threads, sends a burst. vLLM's SIGTERM handler is not re-entrant (a nested
`threading.Event.set` waits for the lock the interrupted one holds): a burst of SIGTERMs deadlocks the EngineCore,
holding its memory. SIGKILL cannot be handled, so repeats are harmless and nothing in the child can delay it.
"""
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
PARENT_DEATH_SIGNAL = signal.SIGKILL


def _tie_to_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0) != 0:
            return
    except Exception:  # noqa: BLE001 - best effort; vLLM's own liveness checks remain
        return
    expected = os.environ.get("VLLM_NODE_PARENT_PID")
    # The parent may have died before prctl: then nobody will send the signal.
    if expected and os.getppid() != int(expected):
        os.kill(os.getpid(), PARENT_DEATH_SIGNAL)
    # Processes this one spawns (vLLM's workers) run this too, and compare against us.
    os.environ["VLLM_NODE_PARENT_PID"] = str(os.getpid())


def _stdout_to_stderr() -> None:
    """The host's stdout is the host's (the CLI writes JSONL there): nothing a child prints may land on it."""
    try:
        sys.stdout.flush()
        os.dup2(2, 1)
    except (OSError, ValueError):
        pass


def _compile_cache() -> None:
    """vLLM's CPU build cannot load its own compile cache (internals.load_cpu_compile_cache): let it."""
    try:
        from vllm_node import internals

        internals.load_cpu_compile_cache()
    except Exception:  # noqa: BLE001 - then vLLM compiles again, as it would without vllm-node
        pass


def _report_core_failure() -> None:
    """Why this EngineCore fails, for the engine's error (bootstrap.report_core_failure)."""
    try:
        from vllm_node import bootstrap

        bootstrap.report_core_failure()
    except Exception:  # noqa: BLE001 - then the error is vLLM's own "See root cause above"
        pass


if os.environ.get("VLLM_NODE_PARENT_PID"):
    _tie_to_parent()
    _stdout_to_stderr()
    _compile_cache()
    _report_core_failure()
