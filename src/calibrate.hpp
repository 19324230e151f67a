// `ridge calibrate`: fits the efficiency model (efficiency.hpp) to measured operator latencies,
// one family at a time, on the rows that are not held out (is_held_out), and reports the error
// on the rows that are. One fitter for the public tables and for what `ridge validate` measures.
#pragma once

#include <functional>
#include <vector>

#include "calibration.hpp"
#include "gpu.hpp"
#include "predict.hpp"

namespace ridge {

/// Robust nonlinear least squares (Levenberg–Marquardt with a soft-L1 loss on the residuals,
/// parameters fitted in log space inside [min, max]). `residuals(x, out)` fills one residual
/// per row for the parameters x (natural units). Returns the fitted parameters.
std::vector<double> fit_least_squares(
    const std::vector<double>& initial, const std::vector<double>& min, const std::vector<double>& max,
    const std::function<void(const std::vector<double>&, std::vector<double>&)>& residuals, int max_iterations = 80);

/// Measured rows of one family, as read from tables.
struct MeasuredRows {
  OperatorFamily table = OperatorFamily::gemm;
  std::vector<OperatorRow> rows;
};

/// Fits every family that has at least `min_rows` training rows. Families without enough
/// rows are left out of the result.
Calibration calibrate(const GpuSpec& g, const std::vector<MeasuredRows>& tables, std::size_t min_rows = 20);

}  // namespace ridge
