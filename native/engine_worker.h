// One engine thread per Engine: it alone holds the GIL while it drives vLLM, and it talks to the JS thread
// only through plain strings (JSON), never Napi or Python objects.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace vllm_node {

class EngineWorker {
 public:
  // Called on the engine thread with one JSON array of events per engine step.
  using Emit = std::function<void(std::string)>;

  // `done` runs on the engine thread after its last Emit.
  EngineWorker(std::string optionsJson, Emit emit, std::function<void()> done);
  ~EngineWorker();

  void Start();
  // Queue commands for the engine thread: a JSON object, or several joined by commas (the loop wraps them
  // all in one JSON array); thread-safe, never blocks on Python.
  void Post(std::string commandJson);
  // Ask the thread to shut vLLM down and stop; returns at once.
  void RequestClose();
  // Wait for the thread to finish (used at process exit).
  void Join();

 private:
  void Run();
  void Loop(void* engine);
  void CoalesceBurst(std::unique_lock<std::mutex>& lock);
  void TakeCommands(std::string* commands, bool* closing);

  std::string optionsJson_;
  Emit emit_;
  std::function<void()> done_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool closeRequested_ = false;
};

}  // namespace vllm_node
