// The HTML report's page: the embedded JSON cannot end its <script> element or break a line in
// older JavaScript, still parses to the same document, and sits in the page exactly once.
#include <doctest/doctest.h>

#include <string>

#include "report/html_report.hpp"

using namespace ridge;

namespace {

const std::string kLineSeparator = "\xE2\x80\xA8";       // U+2028 in UTF-8
const std::string kParagraphSeparator = "\xE2\x80\xA9";  // U+2029

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// The text between <script type="application/json" id="ridge-data"> and the next </script>,
/// as an HTML parser reads a script element's content.
std::string script_body(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"ridge-data\">";
  const std::size_t start = page.find(open);
  REQUIRE(start != std::string::npos);
  const std::size_t body = start + open.size();
  const std::size_t end = page.find("</script", body);
  REQUIRE(end != std::string::npos);
  return page.substr(body, end - body);
}

}  // namespace

TEST_CASE("script_safe_json: no </script>, <!--, U+2028 or U+2029 survives, and the JSON is unchanged") {
  nlohmann::ordered_json j;
  const std::string hostile =
      "Evil</script><script>alert(1)</script><!-- a" + kLineSeparator + "b" + kParagraphSeparator + "c & d > e";
  j["model"] = {{"display_name", hostile}};
  j["n"] = 3;
  const std::string text = script_safe_json(j);
  CHECK(text.find('<') == std::string::npos);
  CHECK(text.find('>') == std::string::npos);
  CHECK(text.find('&') == std::string::npos);
  CHECK(text.find(kLineSeparator) == std::string::npos);
  CHECK(text.find(kParagraphSeparator) == std::string::npos);
  CHECK(text.find("\\u003c/script\\u003e") != std::string::npos);
  CHECK(text.find("\\u2028") != std::string::npos);
  CHECK(text.find("\\u2029") != std::string::npos);
  // The escapes are JSON's own: parsing gives back the hostile name, byte for byte.
  const auto back = nlohmann::ordered_json::parse(text);
  CHECK(back == j);
  CHECK(back["model"]["display_name"].get<std::string>() == hostile);
}

TEST_CASE("script_safe_json: invalid UTF-8 becomes U+FFFD instead of throwing") {
  nlohmann::ordered_json j;
  j["name"] = std::string("bad \xFF byte");
  std::string text;
  CHECK_NOTHROW(text = script_safe_json(j));
  CHECK(nlohmann::ordered_json::parse(text)["name"].get<std::string>() == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("html_report: the data sits inside its script element once, and a hostile name cannot leave it") {
  nlohmann::ordered_json data;
  data["schema"] = "ridge.report/v1";
  data["roofline"] = {{"model", {{"display_name", "x</script><img src=x onerror=alert(1)>" + kLineSeparator}}}};
  const std::string page = html_report(data);
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(page.find("{{RIDGE_DATA}}") == std::string::npos);
  CHECK(count_of(page, "id=\"ridge-data\"") == 1);
  CHECK(page.find("<img src=x") == std::string::npos);
  CHECK(page.find(kLineSeparator) == std::string::npos);
  // What the HTML parser hands to JSON.parse is the whole document.
  CHECK(nlohmann::ordered_json::parse(script_body(page)) == data);
  // No network: the page's policy allows nothing but its own inline script, styles and data: images.
  CHECK(page.find("default-src 'none'") != std::string::npos);
  CHECK(page.find("src=\"http") == std::string::npos);
  CHECK(page.find("href=\"http") == std::string::npos);
}

TEST_CASE("curve_rates: seven increasing rates up to 1.1 x saturation, two significant digits") {
  // 21.6 req/s: 0.1 x = 2.16 -> 2.2, 0.25 x = 5.4, 0.5 x = 10.8 -> 11, 0.75 x = 16.2 -> 16, 0.9 x = 19.44 -> 19,
  // 1.0 x = 21.6 -> 22, 1.1 x = 23.76 -> 24.
  CHECK(curve_rates(21.6) == std::vector<double>{2.2, 5.4, 11, 16, 19, 22, 24});
  // 0.5 req/s: 0.05, 0.125 -> 0.13 (0.125 rounds half away from zero), 0.25, 0.375 -> 0.38, 0.45, 0.5, 0.55.
  CHECK(curve_rates(0.5) == std::vector<double>{0.05, 0.13, 0.25, 0.38, 0.45, 0.5, 0.55});
}
