// Helpers for the client tests: run one coroutine to completion on a test
// io_context, a temporary directory, and RawServer, a scripted HTTP/1.1 (or
// TLS) server on 127.0.0.1 for the transport quirks the simulator lacks
// (chunked bodies, odd header casing, idle keep-alive connections dropped by
// the server, redirects, slow replies).
//
// Thread contract: RawServer serves each connection on its own thread; the
// script callback must be thread-safe. Counters are atomics.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace sd::test {

// Runs `aw` on `ioc` until it completes and returns its value.
template <class T>
T run_on(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw) {
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.restart();
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class ClientTempDir {
 public:
  ClientTempDir();
  ~ClientTempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Lists the names in a directory.
std::vector<std::string> list_dir(const std::string& dir);
std::string read_whole_file(const std::string& path);

// One request as the raw server read it.
struct RawRequest {
  std::string method;
  std::string target;
  std::string head;  // request line + headers, verbatim
  std::string body;
  // The first header named `name` (case-insensitive), or "".
  std::string header(const std::string& name) const;
};

// What the server does with one request.
struct RawAction {
  std::string reply;         // bytes written verbatim (may be empty)
  int delay_ms = 0;          // wait before replying
  bool close_after = false;  // close the connection after the reply
  bool drop = false;         // close at once without replying (a stale keep-alive)
};

// Builds a complete reply with Content-Length; `extra_headers` are "Name: v\r\n" lines.
std::string http_reply(int status, const std::string& body, const std::string& extra_headers = "",
                       const std::string& content_type = "application/json");

class RawServer {
 public:
  // (connection index from 0, request index on that connection from 0, request) -> action.
  using Script = std::function<RawAction(int conn, int req, const RawRequest&)>;

  // Starts listening on 127.0.0.1:0. With cert/key PEM files, speaks TLS.
  explicit RawServer(Script script, std::string cert_file = "", std::string key_file = "");
  ~RawServer();  // stops
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  uint16_t port() const { return port_; }
  std::string base_url() const;
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }
  int open_connections() const { return open_.load(); }
  int handshake_failures() const { return handshake_failures_.load(); }
  // Every request seen, in arrival order.
  std::vector<RawRequest> seen() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> handshake_failures_{0};
  friend struct RawServerAccess;
};

}  // namespace sd::test
