// Parsing of numbers and quantities written by people: "80 GiB", "3.35 TB/s", "989.4 TFLOP/s".
// Strict on purpose: decimal only, finite, one space between number and unit, known units.
// Problems are reported as QuantityError (message only); callers add file, line and field.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ridge {

struct QuantityError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class QuantityKind {
  size,        ///< bytes: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB; a bare integer means bytes
  bandwidth,   ///< bytes per second: B/s, MB/s, GB/s, TB/s (also GiB/s etc.)
  compute,     ///< FLOP per second: FLOP/s, GFLOP/s, TFLOP/s, PFLOP/s
  duration,    ///< seconds: ns, us, ms, s
  token_rate,  ///< generated tokens per second: tokens/s (deployment SLOs)
};

/// A strict decimal integer: digits only (optional leading '-'), no leading zeros, no '+'.
/// "010" is rejected because YAML 1.1 readers take it as octal 8.
std::int64_t parse_integer(std::string_view text);

/// A strict finite decimal number: -?digits[.digits][e[+-]digits]. No hex, no .inf/.nan.
double parse_number(std::string_view text);

/// A quantity in base units (bytes, bytes/s, FLOP/s, seconds).
double parse_quantity(std::string_view text, QuantityKind kind);

/// Exact byte count for a size: "81559 MiB" -> 85520809984. Fractions must come out whole.
std::uint64_t parse_size_bytes(std::string_view text);

/// The units accepted for a kind, for messages: "B, kB, MB, ...".
std::string unit_list(QuantityKind kind);

}  // namespace ridge
