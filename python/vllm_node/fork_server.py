"""EngineCore processes forked from a fork server that has vLLM imported already, instead of spawned.

A spawned EngineCore starts a fresh Python and imports torch and vLLM again: ~35 s of a 92 s model switch on an
H100 host. Python's fork server (multiprocessing's "forkserver" start method) is one clean, single-threaded
Python process, started once, that imports vLLM's engine core and then forks a ready child for each EngineCore.
Node's own process is never forked (it has V8 and libuv threads), and CUDA is never initialised in the fork server,
so the children start as clean as spawned ones. vLLM's `LLM` has no setting for this (its
VLLM_WORKER_MULTIPROC_METHOD accepts fork or spawn); `internals.fork_engine_core` points the one place where the
EngineCore process is created at the context below.

Lifetime: the fork server is started from a thread that lives as long as Node (a parent-death signal is tied to
the thread that created the child) and imports `fork_template` first, which ties it to Node with SIGKILL; each
EngineCore forked from it ties itself to the fork server the same way (child_main). Node dies → the fork server
dies → its EngineCores die.

Environment: a forked child inherits the fork server's environment, not Node's current one; each EngineCore
process carries a copy of the environment at the time it was created (the engine's memory plan sets variables for
the processes it starts) and installs it before vLLM's code runs.
"""
from __future__ import annotations

import functools
import multiprocessing.context as mp_context
import os
import queue
import signal
import threading
from typing import Any

PRELOAD = ["vllm_node.fork_template"]

# CPython's private names this module uses, all here (python/tests/test_fork_server.py fails loudly when a Python
# release renames one): the module's fork-server singleton, its pid and its stop (Python's public stop waits for every
# forked child), and the Popen factory of ForkServerProcess (the hook that starts a process from a context).
CPYTHON_PRIVATE = ("multiprocessing.forkserver._forkserver", "ForkServer._forkserver_pid", "ForkServer._stop",
                   "ForkServerProcess._Popen")


def _server() -> Any:
    from multiprocessing import forkserver

    return forkserver._forkserver  # noqa: SLF001 - CPYTHON_PRIVATE


def missing_cpython_names() -> list[str]:
    """The CPYTHON_PRIVATE names this Python lacks (empty on the versions vllm-node runs on)."""
    server = _server()
    present = {
        "multiprocessing.forkserver._forkserver": server is not None,
        "ForkServer._forkserver_pid": hasattr(server, "_forkserver_pid"),
        "ForkServer._stop": callable(getattr(server, "_stop", None)),
        "ForkServerProcess._Popen": callable(getattr(mp_context.ForkServerProcess, "_Popen", None)),
    }
    return [name for name, ok in present.items() if not ok]

_requests: "queue.Queue[tuple[str, threading.Event]]" = queue.Queue()
_keeper: threading.Thread | None = None
_lock = threading.Lock()
_error: list[BaseException] = []
_holders = 0


def _keep() -> None:
    from multiprocessing import forkserver

    forkserver.set_forkserver_preload(PRELOAD)
    # The fork server imports PRELOAD before it reads the parent's sys.path (Python 3.11 never applies it): it
    # finds vllm_node through PYTHONPATH, set while it starts.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while True:
        action, done = _requests.get()
        saved = os.environ.get("PYTHONPATH")
        try:
            if action == "start":
                os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, saved) if p)
                forkserver.ensure_running()  # returns at once while it runs; (re)starts it from this thread otherwise
            else:
                with _lock:
                    idle = _holders == 0  # an engine may have started since the stop was asked for
                if idle:
                    _stop(_server())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            _error.append(exc)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        done.set()


def _stop(server: Any) -> None:
    """Ends the fork server now. Python's own stop waits until every process forked from it has ended; the
    engines are closed by then, but nothing here may wait on a stuck child: SIGTERM first (a child still there
    follows by its parent-death signal)."""
    pid = getattr(server, "_forkserver_pid", None)  # CPYTHON_PRIVATE
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    server._stop()  # noqa: SLF001 - CPYTHON_PRIVATE: closes the "alive" pipe, reaps the process, removes its socket


def _ask(action: str) -> None:
    global _keeper
    with _lock:
        if _keeper is None or not _keeper.is_alive():
            _keeper = threading.Thread(target=_keep, name="vllm-node-fork-server", daemon=True)
            _keeper.start()
    done = threading.Event()
    _requests.put((action, done))
    done.wait()
    if _error:
        raise _error.pop()


def ensure_running() -> None:
    """Starts the fork server (or restarts a dead one) from the keeper thread, so that it outlives engine threads."""
    _ask("start")


def hold() -> None:
    """An engine whose EngineCore is forked from the fork server starts (called before it starts) or is open: the
    fork server stays."""
    global _holders
    with _lock:
        _holders += 1


def release() -> None:
    """That engine closed: the fork server ends with the last one (no process of vllm-node is left after the last
    close). A model manager keeps engines asleep rather than closed where it can, so its switches keep it."""
    global _holders
    with _lock:
        _holders = max(0, _holders - 1)
        last = _holders == 0
    if last:
        _ask("stop")


def _run_in_env(env: dict[str, str], target: Any, *args: Any, **kwargs: Any) -> Any:
    """Runs first in a forked EngineCore: the environment of the engine that created it, then vLLM's code."""
    own_parent = os.environ.get("VLLM_NODE_PARENT_PID")  # set by child_main for the processes this one starts
    os.environ.clear()
    os.environ.update(env)
    if own_parent:
        os.environ["VLLM_NODE_PARENT_PID"] = own_parent
    from . import bootstrap

    bootstrap.report_core_failure()
    if env.get("VLLM_LOGGING_LEVEL"):
        bootstrap.set_log_level(env["VLLM_LOGGING_LEVEL"])  # vLLM was imported with the fork server's level
    return target(*args, **kwargs)


class EngineCoreProcess(mp_context.ForkServerProcess):
    def start(self) -> None:
        # The environment as it is when vLLM starts the process (vLLM sets per-process variables around start()).
        self._target = functools.partial(_run_in_env, dict(os.environ), self._target)
        super().start()

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 - multiprocessing's name
        ensure_running()
        return mp_context.ForkServerProcess._Popen(process_obj)  # CPYTHON_PRIVATE


class EngineCoreContext(mp_context.ForkServerContext):
    Process = EngineCoreProcess


CONTEXT = EngineCoreContext()
