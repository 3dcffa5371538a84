// The PiAPI operations seen from the engine: what a request asks and what a
// reply means, as plain values. client/ turns HTTP into these (tolerantly, see
// ../shared/piapi-api.md); the engine turns them into transitions. No IO here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/clock.hpp"
#include "core/spec.hpp"

namespace sd {

// Why a call failed, and what that means for retrying and for paying twice.
struct ApiError {
  enum class Kind {
    kTransient,  // connect failure, timeout, 5xx, 429, non-JSON or truncated body: retry later
    kPermanent,  // a 4xx with PiAPI's message: retrying the same request cannot help
  };
  Kind kind = Kind::kTransient;
  int http_status = 0;  // 0 when no HTTP response was read
  int api_code = 0;     // the body's "code" when present
  std::string message;  // PiAPI's message verbatim, or a description of the transport failure
  std::optional<Duration> retry_after;  // from a Retry-After header (seconds or HTTP date)
  // For creating calls (upload, create task): false only when the request
  // surely never reached the server (connect failed, the request was not
  // written completely). true = outcome unknown: it may have been processed.
  bool maybe_processed = true;

  bool transient() const { return kind == Kind::kTransient; }
  bool not_found() const { return http_status == 404; }
};

template <class T>
using ApiResult = tl::expected<T, ApiError>;

// --- Assets ----------------------------------------------------------------

enum class RemoteAssetStatus { kProcessing, kActive, kFailed, kUnknown };
// Case-insensitive: "Active", "active", "ACTIVE" -> kActive; anything else kUnknown.
RemoteAssetStatus parse_remote_asset_status(std::string_view s);

struct RemoteAsset {
  std::string asset_id;  // "asset-YYYYMMDDHHMMSS-xxxxx"
  std::string name;      // the upload label, when the server reports it
  RemoteAssetStatus status = RemoteAssetStatus::kUnknown;
  std::string status_text;  // as received
  std::string error;        // the cause of a Failed asset, when given
  std::optional<TimePoint> expires_at;
};

struct UploadAssetRequest {
  std::string url;
  MediaType type = MediaType::kImage;
  std::string name;  // AssetSpec::upload_name()
};

// --- Tasks -----------------------------------------------------------------

enum class RemoteTaskStatus { kPending, kStaged, kProcessing, kCompleted, kFailed, kUnknown };
// Case-insensitive; unknown strings -> kUnknown (treated as still running).
RemoteTaskStatus parse_remote_task_status(std::string_view s);

struct RemoteTask {
  std::string task_id;
  RemoteTaskStatus status = RemoteTaskStatus::kUnknown;
  std::string status_text;  // as received
  std::string video_url;    // output.video or output.video_url when completed
  int error_code = 0;       // error.code, 0 = none
  std::string error_message;
  std::vector<std::string> logs;
};

// The JSON body of POST /api/v1/task for `spec`, whose media lists must already
// have every asset://NAME replaced by asset://<asset_id>:
// {"model":"seedance","task_type":...,"input":{...}} with unset optional
// fields omitted; `name` and `source` are not sent. Deterministic (same spec ->
// same bytes), so the body persisted with Submitting is the one sent.
std::string create_task_body(const TaskSpec& spec);

// What a finished download produced.
struct DownloadResult {
  std::string path;  // final path, renamed into place
  uint64_t bytes = 0;
};

}  // namespace sd
