"""Plain data shared by the modules that plan an engine in Node's interpreter (config, memory, fast_start): the error
for a setting that cannot be honoured, the model folder's config.json, and the name of vllm-node's worker extension.
A leaf module: it imports nothing of vllm-node's, so the planning modules never import each other in a circle."""
from __future__ import annotations

import json
import os
from typing import Any

# vLLM loads this class in each of its GPU workers (engine argument `worker_extension_cls`): worker.py.
WORKER_EXTENSION = "vllm_node.worker.WorkerExtension"
# Set by an engine's plan for its GPU workers (worker.py reads them there).
LOAD_LIMIT_ENV = "VLLM_NODE_LOAD_LIMIT_BYTES"  # the torch allocator's bound while the model loads, in bytes


class UnsupportedSetting(ValueError):
    """A requested setting that this platform or vLLM version cannot honour."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def model_config_json(model: str) -> dict[str, Any] | None:
    """The model folder's config.json (None when `model` is no folder with a readable one): the one place that reads
    it for vllm-node's own decisions (experts or not, quantized already or not)."""
    try:
        with open(os.path.join(model, "config.json"), encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError, TypeError):
        return None
    return cfg if isinstance(cfg, dict) else None
