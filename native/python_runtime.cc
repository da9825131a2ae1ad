#include "python_runtime.h"

#include <pybind11/pybind11.h>

#include <mutex>
#include <stdexcept>

namespace py = pybind11;

namespace vllm_node {
namespace {

std::mutex g_mutex;
bool g_initialised = false;
std::string g_executable;

void Check(PyStatus status, PyConfig* config, const char* what) {
  if (!PyStatus_Exception(status)) return;
  std::string message = std::string(what) + ": " + (status.err_msg ? status.err_msg : "unknown error");
  if (status.func) message += std::string(" (in ") + status.func + ")";
  PyConfig_Clear(config);
  throw std::runtime_error(message);
}

}  // namespace

std::string CompiledPythonVersion() {
  return std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
}

void EnsurePython(const PythonSettings& settings) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_initialised) {
    if (settings.executable != g_executable) {
      throw std::runtime_error("the interpreter of this process was already started with " + g_executable +
                               "; one process holds one Python, so " + settings.executable +
                               " cannot be used as well");
    }
    return;
  }
  if (Py_IsInitialized()) throw std::runtime_error("another Python interpreter is already running in this process");

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  // Node owns SIGINT/SIGTERM: Python must not install handlers that swallow them.
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  // The executable decides sys.prefix (pyvenv.cfg) and sys.executable, which multiprocessing's spawn runs:
  // without it, vLLM's children would start `node`.
  Check(PyConfig_SetBytesString(&config, &config.program_name, settings.executable.c_str()), &config,
        "program_name");
  Check(PyConfig_SetBytesString(&config, &config.executable, settings.executable.c_str()), &config, "executable");
  char arg0[] = "vllm-node";
  char* argv[] = {arg0};
  Check(PyConfig_SetBytesArgv(&config, 1, argv), &config, "argv");
  Check(Py_InitializeFromConfig(&config), &config, "Py_InitializeFromConfig");
  PyConfig_Clear(&config);

  try {
    py::module_ sys = py::module_::import("sys");
    py::list path = sys.attr("path");
    for (auto it = settings.sysPath.rbegin(); it != settings.sysPath.rend(); ++it) path.insert(0, py::str(*it));
  } catch (py::error_already_set& e) {
    std::string message = e.what();
    PyEval_SaveThread();
    g_initialised = true;
    g_executable = settings.executable;
    throw std::runtime_error("setting sys.path failed: " + message);
  }
  // Only engine threads run Python; they take the GIL with PyGILState_Ensure.
  PyEval_SaveThread();
  g_initialised = true;
  g_executable = settings.executable;
}

}  // namespace vllm_node
