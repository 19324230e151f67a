// `ridge check` output: one CheckReport printed as a table for people, JSON for programs,
// GitHub workflow commands (annotations on the offending lines), Markdown for a job summary
// or PR comment, and JUnit XML for CI test reports. All deterministic: same files, same bytes.
#pragma once

#include <string>
#include <string_view>

#include "gate.hpp"

namespace ridge {

/// Findings that did not pass, grouped by file, then a summary line. `all` adds passed rules.
std::string check_text(const CheckReport& r, bool all = false);
/// {"schema": "ridge.check/v1", ...}: every evaluated rule with measured value and limit.
std::string check_json(const CheckReport& r);
/// One `::error file=…,line=…,col=…,title=…::message` line per finding that did not pass
/// (`::warning`/`::notice` for those that do not fail the build).
std::string check_github(const CheckReport& r);
/// A Markdown summary: per-file status table and the findings.
std::string check_markdown(const CheckReport& r, bool all = false);
/// JUnit XML: one testsuite per file, one testcase per (file, rule); failing findings are
/// <failure>, invalid files <error>.
std::string check_junit(const CheckReport& r);

/// GitHub workflow-command escaping of a message: % -> %25, CR -> %0D, LF -> %0A.
std::string github_escape_data(std::string_view s);
/// The same for a property value, plus : -> %3A and , -> %2C.
std::string github_escape_property(std::string_view s);

}  // namespace ridge
