// What the user declared: assets and tasks from the job specs in jobs_dir.
// config/ produces these (validated); the engine consumes them. Plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

// Persisted by name ("image", "video", "audio").
enum class MediaType { kImage, kVideo, kAudio };
std::string_view to_string(MediaType t);
std::optional<MediaType> media_type_from_string(std::string_view s);

// Where a declaration came from, for error messages.
struct SourceRef {
  std::string file;  // path of the job-spec file
  int line = 0;      // 1-based line of the object, 0 if unknown

  bool operator==(const SourceRef&) const = default;
};

// A reusable reference uploaded once to the Private Asset Library.
struct AssetSpec {
  std::string name;  // global across files; a valid file-name component
  std::string url;   // http(s) URL PiAPI fetches
  MediaType type = MediaType::kImage;
  SourceRef source;

  // Stable hash of the fields that matter remotely (name, url, type), 16 hex chars.
  std::string content_hash() const;
  // The deterministic upload label "seedanced-<name>-<hash>" used to reconcile
  // an upload whose outcome was lost.
  std::string upload_name() const;

  bool operator==(const AssetSpec&) const = default;
};

// A Seedance video task. The media lists may hold "asset://NAME" (a declared
// asset, substituted at submit time), "asset://asset-YYYYMMDDHHMMSS-xxxxx"
// (an id uploaded elsewhere, passed through) or http(s) URLs.
struct TaskSpec {
  std::string name;       // global across files; a valid file-name component
  std::string task_type;  // e.g. "seedance-2-fast-less-restriction"
  std::string prompt;
  std::vector<std::string> image_urls;
  std::vector<std::string> video_urls;
  std::vector<std::string> audio_urls;
  std::optional<int> duration;
  std::optional<std::string> aspect_ratio;
  std::optional<std::string> resolution;
  std::optional<std::string> mode;
  std::optional<bool> audio;
  std::optional<bool> auto_upload_assets;
  SourceRef source;

  // Names of declared assets referenced as asset://NAME, in order, without duplicates.
  std::vector<std::string> asset_names() const;
  // Stable hash of every field except `source`, 16 hex chars.
  std::string content_hash() const;

  bool operator==(const TaskSpec&) const = default;
};

// Every valid declaration currently in jobs_dir.
struct SpecSet {
  std::vector<AssetSpec> assets;
  std::vector<TaskSpec> tasks;
};

// Returns the NAME of "asset://NAME" or nullopt when `url` is not an asset:// URL.
std::optional<std::string_view> asset_ref(std::string_view url);
// True iff `id` has PiAPI's asset id form "asset-YYYYMMDDHHMMSS-xxxxx".
bool is_remote_asset_id(std::string_view id);

}  // namespace sd
