#include "config/validate.hpp"

#include <algorithm>
#include <cctype>

namespace sd::config {
namespace {

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct ExtensionTable {
  MediaType type;
  std::vector<std::string_view> exts;
};

const std::vector<ExtensionTable>& extension_tables() {
  static const std::vector<ExtensionTable> kTables = {
      {MediaType::kImage, {"jpeg", "jpg", "png", "webp", "bmp", "tiff", "gif", "heic", "heif"}},
      {MediaType::kVideo, {"mp4", "mov"}},
      {MediaType::kAudio, {"mp3", "wav"}},
  };
  return kTables;
}

}  // namespace

const std::vector<TaskTypeInfo>& task_types() {
  static const std::vector<TaskTypeInfo> kTypes = {
      {"seedance-2", true, true, "seedance-2-less-restriction", ""},
      {"seedance-2-fast", true, false, "seedance-2-fast-less-restriction", ""},
      {"seedance-2-mini", true, false, "seedance-2-mini-less-restriction", ""},
      {"seedance-2-less-restriction", false, true, "", ""},
      {"seedance-2-fast-less-restriction", false, false, "", ""},
      {"seedance-2-mini-less-restriction", false, false, "", ""},
      {"seedance-2.5", true, true, "seedance-2.5-less-restriction", ""},
      {"seedance-2.5-less-restriction", false, true, "", ""},
      {"seedance-2-preview", true, true, "seedance-2-less-restriction", "seedance-2"},
      {"seedance-2-preview-vip", true, true, "seedance-2-less-restriction", "seedance-2"},
      {"seedance-2-fast-preview", true, false, "seedance-2-fast-less-restriction",
       "seedance-2-fast"},
      {"seedance-2-fast-preview-vip", true, false, "seedance-2-fast-less-restriction",
       "seedance-2-fast"},
  };
  return kTypes;
}

const TaskTypeInfo* find_task_type(std::string_view name) {
  for (const auto& t : task_types()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string_view> task_type_names() {
  std::vector<std::string_view> out;
  for (const auto& t : task_types()) out.push_back(t.name);
  return out;
}

const std::vector<std::string_view>& aspect_ratios() {
  static const std::vector<std::string_view> k = {"21:9", "16:9", "4:3", "1:1", "3:4", "9:16"};
  return k;
}

const std::vector<std::string_view>& resolutions() {
  static const std::vector<std::string_view> k = {"480p", "720p", "1080p"};
  return k;
}

const std::vector<std::string_view>& modes() {
  static const std::vector<std::string_view> k = {"text_to_video", "first_last_frames",
                                                  "omni_reference"};
  return k;
}

const std::vector<std::string_view>& media_type_names() {
  static const std::vector<std::string_view> k = {"image", "video", "audio"};
  return k;
}

const std::vector<FieldInfo>& file_fields() {
  static const std::vector<FieldInfo> k = {
      {"$schema", "string", false},
      {"assets", "array", false},
      {"tasks", "array", false},
  };
  return k;
}

const std::vector<FieldInfo>& asset_fields() {
  static const std::vector<FieldInfo> k = {
      {"name", "string", true},
      {"url", "string", true},
      {"type", "string", false},
  };
  return k;
}

const std::vector<FieldInfo>& task_fields() {
  static const std::vector<FieldInfo> k = {
      {"name", "string", true},        {"task_type", "string", true},
      {"prompt", "string", true},      {"image_urls", "array", false},
      {"video_urls", "array", false},  {"audio_urls", "array", false},
      {"duration", "integer", false},  {"aspect_ratio", "string", false},
      {"resolution", "string", false}, {"mode", "string", false},
      {"audio", "boolean", false},     {"auto_upload_assets", "boolean", false},
  };
  return k;
}

std::vector<std::string_view> field_names(const std::vector<FieldInfo>& fields) {
  std::vector<std::string_view> out;
  for (const auto& f : fields) out.push_back(f.name);
  return out;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameChars || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::optional<UrlParts> parse_http_url(std::string_view url, std::string& why) {
  constexpr size_t kMaxUrl = 2048;
  if (url.empty()) {
    why = "the URL is empty";
    return std::nullopt;
  }
  if (url.size() > kMaxUrl) {
    why = "the URL is longer than 2048 characters";
    return std::nullopt;
  }
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) {
      why = "the URL contains a space or control character (percent-encode it, e.g. %20)";
      return std::nullopt;
    }
  }
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    why = "it is not an absolute URL (expected http://host/... or https://host/...)";
    return std::nullopt;
  }
  UrlParts out;
  out.scheme = lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    why = "the scheme '" + out.scheme.substr(0, 20) + "' is not http or https";
    return std::nullopt;
  }
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "the IPv6 host has no closing ']'";
      return std::nullopt;
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "unexpected text after the IPv6 host";
        return std::nullopt;
      }
      port = after.substr(1);
    }
    if (host.size() <= 2) {
      why = "the URL has no host";
      return std::nullopt;
    }
  } else {
    if (auto colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) {
      why = "the URL has no host";
      return std::nullopt;
    }
    for (char c : host) {
      if (!(is_alnum(c) || c == '.' || c == '-' || c == '_')) {
        why = "the host contains an invalid character";
        return std::nullopt;
      }
    }
    if (host.front() == '.' || host.front() == '-') {
      why = "the host is not a valid name";
      return std::nullopt;
    }
  }
  if (authority.find(':') != std::string_view::npos && host.front() != '[' && port.empty()) {
    why = "the port after ':' is empty";
    return std::nullopt;
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      why = "the port is not a number from 1 to 65535";
      return std::nullopt;
    }
  }
  out.host = std::string(host);
  size_t path_end = tail.find_first_of("?#");
  std::string_view path = tail.substr(0, path_end);
  if (!path.empty() && path.front() == '/') out.path = std::string(path);
  return out;
}

