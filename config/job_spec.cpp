#include "config/job_spec.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "config/json_source.hpp"
#include "config/validate.hpp"

namespace sd {
namespace {

using config::Json;
using config::quoted;

constexpr size_t kMaxJobFileBytes = 4u << 20;
constexpr int kMaxJobDepth = 16;
constexpr int kMaxDiagnosticsPerFile = 50;

std::string join(const std::vector<std::string_view>& v, std::string_view sep = ", ") {
  std::string out;
  for (auto s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// "; did you mean 'x'?" or "".
std::string suggestion(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best = config::did_you_mean(word, candidates);
  return best.empty() ? "" : "did you mean '" + best + "'? ";
}

std::string_view list_key(MediaType t) {
  switch (t) {
    case MediaType::kImage:
      return "image_urls";
    case MediaType::kVideo:
      return "video_urls";
    case MediaType::kAudio:
      return "audio_urls";
  }
  return "image_urls";
}

// Checks one file: collects diagnostics and the declarations.
class FileChecker {
 public:
  FileChecker(const std::string& path, const std::string& text, std::vector<Diagnostic>& out)
      : path_(path), text_(text), lines_(text), out_(out) {}

  FileSpecs run();
  FileSpecs check_file();

 private:
  void report(Diagnostic::Severity sev, std::string_view pointer, std::string job,
              std::string field, std::string message, std::string fix) {
    report_at(sev, lines_.line(pointer), std::move(job), std::move(field), std::move(message),
              std::move(fix));
  }
  void report_at(Diagnostic::Severity sev, int line, std::string job, std::string field,
                 std::string message, std::string fix) {
    if (sev == Diagnostic::Severity::kError) ++errors_;
    if (++reported_ > kMaxDiagnosticsPerFile) return;  // counted, not shown
    out_.push_back(Diagnostic{sev, path_, line, std::move(job), std::move(field),
                              std::move(message), std::move(fix)});
  }
  void error(std::string_view pointer, std::string job, std::string field, std::string message,
             std::string fix) {
    report(Diagnostic::Severity::kError, pointer, std::move(job), std::move(field),
           std::move(message), std::move(fix));
  }
  void warning(std::string_view pointer, std::string job, std::string field, std::string message,
               std::string fix) {
    report(Diagnostic::Severity::kWarning, pointer, std::move(job), std::move(field),
           std::move(message), std::move(fix));
  }

  // Reports keys of `obj` not in `fields`, and fields of the wrong JSON type.
  // Returns false when a field has the wrong type.
  bool check_keys(const Json& obj, const std::vector<config::FieldInfo>& fields,
                  const std::string& ptr, const std::string& job, std::string_view what);
  // The job label for messages: the name if it is valid, else "assets[3]".
  std::string label(const Json& obj, std::string_view list, size_t index) const;

  std::optional<AssetSpec> check_asset(const Json& a, size_t index);
  std::optional<TaskSpec> check_task(const Json& t, size_t index);
  // Checks one URL of a task media list; returns false on error.
  bool check_task_url(const std::string& url, MediaType list_type, const config::TaskTypeInfo* type,
                      const std::string& ptr, const std::string& job, const std::string& field);
  void check_counts_and_mode(const TaskSpec& t, const std::string& ptr, const std::string& job);
  void check_prompt_refs(const TaskSpec& t, const std::string& ptr, const std::string& job);
  bool check_name(const Json& obj, const std::string& ptr, const std::string& job);

  const std::string& path_;
  const std::string& text_;
  config::LineMap lines_;
  std::vector<Diagnostic>& out_;
  int errors_ = 0;
  int reported_ = 0;
  std::map<std::string, int> field_lines_;  // see FileSpecs::field_lines
};

std::string FileChecker::label(const Json& obj, std::string_view list, size_t index) const {
  if (obj.is_object()) {
    auto it = obj.find("name");
    if (it != obj.end() && it->is_string() &&
        config::is_valid_name(it->get_ref<const std::string&>())) {
      return it->get<std::string>();
    }
  }
  return std::string(list) + "[" + std::to_string(index) + "]";
}

bool FileChecker::check_keys(const Json& obj, const std::vector<config::FieldInfo>& fields,
                             const std::string& ptr, const std::string& job,
                             std::string_view what) {
  bool types_ok = true;
  auto names = config::field_names(fields);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    std::string kptr = ptr + "/" + config::pointer_token(key);
    auto f = std::find_if(fields.begin(), fields.end(),
                          [&](const config::FieldInfo& fi) { return fi.name == key; });
    if (f == fields.end()) {
      std::string shown = quoted(key, 40);
      shown = shown.substr(1, shown.size() - 2);
      error(kptr, job, shown, "unknown field " + quoted(key, 40) + " in " + std::string(what),
            suggestion(key, names) + "the fields are: " + join(names));
      continue;
    }
    const Json& v = it.value();
    bool ok = true;
    std::string expected;
    if (f->json_type == "string") {
      ok = v.is_string();
      expected = "a string";
    } else if (f->json_type == "integer") {
      ok = v.is_number_integer() || v.is_number_unsigned();
      expected = "a whole number";
    } else if (f->json_type == "boolean") {
      ok = v.is_boolean();
      expected = "true or false";
    } else if (f->json_type == "array") {
      ok = v.is_array();
      expected = "an array";
    }
    if (!ok) {
      types_ok = false;
      std::string fix = "write it as " + expected;
      if (f->json_type == "integer" && v.is_number_float()) fix = "use a whole number, e.g. 8";
      if (f->json_type == "boolean" && v.is_string()) fix = "write true or false without quotes";
      if (f->json_type == "integer" && v.is_string()) fix = "write the number without quotes";
      error(kptr, job, key, "must be " + expected + ", not " + config::json_kind(v), fix);
    }
  }
  for (const auto& f : fields) {
    if (f.required && !obj.contains(f.name)) {
      types_ok = false;
      error(ptr, job, std::string(f.name), "the required field is missing",
            "add \"" + std::string(f.name) + "\" to " + std::string(what));
    }
  }
  return types_ok;
}

bool FileChecker::check_name(const Json& obj, const std::string& ptr, const std::string& job) {
  const std::string& name = obj["name"].get_ref<const std::string&>();
  if (config::is_valid_name(name)) return true;
  std::string why = name.empty()                          ? "the name is empty"
                    : name.size() > config::kMaxNameChars ? "the name is longer than 100 characters"
                    : name.front() == '.'                 ? "the name starts with '.'"
                                                          : "the name " + quoted(name, 60) +
                                                " has characters not allowed in a file name";
  error(ptr + "/name", job, "name", why,
        std::string("names are used as file names: ") + std::string(config::kNameRule));
  return false;
}

std::optional<AssetSpec> FileChecker::check_asset(const Json& a, size_t index) {
  std::string ptr = "/assets/" + std::to_string(index);
  std::string job = label(a, "assets", index);
  if (!a.is_object()) {
    error(ptr, job, "", "an asset must be an object, not " + config::json_kind(a),
          R"(write {"name": "...", "url": "https://...", "type": "image"})");
    return std::nullopt;
  }
  int before = errors_;
  if (!check_keys(a, config::asset_fields(), ptr, job, "an asset")) return std::nullopt;
  check_name(a, ptr, job);
  AssetSpec spec;
  spec.name = a["name"].get<std::string>();
  spec.url = a["url"].get<std::string>();
  spec.source = SourceRef{path_, lines_.line(ptr)};

  std::optional<MediaType> declared;
  if (a.contains("type")) {
    const std::string& t = a["type"].get_ref<const std::string&>();
    // Exactly as the schema spells them (media_type_from_string also takes "Image").
    const auto& names = config::media_type_names();
    if (std::find(names.begin(), names.end(), t) != names.end())
      declared = media_type_from_string(t);
    if (!declared) {
      error(ptr + "/type", job, "type", "unknown asset type " + quoted(t, 40),
            suggestion(t, config::media_type_names()) + "use \"image\", \"video\" or \"audio\"");
    }
  }
  std::string ext;
  if (asset_ref(spec.url)) {
    error(ptr + "/url", job, "url",
          "an asset's url must be an http(s) URL PiAPI can fetch, not an asset:// reference",
          "to use an asset uploaded elsewhere, put its asset://asset-... id in a task's media "
          "list directly; declare only assets seedanced should upload");
  } else {
    std::string why;
    auto url = config::parse_http_url(spec.url, why);
    if (!url) {
      error(ptr + "/url", job, "url", "invalid URL " + quoted(spec.url, 80) + ": " + why,
            "use a public http:// or https:// URL with a host, e.g. "
            "https://cdn.example.com/hero.png");
    } else {
      ext = config::url_extension(*url);
    }
  }
  auto from_ext = config::media_type_of_extension(ext);
  if (declared && from_ext && *declared != *from_ext) {
    error(ptr + "/url", job, "url",
          "the URL ends in ." + ext + ", which is " + std::string(to_string(*from_ext)) +
              ", but the asset's type is " + std::string(to_string(*declared)),
          "a " + std::string(to_string(*declared)) + " asset takes " +
              config::extensions_of(*declared) + "; fix the URL or the type");
  }
  if (!a.contains("type") && !from_ext && errors_ == before) {
    error(ptr, job, "type", "the asset has no type and its URL's extension does not tell it",
          R"(add "type": "image", "video" or "audio")");
  }
  if (errors_ != before) return std::nullopt;
  spec.type = declared ? *declared : *from_ext;
  if (!from_ext) {
    warning(ptr + "/url", job, "url",
            ext.empty() ? "the URL has no file extension; PiAPI may not tell its format"
                        : "the URL ends in ." + ext + ", which is not a " +
                              std::string(to_string(spec.type)) + " format PiAPI lists",
            "make sure it serves a " + std::string(to_string(spec.type)) + " file (" +
                config::extensions_of(spec.type) + ")");
  }
  return spec;
}

bool FileChecker::check_task_url(const std::string& url, MediaType list_type,
                                 const config::TaskTypeInfo* type, const std::string& ptr,
                                 const std::string& job, const std::string& field) {
  if (auto ref = asset_ref(url)) {
    bool ok = true;
    if (!is_remote_asset_id(*ref) && !config::is_valid_name(*ref)) {
      error(ptr, job, field, "invalid asset reference " + quoted(url, 80),
            "after asset:// write the name of an asset declared in jobs_dir, or a PiAPI asset "
            "id like asset-20260607154123-6nxk8");
      ok = false;
    }
    if (type != nullptr && type->strict) {
      error(ptr, job, field,
            "asset:// references are rejected by the strict task type '" + std::string(type->name) +
                "'",
            "use task_type '" + std::string(type->twin) +
                "' (same input, permissive review), or a raw https:// URL instead");
      ok = false;
    }
    return ok;
  }
  std::string why;
  auto parts = config::parse_http_url(url, why);
  if (!parts) {
    error(ptr, job, field, "invalid URL " + quoted(url, 80) + ": " + why,
          "use an http(s) URL with a host, asset://NAME of a declared asset, or "
          "asset://asset-YYYYMMDDHHMMSS-xxxxx");
    return false;
  }
  std::string ext = config::url_extension(*parts);
  auto from_ext = config::media_type_of_extension(ext);
  if (from_ext && *from_ext != list_type) {
    error(ptr, job, field,
          "the URL ends in ." + ext + ", which is " + std::string(to_string(*from_ext)) + ", not " +
              std::string(to_string(list_type)),
          "move it to " + std::string(list_key(*from_ext)) + ", or use a " +
              std::string(to_string(list_type)) + " (" + config::extensions_of(list_type) + ")");
    return false;
  }
  return true;
}

void FileChecker::check_counts_and_mode(const TaskSpec& t, const std::string& ptr,
                                        const std::string& job) {
  size_t ni = t.image_urls.size(), nv = t.video_urls.size(), na = t.audio_urls.size();
  size_t total = ni + nv + na;
  bool counts_ok = true;
  auto limit = [&](size_t n, int max, std::string_view field, std::string_view what) {
    if (n > static_cast<size_t>(max)) {
      counts_ok = false;
      error(ptr + "/" + std::string(field), job, std::string(field),
            plural(n, what) + " attached; PiAPI takes at most " + std::to_string(max),
            "remove " + std::to_string(n - static_cast<size_t>(max)) + " of them");
    }
  };
  limit(ni, config::kMaxImages, "image_urls", "image");
  limit(nv, config::kMaxVideos, "video_urls", "video");
  limit(na, config::kMaxAudios, "audio_urls", "audio");
  if (counts_ok && total > static_cast<size_t>(config::kMaxReferences)) {
    error(ptr, job, "image_urls",
          std::to_string(total) + " references attached in all; PiAPI takes at most 12",
          "keep at most 12 images, videos and audios together");
  }
  if (na > 0 && ni + nv == 0) {
    error(ptr + "/audio_urls", job, "audio_urls",
          "audio references need at least one image or video reference",
          "add an image or video to image_urls/video_urls, or remove audio_urls");
  }
  if (!t.mode) return;
  const std::string& mode = *t.mode;
  std::string mptr = ptr + "/mode";
  if (mode == "text_to_video" && total > 0) {
    error(mptr, job, "mode",
          "mode text_to_video takes no references, but " + plural(total, "reference") +
              " are attached",
          "remove the references, or use mode omni_reference (or first_last_frames for 1-2 "
          "images)");
  } else if (mode == "omni_reference" && total == 0) {
    error(mptr, job, "mode", "mode omni_reference needs at least one reference",
          "attach images, videos or audios, or use mode text_to_video");
  } else if (mode == "first_last_frames") {
    if (nv > 0 || na > 0) {
      error(mptr, job, "mode", "mode first_last_frames takes no video or audio references",
            "remove video_urls/audio_urls, or use mode omni_reference");
    }
    if (ni < 1 || ni > 2) {
      error(mptr, job, "mode",
            "mode first_last_frames takes 1 or 2 images (first and last frame), but " +
                plural(ni, "image") + " are attached",
            "attach 1-2 images, or use mode omni_reference for more references");
    }
  }
}

void FileChecker::check_prompt_refs(const TaskSpec& t, const std::string& ptr,
                                    const std::string& job) {
  std::set<std::string> seen;
  for (const auto& r : config::prompt_refs(t.prompt)) {
    size_t have = r.type == MediaType::kImage   ? t.image_urls.size()
                  : r.type == MediaType::kVideo ? t.video_urls.size()
                                                : t.audio_urls.size();
    if (r.number >= 1 && static_cast<size_t>(r.number) <= have) continue;
    if (!seen.insert(r.text).second) continue;
    std::string kind(to_string(r.type));
    std::string msg =
        "the prompt names " + quoted(r.text, 20) + " but " +
        (have == 0 ? "no " + kind + " is" : plural(have, kind) + (have == 1 ? " is" : " are")) +
        " attached";
    std::string fix =
        r.number < 1
            ? "numbering starts at 1 (" + kind + " 1 is " + std::string(list_key(r.type)) + "[0])"
            : "attach " + kind + " " + std::to_string(r.number) + " in " +
                  std::string(list_key(r.type)) + " or fix the number (1-based, in list order)";
    error(ptr + "/prompt", job, "prompt", msg, fix);
  }
}

std::optional<TaskSpec> FileChecker::check_task(const Json& t, size_t index) {
  std::string ptr = "/tasks/" + std::to_string(index);
  std::string job = label(t, "tasks", index);
  if (!t.is_object()) {
    error(ptr, job, "", "a task must be an object, not " + config::json_kind(t),
          R"(write {"name": "...", "task_type": "...", "prompt": "...", ...})");
    return std::nullopt;
  }
  int before = errors_;
  if (!check_keys(t, config::task_fields(), ptr, job, "a task")) {
    // Still check what can be checked? The types are wrong: stop here.
    return std::nullopt;
  }
  check_name(t, ptr, job);
  TaskSpec spec;
  spec.name = t["name"].get<std::string>();
  spec.task_type = t["task_type"].get<std::string>();
  spec.prompt = t["prompt"].get<std::string>();
  spec.source = SourceRef{path_, lines_.line(ptr)};

  const config::TaskTypeInfo* type = config::find_task_type(spec.task_type);
  if (type == nullptr) {
    error(ptr + "/task_type", job, "task_type", "unknown task_type " + quoted(spec.task_type, 60),
          suggestion(spec.task_type, config::task_type_names()) +
              "use one of: " + join(config::task_type_names()));
  } else if (!type->alias_of.empty()) {
    warning(ptr + "/task_type", job, "task_type",
            "task_type '" + std::string(type->name) + "' is deprecated (PiAPI treats it as '" +
                std::string(type->alias_of) + "')",
            "write '" + std::string(type->alias_of) + "'");
  }

  if (config::trim(spec.prompt).empty()) {
    error(ptr + "/prompt", job, "prompt", "the prompt is empty",
          "describe the video to make (up to 4000 characters)");
  } else if (size_t n = config::utf8_length(spec.prompt); n > config::kMaxPromptChars) {
    error(ptr + "/prompt", job, "prompt",
          "the prompt has " + std::to_string(n) + " characters; PiAPI takes at most 4000",
          "shorten it by " + std::to_string(n - config::kMaxPromptChars) + " characters");
  }

  // Media lists.
  struct List {
    const char* key;
    MediaType type;
    std::vector<std::string>* out;
  };
  List lists[] = {{"image_urls", MediaType::kImage, &spec.image_urls},
                  {"video_urls", MediaType::kVideo, &spec.video_urls},
                  {"audio_urls", MediaType::kAudio, &spec.audio_urls}};
  bool lists_ok = true;
  for (auto& l : lists) {
    if (!t.contains(l.key)) continue;
    const Json& arr = t[l.key];
    std::string lptr = ptr + "/" + l.key;
    for (size_t i = 0; i < arr.size(); ++i) {
      std::string field = std::string(l.key) + "[" + std::to_string(i) + "]";
      std::string eptr = lptr + "/" + std::to_string(i);
      if (!arr[i].is_string()) {
        error(eptr, job, field, "must be a URL string, not " + config::json_kind(arr[i]),
              "write \"https://...\" or \"asset://NAME\"");
        lists_ok = false;
        continue;
      }
      const std::string& url = arr[i].get_ref<const std::string&>();
      if (!check_task_url(url, l.type, type, eptr, job, field)) lists_ok = false;
      l.out->push_back(url);
      if (asset_ref(url)) field_lines_[spec.name + "/" + field] = lines_.line(eptr);
    }
  }

  if (t.contains("duration")) {
    const Json& d = t["duration"];
    bool in_range =
        d.is_number_unsigned()
            ? d.get<uint64_t>() >= static_cast<uint64_t>(config::kMinDuration) &&
                  d.get<uint64_t>() <= static_cast<uint64_t>(config::kMaxDuration)
            : d.get<int64_t>() >= config::kMinDuration && d.get<int64_t>() <= config::kMaxDuration;
    if (!in_range) {
      std::string shown = d.is_number_unsigned() ? std::to_string(d.get<uint64_t>())
                                                 : std::to_string(d.get<int64_t>());
      error(ptr + "/duration", job, "duration", "duration " + shown + " is outside 4-15 seconds",
            "use a whole number of seconds from 4 to 15");
    } else {
      spec.duration = static_cast<int>(d.get<int64_t>());
    }
  }
  if (t.contains("aspect_ratio")) {
    const std::string& ar = t["aspect_ratio"].get_ref<const std::string&>();
    const auto& all = config::aspect_ratios();
    if (std::find(all.begin(), all.end(), ar) == all.end()) {
      error(ptr + "/aspect_ratio", job, "aspect_ratio", "unknown aspect_ratio " + quoted(ar, 20),
            suggestion(ar, all) + "use one of: " + join(all));
    }
    spec.aspect_ratio = ar;
  }
  if (t.contains("resolution")) {
    const std::string& res = t["resolution"].get_ref<const std::string&>();
    const auto& all = config::resolutions();
    if (std::find(all.begin(), all.end(), res) == all.end()) {
      error(ptr + "/resolution", job, "resolution", "unknown resolution " + quoted(res, 20),
            suggestion(res, all) + "use one of: " + join(all));
    } else if (res == "1080p" && type != nullptr && !type->allows_1080p) {
      error(ptr + "/resolution", job, "resolution",
            "task_type '" + std::string(type->name) + "' does not render 1080p",
            "use 480p or 720p, or a task type that renders 1080p (seedance-2, "
            "seedance-2-less-restriction)");
    }
    spec.resolution = res;
  }
  if (t.contains("mode")) {
    const std::string& m = t["mode"].get_ref<const std::string&>();
    const auto& all = config::modes();
    if (std::find(all.begin(), all.end(), m) == all.end()) {
      error(ptr + "/mode", job, "mode", "unknown mode " + quoted(m, 30),
            suggestion(m, all) + "use one of: " + join(all) + ", or omit it");
    } else {
      spec.mode = m;
    }
  }
  if (t.contains("audio")) spec.audio = t["audio"].get<bool>();
  if (t.contains("auto_upload_assets")) {
    spec.auto_upload_assets = t["auto_upload_assets"].get<bool>();
    // PiAPI rejects the field itself on strict types, even when false.
    if (type != nullptr && type->strict) {
      error(ptr + "/auto_upload_assets", job, "auto_upload_assets",
            "auto_upload_assets is only accepted by -less-restriction task types",
            "use task_type '" + std::string(type->twin) + "', or remove auto_upload_assets");
    }
  }

  if (lists_ok) {
    check_counts_and_mode(spec, ptr, job);
    check_prompt_refs(spec, ptr, job);
  }
  if (errors_ != before) return std::nullopt;
  return spec;
}

FileSpecs FileChecker::run() {
  FileSpecs result = check_file();
  if (reported_ > kMaxDiagnosticsPerFile) {
    out_.push_back(Diagnostic{Diagnostic::Severity::kError, path_, 0, "", "",
                              std::to_string(reported_ - kMaxDiagnosticsPerFile) +
                                  " more problems in this file are not shown",
                              "fix the ones above and check again"});
  }
  return result;
}

FileSpecs FileChecker::check_file() {
  FileSpecs result;
  if (text_.size() > kMaxJobFileBytes) {
    error("", "", "", "the file is larger than 4 MiB", "split it into several files");
    return result;
  }
  config::ParseFailure failure;
  auto doc = config::parse_json(text_, failure, kMaxJobDepth);
  if (!doc) {
    out_.push_back(Diagnostic{Diagnostic::Severity::kError, path_, failure.line, "", "",
                              failure.message,
                              "fix the JSON syntax (comments // and /* */ are allowed)"});
    return result;
  }
  const Json& root = *doc;
  if (!root.is_object()) {
    error("", "", "", "a job file must hold a JSON object, not " + config::json_kind(root),
          R"(write {"assets": [...], "tasks": [...]})");
    return result;
  }
  check_keys(root, config::file_fields(), "", "", "a job file");

  std::vector<AssetSpec> assets;
  std::vector<TaskSpec> tasks;
  if (root.contains("assets") && root["assets"].is_array()) {
    const Json& arr = root["assets"];
    for (size_t i = 0; i < arr.size(); ++i) {
      if (auto a = check_asset(arr[i], i)) assets.push_back(std::move(*a));
    }
  }
  if (root.contains("tasks") && root["tasks"].is_array()) {
    const Json& arr = root["tasks"];
    for (size_t i = 0; i < arr.size(); ++i) {
      if (auto t = check_task(arr[i], i)) tasks.push_back(std::move(*t));
    }
  }

  // Names are one namespace across assets and tasks (seedancectl show NAME).
  std::map<std::string, int> seen;  // name -> line
  auto check_dup = [&](const std::string& name, const SourceRef& src, std::string_view what) {
    auto [it, inserted] = seen.emplace(name, src.line);
    if (inserted) return;
    report_at(Diagnostic::Severity::kError, src.line, name, "name",
              std::string(what) + " name " + quoted(name, 60) + " is already declared at " + path_ +
                  ":" + std::to_string(it->second),
              "rename one of them; asset and task names are global across all files in "
              "jobs_dir");
  };
  for (const auto& a : assets) check_dup(a.name, a.source, "asset");
  for (const auto& t : tasks) check_dup(t.name, t.source, "task");

  if (errors_ > 0) return result;
  if (assets.empty() && tasks.empty()) {
    warning("", "", "", "the file declares no assets and no tasks",
            R"(add "assets": [...] and "tasks": [...], or remove the file)");
  }
  result.ok = true;
  result.assets = std::move(assets);
  result.tasks = std::move(tasks);
  result.field_lines = std::move(field_lines_);
  return result;
}

//------------------------------------------------------------------------------
// Cross-file rules.

struct FileInput {
  std::string path;
  std::optional<std::string> text;  // nullopt: could not be read
  std::string read_error;
};

JobsLoad load_inputs(const std::vector<FileInput>& inputs, const MainConfig& config,
                     const JobsLoad* previous) {
  JobsLoad load;
  std::vector<Diagnostic> diags;
  std::vector<std::string> order;
  for (const auto& in : inputs) {
    order.push_back(in.path);
    FileSpecs fs;
    if (!in.text) {
      diags.push_back(Diagnostic{Diagnostic::Severity::kError, in.path, 0, "", "", in.read_error,
                                 "fix the file's permissions or remove it"});
    } else {
      try {
        fs = parse_job_file(in.path, *in.text, diags);
      } catch (const std::exception& e) {  // a bug; never let it escape
        diags.push_back(Diagnostic{Diagnostic::Severity::kError, in.path, 0, "", "",
                                   std::string("internal error while checking: ") + e.what(),
                                   "report this as a bug"});
        fs = FileSpecs{};
      }
    }
    load.files[in.path] = std::move(fs);
  }

  // Substitute the previous declarations of a file that is now broken.
  auto keep_previous = [&](const std::string& path) -> bool {
    if (previous == nullptr) return false;
    auto it = previous->files.find(path);
    if (it == previous->files.end()) return false;
    const FileSpecs& prev = it->second;
    if (prev.assets.empty() && prev.tasks.empty()) return false;
    FileSpecs& cur = load.files[path];
    if (cur.kept_previous) return false;
    cur.ok = false;
    cur.kept_previous = true;
    cur.assets = prev.assets;
    cur.tasks = prev.tasks;
    cur.field_lines = prev.field_lines;
    diags.push_back(Diagnostic{Diagnostic::Severity::kWarning, path, 0, "", "",
                               "the file has errors; its previous declarations (" +
                                   plural(prev.assets.size(), "asset") + ", " +
                                   plural(prev.tasks.size(), "task") + ") stay in effect",
                               "fix the errors and reload (SIGHUP)"});
    return true;
  };
  for (const auto& path : order) {
    if (!load.files[path].ok) keep_previous(path);
  }
  // On SIGHUP the files that were in effect before come first, so a conflict
  // (e.g. a duplicate name) is blamed on the new file, not on running jobs.
  if (previous != nullptr) {
    auto had = [&](const std::string& p) {
      auto it = previous->files.find(p);
      return it != previous->files.end() &&
             (!it->second.assets.empty() || !it->second.tasks.empty());
    };
    std::stable_partition(order.begin(), order.end(), had);
  }

  // Apply the cross-file rules; the first file (in order) that breaks one
  // falls back to its previous declarations or is dropped; repeat.
  for (size_t round = 0; round <= 2 * order.size() + 1; ++round) {
    std::map<std::string, const AssetSpec*> assets;
    std::map<std::string, SourceRef> names;
    std::vector<std::string_view> asset_names;
    int asset_count = 0;
    std::string bad_file;
    std::vector<Diagnostic> bad;
    for (const auto& path : order) {
      const FileSpecs& fs = load.files[path];
      std::vector<Diagnostic> here;
      auto dup = [&](const std::string& name, const SourceRef& src, std::string_view what) {
        auto [it, inserted] = names.emplace(name, src);
        if (inserted) return;
        here.push_back(Diagnostic{
            Diagnostic::Severity::kError, src.file, src.line, name, "name",
            std::string(what) + " name " + quoted(name, 60) + " is already declared at " +
                it->second.file + ":" + std::to_string(it->second.line),
            "rename one of them; asset and task names are global across all files in "
            "jobs_dir"});
      };
      for (const auto& a : fs.assets) {
        dup(a.name, a.source, "asset");
        assets.emplace(a.name, &a);
        asset_names.push_back(a.name);
        if (++asset_count == config.plan.max_assets + 1) {
          here.push_back(Diagnostic{
              Diagnostic::Severity::kError, a.source.file, a.source.line, a.name, "",
              "this is asset number " + std::to_string(asset_count) +
                  "; the plan allows plan.max_assets = " + std::to_string(config.plan.max_assets),
              "declare fewer assets (use raw URLs or auto_upload_assets for one-off "
              "references), or raise plan.max_assets if your PiAPI plan allows more"});
        }
      }
      for (const auto& t : fs.tasks) dup(t.name, t.source, "task");
      if (!here.empty()) {
        bad_file = path;
        bad = std::move(here);
        break;
      }
    }
    if (bad_file.empty()) {
      // Asset references resolve against every asset in effect.
      for (const auto& path : order) {
        const FileSpecs& fs = load.files[path];
        std::vector<Diagnostic> here;
        for (const auto& t : fs.tasks) {
          const std::vector<std::string>* lists[] = {&t.image_urls, &t.video_urls, &t.audio_urls};
          const MediaType types[] = {MediaType::kImage, MediaType::kVideo, MediaType::kAudio};
          for (int l = 0; l < 3; ++l) {
            for (size_t i = 0; i < lists[l]->size(); ++i) {
              auto ref = asset_ref((*lists[l])[i]);
              if (!ref || is_remote_asset_id(*ref)) continue;
              std::string field = std::string(list_key(types[l])) + "[" + std::to_string(i) + "]";
              std::string name(*ref);
              auto fl = fs.field_lines.find(t.name + "/" + field);
              int line = fl == fs.field_lines.end() ? t.source.line : fl->second;
              auto it = assets.find(name);
              if (it == assets.end()) {
                here.push_back(Diagnostic{
                    Diagnostic::Severity::kError, t.source.file, line, t.name, field,
                    "no asset named " + quoted(name, 60) + " is declared in jobs_dir",
                    suggestion(name, asset_names) +
                        "declare it in \"assets\" of a job file, or use an https:// URL"});
              } else if (it->second->type != types[l]) {
                here.push_back(Diagnostic{Diagnostic::Severity::kError, t.source.file, line, t.name,
                                          field,
                                          "asset " + quoted(name, 60) + " is " +
                                              std::string(to_string(it->second->type)) +
                                              " but is used in " + std::string(list_key(types[l])),
                                          "move it to " + std::string(list_key(it->second->type))});
              }
            }
          }
        }
        if (!here.empty()) {
          bad_file = path;
          bad = std::move(here);
          break;
        }
      }
    }
    if (bad_file.empty()) break;
    diags.insert(diags.end(), bad.begin(), bad.end());
    FileSpecs& fs = load.files[bad_file];
    if (!keep_previous(bad_file)) {
      fs.ok = false;
      if (fs.kept_previous) {
        diags.push_back(Diagnostic{Diagnostic::Severity::kWarning, bad_file, 0, "", "",
                                   "its previous declarations conflict too; none stay in effect",
                                   "fix the errors and reload (SIGHUP)"});
      }
      fs.kept_previous = false;
      fs.assets.clear();
      fs.tasks.clear();
    }
  }

  // Merge (in path order), then the quota warnings.
  for (const auto& in : inputs) {
    const std::string& path = in.path;
    const FileSpecs& fs = load.files[path];
    load.specs.assets.insert(load.specs.assets.end(), fs.assets.begin(), fs.assets.end());
    load.specs.tasks.insert(load.specs.tasks.end(), fs.tasks.begin(), fs.tasks.end());
  }
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& t : load.specs.tasks) {
    for (const auto& n : t.asset_names()) users[n].push_back(t.name);
  }
  for (const auto& a : load.specs.assets) {
    const auto& u = users[a.name];
    if (u.empty()) {
      diags.push_back(Diagnostic{Diagnostic::Severity::kWarning, a.source.file, a.source.line,
                                 a.name, "",
                                 "no task references this asset, yet it would take one of the "
                                 "plan's asset slots",
                                 "reference it as asset://" + a.name + " or remove it"});
    } else if (u.size() == 1) {
      diags.push_back(Diagnostic{
          Diagnostic::Severity::kWarning, a.source.file, a.source.line, a.name, "",
          "only task '" + u[0] +
              "' references this asset; a raw URL (or auto_upload_assets) "
              "would not use the plan's asset quota",
          "keep it if more tasks will reuse it; otherwise put its URL in the task directly"});
    }
  }
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    return a.line < b.line;
  });
  load.diagnostics = std::move(diags);
  return load;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (severity == Severity::kWarning) out += "warning: ";
  if (!job.empty()) out += "job '" + job + "' ";
  if (!field.empty()) out += "field '" + field + "' ";
  if (!job.empty() || !field.empty()) {
    out.pop_back();
    out += ": ";
  }
  out += message;
  if (!fix.empty()) out += "; " + fix;
  return out;
}

bool JobsLoad::has_errors() const {
  return error_count() > 0;
}

int JobsLoad::error_count() const {
  return static_cast<int>(std::count_if(diagnostics.begin(), diagnostics.end(),
                                        [](const Diagnostic& d) { return d.is_error(); }));
}

int JobsLoad::warning_count() const {
  return static_cast<int>(diagnostics.size()) - error_count();
}

FileSpecs parse_job_file(const std::string& path, const std::string& text,
                         std::vector<Diagnostic>& diagnostics) {
  try {
    FileChecker checker(path, text, diagnostics);
    return checker.run();
  } catch (const std::exception& e) {  // a bug: report it as a value, never throw
    diagnostics.push_back(Diagnostic{Diagnostic::Severity::kError, path, 0, "", "",
                                     std::string("internal error while checking: ") + e.what(),
                                     "report this as a bug"});
    return FileSpecs{};
  }
}

JobsLoad load_jobs_from_texts(const std::map<std::string, std::string>& files,
                              const MainConfig& config, const JobsLoad* previous) {
  std::vector<FileInput> inputs;
  for (const auto& [path, text] : files) inputs.push_back(FileInput{path, text, ""});
  return load_inputs(inputs, config, previous);
}

JobsLoad load_jobs(const std::string& dir, const MainConfig& config, const JobsLoad* previous) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    JobsLoad load;
    bool exists = fs::exists(dir, ec);
    load.diagnostics.push_back(Diagnostic{
        Diagnostic::Severity::kError, dir, 0, "", "",
        exists ? "jobs_dir is not a directory" : "jobs_dir does not exist",
        "create the directory and put *.json job files in it, or set \"jobs_dir\" in the main "
        "config"});
    return load;
  }
  std::vector<std::string> paths;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    JobsLoad load;
    load.diagnostics.push_back(Diagnostic{Diagnostic::Severity::kError, dir, 0, "", "",
                                          "cannot read jobs_dir: " + ec.message(),
                                          "check the directory's permissions"});
    return load;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    std::string fname = p.filename().string();
    if (p.extension() != ".json" || fname.empty() || fname.front() == '.') continue;
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    paths.push_back(p.string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<FileInput> inputs;
  for (const auto& p : paths) {
    auto text = config::read_file_capped(p, kMaxJobFileBytes);
    if (text) {
      inputs.push_back(FileInput{p, std::move(*text), ""});
    } else {
      std::string msg = text.error().message();
      if (msg.rfind(p + ": ", 0) == 0) msg = msg.substr(p.size() + 2);
      inputs.push_back(FileInput{p, std::nullopt, msg});
    }
  }
  JobsLoad load = load_inputs(inputs, config, previous);
  if (paths.empty()) {
    load.diagnostics.push_back(Diagnostic{Diagnostic::Severity::kWarning, dir, 0, "", "",
                                          "jobs_dir has no *.json job files",
                                          "add job files (see docs/config.md)"});
  }
  return load;
}

}  // namespace sd
