"""Python side of vllm-node: everything that touches vLLM lives in this package."""
