"""Imported once in the fork server (fork_server.PRELOAD), before it forks any EngineCore: ties the fork server to
Node (child_main's code, run without registering it as a module: each forked child runs it again as its main
module, tied to the fork server) and imports vLLM's engine core, and on CUDA its GPU worker (with a single GPU the
worker runs inside the EngineCore process), so that each forked EngineCore has them imported.

CUDA must not be initialised here (a forked child could not use it): importing the worker does not initialise it
(checked on vLLM 0.26); should a vLLM version do so, the fork server exits at once and engine starts fail loudly
rather than later in a child."""
import os
import runpy

runpy.run_module("vllm_node.child_main", run_name="vllm_node_fork_server")

import vllm.v1.engine.core  # noqa: E402,F401
from vllm.platforms import current_platform  # noqa: E402

if current_platform.is_cuda():
    import torch

    import vllm.v1.worker.gpu_worker  # noqa: F401

    if torch.cuda.is_initialized():
        os._exit(70)
