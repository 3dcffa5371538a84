// piapi-sim as a library: an HTTP/1.1 server on 127.0.0.1 around the
// in-memory PiAPI model (sim/model.hpp), with seeded fault injection.
// Tests, benchmarks and `seedanced --demo` start it in-process; the
// `piapi-sim` program is a thin main around it.
//
// Owner: sim/. GET /sim/stats returns the model's ground truth (see
// sim/model.hpp); POST /sim/control {"faults": {...} | "off"} changes fault
// rates at runtime (see FaultInjector::apply_control in sim/faults.hpp).
//
// Thread contract: start() runs the server on its own thread; the public
// methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"
#include "sim/options.hpp"

namespace sd::sim {

class SimServer {
 public:
  // Listens on 127.0.0.1:options.port (0 = any free port) and serves on a
  // background thread until stop() or destruction.
  static Result<std::unique_ptr<SimServer>> start(SimOptions options);
  ~SimServer();  // stops
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  // The same document GET /sim/stats returns.
  nlohmann::json stats() const;
  // Replaces the fault rates at runtime, as POST /sim/control does (the
  // max_faults count restarts).
  void set_faults(FaultRates rates);
  // Closes the listener and every connection and joins the server thread.
  // Idempotent. REQUIRES: not called from the server thread.
  void stop();

  struct Impl;  // opaque; public only so that sim/server.cpp's helpers can name it

 private:
  explicit SimServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sd::sim
