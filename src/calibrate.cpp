#include "calibrate.hpp"

#include <algorithm>
#include <cmath>

#include "efficiency.hpp"
#include "error.hpp"

namespace ridge {

namespace {

/// Solves A x = b (n×n, row-major) by Gaussian elimination with partial pivoting; false if
/// singular.
bool solve(std::vector<double> a, std::vector<double> b, std::vector<double>& x) {
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
    if (std::abs(a[pivot * n + c]) < 1e-300) return false;
    if (pivot != c) {
      for (std::size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[pivot * n + k]);
      std::swap(b[c], b[pivot]);
    }
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (std::size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  x.assign(n, 0);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[i * n + k] * x[k];
    x[i] = s / a[i * n + i];
  }
  return true;
}

/// Soft-L1 loss with scale 0.1 on log-ratio residuals: quadratic below a 10 % error, linear
/// above, so that a few odd measurements (a noisy replay, a kernel switch) cannot pull the fit.
constexpr double kLossScale = 0.1;
double robust_cost(const std::vector<double>& r) {
  double c = 0;
  for (double v : r) c += 2 * (std::sqrt(1 + (v / kLossScale) * (v / kLossScale)) - 1);
  return c;
}

}  // namespace

std::vector<double> fit_least_squares(
    const std::vector<double>& initial, const std::vector<double>& min, const std::vector<double>& max,
    const std::function<void(const std::vector<double>&, std::vector<double>&)>& residuals, int max_iterations) {
  const std::size_t np = initial.size();
  auto natural = [&](const std::vector<double>& log_x) {
    std::vector<double> x(np);
    for (std::size_t j = 0; j < np; ++j) x[j] = std::exp(log_x[j]);
    return x;
  };
  auto clamp = [&](std::vector<double>& log_x) {
    for (std::size_t j = 0; j < np; ++j) log_x[j] = std::clamp(log_x[j], std::log(min[j]), std::log(max[j]));
  };
  std::vector<double> x(np);
  for (std::size_t j = 0; j < np; ++j) x[j] = std::log(initial[j]);
  clamp(x);
  std::vector<double> r;
  residuals(natural(x), r);
  double cost = robust_cost(r);
  double lambda = 1e-2;
  const double step = 1e-4;
  std::vector<double> rj;
  for (int it = 0; it < max_iterations; ++it) {
    const std::size_t n = r.size();
    // Iteratively reweighted: each residual and its Jacobian row scaled by sqrt(ρ'(z)).
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i) w[i] = 1 / std::sqrt(std::sqrt(1 + (r[i] / kLossScale) * (r[i] / kLossScale)));
    std::vector<double> J(n * np);
    for (std::size_t j = 0; j < np; ++j) {
      std::vector<double> xp = x;
      xp[j] += step;
      residuals(natural(xp), rj);
      for (std::size_t i = 0; i < n; ++i) J[i * np + j] = (rj[i] - r[i]) / step * w[i];
    }
    std::vector<double> JtJ(np * np, 0), Jtr(np, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t a = 0; a < np; ++a) {
        const double ja = J[i * np + a];
        Jtr[a] += ja * r[i] * w[i];
        for (std::size_t b = 0; b < np; ++b) JtJ[a * np + b] += ja * J[i * np + b];
      }
    bool improved = false;
    for (int tries = 0; tries < 12 && !improved; ++tries) {
      std::vector<double> A = JtJ, g(np), delta;
      for (std::size_t a = 0; a < np; ++a) {
        A[a * np + a] += lambda * (JtJ[a * np + a] + 1e-9);
        g[a] = -Jtr[a];
      }
      if (!solve(A, g, delta)) {
        lambda *= 10;
        continue;
      }
      std::vector<double> xn = x;
      for (std::size_t j = 0; j < np; ++j) xn[j] += delta[j];
      clamp(xn);
      std::vector<double> rn;
      residuals(natural(xn), rn);
      const double cn = robust_cost(rn);
      if (std::isfinite(cn) && cn < cost) {
        const double gain = (cost - cn) / std::max(cost, 1e-300);
        x = xn;
        r = std::move(rn);
        cost = cn;
        lambda = std::max(lambda / 3, 1e-9);
        improved = true;
        if (gain < 1e-7) return natural(x);
      } else {
        lambda *= 4;
      }
    }
    if (!improved) break;
  }
  return natural(x);
}

Calibration calibrate(const GpuSpec& g, const std::vector<MeasuredRows>& tables, std::size_t min_rows) {
  if (!g.multiprocessors)
    throw InputError({g.source, 0, 0}, "multiprocessors", "the GPU file needs its SM count to be calibrated");
  Calibration c;
  const ModelGpu mg = model_gpu(g);
  for (CalibratedFamily family : all_calibrated_families()) {
    std::vector<const OperatorRow*> train, held;
    for (const MeasuredRows& t : tables)
      for (const OperatorRow& r : t.rows) {
        if (!r.latency_us || calibrated_family(t.table, r) != family) continue;
        (is_held_out(t.table, r) ? held : train).push_back(&r);
      }
    if (train.size() < min_rows) continue;
    const auto& defs = parameter_defs(family);
    std::vector<double> initial, lo, hi;
    for (const ParameterDef& d : defs) {
      initial.push_back(d.initial);
      lo.push_back(d.min);
      hi.push_back(d.max);
    }
    auto residuals_of = [&](const std::vector<const OperatorRow*>& rows) {
      return [&mg, family, &rows](const std::vector<double>& p, std::vector<double>& out) {
        out.resize(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
          out[i] = std::log(modelled_time(family, p, mg, *rows[i]).value / (*rows[i]->latency_us * 1e-6));
      };
    };
    FamilyCalibration fc;
    fc.params = fit_least_squares(initial, lo, hi, residuals_of(train));
    fc.rows_used = train.size();
    fc.rows_held_out = held.size();
    std::vector<double> errors;
    for (const OperatorRow* r : held)
      errors.push_back(modelled_time(family, fc.params, mg, *r).value / (*r->latency_us * 1e-6) - 1);
    const ErrorSummary s = summarize_errors(errors);
    fc.held_out_median = s.median_abs;
    fc.held_out_p90 = s.p90_abs;
    c.families[family] = std::move(fc);
  }
  return c;
}

}  // namespace ridge
