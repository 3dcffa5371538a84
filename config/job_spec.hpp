// Job specs: every *.json file in jobs_dir, parsed (JSON with // and /* */
// comments) and validated against every rule of design.md, plus the PiAPI
// input rules of piapi-api.md §2, before anything is sent. docs/config.md
// lists the rules; config/validate.hpp holds their tables.
//
// Problems are Diagnostics printed as
//   file:line: job 'x' field 'y': what is wrong; how to fix it
// (warnings as "file:line: warning: job 'x' ..."). One invalid file does not
// stop the others: it is reported and skipped.
//
// Owner: config/. Thread contract: plain functions over values; no shared state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/main_config.hpp"
#include "core/spec.hpp"

namespace sd {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;         // 0 when unknown
  std::string job;      // asset or task name; "" for file-level problems
  std::string field;    // e.g. "image_urls[1]"; "" when not about one field
  std::string message;  // what is wrong
  std::string fix;      // how to fix it

  // "file:line: job 'x' field 'y': message; fix" (parts omitted when empty;
  // a warning has "warning: " before "job").
  std::string to_string() const;
  bool is_error() const { return severity == Severity::kError; }
};

// The declarations of one file.
struct FileSpecs {
  bool ok = false;  // false: the file has errors
  // With ok == false these are empty, unless kept_previous: then they are the
  // declarations the file had in the previous load (SIGHUP), still in effect.
  bool kept_previous = false;
  std::vector<AssetSpec> assets;
  std::vector<TaskSpec> tasks;
  // The line of each asset:// entry, keyed "task/image_urls[1]", so the
  // cross-file rules can point at the entry rather than at the task.
  std::map<std::string, int> field_lines;
};

struct JobsLoad {
  SpecSet specs;                           // every declaration in effect, merged across files
  std::map<std::string, FileSpecs> files;  // by path
  std::vector<Diagnostic> diagnostics;     // errors and warnings, sorted by file and line

  bool has_errors() const;
  int error_count() const;
  int warning_count() const;
};

// Parses and validates one file's text (used by load_jobs and the tests):
// every rule that needs only this file. Appends problems to `diagnostics`;
// the result has ok == false (and no declarations) when any is an error.
// Never throws, whatever the text.
FileSpecs parse_job_file(const std::string& path, const std::string& text,
                         std::vector<Diagnostic>& diagnostics);

// Loads every *.json in `dir` (sorted by name) and applies the cross-file
// rules (global names, asset references, plan.max_assets, quota warnings).
// A missing or unreadable dir is one error. With `previous` (SIGHUP), a file
// that now has errors keeps the declarations it had in `previous`, and the
// error is still reported.
JobsLoad load_jobs(const std::string& dir, const MainConfig& config,
                   const JobsLoad* previous = nullptr);

// load_jobs over in-memory files (path -> text), in path order.
JobsLoad load_jobs_from_texts(const std::map<std::string, std::string>& files,
                              const MainConfig& config, const JobsLoad* previous = nullptr);

}  // namespace sd
