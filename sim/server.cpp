// piapi-sim's HTTP shell: a Beast HTTP/1.1 server on 127.0.0.1, one coroutine
// per connection (keep-alive), its own io_context on a background thread. The
// only Beast code of sim/. All PiAPI behaviour lives in SimModel; this file
// moves bytes, applies FaultInjector decisions and serves /sim/control.
#include "sim/server.hpp"

#include <chrono>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "sim/faults.hpp"
#include "sim/model.hpp"

namespace sd::sim {

namespace net = boost::asio;     // from <boost/asio.hpp>
namespace beast = boost::beast;  // from <boost/beast.hpp>
namespace http = beast::http;    // from <boost/beast/http.hpp>
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kMaxBodyBytes = 1 << 20;  // requests larger than this get 413
constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(60);  // a large video on a slow reader

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

const char kCloudflarePage[] =
    "<!DOCTYPE html>\n<html lang=\"en-US\"><head><title>api.piapi.ai | 503: Service temporarily "
    "unavailable</title><meta charset=\"UTF-8\"></head>\n<body><div id=\"cf-wrapper\"><h1>"
    "<span>Error</span> <span>503</span></h1><h2>Service temporarily unavailable</h2>"
    "<p>The web server reported a temporary error. Please try again in a few minutes.</p>"
    "<p>Cloudflare Ray ID: <strong>8a1b2c3d4e5f6a7b</strong></p></div></body></html>\n";

// Closes the socket with an RST (SO_LINGER 0), as a crashed proxy would.
void reset(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().set_option(tcp::socket::linger(true, 0), ec);
  stream.socket().close(ec);
}

// Half-closes then closes; errors are irrelevant at this point.
void close_gracefully(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

SimResponse json_error(int status, const std::string& message) {
  SimResponse r;
  r.status = status;
  r.body = nlohmann::json{{"code", status}, {"message", message}, {"data", nullptr}}.dump();
  return r;
}

}  // namespace

//------------------------------------------------------------------------------

struct SimServer::Impl {
  explicit Impl(SimOptions o)
      : options(std::move(o)),
        clock(options.clock ? options.clock : &system_clock),
        model(options),
        faults(options.faults, options.seed) {}

  // Constant after construction.
  const SimOptions options;
  const SystemClock system_clock;
  const Clock* const clock;

  // State below is protected by mu (the io thread and stats() callers).
  mutable std::mutex mu;
  SimModel model;
  FaultInjector faults;

  // Owned by the io thread.
  std::set<tcp::socket*> sockets;
  std::thread thread;
  uint16_t port = 0;
  std::once_flag stop_once;

  // Declared last so that it is destroyed first: its destructor destroys the
  // suspended session coroutines, which still touch `sockets`.
  net::io_context io{1};
  tcp::acceptor acceptor{io};

  FaultDecision decide(const SimRequest& req) {
    std::lock_guard lock(mu);
    return faults.decide(req.method, req.target);
  }

  // Answers `req` through the model (or /sim/control), counting `fault` if any.
  SimResponse process(const SimRequest& req, FaultKind fault) {
    std::lock_guard lock(mu);
    if (fault != FaultKind::kNone) model.note_fault(fault_name(fault));
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    switch (fault) {
      case FaultKind::kHttp5xx:
        return json_error(500, "internal server error");
      case FaultKind::kHttp429: {
        SimResponse r = json_error(429, "too many requests");
        r.headers.emplace_back("Retry-After", std::to_string(faults.rates().retry_after_s));
        return r;
      }
      case FaultKind::kHtmlBody: {
        SimResponse r;
        r.status = 503;
        r.content_type = "text/html; charset=UTF-8";
        r.body = kCloudflarePage;
        return r;
      }
      default:
        break;
    }
    if (path == "/sim/control") {
      if (req.method != "POST") return json_error(405, "method not allowed");
      if (auto ok = faults.apply_control(req.body); !ok)
        return json_error(400, ok.error().message());
      SimResponse r;
      r.body = R"({"ok":true})";
      return r;
    }
    return model.handle(req, clock->now());
  }
};

namespace {

using Impl = SimServer::Impl;

SimRequest to_sim_request(const http::request<http::string_body>& req) {
  SimRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& field : req) r.headers.emplace_back(field.name_string(), field.value());
  r.body = req.body();
  return r;
}

// Writes `r` as the reply to a request of HTTP version `version`.
net::awaitable<beast::error_code> write_response(beast::tcp_stream& stream, SimResponse r,
                                                 unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "piapi-sim");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  co_return ec;
}

