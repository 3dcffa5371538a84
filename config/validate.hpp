// The rules a job spec must follow, as tables and small pure checks: task
// types and what each takes, the enums, the fields of assets and tasks, names,
// URLs, file extensions and prompt references. job_spec.cpp applies them; the
// schema test (tests/config/schema_test.cpp) checks schema/jobs.schema.json
// against the same tables, so the parser and the schema cannot drift apart.
//
// Owner: config/. Thread contract: immutable tables and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/spec.hpp"

namespace sd::config {

// One PiAPI Seedance task_type (piapi-api.md §2.1).
struct TaskTypeInfo {
  std::string_view name;
  bool strict;                // strict review: no asset://, no auto_upload_assets
  bool allows_1080p;          // else 480p/720p only
  std::string_view twin;      // strict: the -less-restriction type taking the same input
  std::string_view alias_of;  // deprecated alias: the current name; "" otherwise
};

const std::vector<TaskTypeInfo>& task_types();
// The entry for `name`, or nullptr.
const TaskTypeInfo* find_task_type(std::string_view name);
std::vector<std::string_view> task_type_names();

const std::vector<std::string_view>& aspect_ratios();  // "21:9" ... "9:16"
const std::vector<std::string_view>& resolutions();    // "480p" "720p" "1080p"
const std::vector<std::string_view>& modes();  // text_to_video first_last_frames omni_reference
const std::vector<std::string_view>& media_type_names();  // image video audio

// A field of a job-spec object: its JSON type ("string", "integer",
// "boolean", "array" of strings) and whether it must be present.
struct FieldInfo {
  std::string_view name;
  std::string_view json_type;
  bool required;
};
const std::vector<FieldInfo>& file_fields();   // the top-level object
const std::vector<FieldInfo>& asset_fields();  // one entry of "assets"
const std::vector<FieldInfo>& task_fields();   // one entry of "tasks"
std::vector<std::string_view> field_names(const std::vector<FieldInfo>& fields);

// Limits (piapi-api.md §2.2).
inline constexpr int kMaxImages = 9;
inline constexpr int kMaxVideos = 3;
inline constexpr int kMaxAudios = 3;
inline constexpr int kMaxReferences = 12;
inline constexpr int kMinDuration = 4;
inline constexpr int kMaxDuration = 15;
inline constexpr size_t kMaxPromptChars = 4000;
inline constexpr size_t kMaxNameChars = 100;

// The rule for asset and task names, as shown to users.
inline constexpr std::string_view kNameRule =
    "use 1-100 characters from A-Z a-z 0-9 . _ -, not starting with '.'";
// True iff `name` follows kNameRule (usable as a file name).
bool is_valid_name(std::string_view name);

// A parsed http(s) URL.
struct UrlParts {
  std::string scheme;  // lower case
  std::string host;
  std::string path;  // from the first '/' after the authority, without query/fragment
};
// Parses `url` as an absolute http or https URL with a host. On failure
// returns nullopt and sets `why` (e.g. "the scheme must be http or https").
std::optional<UrlParts> parse_http_url(std::string_view url, std::string& why);

// The lower-case extension of the URL path's last segment ("png"), or "".
std::string url_extension(const UrlParts& url);
// The media type an extension belongs to (piapi-api.md §4.2), or nullopt.
std::optional<MediaType> media_type_of_extension(std::string_view ext);
// The extensions of `type`, for messages: "mp4 mov".
std::string extensions_of(MediaType type);

// A placeholder the prompt uses: "Image 3" / "@image3" -> {kImage, 3}.
struct PromptRef {
  MediaType type;
  int number;
  std::string text;  // as written
};
// Every `Image N`, `Video N`, `Audio N`, `@imageN`, `@videoN`, `@audioN` in `prompt`.
std::vector<PromptRef> prompt_refs(std::string_view prompt);

// The number of Unicode code points in UTF-8 `s`.
size_t utf8_length(std::string_view s);

}  // namespace sd::config
