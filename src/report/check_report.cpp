#include "report/check_report.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "format.hpp"
#include "text.hpp"

namespace ridge {
namespace {

/// Calls out(piece) for each valid character of `s` (as its bytes) and out("\uFFFD") for each
/// byte that is not valid UTF-8 or a character `allowed` refuses.
template <class Allowed, class Out>
void sanitize(std::string_view s, Allowed allowed, Out out) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_at(s, i, cp);
    if (n == 0 || !allowed(cp)) {
      out(cp, std::string_view("\xEF\xBF\xBD"));
      i += n == 0 ? 1 : n;
    } else {
      out(cp, s.substr(i, n));
      i += n;
    }
  }
}

/// Terminal- and Markdown-safe text: valid UTF-8, control characters shown as U+FFFD.
std::string printable(std::string_view s) {
  std::string out;
  sanitize(
      s, [](char32_t c) { return c >= 0x20 && c != 0x7F; }, [&](char32_t, std::string_view piece) { out += piece; });
  return out;
}

std::string markdown_cell(std::string_view s) {
  std::string out;
  for (char ch : printable(s)) {
    switch (ch) {
      case '|':
        out += "\\|";
        break;
      case '[':
        out += "\\[";
        break;  // no links or images from a file's text
      case ']':
        out += "\\]";
        break;
      case '!':
        out += "\\!";
        break;
      case '`':
        out += "\\`";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/// Text as a Markdown code span that no backtick inside can close early (CommonMark: a span
/// opened by two backticks ends at the next two), table pipes escaped.
std::string code_span(std::string_view s) {
  std::string body;
  for (char ch : printable(s)) body += ch == '|' ? std::string("\\|") : std::string(1, ch);
  if (body.find('`') == std::string::npos) return "`" + body + "`";
  return "`` " + body + " ``";
}

std::string position(const Finding& f) {
  std::string out = f.where.file;
  if (f.where.line > 0) out += ":" + std::to_string(f.where.line);
  if (f.where.column > 0) out += ":" + std::to_string(f.where.column);
  return out;
}

std::string unit_suffix(const std::string& unit) {
  if (unit == "bytes") return "_bytes";
  if (unit == "s") return "_s";
  if (unit == "tokens/s") return "_tokens_per_s";
  if (unit == "tokens") return "_tokens";
  return "_fraction";
}

struct FileCounts {
  int checks = 0, errors = 0, warnings = 0, notices = 0;
};

FileCounts counts_of(const CheckReport& r, const std::string& file) {
  FileCounts c;
  const auto [first, last] = r.findings_of(file);
  for (auto it = first; it != last; ++it) {
    const Finding& f = *it;
    ++c.checks;
    if (f.passed) continue;
    (f.severity == Severity::error ? c.errors : f.severity == Severity::warning ? c.warnings : c.notices)++;
  }
  return c;
}

std::string summary_line(const CheckReport& r) {
  int passed = 0, failed = 0, invalid = 0;
  for (const auto& file : r.files) {
    const std::string s = r.status_of(file);
    (s == "pass" ? passed : s == "fail" ? failed : invalid)++;
  }
  return fmt::format(
      "{} checked: {} passed, {} failed, {} invalid; {} failing finding{}; in all {} error{}, {} warning{}, {} "
      "notice{}",
      r.files.size() == 1 ? std::string("1 file") : fmt::format("{} files", r.files.size()), passed, failed, invalid,
      r.failing(), r.failing() == 1 ? "" : "s", r.count(Severity::error), r.count(Severity::error) == 1 ? "" : "s",
      r.count(Severity::warning), r.count(Severity::warning) == 1 ? "" : "s", r.count(Severity::notice),
      r.count(Severity::notice) == 1 ? "" : "s");
}

std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

std::string github_escape_data(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '%':
        out += "%25";
        break;
      case '\r':
        out += "%0D";
        break;
      case '\n':
        out += "%0A";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string github_escape_property(std::string_view s) {
  std::string out;
  for (char ch : github_escape_data(s)) {
    switch (ch) {
      case ':':
        out += "%3A";
        break;
      case ',':
        out += "%2C";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string check_text(const CheckReport& r, bool all) {
  std::string out;
  for (const auto& f : r.findings) {
    if (f.passed && !all) continue;
    const std::string level = f.passed ? "pass" : std::string(to_string(f.severity));
    out += fmt::format("{}: {}: {} [{}]\n", printable(position(f)), level, printable(f.message), f.rule);
  }
  if (!out.empty()) out += "\n";
  Table t;
  t.headers = {"file", "status", "checks", "errors", "warnings", "notices"};
  t.right_aligned = {false, false, true, true, true, true};
  for (const auto& file : r.files) {
    const FileCounts c = counts_of(r, file);
    t.rows.push_back({printable(file), upper(r.status_of(file)), std::to_string(c.checks), std::to_string(c.errors),
                      std::to_string(c.warnings), std::to_string(c.notices)});
  }
  out += t.text();
  out += summary_line(r) + "\n";
  return out;
}

std::string check_json(const CheckReport& r) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.check/v1";
  j["exit_code"] = r.exit_code();
  int passed = 0, failed = 0, invalid = 0;
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& file : r.files) {
    const std::string s = r.status_of(file);
    (s == "pass" ? passed : s == "fail" ? failed : invalid)++;
    const FileCounts c = counts_of(r, file);
    files.push_back({{"file", file},
                     {"status", s},
                     {"checks", c.checks},
                     {"errors", c.errors},
                     {"warnings", c.warnings},
                     {"notices", c.notices}});
  }
  j["summary"] = {{"files", r.files.size()},
                  {"passed", passed},
                  {"failed", failed},
                  {"invalid", invalid},
                  {"failing_findings", r.failing()},
                  {"errors", r.count(Severity::error)},
                  {"warnings", r.count(Severity::warning)},
                  {"notices", r.count(Severity::notice)}};
  j["files"] = files;
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : r.findings) {
    nlohmann::ordered_json x;
    x["file"] = f.deployment;
    if (f.where.file != f.deployment) x["location_file"] = f.where.file;
    x["line"] = f.where.line;
    x["column"] = f.where.column;
    x["field"] = f.field;
    x["rule"] = f.rule;
    x["severity"] = std::string(to_string(f.severity));
    x["status"] = f.passed ? "pass" : "fail";
    x["failing"] = f.failing;
    x["message"] = f.message;
    const std::string suffix = unit_suffix(f.unit);
    auto number = [&](const char* key, double v) {
      if (f.unit == "bytes" || f.unit == "tokens")
        x[std::string(key) + suffix] = static_cast<std::int64_t>(std::llround(v));
      else
        x[std::string(key) + suffix] = v;
    };
    if (f.measured) number("measured", *f.measured);
    if (f.limit) number("limit", *f.limit);
    j["findings"].push_back(std::move(x));
  }
  // Messages may quote bytes from a hostile file: never throw on invalid UTF-8, replace it.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string check_github(const CheckReport& r) {
  std::string out;
  for (const auto& f : r.findings) {
    if (f.passed) continue;
    const std::string level = f.failing ? "error" : std::string(to_string(f.severity));
    std::string props = "file=" + github_escape_property(f.where.file);
    if (f.where.line > 0) props += ",line=" + std::to_string(f.where.line);
    if (f.where.column > 0) props += ",col=" + std::to_string(f.where.column);
    props += ",title=" + github_escape_property("ridge check: " + f.rule);
    out += "::" + level + " " + props + "::" + github_escape_data(f.message) + "\n";
  }
  return out;
}

std::string check_markdown(const CheckReport& r, bool all) {
  std::string out = "### ridge check\n\n";
  out += summary_line(r) + "\n\n";
  out += "| file | status | checks | errors | warnings | notices |\n|---|---|--:|--:|--:|--:|\n";
  for (const auto& file : r.files) {
    const FileCounts c = counts_of(r, file);
    const std::string s = r.status_of(file);
    const std::string mark = s == "pass" ? "✅ pass" : s == "fail" ? "❌ fail" : "⛔ invalid";
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", code_span(file), mark, c.checks, c.errors, c.warnings,
                       c.notices);
  }
  std::string rows;
  for (const auto& f : r.findings) {
    if (f.passed && !all) continue;
    const std::string level = f.passed ? "pass" : std::string(to_string(f.severity)) + (f.failing ? " (fails)" : "");
    rows += fmt::format("| {} | {} | `{}` | {} |\n", code_span(position(f)), level, f.rule, markdown_cell(f.message));
  }
  if (!rows.empty()) out += "\n| where | severity | rule | message |\n|---|---|---|---|\n" + rows;
  return out;
}

std::string check_junit(const CheckReport& r) {
  std::string suites;
  int total_tests = 0, total_failures = 0, total_errors = 0;
  for (const auto& file : r.files) {
    // One testcase per rule, in rule order; its findings in report order.
    std::map<std::string, std::vector<const Finding*>> by_rule;
    for (const auto& f : r.findings)
      if (f.deployment == file) by_rule[f.rule].push_back(&f);
    int failures = 0, errors = 0;
    std::string cases;
    for (const auto& [rule, list] : by_rule) {
      const Finding& first = *list.front();
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"", xml_escaped(file),
                           xml_escaped(rule), xml_escaped(first.where.file));
      if (first.where.line > 0) cases += fmt::format(" line=\"{}\"", first.where.line);
      std::string body, out;
      bool failed = false, errored = false;
      for (const Finding* f : list) {
        const std::string text = position(*f) + ": " + std::string(to_string(f->severity)) + ": " + f->message;
        if (f->failing) {
          const bool error = f->rule == "input.valid";
          body += fmt::format("      <{} type=\"{}\" message=\"{}\">{}</{}>\n", error ? "error" : "failure",
                              xml_escaped(std::string(to_string(f->severity))), xml_escaped(f->message),
                              xml_escaped(text), error ? "error" : "failure");
          (error ? errored : failed) = true;
        } else if (!f->passed) {
          out += text + "\n";
        }
      }
      if (!out.empty()) body += "      <system-out>" + xml_escaped(out) + "</system-out>\n";
      errors += errored ? 1 : 0;
      failures += (failed && !errored) ? 1 : 0;
      cases += body.empty() ? "/>\n" : ">\n" + body + "    </testcase>\n";
    }
    total_tests += static_cast<int>(by_rule.size());
    total_failures += failures;
    total_errors += errors;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">\n{}  </testsuite>\n",
        xml_escaped(file), by_rule.size(), failures, errors, cases);
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"ridge check\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{}</testsuites>\n",
      total_tests, total_failures, total_errors, suites);
}

}  // namespace ridge