// Sends the status line, headers and half of the body with a Content-Length
// for all of it, then closes: a truncated reply.
net::awaitable<void> write_truncated(beast::tcp_stream& stream, const SimResponse& r) {
  std::string raw = "HTTP/1.1 " + std::to_string(r.status) + " " +
                    std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                    "\r\nServer: piapi-sim\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n\r\n";
  raw += r.body.substr(0, r.body.size() / 2);
  stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await net::async_write(stream, net::buffer(raw), kTuple);
  (void)ec;  // the connection is closed either way
  (void)n;
  close_gracefully(stream);
}

// Serves one connection until the peer closes, an error, a fault that closes
// it, or the server stops.
net::awaitable<void> session(Impl& impl, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  impl.sockets.insert(&stream.socket());
  struct Untrack {
    Impl& impl;
    tcp::socket* s;
    ~Untrack() { impl.sockets.erase(s); }
  } untrack{impl, &stream.socket()};

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    stream.expires_after(std::chrono::seconds(impl.options.idle_timeout_s));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      SimResponse too_large = json_error(413, "request too large");
      co_await write_response(stream, std::move(too_large), 11, false);
      close_gracefully(stream);
      co_return;
    }
    if (ec) co_return;  // end of stream, timeout, stop(), or a malformed request
    const http::request<http::string_body>& req = parser.get();
    const SimRequest sim_req = to_sim_request(req);
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();

    const FaultDecision fault = impl.decide(sim_req);
    if (fault.latency_ms > 0) {
      {
        std::lock_guard lock(impl.mu);
        impl.model.note_fault("latency");
      }
      net::steady_timer timer(co_await net::this_coro::executor);
      timer.expires_after(std::chrono::milliseconds(fault.latency_ms));
      auto [timer_ec] = co_await timer.async_wait(kTuple);
      if (timer_ec) co_return;
    }
    if (fault.kind == FaultKind::kResetBefore) {
      {
        std::lock_guard lock(impl.mu);
        impl.model.note_fault(fault_name(fault.kind));
      }
      reset(stream);
      co_return;
    }
    SimResponse res = impl.process(sim_req, fault.kind);
    if (fault.kind == FaultKind::kResetAfter) {
      reset(stream);  // processed, reply lost: the dangerous case
      co_return;
    }
    if (fault.kind == FaultKind::kTruncatedBody) {
      co_await write_truncated(stream, res);
      co_return;
    }
    const beast::error_code write_ec =
        co_await write_response(stream, std::move(res), version, keep_alive);
    if (write_ec) co_return;
    if (!keep_alive) {
      close_gracefully(stream);
      co_return;
    }
  }
}

net::awaitable<void> listener(Impl& impl) {
  for (;;) {
    auto [ec, socket] = co_await impl.acceptor.async_accept(kTuple);
    if (ec) {
      if (!impl.acceptor.is_open()) co_return;  // stop()
      continue;                                 // e.g. EMFILE: keep serving the others
    }
    net::co_spawn(impl.io, session(impl, std::move(socket)), [](std::exception_ptr) {});
  }
}

}  // namespace

//------------------------------------------------------------------------------

Result<std::unique_ptr<SimServer>> SimServer::start(SimOptions options) {
  if (auto valid = SimModel::validate(options); !valid)
    return Fail(valid.error().With("piapi-sim"));
  auto impl = std::make_unique<Impl>(std::move(options));
  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(Error::Io("piapi-sim: cannot listen on 127.0.0.1:" +
                          std::to_string(impl->options.port) + ": " + ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  net::co_spawn(impl->io, listener(*impl), [](std::exception_ptr) {});
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->io.run();
        return;
      } catch (const std::exception&) {
        // A handler threw (a bug); keep serving the other connections.
      }
    }
  });
  return std::unique_ptr<SimServer>(new SimServer(std::move(impl)));
}

SimServer::SimServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SimServer::~SimServer() {
  stop();
}

uint16_t SimServer::port() const {
  return impl_->port;
}

std::string SimServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

nlohmann::json SimServer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->model.stats(impl_->clock->now());
}

void SimServer::set_faults(FaultRates rates) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.set_rates(std::move(rates));
}

void SimServer::stop() {
  if (!impl_) return;
  std::call_once(impl_->stop_once, [this] {
    Impl* impl = impl_.get();
    net::post(impl->io, [impl] {
      beast::error_code ec;
      impl->acceptor.close(ec);
      for (tcp::socket* s : impl->sockets) s->close(ec);
      impl->io.stop();
    });
    if (impl->thread.joinable()) impl->thread.join();
  });
}

}  // namespace sd::sim
