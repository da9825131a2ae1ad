"""Process set-up that must happen before `import vllm` inside an embedded interpreter.

The host process is Node: `sys.executable` must name a real Python (multiprocessing's spawn and vLLM's
registry subprocesses run it), children must be spawned (forking a process with V8 and libuv threads is
undefined behaviour), and nothing may phone home.
"""
import os
import sys

_done = False


def prepare(python_executable: str | None = None) -> None:
    global _done
    if _done:
        return
    exe = python_executable or sys.executable
    if not exe or os.path.basename(exe).startswith("node"):
        raise RuntimeError(f"sys.executable is {exe!r}, not a Python interpreter")
    sys.executable = exe
    if not getattr(sys, "argv", None):
        sys.argv = ["vllm-node"]

    # Node marks its stdio descriptors close-on-exec; spawned children (vLLM's EngineCore and workers)
    # would start with no stderr (sys.stderr is None) and die at the first log line.
    for fd in (0, 1, 2):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass

    import multiprocessing

    multiprocessing.set_executable(exe)
    try:
        multiprocessing.set_start_method("spawn", force=True)
    except RuntimeError:
        pass

    # Children spawned by multiprocessing import the parent's main module by name first: name ours, so each
    # EngineCore runs child_main (which makes it exit with Node) before vLLM's code.
    import importlib.util

    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.util.find_spec("vllm_node.child_main")

    env = os.environ
    env["VLLM_NODE_PARENT_PID"] = str(os.getpid())
    env["VLLM_WORKER_MULTIPROC_METHOD"] = "spawn"
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("VLLM_DO_NOT_TRACK", "1")
    # tqdm bars from LLM() would write into the host's stderr; the library reports progress itself.
    env.setdefault("TQDM_DISABLE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The host's stdout belongs to the host (the CLI writes JSONL there): vLLM logs go to stderr.
    env.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    _done = True
