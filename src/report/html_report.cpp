#include "report/html_report.hpp"

#include <cassert>
#include <cmath>
#include <iterator>
#include <string_view>

namespace ridge {

// src/report/report_page.html, embedded by cmake/embed_text.cmake.
extern const std::string_view report_page_template;

namespace {

/// Where the page's template takes the data: the body of <script id="ridge-data">.
constexpr std::string_view kDataSlot = "{{RIDGE_DATA}}";

/// The serving curves' default rates as fractions of saturation: light load, the knee, past it.
constexpr double kCurveFractions[] = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1};

}  // namespace

nlohmann::ordered_json report_json(const ReportSections& s) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.report/v1";
  j["generator"] = s.generator;
  j["memory"] = s.memory;
  j["roofline"] = s.roofline;
  j["serve"] = s.serve;
  j["serve_rates"] = s.rates;
  j["plan"] = s.plan;
  return j;
}

std::string script_safe_json(const nlohmann::ordered_json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // Outside strings JSON has none of these characters, so each is inside a string, where a
    // \u escape means the same character.
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string html_report(const nlohmann::ordered_json& data) {
  const std::string_view page = report_page_template;
  const std::size_t slot = page.find(kDataSlot);
  assert(slot != std::string_view::npos && page.find(kDataSlot, slot + 1) == std::string_view::npos);
  std::string out;
  out.reserve(page.size() + 65536);
  out += page.substr(0, slot);
  out += script_safe_json(data);
  out += page.substr(slot + kDataSlot.size());
  return out;
}

std::vector<double> curve_fractions() { return {std::begin(kCurveFractions), std::end(kCurveFractions)}; }

std::vector<double> curve_rates(double saturation_requests_per_s) {
  assert(saturation_requests_per_s > 0);
  std::vector<double> rates;
  for (double f : kCurveFractions) {
    const double r = f * saturation_requests_per_s;
    // Two significant digits; dividing by an exact power of ten gives the double nearest the
    // decimal (0.45, not 0.45000000000000001 from multiplying by 0.01).
    const double e = std::floor(std::log10(r)) - 1;
    const double rounded = e >= 0 ? std::round(r / std::pow(10.0, e)) * std::pow(10.0, e)
                                  : std::round(r * std::pow(10.0, -e)) / std::pow(10.0, -e);
    if (rates.empty() || rounded > rates.back()) rates.push_back(rounded);
  }
  return rates;
}

}  // namespace ridge
