// Tolerant parsing of PiAPI reply bodies into the plain values of
// core/api.hpp, and the small HTTP-level rules the client applies to them
// (error classification, Retry-After). Pure functions: no IO, no Beast, no
// clock reads (`now` is passed in). Owned by client/.
//
// Tolerance rules (../shared/piapi-api.md): a body may be enveloped
// ({"code","message","data":{...}}) or bare; every field is looked up as `x`
// and as `data.x`; status strings are matched in any casing; unknown fields
// are ignored and missing optional fields defaulted. A body that is not JSON,
// is truncated, or lacks the one field an operation needs is a transient
// ApiError, never an exception or a crash.
//
// Thread contract: stateless functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"

namespace sd::piapi {

// One page of GET /api/v1/asset/list, with whatever paging info the server gave.
struct AssetPage {
  std::vector<RemoteAsset> items;
  std::optional<int64_t> total;      // items across all pages
  std::optional<int64_t> page;       // this page's number
  std::optional<int64_t> page_size;  // the page size the server applied
  std::optional<int64_t> next_page;  // explicit next page number
  std::optional<bool> has_more;      // explicit "more pages follow"
  bool next_page_null = false;       // "next_page": null was sent (= last page)
};

// A 2xx body of upload / get asset -> the asset. Needs an asset id.
ApiResult<RemoteAsset> parse_asset(std::string_view body);
// A 2xx body of create / get task -> the task. Needs a task id.
ApiResult<RemoteTask> parse_task(std::string_view body);
// A 2xx body of the asset list -> one page. Items without an id are skipped.
ApiResult<AssetPage> parse_asset_page(std::string_view body);
// A 2xx body of DELETE: empty or any JSON object that is not an error envelope.
ApiResult<void> parse_delete(std::string_view body);

// The error for an HTTP reply whose status is not 2xx, from its status, body
// and (already parsed) Retry-After. Rules:
//   5xx -> transient, maybe_processed = true;
//   429 -> transient, maybe_processed = false;
//   408, 425, and 403 with a non-JSON body (a CDN challenge) -> transient;
//   other 4xx -> permanent, maybe_processed = false, message verbatim;
//   3xx -> permanent (API calls never follow redirects), maybe_processed = false.
// api_code is the body's "code" when present; message is the body's "message"
// verbatim when present, else a description naming the status.
ApiError error_from_reply(int http_status, std::string_view body,
                          std::optional<Duration> retry_after);

// Value of a Retry-After header -> delay from `now`: delta-seconds, or an HTTP
// date (IMF-fixdate, RFC 850, asctime). A date in the past gives 0. Garbage
// gives nullopt.
std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now);
// An HTTP date in any of the three formats of RFC 9110 §5.6.7, as UTC.
std::optional<TimePoint> parse_http_date(std::string_view value);
// An RFC 3339 timestamp ("2026-06-07T15:41:23Z", fractions, offsets). Years
// before 1970 (PiAPI's "0001-01-01T00:00:00Z" means unset) give nullopt.
std::optional<TimePoint> parse_rfc3339(std::string_view value);

// The JSON body of POST /api/v1/asset/upload: {"url","asset_type","name"}
// with asset_type spelled as PiAPI documents it ("Image", "Video", "Audio").
std::string upload_asset_body(const UploadAssetRequest& req);

}  // namespace sd::piapi
