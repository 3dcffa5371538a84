// The PiAPI client's transport: every line of Beast / Asio-SSL code of the
// client lives in this file (../shared/toolchain.md: few Beast units).
//
// Shape: PiapiClient::Impl owns the options, the TLS context and a bounded
// pool of keep-alive connections to the API origin. An API call is
// acquire a pool slot -> (reuse an idle connection | resolve + connect +
// handshake) -> write -> read -> give the connection back or close it.
// Failures are classified into ApiError here (phase, bytes written, whether
// any reply byte arrived); body parsing is client/piapi_json.cpp.
// Downloads use their own short-lived connections (any host, redirects).
#include "client/piapi_client.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "client/piapi_json.hpp"
#include "client/url.hpp"

namespace sd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using piapi::Url;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr int kPageSize = 100;
constexpr int kMaxPages = 1'000;  // 100,000 assets; plans allow at most 1,000
constexpr int kMaxRedirects = 5;
constexpr uint32_t kHeaderLimit = 64 * 1024;
// Idle keep-alive connections older than this are not reused (servers and
// CDNs commonly drop them after 60 s or less).
constexpr auto kMaxIdle = std::chrono::seconds(45);

// A connection, plain or TLS. Exactly one of plain/tls is set.
struct Conn {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since{};

  beast::tcp_stream& tcp() { return plain ? *plain : tls->next_layer(); }
  void close() {
    beast::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }
  // false when the peer has closed (or sent something unexpected on) an idle
  // connection. A non-blocking peek; no bytes are consumed.
  bool looks_alive() {
    if (!tcp().socket().is_open()) return false;
    char c = 0;
    const ssize_t n = ::recv(tcp().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;  // FIN received
    // Bytes on an idle connection: for plain HTTP a protocol violation, for
    // TLS almost always the close_notify alert of a server closing it. Using
    // it would turn a POST into "outcome unknown", so drop it; the price of
    // a wrong guess is one handshake.
    if (n > 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
};

// Which step of an exchange failed.
enum class Phase { kResolve, kConnect, kHandshake, kWrite, kRead };

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kResolve:
      return "resolving";
    case Phase::kConnect:
      return "connecting to";
    case Phase::kHandshake:
      return "TLS handshake with";
    case Phase::kWrite:
      return "sending the request to";
    case Phase::kRead:
      return "reading the reply from";
  }
  return "talking to";
}

ApiError transport_error(Phase phase, const beast::error_code& ec, const std::string& origin,
                         Duration timeout, bool maybe_processed) {
  ApiError e;
  e.kind = ApiError::Kind::kTransient;
  e.maybe_processed = maybe_processed;
  std::string what;
  if (ec == beast::error::timeout) {
    what = "timed out after " + std::to_string(timeout.count()) + " ms";
  } else if (ec == http::error::end_of_stream || ec == asio::error::eof) {
    what = "connection closed by the server";
  } else {
    what = ec.message();
  }
  e.message = std::string(phase_name(phase)) + " " + origin + ": " + what;
  return e;
}

// The reply of one exchange, before any interpretation.
struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
  bool keep_alive = false;
};

// The result of writing one request and reading its reply on a connection.
struct Exchange {
  bool ok = false;
  Reply reply;
  Phase phase = Phase::kWrite;  // where it failed when !ok
  beast::error_code ec;
  uint64_t bytes_written = 0;
  bool request_written = false;
  bool got_reply_bytes = false;
};

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Percent-encodes one path segment (ids are opaque strings).
std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Lower-level Retry-After for an error reply.
std::optional<Duration> retry_after_of(const std::string& header, const Clock& clock) {
  if (header.empty()) return std::nullopt;
  return piapi::parse_retry_after(header, clock.now());
}

}  // namespace

