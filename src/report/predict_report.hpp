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
  std::vector<std::optional<Seconds>> bounds;  ///< per row, operator_bound
};

/// The rows' errors (bound − measured) / measured, grouped: "all", and GEMM's M ranges.
std::vector<std::pair<std::string, ErrorSummary>> predict_summaries(const PredictView& v);

nlohmann::ordered_json predict_json(const PredictView& v);
std::string predict_csv(const PredictView& v);
std::string predict_text(const PredictView& v);

}  // namespace ridge
