#include "engine_worker.h"

#include <pybind11/pybind11.h>

#include <chrono>
#include <utility>

namespace py = pybind11;

namespace vllm_node {
namespace {

// Escapes a string for embedding in JSON (error messages from C++).
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A failure the Python bridge could not report itself (import error, bug): the engine is gone.
std::string FatalEvent(const std::string& code, const std::string& type, const std::string& message) {
  return "[{\"t\":\"fatal\",\"code\":" + JsonString(code) + ",\"pyType\":" + JsonString(type) +
         ",\"message\":" + JsonString(message) + "}]";
}

std::string PythonTypeName(py::error_already_set& e) {
  try {
    return py::str(e.type().attr("__name__"));
  } catch (...) {
    return "Exception";
  }
}

}  // namespace

EngineWorker::EngineWorker(std::string optionsJson, Emit emit, std::function<void()> done)
    : optionsJson_(std::move(optionsJson)), emit_(std::move(emit)), done_(std::move(done)) {}

EngineWorker::~EngineWorker() {
  RequestClose();
  Join();
}

void EngineWorker::Start() {
  thread_ = std::thread([this] {
    Run();
    done_();
  });
}

void EngineWorker::Post(std::string commandJson) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(commandJson));
  }
  wake_.notify_one();
}

void EngineWorker::RequestClose() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closeRequested_ = true;
  }
  wake_.notify_one();
}

void EngineWorker::Join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EngineWorker::Run() {
  py::gil_scoped_acquire gil;
  py::object engine;
  try {
    py::module_ bridge = py::module_::import("vllm_node.bridge");
    engine = bridge.attr("Engine")(optionsJson_);
  } catch (py::error_already_set& e) {
    // The bridge reports vLLM's own failures as events; reaching here means the bridge itself is broken.
    emit_(FatalEvent("PYTHON_ERROR", PythonTypeName(e), e.what()));
    return;
  }
  Loop(&engine);
  try {
    engine = py::object();
    py::module_::import("gc").attr("collect")();
  } catch (py::error_already_set&) {
  }
}

// Waking from idle: JS usually submits a batch in one tick (256 generate() calls in a loop), but each call
// posts on its own. Taking only the first command would start the batch with a one-request engine step and
// stagger the rest; instead wait while the queue is still growing (gaps under kBurstGap, kBurstMax in all),
// so a burst reaches vLLM's scheduler together, as one LLM.generate(list) would. A lone request pays at
// most one kBurstGap.
void EngineWorker::CoalesceBurst(std::unique_lock<std::mutex>& lock) {
  constexpr auto kBurstGap = std::chrono::microseconds(300);
  constexpr auto kBurstMax = std::chrono::milliseconds(5);
  const auto deadline = std::chrono::steady_clock::now() + kBurstMax;
  while (!closeRequested_ && std::chrono::steady_clock::now() < deadline) {
    const size_t seen = queue_.size();
    if (!wake_.wait_for(lock, kBurstGap, [&] { return closeRequested_ || queue_.size() != seen; })) break;
  }
}

// Called with mutex_ held: moves the queued commands into `commands` (comma-joined).
void EngineWorker::TakeCommands(std::string* commands, bool* closing) {
  for (size_t i = 0; i < queue_.size(); ++i) *commands += (i ? "," : "") + queue_[i];
  queue_.clear();
  *closing = closeRequested_;
}

void EngineWorker::Loop(void* enginePtr) {
  py::object& engine = *static_cast<py::object*>(enginePtr);
  bool busy = true;  // the first iteration delivers the ready (or fatal) event
  for (;;) {
    std::string commands = "[";
    bool closing;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (busy || closeRequested_ || !queue_.empty()) {
        // Between engine steps keep the GIL: handing it to another Python thread here could stall the
        // next step by a switch interval (Post never takes the GIL, so holding mutex_ with it is safe).
        TakeCommands(&commands, &closing);
      } else {
        // Sleep without the GIL while the engine is idle: vLLM's own threads need it.
        lock.unlock();
        py::gil_scoped_release release;
        lock.lock();
        wake_.wait(lock, [&] { return closeRequested_ || !queue_.empty(); });
        CoalesceBurst(lock);
        TakeCommands(&commands, &closing);
        lock.unlock();  // before the GIL is taken back
      }
    }
    commands += "]";
    try {
      // run_once applies the commands, runs one engine step when requests are unfinished, and returns
      // (events JSON, still busy, still alive).
      py::tuple result = engine.attr("run_once")(commands, closing);
      std::string events = result[0].cast<std::string>();
      busy = result[1].cast<bool>();
      bool alive = result[2].cast<bool>();
      if (events.size() > 2) emit_(std::move(events));
      if (!alive) return;
    } catch (py::error_already_set& e) {
      emit_(FatalEvent("ENGINE_DIED", PythonTypeName(e), e.what()));
      try {
        engine.attr("shutdown")();
      } catch (py::error_already_set&) {
      }
      return;
    }
  }
}

}  // namespace vllm_node
