"""What the addon build needs to know about the Python that will run vLLM, asked of that Python itself.

The one source of these facts for both build descriptions: CMakeLists.txt (`--cmake`) and binding.gyp /
scripts/install.mjs (`--gyp-include`, `--json`). The addon is compiled against this Python's headers (it does not
link libpython: the loader makes libpython global first) and pybind11's, and is tied to its minor version.
"""
import json
import os
import sys
import sysconfig


def info() -> dict:
    try:
        import pybind11
    except ImportError:
        sys.exit(f"pybind11 is not installed for {sys.executable} (pip install pybind11)")
    paths = sysconfig.get_paths()
    if not os.path.exists(os.path.join(paths["include"], "Python.h")):
        sys.exit(f"no Python.h in {paths['include']}: install this Python's development headers (e.g. python3-dev)")
    include = []
    for d in (paths.get("include"), paths.get("platinclude"), pybind11.get_include()):
        if d and d not in include:
            include.append(d)
    return {"python": "%d.%d" % sys.version_info[:2], "pythonExecutable": sys.executable, "include": include}


def main() -> None:
    facts = info()
    mode = sys.argv[1] if len(sys.argv) > 1 else "--json"
    if mode == "--cmake":  # a CMake list: version;include;include...
        print(";".join([facts["python"], *facts["include"]]))
    elif mode == "--gyp-include":  # one include directory per line, for gyp's <!@(...)
        print("\n".join(facts["include"]))
    elif mode == "--json":
        print(json.dumps(facts))
    else:
        sys.exit(f"usage: {sys.argv[0]} [--json | --cmake | --gyp-include]")


if __name__ == "__main__":
    main()
