// Owns the one embedded CPython interpreter of the process: initialised once, never finalised
// (Py_Finalize with torch and numpy loaded can crash, CPython issue #142135; engines are shut down at exit
// instead, and the process's exit reclaims the interpreter).
#pragma once
#include <string>
#include <vector>

namespace vllm_node {

struct PythonSettings {
  std::string executable;            // the venv's python: CPython finds pyvenv.cfg next to it
  std::vector<std::string> sysPath;  // prepended to sys.path (our python/ folder)
};

// Initialises the interpreter on the first call and releases the GIL; later calls only check that the
// executable matches. Throws std::runtime_error with a readable message.
void EnsurePython(const PythonSettings& settings);

// "3.11": the Python minor version this addon was compiled for.
std::string CompiledPythonVersion();

}  // namespace vllm_node
