// Quantities with their unit in the type. Base units inside (bytes, FLOP, seconds);
// scaling to GiB, TB/s or TFLOP/s happens only when printing (see format.hpp).
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ridge {

/// Thrown when a byte count leaves the 64-bit range. Inputs are range-checked at load, so
/// reaching this means a combination of valid-looking inputs is absurd (exit code 2).
struct OverflowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// a * b for byte arithmetic, throwing instead of wrapping.
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw OverflowError("byte count overflows 64 bits");
  return r;
}

/// a + b for byte arithmetic, throwing instead of wrapping.
inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw OverflowError("byte count overflows 64 bits");
  return r;
}

/// A whole number of bytes. Memory is allocated in bytes, so counts stay integers and every
/// operation is overflow-checked.
struct Bytes {
  std::uint64_t value = 0;

  constexpr Bytes() = default;
  constexpr explicit Bytes(std::uint64_t v) : value(v) {}

  friend Bytes operator+(Bytes a, Bytes b) { return Bytes{checked_add(a.value, b.value)}; }
  friend Bytes operator*(Bytes a, std::uint64_t n) { return Bytes{checked_mul(a.value, n)}; }
  friend Bytes operator*(std::uint64_t n, Bytes a) { return a * n; }
  Bytes& operator+=(Bytes b) { return *this = *this + b; }
  /// Saturating difference: a budget minus what it holds never goes below zero.
  friend Bytes saturating_sub(Bytes a, Bytes b) { return Bytes{a.value > b.value ? a.value - b.value : 0}; }
  friend constexpr auto operator<=>(Bytes, Bytes) = default;
  double as_double() const { return static_cast<double>(value); }
};

struct Seconds {
  double value = 0;
  friend Seconds operator+(Seconds a, Seconds b) { return {a.value + b.value}; }
  Seconds& operator+=(Seconds b) {
    value += b.value;
    return *this;
  }
  friend constexpr auto operator<=>(Seconds, Seconds) = default;
};

struct BytesPerSecond {
  double value = 0;
  friend constexpr auto operator<=>(BytesPerSecond, BytesPerSecond) = default;
};

struct FlopsPerSecond {
  double value = 0;
  friend constexpr auto operator<=>(FlopsPerSecond, FlopsPerSecond) = default;
};

inline Seconds operator/(Bytes b, BytesPerSecond r) { return {b.as_double() / r.value}; }

inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;
inline constexpr double kGB = 1e9;

}  // namespace ridge
