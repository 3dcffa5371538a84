#include "core/spec.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>

namespace sd {
namespace {

// FNV-1a 64: stable across builds and platforms (std::hash is not).
class Fnv1a {
 public:
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 0x100000001b3ULL;
    }
    // A separator that cannot occur in text keeps ("ab","c") != ("a","bc").
    h_ ^= 0xff;
    h_ *= 0x100000001b3ULL;
  }
  void add(const std::vector<std::string>& v) {
    add(std::to_string(v.size()));
    for (const auto& s : v) add(s);
  }
  template <class T>
  void add_opt(const std::optional<T>& v) {
    if (!v) {
      add("\x01unset");
    } else if constexpr (std::is_same_v<T, std::string>) {
      add(*v);
    } else {
      add(std::to_string(static_cast<long long>(*v)));
    }
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

constexpr std::string_view kAssetScheme = "asset://";

}  // namespace

std::string_view to_string(MediaType t) {
  switch (t) {
    case MediaType::kImage:
      return "image";
    case MediaType::kVideo:
      return "video";
    case MediaType::kAudio:
      return "audio";
  }
  return "image";
}

std::optional<MediaType> media_type_from_string(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "image") return MediaType::kImage;
  if (lower == "video") return MediaType::kVideo;
  if (lower == "audio") return MediaType::kAudio;
  return std::nullopt;
}

std::string AssetSpec::content_hash() const {
  Fnv1a h;
  h.add(name);
  h.add(url);
  h.add(to_string(type));
  return h.hex();
}

std::string AssetSpec::upload_name() const {
  return "seedanced-" + name + "-" + content_hash();
}

std::vector<std::string> TaskSpec::asset_names() const {
  std::vector<std::string> out;
  for (const auto* list : {&image_urls, &video_urls, &audio_urls}) {
    for (const auto& url : *list) {
      auto ref = asset_ref(url);
      if (!ref || is_remote_asset_id(*ref)) continue;
      std::string n(*ref);
      bool seen = false;
      for (const auto& o : out) seen = seen || o == n;
      if (!seen) out.push_back(std::move(n));
    }
  }
  return out;
}

std::string TaskSpec::content_hash() const {
  Fnv1a h;
  h.add(name);
  h.add(task_type);
  h.add(prompt);
  h.add(image_urls);
  h.add(video_urls);
  h.add(audio_urls);
  h.add_opt(duration);
  h.add_opt(aspect_ratio);
  h.add_opt(resolution);
  h.add_opt(mode);
  h.add_opt(audio);
  h.add_opt(auto_upload_assets);
  return h.hex();
}

std::optional<std::string_view> asset_ref(std::string_view url) {
  if (url.size() < kAssetScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kAssetScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != kAssetScheme[i]) return std::nullopt;
  }
  return url.substr(kAssetScheme.size());
}

bool is_remote_asset_id(std::string_view id) {
  // asset-YYYYMMDDHHMMSS-xxxxx
  constexpr std::string_view kPrefix = "asset-";
  if (id.size() != kPrefix.size() + 14 + 1 + 5 || id.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (size_t i = 6; i < 20; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  if (id[20] != '-') return false;
  for (size_t i = 21; i < 26; ++i) {
    char c = id[i];
    if (!(std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

}  // namespace sd
