// `ridge predict` output: every input row with its bound (and error when measured), then a
// summary per family (GEMM also per M range). One data model, printed as table, CSV or JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "predict.hpp"

namespace ridge {

struct PredictView {
  const GpuSpec& gpu;
  const OperatorTable& table;
  std::vector<std::optional<Seconds>> bounds;    ///< per row, operator_bound
  std::vector<std::optional<Seconds>> expected;  ///< per row, operator_expected (empty: none)
  bool has_expected() const;
};

/// Errors of the bound and of the expected time against the measured latency, one group of rows.
struct PredictSummary {
  std::string rows;  ///< "all", "bf16", "bf16 M 1-16", ...
  ErrorSummary bound;
  ErrorSummary expected;  ///< rows == 0 when there is no expected time
};

/// The rows' errors (predicted − measured) / measured, grouped: "all", and for GEMM each dtype,
/// each dtype by M range and each dtype's weight shapes with N, K >= 256.
std::vector<PredictSummary> predict_summaries(const PredictView& v);

nlohmann::ordered_json predict_json(const PredictView& v);
std::string predict_csv(const PredictView& v);
std::string predict_text(const PredictView& v);

}  // namespace ridge
