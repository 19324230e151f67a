// `ridge report` output: one self-contained HTML page (no network: its script and styles are
// inline, its charts drawn as SVG by that script) rendered from the same JSON documents the
// other commands print with --format json, embedded in the page.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ridge {

/// What the page shows: each section the document its own command prints with --format json.
struct ReportSections {
  nlohmann::ordered_json memory;    ///< "ridge.memory/v1" of the deployment at prompt + gen tokens
  nlohmann::ordered_json roofline;  ///< "ridge.roofline/v1"
  nlohmann::ordered_json serve;     ///< "ridge.serve/v1" over the rates of the curves; null: none
  nlohmann::ordered_json plan;      ///< "ridge.plan/v1"; null: none
  nlohmann::ordered_json rates;     ///< how the curves' rates were chosen (given, or from saturation)
  std::string generator;            ///< "ridge 0.1.0"
};

/// "ridge.report/v1": the sections under their names, the generator; no timestamp (the same
/// inputs give the same page).
nlohmann::ordered_json report_json(const ReportSections& s);

/// `j` as JSON text that can sit inside <script type="application/json">: '<', '>' and '&' are
/// written \u003c, \u003e, \u0026 (no "</script>" or "<!--" can end or change the element) and
/// U+2028, U+2029 as \u2028, \u2029 (line terminators to older JavaScript). Still valid JSON
/// that parses to `j`; invalid UTF-8 in a string becomes U+FFFD.
std::string script_safe_json(const nlohmann::ordered_json& j);

/// The page (src/report/report_page.html, embedded at build time) with `data` inside it.
std::string html_report(const nlohmann::ordered_json& data);

/// The offered rates of the serving curves when none are given: curve_fractions() of the
/// saturation rate (requests/s served with every request queued at t = 0), each to two
/// significant digits, increasing, each once.
std::vector<double> curve_rates(double saturation_requests_per_s);
/// 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1: light load, the knee, and past saturation.
std::vector<double> curve_fractions();

}  // namespace ridge
