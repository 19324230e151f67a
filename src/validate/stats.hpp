// Summary statistics of timing samples (nvbench habit: report the median and the spread).
#pragma once

#include <cstddef>
#include <vector>

namespace ridge::validate {

struct Summary {
  std::size_t n = 0;
  double median = 0;
  double min = 0;
  double max = 0;
  double p10 = 0;
  double p90 = 0;
  double mean = 0;
  /// (p90 − p10) / median: the relative spread of the middle 80% of samples.
  double spread() const { return median > 0 ? (p90 - p10) / median : 0.0; }
};

/// The q-quantile (0 <= q <= 1) of sorted values, linear between closest ranks: position
/// q·(n − 1), as numpy's default and Excel's PERCENTILE.INC. Empty input gives 0.
double quantile_sorted(const std::vector<double>& sorted, double q);

/// Median, min, max, p10, p90 and mean of the samples (any order).
Summary summarize(std::vector<double> samples);

}  // namespace ridge::validate
