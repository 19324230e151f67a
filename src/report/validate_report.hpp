// `ridge validate` output: per case the prediction, the measurement and how they compare; the
// memory case; the calibrated ceilings. One data model printed as a table or JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "validate/run.hpp"

namespace ridge {

/// Where the results come from: travels with every report (and calibrated file).
struct ValidateProvenance {
  std::string ridge_version;
  std::string command;   ///< the command line as given
  std::string date_utc;  ///< ISO 8601, e.g. 2026-11-02T10:31:07Z
  std::string model;     ///< model whose shapes the cases use
  bool quick = false;
  validate::RunConfig config;
  validate::ClockReading clocks_before;  ///< current clocks just before the first case
  validate::ClockReading clocks_after;   ///< and just after the last
};

struct ValidateView {
  const validate::DeviceInfo& device;
  const GpuSpec& gpu;  ///< the description the predictions use
  const ValidateProvenance& provenance;
  const std::vector<validate::CaseResult>& results;
  const validate::MeasuredCeilings& calibration;
};

/// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, driver 13.0, CUDA 13.0, cuBLAS 13.0.2, 2026-11-02T10:31:07Z"
std::string validate_provenance_line(const ValidateView& v);
std::string validate_text(const ValidateView& v);
nlohmann::ordered_json validate_json(const ValidateView& v);

/// "12.8" from CUDA's 12080; "13.0.2" from cuBLAS's 130002.
std::string cuda_version_text(int v);
std::string cublas_version_text(int v);

}  // namespace ridge
