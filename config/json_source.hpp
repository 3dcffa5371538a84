// Helpers shared by the config/ parsers: reading a bounded file, parsing JSON
// with comments without exceptions, mapping JSON pointers to line numbers,
// quoting untrusted text for messages, and did-you-mean suggestions.
//
// Owner: config/. Internal to the module (main_config.cpp, job_spec.cpp,
// validate.cpp, check.cpp); the tests use it too.
// Thread contract: plain functions and values; no shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace sd::config {

using Json = nlohmann::json;

// Reads the whole file at `path` if it is at most `max_bytes` long.
// Errors name the path and the reason (missing, not a file, too large).
Result<std::string> read_file_capped(const std::string& path, size_t max_bytes);

// A JSON parse failure: what and where (1-based line, 0 if unknown).
struct ParseFailure {
  int line = 0;
  std::string message;
};

// The deepest nesting of objects/arrays in `text`, ignoring strings and comments.
int max_nesting_depth(std::string_view text);

// Parses JSON that may contain // and /* */ comments. Never throws.
// Rejects nesting deeper than `max_depth` before parsing.
std::optional<Json> parse_json(std::string_view text, ParseFailure& failure, int max_depth = 32);

// The 1-based line of each value in a JSON text, by JSON pointer: for an
// object member the line of its key, for an array element the line where the
// element starts, for the root "" its first token. Built by one tolerant pass
// over the text (strings and comments skipped), so it never fails; pointers
// deeper than kMaxDepth, and any beyond the first kMaxEntries, are not
// recorded (their lookups fall back to an ancestor).
class LineMap {
 public:
  static constexpr int kMaxDepth = 6;
  static constexpr size_t kMaxEntries = 100000;

  explicit LineMap(std::string_view text);

  // The line of `pointer` ("/tasks/0/prompt"), or of its nearest recorded
  // ancestor, or 0 when nothing is known.
  int line(std::string_view pointer) const;

 private:
  std::unordered_map<std::string, int> lines_;
};

// Escapes one JSON-pointer reference token ("~" -> "~0", "/" -> "~1").
std::string pointer_token(std::string_view key);

// The 1-based line of byte offset `byte` in `text`.
int line_of_byte(std::string_view text, size_t byte);

// `s` in single quotes with control characters escaped and cut at `max_chars`
// bytes (for messages that echo user text).
std::string quoted(std::string_view s, size_t max_chars = 80);

// A short description of a JSON value's type for messages ("a string",
// "a number", "an object", ...).
std::string json_kind(const Json& j);

// Levenshtein distance between a and b (byte-wise).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo
// (distance <= max(2, longer length / 3)), else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// `s` with leading and trailing ASCII whitespace removed.
std::string_view trim(std::string_view s);

}  // namespace sd::config
