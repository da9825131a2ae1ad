# The addon for node-gyp: the same build as CMakeLists.txt (same sources, defines and flags), for installs with
# no prebuild for the venv's Python minor and no CMake. Python's version and include directories come from
# scripts/python_build_info.py run by the chosen Python (VLLM_NODE_PYTHON, else the project's .venv): the script
# CMakeLists.txt uses too. scripts/install.mjs runs it and writes build/Release/vllm_node.json.
{
  "variables": {
    "vllm_node_python%": "<!(node -p \"process.env.VLLM_NODE_PYTHON || require('path').resolve('.venv/bin/python')\")"
  },
  "targets": [
    {
      "target_name": "vllm_node",
      "sources": ["native/addon.cc", "native/engine_worker.cc", "native/python_runtime.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(<(vllm_node_python) scripts/python_build_info.py --gyp-include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
