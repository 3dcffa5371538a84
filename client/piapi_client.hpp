// PiAPI client: typed, asynchronous operations over HTTPS (or plain HTTP to a
// loopback address, for tests and the simulator). Owned by client/; every
// line of Beast/Asio-SSL code is in client/piapi_client.cpp, body parsing in
// client/piapi_json.hpp.
//
// Every operation is a C++20 coroutine on the given executor and never throws:
// it returns the parsed value or an ApiError that says whether a retry can
// help (transient/permanent) and, for the creating calls (upload, create task),
// whether the request may have been processed (maybe_processed):
//   resolve/connect/TLS failure, nothing written       -> transient, false
//   any byte written, then reset/timeout/no reply       -> transient, true
//   502, 504, 520, 524 or a non-JSON 500 (a gateway:
//   the origin may have acted), or a 2xx whose body is
//   truncated or not JSON                               -> transient, true
//   other 5xx (PiAPI's JSON error, a 503 edge page)     -> transient, false
//   429 (retry_after from Retry-After)                   -> transient, false
//   other 4xx                                            -> permanent, false, message verbatim
//   3xx (never followed for API calls)                   -> permanent, false
// Connections are kept alive and reused from a pool of at most
// max_connections (callers beyond it wait in a queue). A reused connection
// that the server had closed is detected before use when possible; if it
// still fails before any reply byte, the call is retried once on a fresh
// connection when that cannot cause a double effect (GET/DELETE, or nothing
// written). Every phase (resolve, connect, TLS handshake, write, read; each
// piece of a download) has the deadline `timeout`.
// The API key is sent as X-API-Key, only to base_url, and never appears in an
// error message (the client does no logging).
//
// Thread contract: all calls on the executor's thread (one io_context thread).
// The client may be destroyed while operations are in flight: they keep its
// state alive and finish or time out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace sd {

struct ClientOptions {
  std::string base_url = "https://api.piapi.ai";  // https://host[:port] or http://127.0.0.1:port
  std::string api_key;                            // never logged
  Duration timeout = std::chrono::seconds(30);    // per phase
  int max_connections = 8;                        // pool bound per host
  std::string user_agent = "seedanced/0.1";
  std::string ca_file;  // extra CA bundle (tests with a self-signed cert); empty = system store
  uint64_t max_body_bytes = 8 << 20;                // API replies larger than this are an error
  uint64_t max_download_bytes = uint64_t(2) << 30;  // output videos larger than this are an error
  const Clock* clock = nullptr;                     // for Retry-After dates; nullptr = system clock
};

class PiapiClient {
 public:
  // Returns an error when base_url is malformed, or plain http to a
  // non-loopback host.
  static Result<std::unique_ptr<PiapiClient>> create(boost::asio::any_io_executor ex,
                                                     ClientOptions options);
  ~PiapiClient();
  PiapiClient(const PiapiClient&) = delete;
  PiapiClient& operator=(const PiapiClient&) = delete;

  // POST /api/v1/asset/upload
  boost::asio::awaitable<ApiResult<RemoteAsset>> upload_asset(UploadAssetRequest req);
  // GET /api/v1/asset/list, following pages until every item was read.
  boost::asio::awaitable<ApiResult<std::vector<RemoteAsset>>> list_assets();
  // GET /api/v1/asset/{id}
  boost::asio::awaitable<ApiResult<RemoteAsset>> get_asset(std::string asset_id);
  // DELETE /api/v1/asset/{id}
  boost::asio::awaitable<ApiResult<void>> delete_asset(std::string asset_id);
  // POST /api/v1/task with `body` sent verbatim (see create_task_body()).
  boost::asio::awaitable<ApiResult<RemoteTask>> create_task(std::string body);
  // GET /api/v1/task/{id}
  boost::asio::awaitable<ApiResult<RemoteTask>> get_task(std::string task_id);
  // GET `url` (any host; https, or http to loopback; up to 5 redirects followed;
  // no API key sent) streamed to `path`.part, fsynced and renamed to `path`.
  // Larger than max_download_bytes -> permanent error; 404 and other 4xx ->
  // permanent; 5xx, 429, transport failures -> transient. The .part file is
  // removed on failure.
  boost::asio::awaitable<ApiResult<DownloadResult>> download(std::string url, std::string path);

  // Closes idle connections; in-flight operations finish or time out.
  void shutdown();

 private:
  struct Impl;
  explicit PiapiClient(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace sd
