#include "core/api.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

namespace sd {
namespace {

std::string lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

RemoteAssetStatus parse_remote_asset_status(std::string_view s) {
  const std::string l = lower(s);
  if (l == "processing") return RemoteAssetStatus::kProcessing;
  if (l == "active") return RemoteAssetStatus::kActive;
  if (l == "failed") return RemoteAssetStatus::kFailed;
  return RemoteAssetStatus::kUnknown;
}

RemoteTaskStatus parse_remote_task_status(std::string_view s) {
  const std::string l = lower(s);
  if (l == "pending") return RemoteTaskStatus::kPending;
  if (l == "staged") return RemoteTaskStatus::kStaged;
  if (l == "processing") return RemoteTaskStatus::kProcessing;
  if (l == "completed") return RemoteTaskStatus::kCompleted;
  if (l == "failed") return RemoteTaskStatus::kFailed;
  return RemoteTaskStatus::kUnknown;
}

std::string create_task_body(const TaskSpec& r) {
  // nlohmann's ordered_json keeps insertion order, so equal requests give equal bytes.
  nlohmann::ordered_json input;
  input["prompt"] = r.prompt;
  if (r.mode) input["mode"] = *r.mode;
  if (!r.image_urls.empty()) input["image_urls"] = r.image_urls;
  if (!r.video_urls.empty()) input["video_urls"] = r.video_urls;
  if (!r.audio_urls.empty()) input["audio_urls"] = r.audio_urls;
  if (r.duration) input["duration"] = *r.duration;
  if (r.aspect_ratio) input["aspect_ratio"] = *r.aspect_ratio;
  if (r.resolution) input["resolution"] = *r.resolution;
  if (r.audio) input["audio"] = *r.audio;
  if (r.auto_upload_assets) input["auto_upload_assets"] = *r.auto_upload_assets;
  nlohmann::ordered_json body;
  body["model"] = "seedance";
  body["task_type"] = r.task_type;
  body["input"] = std::move(input);
  return body.dump();
}

}  // namespace sd
