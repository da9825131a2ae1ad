"""Process set-up that must happen before `import vllm` inside an embedded interpreter.

The host process is Node: `sys.executable` must name a real Python (multiprocessing's spawn and vLLM's
registry subprocesses run it), children must be spawned (forking a process with V8 and libuv threads is
undefined behaviour), and nothing may phone home.
"""
import logging
import os
import sys

_done = False
# A VLLM_WORKER_MULTIPROC_METHOD the user set that prepare() replaced with spawn; reported in every engine's notes.
_replaced_method: str | None = None

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A TORCH_CPP_LOG_LEVEL the user set wins over the one derived from the log level.
_USER_TORCH_CPP_LEVEL = "TORCH_CPP_LOG_LEVEL" in os.environ


class _OwnEnvFilter(logging.Filter):
    """vLLM warns about every VLLM_* variable it does not know; vllm-node's own VLLM_NODE_* are not vLLM's."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        msg = record.msg if isinstance(record.msg, str) else ""
        return not (msg.startswith("Unknown vLLM environment variable") and args and str(args[0]).startswith("VLLM_NODE_"))


# An EngineCore that fails logs the exception (a message in _FAILURES) and exits; the engine's process learns only
# that it did (vLLM raises "Engine core initialization failed. See root cause above", or EngineDeadError). A worker of
# vLLM's multiprocess executor (the CPU backend, tensor parallelism) does the same one level down, and its EngineCore
# then names only the failed worker. Installed in each of those processes (child_main, fork_server._run_in_env), this
# filter writes those exceptions to the file the engine names in CORE_ERROR_ENV (bridge.Engine: a /proc/PID/fd path to
# a file with no name, so it ends with the engine's process), so that the engine's error says why. A filter, not a
# handler: vLLM's logging set-up at import clears the handlers of the loggers under "vllm", not their filters. These
# records pass whatever vLLM's log level (logLevel 'critical' included); vLLM's handlers still apply their own level,
# so nothing more is printed.
CORE_ERROR_ENV = "VLLM_NODE_CORE_ERROR_FILE"
CORE_LOGGER = "vllm.v1.engine.core"
_FAILURES = {
    CORE_LOGGER: frozenset({"EngineCore failed to start.", "EngineCore encountered a fatal error."}),
    "vllm.v1.executor.multiproc_executor": frozenset({"WorkerProc failed to start.", "WorkerProc failed."}),
}


class _CoreFailure(logging.Filter):
    fd: int | None = None  # one for the process, shared by the loggers it filters

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if _CoreFailure.fd is not None and exc is not None and record.msg in _FAILURES.get(record.name, ()):
            try:
                os.write(_CoreFailure.fd, f"{type(exc).__name__}: {exc}\n".encode("utf-8", "replace"))
            except OSError:
                pass
        return True


def report_core_failure() -> None:
    """In an EngineCore or a worker, before vLLM's code runs: why it fails reaches its engine's error (CORE_ERROR_ENV)."""
    for name in _FAILURES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _CoreFailure) for f in logger.filters):
            logger.addFilter(_CoreFailure())
            enabled = logger.isEnabledFor
            logger.isEnabledFor = lambda level, enabled=enabled: level == logging.ERROR or enabled(level)  # type: ignore[method-assign]
    if _CoreFailure.fd is not None:  # a forked EngineCore: the fork server's file, replaced by this engine's
        os.close(_CoreFailure.fd)
        _CoreFailure.fd = None
    path = os.environ.get(CORE_ERROR_ENV)
    if path:
        try:
            _CoreFailure.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except OSError:
            pass


def set_log_level(level: str | None) -> None:
    """vLLM's own logging level, in this process and in the processes it spawns from now on.

    vLLM configures its logger from VLLM_LOGGING_LEVEL when it is first imported, and its EngineCore and workers
    (spawned, so they inherit the environment) do the same; an already-imported vLLM is adjusted directly.
    """
    name = (level or "warning").upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS).lower()}")
    os.environ["VLLM_LOGGING_LEVEL"] = name
    # Torch's C++ warnings (e.g. the CPU backend's NUMA binding notice) follow the same choice.
    if not _USER_TORCH_CPP_LEVEL:
        os.environ["TORCH_CPP_LOG_LEVEL"] = {"DEBUG": "INFO", "CRITICAL": "ERROR"}.get(name, name)
    if "vllm.logger" in sys.modules:
        vllm_logger = logging.getLogger("vllm")
        vllm_logger.setLevel(name)
        for handler in vllm_logger.handlers:
            handler.setLevel(name)


def prepare(python_executable: str | None = None, log_level: str | None = None) -> None:
    set_log_level(log_level)
    global _done, _replaced_method
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
    _replaced_method = spawn_only(env)
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("VLLM_DO_NOT_TRACK", "1")
    # tqdm bars from LLM() would write into the host's stderr; the library reports progress itself.
    env.setdefault("TQDM_DISABLE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The host's stdout belongs to the host (the CLI writes JSONL there): vLLM logs go to stderr.
    env.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    # Python code in this process never owns the host's stdout either (a stray print() in vLLM or a library);
    # spawned children point their descriptor 1 at 2 (child_main).
    sys.stdout = sys.stderr
    # vLLM <= 0.28 warns from vllm.envs, 0.32+ from vllm.platforms.interface.
    for name in ("vllm.envs", "vllm.platforms.interface"):
        logging.getLogger(name).addFilter(_OwnEnvFilter())
    _done = True


def spawn_only(env: "os._Environ[str] | dict[str, str]") -> str | None:
    """Sets vLLM's start method to spawn; returns the other method the user had set, if any."""
    asked = env.get("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
    env["VLLM_WORKER_MULTIPROC_METHOD"] = "spawn"
    return None if asked == "spawn" else asked


def notes() -> list[dict[str, str | bool]]:
    """What prepare() changed of the user's own settings, for each engine's notes."""
    if _replaced_method is None:
        return []
    return [{"option": "VLLM_WORKER_MULTIPROC_METHOD", "applied": False, "value": _replaced_method,
             "reason": "vLLM's processes are spawned from Node's process, never forked (a fork of a process with V8 and "
                       "libuv threads is undefined behaviour); with fastStart the EngineCore is forked from vllm-node's "
                       "fork server instead, and vLLM's worker processes are spawned"}]


def quiet_stat_lines() -> None:
    """Per-request timings need vLLM's stats (log_stats), but its periodic throughput lines would land in the host's
    stderr every 10 s. vLLM adds that line logger only when this logger is enabled for INFO at engine construction
    (vllm.v1.metrics.loggers): raised to WARNING before LLM(), the stats stay and the lines never start."""
    logging.getLogger("vllm.v1.metrics.loggers").setLevel(logging.WARNING)
