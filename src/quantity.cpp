#include "quantity.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "text.hpp"

namespace ridge {
namespace {

struct Unit {
  const char* name;
  double scale;
};

const std::vector<Unit>& units_for(QuantityKind kind) {
  static const std::vector<Unit> size = {{"B", 1},           {"kB", 1e3},           {"MB", 1e6},
                                         {"GB", 1e9},        {"TB", 1e12},          {"KiB", 1024.0},
                                         {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  static const std::vector<Unit> bandwidth = {
      {"B/s", 1},           {"kB/s", 1e3},           {"MB/s", 1e6},
      {"GB/s", 1e9},        {"TB/s", 1e12},          {"KiB/s", 1024.0},
      {"MiB/s", 1048576.0}, {"GiB/s", 1073741824.0}, {"TiB/s", 1099511627776.0}};
  static const std::vector<Unit> compute = {{"FLOP/s", 1}, {"GFLOP/s", 1e9}, {"TFLOP/s", 1e12}, {"PFLOP/s", 1e15}};
  static const std::vector<Unit> duration = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1}};
  static const std::vector<Unit> token_rate = {{"tokens/s", 1}};
  switch (kind) {
    case QuantityKind::size:
      return size;
    case QuantityKind::bandwidth:
      return bandwidth;
    case QuantityKind::compute:
      return compute;
    case QuantityKind::duration:
      return duration;
    case QuantityKind::token_rate:
      return token_rate;
  }
  return size;
}

std::vector<std::string> unit_names(QuantityKind kind) {
  std::vector<std::string> names;
  for (const auto& u : units_for(kind)) names.emplace_back(u.name);
  return names;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Length of the longest prefix that looks like a number (digits, '.', exponent, sign).
std::size_t number_prefix_length(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  while (i < s.size() && (is_digit(s[i]) || s[i] == '.')) ++i;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E') && i + 1 < s.size() &&
      (is_digit(s[i + 1]) || s[i + 1] == '-' || s[i + 1] == '+')) {
    i += 2;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i;
}

const char* kind_word(QuantityKind kind) {
  switch (kind) {
    case QuantityKind::size:
      return "a size";
    case QuantityKind::bandwidth:
      return "a bandwidth";
    case QuantityKind::compute:
      return "a compute rate";
    case QuantityKind::duration:
      return "a duration";
    case QuantityKind::token_rate:
      return "a token rate";
  }
  return "a quantity";
}

}  // namespace

std::int64_t parse_integer(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty()) throw QuantityError("expected an integer, found \"" + std::string(text) + "\"");
  for (char c : digits)
    if (!is_digit(c)) throw QuantityError("expected an integer, found \"" + std::string(text) + "\"");
  if (digits.size() > 1 && digits.front() == '0')
    throw QuantityError("\"" + std::string(text) + "\" has a leading zero; write it without");
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) throw QuantityError("\"" + std::string(text) + "\" is out of range");
  if (ec != std::errc{} || ptr != text.data() + text.size())
    throw QuantityError("expected an integer, found \"" + std::string(text) + "\"");
  return value;
}

double parse_number(std::string_view text) {
  const std::string shown = "\"" + std::string(text) + "\"";
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  const std::size_t int_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == int_start) throw QuantityError("expected a decimal number, found " + shown);
  if (i - int_start > 1 && text[int_start] == '0') throw QuantityError(shown + " has a leading zero; write it without");
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == frac_start) throw QuantityError("expected a decimal number, found " + shown);
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exp_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == exp_start) throw QuantityError("expected a decimal number, found " + shown);
  }
  if (i != text.size()) throw QuantityError("expected a decimal number, found " + shown);
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(value))
    throw QuantityError(shown + " is out of range");
  return value;
}

std::string unit_list(QuantityKind kind) { return join(unit_names(kind)); }

double parse_quantity(std::string_view text, QuantityKind kind) {
  const std::string shown = "\"" + std::string(text) + "\"";
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    if (kind == QuantityKind::size) {
      const std::size_t n = number_prefix_length(text);
      if (n == text.size()) return static_cast<double>(parse_integer(text));  // plain bytes
      if (n > 0) {
        const std::string number(text.substr(0, n));
        const std::string unit(text.substr(n));
        // Binary units say what they mean with or without a space ("1.5GiB" = 1.5 x 2^30).
        if (unit == "KiB" || unit == "MiB" || unit == "GiB" || unit == "TiB")
          return parse_quantity(number + " " + unit, kind);
        if (unit == "GB" || unit == "G")
          throw QuantityError(shown + " is ambiguous; write " + number + " GB (1e9 bytes) or " + number +
                              " GiB (2^30 bytes)");
        throw QuantityError(shown + ": put one space between number and unit, e.g. \"" + number + " " + unit + "\"");
      }
    } else {
      const std::size_t n = number_prefix_length(text);
      if (n > 0 && n < text.size())
        throw QuantityError(shown + ": put one space between number and unit, e.g. \"" +
                            std::string(text.substr(0, n)) + " " + std::string(text.substr(n)) + "\"");
    }
    throw QuantityError("expected " + std::string(kind_word(kind)) + " with a unit (" + unit_list(kind) + "), found " +
                        shown);
  }
  const std::string_view number = text.substr(0, space);
  const std::string_view unit = text.substr(space + 1);
  const double value = parse_number(number);
  for (const auto& u : units_for(kind)) {
    if (unit == u.name) {
      double scaled = value * u.scale;
      if (!std::isfinite(scaled)) throw QuantityError(shown + " is out of range");
      // Rates are whole numbers of bytes or FLOP per second: drop the binary-fraction noise of
      // 66.9 x 1e12 so that reports print 66900000000000.
      if (kind != QuantityKind::duration && kind != QuantityKind::token_rate && std::fabs(scaled) >= 1e3)
        scaled = std::round(scaled);
      return scaled;
    }
  }
  throw QuantityError("unknown unit \"" + std::string(unit) + "\" for " + kind_word(kind) +
                      did_you_mean(unit, unit_names(kind)) + "; expected one of " + unit_list(kind));
}

std::uint64_t parse_size_bytes(std::string_view text) {
  const double bytes = parse_quantity(text, QuantityKind::size);
  if (bytes < 0) throw QuantityError("\"" + std::string(text) + "\" is negative");
  if (bytes >= 9.0e18) throw QuantityError("\"" + std::string(text) + "\" is out of range");
  const double whole = std::round(bytes);
  if (std::fabs(whole - bytes) > 1e-6 * std::max(1.0, bytes))
    throw QuantityError("\"" + std::string(text) + "\" is not a whole number of bytes");
  return static_cast<std::uint64_t>(whole);
}

}  // namespace ridge
