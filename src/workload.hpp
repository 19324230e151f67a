// Request loads for `ridge serve`: arrival processes, length distributions and trace files.
// Random numbers come from our own generator and transforms (not <random>'s distributions,
// whose output differs between standard libraries), so a seed gives the same bytes anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve.hpp"

namespace ridge {

/// xoshiro256** seeded through splitmix64 (Blackman & Vigna): fast, and specified exactly.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  /// Uniform in [0, 1), 53 bits.
  double uniform();
  /// Standard normal (Box–Muller, both values used).
  double normal();
  /// Exponential with rate `rate` (mean 1 / rate).
  double exponential(double rate);

 private:
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

/// Token counts: fixed, or drawn (rounded to whole tokens, at least 1).
struct LengthDistribution {
  enum class Kind { fixed, uniform, normal, lognormal };
  Kind kind = Kind::fixed;
  double a = 1;              ///< fixed: the value; uniform: low; normal/lognormal: mean
  double b = 0;              ///< uniform: high; normal/lognormal: standard deviation
  std::string text() const;  ///< "512", "uniform:256:1024", "normal:512:128", "lognormal:512:256"
  double mean() const;       ///< before rounding and the floor of 1 token
  std::int64_t max() const;  ///< largest value it can give (0: unbounded)
  std::int64_t draw(Rng& rng) const;
};

/// "512", "uniform:LOW:HIGH", "normal:MEAN:SD" or "lognormal:MEAN:SD" (token counts, the
/// lognormal's mean and standard deviation of the tokens themselves); InputError naming
/// `option` otherwise.
LengthDistribution parse_length_distribution(const std::string& option, const std::string& text);

/// `count` requests with lengths drawn from the distributions, prompt first then output per
/// request, and, at `rate` requests/s, Poisson arrivals from t = 0 (rate 0: all at t = 0).
RequestLoad generate_workload(std::int64_t count, double rate, const LengthDistribution& prompt,
                              const LengthDistribution& output, std::uint64_t seed);

/// A trace: CSV with a header naming arrival_s, prompt_tokens and output_tokens (any order,
/// other columns ignored), or JSON Lines with those keys. Sorted by arrival. Errors name the
/// file, line and field.
RequestLoad read_trace(const std::string& path);

}  // namespace ridge
