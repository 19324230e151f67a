// The CI gate: a deployment file in, findings out. Every number comes from the same engines
// as `ridge memory` and `ridge roofline` (estimate_memory, estimate_service); this file only
// compares their results with the limits the deployment file sets, and says where.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "time_basis.hpp"
#include "deploy.hpp"

namespace ridge {

/// One rule evaluated on one file: passed or not, with the measured value and the limit.
struct Finding {
  std::string deployment;  ///< the deployment file this finding belongs to
  Location where;          ///< the key to point at (the SLO key for an SLO miss, gpus/tp for memory);
                           ///< for a bad model or GPU file, the position inside that file
  std::string field;       ///< that key's dotted name
  std::string rule;        ///< "memory.fits", or "input.valid" for a file that could not be used
  Severity severity = Severity::error;
  bool passed = false;
  bool failing = false;  ///< not passed and at or above the fail-on level
  std::string message;
  std::optional<double> measured;  ///< in `unit`
  std::optional<double> limit;     ///< in `unit`
  std::string unit;                ///< base unit of measured/limit: "bytes", "s", "tokens/s", "fraction", "tokens"
};

/// Evaluates every rule on one deployment, applying the file's severity overrides ("off"
/// drops a rule). Throws InputError when the file names something unusable (unknown model,
/// a bad model or GPU file, an overhead larger than the GPU). `failing` is left unset. SLO
/// times are the calibrated estimate where the GPU has a calibration, unless `basis` is bound.
std::vector<Finding> check_deployment(const DeploymentFile& d, TimeBasis basis = TimeBasis::expected);

/// Findings of one file with `failing` set: its rules, or one `input.valid` finding at the
/// position of the problem when the file cannot be read or used. `fail_on` from the command
/// line overrides the file's rules.fail_on (default error). `text`, when given, is the file's
/// content already read; `follow_paths` false skips evaluation of files that name other files
/// (the fuzz harness loads but never opens what a hostile input names).
/// `file_rules` false (`--no-file-rules`: the CI owner's policy) ignores the file's `rules:`
/// block, so a file cannot switch off the rule it breaks; a notice names what was ignored.
std::vector<Finding> check_file(const std::string& path, std::optional<Severity> fail_on,
                                const std::string* text = nullptr, bool follow_paths = true,
                                TimeBasis basis = TimeBasis::expected, bool file_rules = true);

/// All files of one run.
struct CheckReport {
  std::vector<std::string> files;  ///< as given, sorted, each once
  std::vector<Finding> findings;   ///< every evaluated rule, sorted by file, line, column, rule

  /// The findings of one file: a range of `findings` (sorted by file), found by binary search
  /// so that a report over many files stays linear.
  std::pair<std::vector<Finding>::const_iterator, std::vector<Finding>::const_iterator> findings_of(
      const std::string& file) const;
  /// Findings that did not pass, of severity `s`.
  int count(Severity s) const;
  int failing() const;
  bool invalid(const std::string& file) const;
  int invalid_files() const;
  /// "pass", "fail" or "invalid".
  std::string status_of(const std::string& file) const;
  /// 2 when any file is invalid, else 1 when any finding fails, else 0.
  int exit_code() const;
};

/// Sorts and deduplicates the files and sorts the findings (file, line, column, rule).
CheckReport make_report(std::vector<std::string> files, std::vector<Finding> findings);

/// check_file for every path, in one report.
CheckReport check_files(const std::vector<std::string>& paths, std::optional<Severity> fail_on,
                        TimeBasis basis = TimeBasis::expected, bool file_rules = true);

}  // namespace ridge
