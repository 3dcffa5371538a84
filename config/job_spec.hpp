// Job specs: every *.json file in jobs_dir, parsed (JSON with // comments) and
// validated against every rule of design.md before anything is sent.
//
// Problems are Diagnostics printed as
//   file:line: job 'x' field 'y': what is wrong; how to fix it
// One invalid file does not stop the others: it is reported and skipped.
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
  int line = 0;       // 0 when unknown
  std::string job;    // asset or task name; "" for file-level problems
  std::string field;  // e.g. "image_urls[1]"; "" when not about one field
  std::string message;  // what is wrong
  std::string fix;      // how to fix it

  // "file:line: job 'x' field 'y': message; fix" (parts omitted when empty).
  std::string to_string() const;
};

// The declarations of one file.
struct FileSpecs {
  bool ok = false;  // false: the file has errors and contributed nothing
  std::vector<AssetSpec> assets;
  std::vector<TaskSpec> tasks;
};

struct JobsLoad {
  SpecSet specs;                          // every valid declaration, merged across files
  std::map<std::string, FileSpecs> files;  // by path
  std::vector<Diagnostic> diagnostics;     // errors and warnings, in file order

  bool has_errors() const;
};

// Parses and validates one file's text (used by load_jobs and the tests).
FileSpecs parse_job_file(const std::string& path, const std::string& text,
                         std::vector<Diagnostic>& diagnostics);

// Loads every *.json in `dir` (sorted by name) and applies the cross-file
// rules (global names, asset references, plan.max_assets, quota warnings).
// With `previous` (SIGHUP), a file that now has errors keeps the declarations
// it had in `previous`, and the error is still reported.
JobsLoad load_jobs(const std::string& dir, const MainConfig& config,
                   const JobsLoad* previous = nullptr);

}  // namespace sd