struct PiapiClient::Impl : std::enable_shared_from_this<PiapiClient::Impl> {
  // --- constant after construction
  asio::any_io_executor ex;
  ClientOptions opt;
  Url api;             // the base URL (its target is the path prefix, without trailing '/')
  std::string prefix;  // path prefix of base_url, "" or "/something"
  ssl::context tls_ctx{ssl::context::tls_client};
  SystemClock system_clock;
  const Clock* clock = nullptr;

  // --- mutable, on the executor's thread only
  struct Waiter {
    explicit Waiter(asio::any_io_executor e) : timer(e, SteadyClock::time_point::max()) {}
    asio::steady_timer timer;
    bool granted = false;
    std::unique_ptr<Conn> conn;  // an idle connection handed over, or null (connect yourself)
  };
  std::deque<std::unique_ptr<Conn>> idle;
  std::deque<std::shared_ptr<Waiter>> waiters;
  int busy = 0;  // slots handed out
  bool stopping = false;

  Impl(asio::any_io_executor e, ClientOptions o) : ex(std::move(e)), opt(std::move(o)) {}

  // A pool slot; releases itself on destruction unless given back.
  class Lease {
   public:
    Lease(std::shared_ptr<Impl> impl, std::unique_ptr<Conn> conn)
        : impl_(std::move(impl)), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : impl_(std::move(o.impl_)), conn_(std::move(o.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (impl_) impl_->release(nullptr);
    }
    std::unique_ptr<Conn> take() { return std::move(conn_); }
    // Returns a healthy keep-alive connection to the pool and frees the slot.
    void give_back(std::unique_ptr<Conn> c) {
      auto impl = std::move(impl_);
      impl->release(std::move(c));
    }

   private:
    std::shared_ptr<Impl> impl_;
    std::unique_ptr<Conn> conn_;
  };

  ApiError scrub(ApiError e) const {
    // Defence in depth: the key is never put in a message, but a server could echo it.
    if (opt.api_key.size() >= 4) {
      for (size_t pos; (pos = e.message.find(opt.api_key)) != std::string::npos;) {
        e.message.replace(pos, opt.api_key.size(), "<redacted>");
      }
    }
    return e;
  }

  // --- pool ------------------------------------------------------------

  void release(std::unique_ptr<Conn> c) {
    if (c) c->idle_since = SteadyClock::now();
    if (stopping && c) {
      c->close();
      c.reset();
    }
    if (!waiters.empty()) {
      auto w = std::move(waiters.front());
      waiters.pop_front();
      w->granted = true;
      w->conn = std::move(c);
      w->timer.cancel();
      return;  // the slot moves to the waiter; busy is unchanged
    }
    --busy;
    if (c) idle.push_back(std::move(c));
  }

  std::unique_ptr<Conn> pop_idle() {
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (SteadyClock::now() - c->idle_since < kMaxIdle && c->looks_alive()) return c;
      c->close();
    }
    return nullptr;
  }

  asio::awaitable<ApiResult<Lease>> acquire() {
    auto self = shared_from_this();
    if (stopping) co_return tl::unexpected(stopped_error());
    if (auto c = pop_idle()) {
      ++busy;
      co_return Lease(self, std::move(c));
    }
    if (busy + static_cast<int>(idle.size()) < std::max(1, opt.max_connections)) {
      ++busy;
      co_return Lease(self, nullptr);
    }
    auto w = std::make_shared<Waiter>(ex);
    waiters.push_back(w);
    // Woken by release() (granted) or shutdown() (not granted); both cancel the timer.
    auto [ec] = co_await w->timer.async_wait(kUseTuple);
    (void)ec;
    if (!w->granted) co_return tl::unexpected(stopped_error());
    std::unique_ptr<Conn> c = std::move(w->conn);
    if (c && !(SteadyClock::now() - c->idle_since < kMaxIdle && c->looks_alive())) {
      c->close();
      c.reset();
    }
    co_return Lease(self, std::move(c));
  }

