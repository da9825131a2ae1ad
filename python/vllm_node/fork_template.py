"""Imported once in the fork server (fork_server.PRELOAD), before it forks any EngineCore: ties the fork server to
Node (child_main's code, run without registering it as a module: each forked child runs it again as its main
module, tied to the fork server) and imports vLLM's engine core, so that each forked EngineCore has it imported."""
import runpy

runpy.run_module("vllm_node.child_main", run_name="vllm_node_fork_server")

import vllm.v1.engine.core  # noqa: E402,F401
