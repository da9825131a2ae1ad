// The N-API surface: initialise Python, and one NativeEngine per JS Engine. Everything else is Python
// (python/vllm_node) or TypeScript (src/).
#include <napi.h>

#include <memory>
#include <mutex>
#include <set>

#include "engine_worker.h"
#include "python_runtime.h"

namespace vllm_node {
namespace {

class NativeEngine;

// The engines of one Node environment (the main thread or a worker_threads Worker). When that environment is torn
// down, its cleanup hook closes its own engines only: a Worker that exits leaves the main thread's engines serving.
// Shared by the hook and the environment's engines, so that whichever goes last frees it.
struct EnvEngines {
  std::mutex mutex;
  std::set<NativeEngine*> live;
};

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  // `engines` (the environment's list) reaches the constructor as the class's data.
  static Napi::Function Define(Napi::Env env, std::shared_ptr<EnvEngines>* engines) {
    return DefineClass(env, "NativeEngine",
                       {InstanceMethod<&NativeEngine::Post>("post"), InstanceMethod<&NativeEngine::Close>("close"),
                        InstanceMethod<&NativeEngine::Ref>("ref"), InstanceMethod<&NativeEngine::Unref>("unref")},
                       engines);
  }

  // new NativeEngine(optionsJson: string, onEvents: (eventsJson: string) => void)
  explicit NativeEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "NativeEngine(optionsJson: string, onEvents: function)");
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "vllm-node-engine", 0, 1);
    auto tsfn = tsfn_;
    worker_ = std::make_unique<EngineWorker>(
        info[0].As<Napi::String>().Utf8Value(),
        [tsfn](std::string events) mutable {
          auto* payload = new std::string(std::move(events));
          napi_status status = tsfn.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, std::string* data) {
            std::unique_ptr<std::string> owned(data);
            if (env != nullptr && fn != nullptr) fn.Call({Napi::String::New(env, *owned)});
          });
          if (status != napi_ok) delete payload;
        },
        [tsfn]() mutable { tsfn.Release(); });
    envEngines_ = *static_cast<std::shared_ptr<EnvEngines>*>(info.Data());
    worker_->Start();
    std::lock_guard<std::mutex> lock(envEngines_->mutex);
    envEngines_->live.insert(this);
  }

  ~NativeEngine() override {
    {
      std::lock_guard<std::mutex> lock(envEngines_->mutex);
      envEngines_->live.erase(this);
    }
    Shutdown();
  }

  // Process exit: stop vLLM (and its EngineCore child) before Node tears the environment down.
  void Shutdown() {
    if (!worker_) return;
    worker_->RequestClose();
    worker_->Join();
  }

  // Environment teardown: close this environment's engines (their EngineCore children too).
  static void ShutdownAll(EnvEngines& engines) {
    std::set<NativeEngine*> live;
    {
      std::lock_guard<std::mutex> lock(engines.mutex);
      live = engines.live;
    }
    for (NativeEngine* engine : live) engine->Shutdown();
  }

 private:
  Napi::Value Post(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "post(commandJson: string)");
    worker_->Post(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    worker_->RequestClose();
    return info.Env().Undefined();
  }

  // While no request is pending, the engine must not keep Node's event loop alive.
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  std::shared_ptr<EnvEngines> envEngines_;
  Napi::ThreadSafeFunction tsfn_;
  std::unique_ptr<EngineWorker> worker_;
};

// initPython({ executable: string, sysPath: string[] }): void
Napi::Value InitPython(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "initPython(settings: object)");
  Napi::Object settings = info[0].As<Napi::Object>();
  PythonSettings ps;
  ps.executable = settings.Get("executable").As<Napi::String>().Utf8Value();
  Napi::Array sysPath = settings.Get("sysPath").As<Napi::Array>();
  for (uint32_t i = 0; i < sysPath.Length(); ++i) ps.sysPath.push_back(sysPath.Get(i).As<Napi::String>().Utf8Value());
  try {
    EnsurePython(ps);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pythonVersion", Napi::String::New(env, CompiledPythonVersion()));
  exports.Set("initPython", Napi::Function::New(env, InitPython));
  // Owned by the cleanup hook; each engine of this environment holds its own reference.
  auto* engines = new std::shared_ptr<EnvEngines>(std::make_shared<EnvEngines>());
  exports.Set("NativeEngine", NativeEngine::Define(env, engines));
  napi_add_env_cleanup_hook(
      env,
      [](void* data) {
        auto* owned = static_cast<std::shared_ptr<EnvEngines>*>(data);
        NativeEngine::ShutdownAll(**owned);
        delete owned;
      },
      engines);
  return exports;
}

}  // namespace
}  // namespace vllm_node

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return vllm_node::Init(env, exports); }

NODE_API_MODULE(vllm_node, InitAddon)