  static ApiError stopped_error() {
    ApiError e;
    e.kind = ApiError::Kind::kTransient;
    e.maybe_processed = false;
    e.message = "client is shutting down";
    return e;
  }

  // --- connect ---------------------------------------------------------

  asio::awaitable<ApiResult<std::unique_ptr<Conn>>> connect(const Url& url) {
    auto self = shared_from_this();
    const std::string origin = url.origin();
    tcp::resolver::results_type endpoints;
    if (is_ip_literal(url.host)) {
      beast::error_code ec;
      auto addr = asio::ip::make_address(url.host, ec);
      endpoints = tcp::resolver::results_type::create(tcp::endpoint(addr, url.port), url.host,
                                                      std::to_string(url.port));
    } else {
      // getaddrinfo runs on Asio's resolver thread and cannot be interrupted,
      // so the deadline races it: whichever finishes first wakes us; a late
      // resolver completion only touches the shared state.
      struct Race {
        explicit Race(asio::any_io_executor e)
            : resolver(e), deadline(e), wake(e, SteadyClock::time_point::max()) {}
        tcp::resolver resolver;
        asio::steady_timer deadline;
        asio::steady_timer wake;
        bool done = false;
        beast::error_code ec;
        tcp::resolver::results_type results;
      };
      auto race = std::make_shared<Race>(ex);
      race->resolver.async_resolve(
          url.host, std::to_string(url.port),
          [race](beast::error_code ec, tcp::resolver::results_type results) {
            if (race->done) return;
            race->done = true;
            race->ec = ec;
            race->results = std::move(results);
            race->deadline.cancel();
            race->wake.cancel();
          });
      race->deadline.expires_after(opt.timeout);
      race->deadline.async_wait([weak = std::weak_ptr<Race>(race)](beast::error_code ec) {
        auto r = weak.lock();
        if (ec || !r || r->done) return;
        r->done = true;
        r->ec = beast::error::timeout;
        r->resolver.cancel();
        r->wake.cancel();
      });
      auto [wake_ec] = co_await race->wake.async_wait(kUseTuple);
      (void)wake_ec;  // cancelled on purpose by whichever side finished first
      if (race->ec) {
        co_return tl::unexpected(
            transport_error(Phase::kResolve, race->ec, origin, opt.timeout, false));
      }
      endpoints = std::move(race->results);
    }

    auto conn = std::make_unique<Conn>();
    if (url.tls) {
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, tls_ctx);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ex);
    }
    conn->tcp().expires_after(opt.timeout);
    {
      auto [ec, ep] = co_await conn->tcp().async_connect(endpoints, kUseTuple);
      if (ec) {
        co_return tl::unexpected(transport_error(Phase::kConnect, ec, origin, opt.timeout, false));
      }
    }
    beast::error_code nodelay_ec;
    conn->tcp().socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (url.tls) {
      auto& s = *conn->tls;
      if (!is_ip_literal(url.host) &&
          !SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str())) {
        co_return tl::unexpected(transport_error(
            Phase::kHandshake,
            beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
            origin, opt.timeout, false));
      }
      beast::error_code vec;
      s.set_verify_mode(ssl::verify_peer, vec);
      if (!vec) s.set_verify_callback(ssl::host_name_verification(url.host), vec);
      if (vec) {
        co_return tl::unexpected(
            transport_error(Phase::kHandshake, vec, origin, opt.timeout, false));
      }
      conn->tcp().expires_after(opt.timeout);
      auto [ec] = co_await s.async_handshake(ssl::stream_base::client, kUseTuple);
      if (ec) {
        co_return tl::unexpected(
            transport_error(Phase::kHandshake, ec, origin, opt.timeout, false));
      }
    }
    co_return conn;
  }

  // --- one exchange ----------------------------------------------------

  template <class Stream>
  asio::awaitable<Exchange> exchange_on(Stream& s, Conn& conn,
                                        const http::request<http::string_body>& req) {
    Exchange x;
    conn.tcp().expires_after(opt.timeout);
    {
      auto [ec, n] = co_await http::async_write(s, req, kUseTuple);
      x.bytes_written = n;
      if (ec) {
        x.phase = Phase::kWrite;
        x.ec = ec;
        co_return x;
      }
    }
    x.request_written = true;
    http::response_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(opt.max_body_bytes);
    conn.tcp().expires_after(opt.timeout);
    auto [ec, n] = co_await http::async_read(s, conn.buffer, parser, kUseTuple);
    (void)n;
    x.got_reply_bytes = parser.got_some() || conn.buffer.size() > 0;
    if (ec) {
      x.phase = Phase::kRead;
      x.ec = ec;
      if (parser.is_header_done()) x.reply.status = parser.get().result_int();
      co_return x;
    }
    auto& res = parser.get();
    x.ok = true;
    x.reply.status = res.result_int();
    x.reply.keep_alive = res.keep_alive() && !parser.need_eof();
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
      x.reply.retry_after = std::string(it->value());
    }
    x.reply.body = std::move(res.body());
    co_return x;
  }

  http::request<http::string_body> make_request(http::verb verb, const Url& url,
                                                const std::string& target, std::string body,
                                                bool with_key) const {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, url.host_header());
    req.set(http::field::user_agent, opt.user_agent);
    req.set(http::field::accept, with_key ? "application/json" : "*/*");
    if (with_key) req.set("X-API-Key", opt.api_key);
    req.keep_alive(true);
    if (verb == http::verb::post || verb == http::verb::put || !body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
    }
    return req;
  }

  // Sends one API request over a pooled connection and returns the raw reply.
  // A reused idle connection that fails before any reply byte is retried once
  // on a fresh connection when that is safe: always when nothing was written,
  // and for idempotent requests also after the write.
  asio::awaitable<ApiResult<Reply>> call(http::verb verb, std::string path, std::string body,
                                         bool idempotent) {
    auto self = shared_from_this();
    const std::string target = prefix + path;
    const auto req = make_request(verb, api, target, std::move(body), true);
    const std::string origin = api.origin();
    for (int attempt = 0;; ++attempt) {
      auto lease = co_await acquire();
      if (!lease) co_return tl::unexpected(lease.error());
      std::unique_ptr<Conn> conn = lease->take();
      if (conn && attempt > 0) {  // the pool just served a dead one: the others may be too
        conn->close();
        conn.reset();
      }
      const bool reused = conn != nullptr;
      if (!conn) {
        auto c = co_await connect(api);
        if (!c) co_return tl::unexpected(scrub(c.error()));
        conn = std::move(*c);
      }
      Exchange x;
      if (conn->tls) {
        x = co_await exchange_on(*conn->tls, *conn, req);
      } else {
        x = co_await exchange_on(*conn->plain, *conn, req);
      }
      if (x.ok) {
        if (x.reply.keep_alive && conn->buffer.size() == 0 && !stopping) {
          lease->give_back(std::move(conn));
        } else {
          conn->close();
        }
        co_return std::move(x.reply);
      }
      conn->close();
      const bool nothing_written = !x.request_written && x.bytes_written == 0;
      const bool stale = reused && !x.got_reply_bytes && x.ec != beast::error::timeout;
      if (attempt == 0 && stale && (nothing_written || idempotent)) continue;
      // Outcome: unknown once any byte of the request left, unless nothing was written.
      ApiError e = transport_error(x.phase, x.ec, origin, opt.timeout, !nothing_written);
      if (x.phase == Phase::kRead && x.got_reply_bytes) {
        e.http_status = x.reply.status;
        if (x.ec == http::error::body_limit) {
          e.message = "reply from " + origin + " is larger than " +
                      std::to_string(opt.max_body_bytes) + " bytes";
        } else if (x.ec == http::error::partial_message || x.ec == http::error::end_of_stream ||
                   x.ec == asio::error::eof || x.ec == asio::error::connection_reset) {
          e.message = "reply from " + origin + " was truncated (" + x.ec.message() + ")";
        } else if (x.ec != beast::error::timeout) {
          e.message = "malformed reply from " + origin + ": " + x.ec.message();
        }
      }
      co_return tl::unexpected(scrub(std::move(e)));
    }
  }

  // The error for a non-2xx reply.
  ApiError reply_error(const Reply& r) const {
    return scrub(piapi::error_from_reply(r.status, r.body, retry_after_of(r.retry_after, *clock)));
  }

  // A parse failure of a 2xx body, with the real status.
  ApiError body_error(ApiError e, int status) const {
    if (e.http_status >= 200 && e.http_status < 300) e.http_status = status;
    return scrub(std::move(e));
  }

  template <class T, class Parse>
  asio::awaitable<ApiResult<T>> call_parsed(http::verb verb, std::string path, std::string body,
                                            bool idempotent, Parse parse) {
    auto self = shared_from_this();
    auto r = co_await call(verb, std::move(path), std::move(body), idempotent);
    if (!r) co_return tl::unexpected(r.error());
    if (r->status < 200 || r->status >= 300) co_return tl::unexpected(reply_error(*r));
    auto v = parse(r->body);
    if (!v) co_return tl::unexpected(body_error(v.error(), r->status));
    if constexpr (std::is_void_v<T>) {
      co_return ApiResult<void>{};
    } else {
      co_return std::move(*v);
    }
  }

  // --- list ------------------------------------------------------------

  asio::awaitable<ApiResult<std::vector<RemoteAsset>>> list_assets() {
    auto self = shared_from_this();
    std::vector<RemoteAsset> all;
    std::unordered_set<std::string> seen;  // ids: drops duplicates when the list shifts
    int64_t page_no = 1;
    for (int pages = 0; pages < kMaxPages; ++pages) {
      std::string path = "/api/v1/asset/list?page=" + std::to_string(page_no) +
                         "&page_size=" + std::to_string(kPageSize);
      std::string no_body;
      auto page = co_await call_parsed<piapi::AssetPage>(
          http::verb::get, std::move(path), std::move(no_body), true, piapi::parse_asset_page);
      if (!page) co_return tl::unexpected(page.error());
      const size_t got = page->items.size();
      size_t fresh = 0;
      for (auto& a : page->items) {
        if (!seen.insert(a.asset_id).second) continue;
        ++fresh;
        all.push_back(std::move(a));
      }
      if (got == 0) co_return all;
      if (fresh == 0) {
        // The server repeats itself (it ignores `page`?): the list cannot be
        // trusted to be complete, and callers reconcile uploads from it.
        ApiError e;
        e.kind = ApiError::Kind::kTransient;
        e.http_status = 200;
        e.message = "asset list paging did not advance at page " + std::to_string(page_no);
        co_return tl::unexpected(e);
      }
      bool more;
      if (page->has_more) {
        more = *page->has_more;
      } else if (page->next_page_null) {
        more = false;
      } else if (page->next_page) {
        more = true;
      } else if (page->total) {
        more = static_cast<int64_t>(all.size()) < *page->total;
      } else {
        const int64_t size = page->page_size.value_or(kPageSize);
        more = static_cast<int64_t>(got) >= size;
      }
      if (page->total && static_cast<int64_t>(all.size()) >= *page->total) more = false;
      if (!more) co_return all;
      int64_t next = page->next_page.value_or(page_no + 1);
      if (next <= page_no) next = page_no + 1;  // never go backwards: no loops
      page_no = next;
    }
    ApiError e;
    e.kind = ApiError::Kind::kTransient;
    e.message = "asset list did not end after " + std::to_string(kMaxPages) + " pages";
    co_return tl::unexpected(e);
  }

  // --- download --------------------------------------------------------

  struct DownloadHop {
    std::optional<std::string> redirect;  // Location to follow
    uint64_t bytes = 0;
  };

  ApiError download_error(ApiError::Kind kind, std::string message, int status = 0) const {
    ApiError e;
    e.kind = kind;
    e.http_status = status;
    e.maybe_processed = false;
    e.message = std::move(message);
    return scrub(std::move(e));
  }

  template <class Stream>
  asio::awaitable<ApiResult<DownloadHop>> download_on(Stream& s, Conn& conn, const Url& url,
                                                      const std::string& part) {
    const std::string origin = url.origin();
    const auto req = make_request(http::verb::get, url, url.target, "", false);
    conn.tcp().expires_after(opt.timeout);
    {
      auto [ec, n] = co_await http::async_write(s, req, kUseTuple);
      (void)n;
      if (ec) {
        co_return tl::unexpected(
            scrub(transport_error(Phase::kWrite, ec, origin, opt.timeout, false)));
      }
    }
    http::response_parser<http::empty_body> head;
    head.header_limit(kHeaderLimit);
    head.body_limit(std::numeric_limits<std::uint64_t>::max());  // checked below, as permanent
    conn.tcp().expires_after(opt.timeout);
    {
      auto [ec, n] = co_await http::async_read_header(s, conn.buffer, head, kUseTuple);
      (void)n;
      if (ec) {
        co_return tl::unexpected(
            scrub(transport_error(Phase::kRead, ec, origin, opt.timeout, false)));
      }
    }
    const int status = head.get().result_int();
    if (status >= 300 && status < 400) {
      auto it = head.get().find(http::field::location);
      if (it == head.get().end() || it->value().empty()) {
        co_return tl::unexpected(download_error(
            ApiError::Kind::kPermanent, "redirect without Location from " + origin, status));
      }
      DownloadHop hop;
      hop.redirect = std::string(it->value());
      co_return hop;
    }
    if (status < 200 || status >= 300) {
      std::optional<Duration> ra;
      if (auto it = head.get().find(http::field::retry_after); it != head.get().end()) {
        ra = retry_after_of(std::string(it->value()), *clock);
      }
      const bool transient = status >= 500 || status == 429 || status == 408;
      ApiError e = download_error(
          transient ? ApiError::Kind::kTransient : ApiError::Kind::kPermanent,
          "download from " + origin + " failed: HTTP " + std::to_string(status), status);
      e.retry_after = ra;
      co_return tl::unexpected(e);
    }
    if (auto len = head.content_length(); len && *len > opt.max_download_bytes) {
      co_return tl::unexpected(download_error(ApiError::Kind::kPermanent,
                                              "download from " + origin + " is larger than " +
                                                  std::to_string(opt.max_download_bytes) + " bytes",
                                              status));
    }
    http::response_parser<http::file_body> parser(std::move(head));
    parser.body_limit(opt.max_download_bytes);
    beast::error_code fec;
    parser.get().body().open(part.c_str(), beast::file_mode::write, fec);
    if (fec) {
      co_return tl::unexpected(download_error(ApiError::Kind::kPermanent,
                                              "cannot write " + part + ": " + fec.message()));
    }
    // The body is read in pieces, each with its own deadline: a large video may
    // take longer than one timeout in total, but must keep flowing.
    while (!parser.is_done()) {
      conn.tcp().expires_after(opt.timeout);
      auto [ec, n] = co_await http::async_read_some(s, conn.buffer, parser, kUseTuple);
      (void)n;
      if (ec) {
        if (ec == http::error::body_limit) {
          co_return tl::unexpected(download_error(ApiError::Kind::kPermanent,
                                                  "download from " + origin + " is larger than " +
                                                      std::to_string(opt.max_download_bytes) +
                                                      " bytes",
                                                  status));
        }
        ApiError e = transport_error(Phase::kRead, ec, origin, opt.timeout, false);
        e.http_status = status;
        if (ec == http::error::partial_message) {
          e.message = "download from " + origin + " was truncated";
        }
        co_return tl::unexpected(scrub(std::move(e)));
      }
    }
    auto& file = parser.get().body().file();
    if (::fsync(file.native_handle()) != 0) {
      co_return tl::unexpected(download_error(
          ApiError::Kind::kTransient, "fsync of " + part + " failed: " + std::strerror(errno)));
    }
    DownloadHop hop;
    hop.bytes = file.size(fec);
    if (!fec) file.close(fec);
    if (fec) {
      co_return tl::unexpected(download_error(ApiError::Kind::kTransient,
                                              "closing " + part + " failed: " + fec.message()));
    }
    co_return hop;
  }

  asio::awaitable<ApiResult<DownloadResult>> download(std::string url_text, std::string path) {
    auto self = shared_from_this();
    auto url = piapi::parse_url(url_text);
    if (!url) {
      co_return tl::unexpected(
          download_error(ApiError::Kind::kPermanent, "bad download URL: " + url.error().message()));
    }
    const std::string part = path + ".part";
    for (int hop_no = 0; hop_no <= kMaxRedirects; ++hop_no) {
      if (auto ok = piapi::check_allowed(*url); !ok) {
        co_return tl::unexpected(download_error(ApiError::Kind::kPermanent, ok.error().message()));
      }
      auto c = co_await connect(*url);
      if (!c) co_return tl::unexpected(scrub(c.error()));
      std::unique_ptr<Conn> conn = std::move(*c);
      ApiResult<DownloadHop> hop;
      if (conn->tls) {
        hop = co_await download_on(*conn->tls, *conn, *url, part);
      } else {
        hop = co_await download_on(*conn->plain, *conn, *url, part);
      }
      conn->close();
      if (!hop) {
        std::remove(part.c_str());
        co_return tl::unexpected(hop.error());
      }
      if (hop->redirect) {
        auto next = piapi::resolve_location(*url, *hop->redirect);
        if (!next) {
          co_return tl::unexpected(download_error(ApiError::Kind::kPermanent,
                                                  "bad redirect: " + next.error().message()));
        }
        url = std::move(next);
        continue;
      }
      if (std::rename(part.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(part.c_str());
        co_return tl::unexpected(
            download_error(ApiError::Kind::kTransient, "rename to " + path + " failed: " + why));
      }
      sync_parent_dir(path);
      co_return DownloadResult{path, hop->bytes};
    }
    co_return tl::unexpected(
        download_error(ApiError::Kind::kTransient,
                       "download: more than " + std::to_string(kMaxRedirects) + " redirects"));
  }

  static void sync_parent_dir(const std::string& path) {
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself already happened
    ::fsync(fd);
    ::close(fd);
  }

  void shutdown() {
    stopping = true;
    for (auto& c : idle) c->close();
    idle.clear();
    auto ws = std::move(waiters);
    waiters.clear();
    for (auto& w : ws) w->timer.cancel();  // not granted: they return "shutting down"
  }
};