std::string url_extension(const UrlParts& url) {
  std::string_view path = url.path;
  auto slash = path.rfind('/');
  std::string_view segment = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = segment.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= segment.size()) return "";
  std::string_view ext = segment.substr(dot + 1);
  if (ext.size() > 10 || !std::all_of(ext.begin(), ext.end(), is_alnum)) return "";
  return lower(ext);
}

std::optional<MediaType> media_type_of_extension(std::string_view ext) {
  for (const auto& t : extension_tables()) {
    for (auto e : t.exts) {
      if (e == ext) return t.type;
    }
  }
  return std::nullopt;
}

std::string extensions_of(MediaType type) {
  std::string out;
  for (const auto& t : extension_tables()) {
    if (t.type != type) continue;
    for (auto e : t.exts) {
      if (!out.empty()) out += ' ';
      out += e;
    }
  }
  return out;
}

std::vector<PromptRef> prompt_refs(std::string_view p) {
  struct Word {
    std::string_view word;
    MediaType type;
    bool at;  // "@image3": case-insensitive, no space
  };
  static const Word kWords[] = {
      {"Image", MediaType::kImage, false}, {"Video", MediaType::kVideo, false},
      {"Audio", MediaType::kAudio, false}, {"@image", MediaType::kImage, true},
      {"@video", MediaType::kVideo, true}, {"@audio", MediaType::kAudio, true},
  };
  std::vector<PromptRef> out;
  for (size_t i = 0; i < p.size(); ++i) {
    for (const auto& w : kWords) {
      if (i + w.word.size() > p.size()) continue;
      std::string_view here = p.substr(i, w.word.size());
      bool match = w.at ? lower(here) == w.word : here == w.word;
      if (!match) continue;
      if (!w.at && i > 0 && (is_alnum(p[i - 1]) || p[i - 1] == '_')) continue;
      size_t j = i + w.word.size();
      if (!w.at) {
        if (j >= p.size() || p[j] != ' ') continue;
        while (j < p.size() && p[j] == ' ') ++j;
      }
      size_t digits = j;
      while (digits < p.size() && is_digit(p[digits])) ++digits;
      if (digits == j) continue;
      // "Image 12x" is not a reference; "Image 2," and "Image 2." are.
      if (digits < p.size() && (is_alnum(p[digits]) || p[digits] == '_')) continue;
      std::string_view num = p.substr(j, digits - j);
      int n = num.size() > 6 ? 999999 : std::stoi(std::string(num));
      out.push_back(PromptRef{w.type, n, std::string(p.substr(i, digits - i))});
      i = digits - 1;
      break;
    }
  }
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace sd::config