// --- PiapiClient --------------------------------------------------------

Result<std::unique_ptr<PiapiClient>> PiapiClient::create(boost::asio::any_io_executor ex,
                                                         ClientOptions options) {
  auto url = piapi::parse_url(options.base_url);
  if (!url) return Fail(url.error().With("api.base_url"));
  if (auto ok = piapi::check_allowed(*url); !ok) return Fail(ok.error().With("api.base_url"));
  if (url->target.find('?') != std::string::npos) {
    return Fail(Error::InvalidArgument("api.base_url: must not contain a query"));
  }
  if (options.timeout <= Duration(0)) {
    return Fail(Error::InvalidArgument("client timeout must be positive"));
  }
  if (options.api_key.find_first_of("\r\n") != std::string::npos) {
    return Fail(Error::InvalidArgument("API key contains a line break"));
  }
  try {
    auto impl = std::make_unique<Impl>(std::move(ex), std::move(options));
    impl->api = *url;
    impl->prefix = url->target;
    while (!impl->prefix.empty() && impl->prefix.back() == '/') impl->prefix.pop_back();
    impl->clock = impl->opt.clock ? impl->opt.clock : &impl->system_clock;
    impl->tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                              ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                              ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    impl->tls_ctx.set_default_verify_paths(ec);
    if (ec) return Fail(Error::Io("TLS: cannot load the system CA store: " + ec.message()));
    if (!impl->opt.ca_file.empty()) {
      impl->tls_ctx.load_verify_file(impl->opt.ca_file, ec);
      if (ec) {
        return Fail(
            Error::Io("TLS: cannot load CA file " + impl->opt.ca_file + ": " + ec.message()));
      }
    }
    impl->tls_ctx.set_verify_mode(ssl::verify_peer);
    return std::unique_ptr<PiapiClient>(new PiapiClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Fail(Error::Internal(std::string("cannot create the PiAPI client: ") + e.what()));
  }
}

PiapiClient::PiapiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PiapiClient::~PiapiClient() {
  if (impl_) impl_->shutdown();
}

void PiapiClient::shutdown() {
  impl_->shutdown();
}

// Each argument of a co_await'ed call is a named local: g++ 12 miscompiles some
// temporaries inside co_await expressions (../shared/toolchain.md).

boost::asio::awaitable<ApiResult<RemoteAsset>> PiapiClient::upload_asset(UploadAssetRequest req) {
  auto impl = impl_;
  std::string path = "/api/v1/asset/upload";
  std::string body = piapi::upload_asset_body(req);
  co_return co_await impl->call_parsed<RemoteAsset>(http::verb::post, std::move(path),
                                                    std::move(body), false, piapi::parse_asset);
}

boost::asio::awaitable<ApiResult<std::vector<RemoteAsset>>> PiapiClient::list_assets() {
  auto impl = impl_;
  co_return co_await impl->list_assets();
}

boost::asio::awaitable<ApiResult<RemoteAsset>> PiapiClient::get_asset(std::string asset_id) {
  auto impl = impl_;
  std::string path = "/api/v1/asset/" + encode_segment(asset_id);
  std::string body;
  co_return co_await impl->call_parsed<RemoteAsset>(http::verb::get, std::move(path),
                                                    std::move(body), true, piapi::parse_asset);
}

boost::asio::awaitable<ApiResult<void>> PiapiClient::delete_asset(std::string asset_id) {
  auto impl = impl_;
  std::string path = "/api/v1/asset/" + encode_segment(asset_id);
  std::string body;
  co_return co_await impl->call_parsed<void>(http::verb::delete_, std::move(path), std::move(body),
                                             true, piapi::parse_delete);
}

boost::asio::awaitable<ApiResult<RemoteTask>> PiapiClient::create_task(std::string body) {
  auto impl = impl_;
  std::string path = "/api/v1/task";
  co_return co_await impl->call_parsed<RemoteTask>(http::verb::post, std::move(path),
                                                   std::move(body), false, piapi::parse_task);
}

boost::asio::awaitable<ApiResult<RemoteTask>> PiapiClient::get_task(std::string task_id) {
  auto impl = impl_;
  std::string path = "/api/v1/task/" + encode_segment(task_id);
  std::string body;
  co_return co_await impl->call_parsed<RemoteTask>(http::verb::get, std::move(path),
                                                   std::move(body), true, piapi::parse_task);
}

boost::asio::awaitable<ApiResult<DownloadResult>> PiapiClient::download(std::string url,
                                                                        std::string path) {
  auto impl = impl_;
  co_return co_await impl->download(std::move(url), std::move(path));
}

}  // namespace sd
