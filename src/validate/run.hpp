// Running the cases on a Device, comparing each measurement with its prediction, and turning
// the best measurements into calibrated ceilings.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "validate/cases.hpp"
#include "validate/device.hpp"
#include "validate/stats.hpp"

namespace ridge::validate {

/// A measured median against its prediction.
struct Comparison {
  Seconds predicted;
  Seconds measured;  ///< median of the samples
  double ratio = 0;  ///< measured / predicted (≥ 1 means slower than the roofline)
  bool predicted_compute_bound = false;
  /// The ceiling the measurement sits closer to: compute when the share of the compute
  /// ceiling it reached (predicted compute time / measured) is at least its share of the
  /// memory ceiling (predicted memory time / measured).
  bool observed_compute_bound = false;
  double compute_utilization = 0;  ///< Σ FLOPs/peak ÷ measured
  double memory_utilization = 0;   ///< Σ bytes/bandwidth ÷ measured
  FlopsPerSecond achieved_flops;   ///< FLOPs ÷ measured
  BytesPerSecond achieved_bytes;   ///< bytes ÷ measured
};

/// Compares a prediction with a measured time in seconds (> 0).
Comparison compare(const Prediction& p, double measured_s);

struct CaseResult {
  Case c;
  Measurement m;             ///< time families
  MemoryMeasurement memory;  ///< memory family
  Summary stats;
  std::optional<Comparison> comparison;  ///< set when the case ran, passed its check, and was timed
  Status status() const;
  std::string note() const;
};

/// Runs every case that is not waived, in order; `progress(i, n, case)` is called before each.
/// Once a case reports a lost CUDA context, the later cases fail as "not run: the CUDA context
/// was lost in case NAME: ERROR" without calling the device.
std::vector<CaseResult> run_cases(Device& d, std::vector<Case> cases, const RunConfig& cfg,
                                  const std::function<void(std::size_t, std::size_t, const Case&)>& progress = {});

/// Measured ceilings: the best median over the cases that passed (the attainable ceiling is
/// what the best-suited shape reaches, as cuBLAS's large GEMMs and a long copy do).
struct MeasuredCeilings {
  std::optional<BytesPerSecond> memory;
  std::string memory_case;
  std::map<DType, FlopsPerSecond> compute;
  std::map<DType, std::string> compute_case;
  bool empty() const { return !memory && compute.empty(); }
};

/// Highest achieved bandwidth over stream cases and highest FLOP/s per GEMM type.
MeasuredCeilings measured_ceilings(const std::vector<CaseResult>& results);

/// What the cases measured, as the measured tables `ridge calibrate` and `ridge predict` read
/// (calibration/README.md): file name ("gemm.csv", "context_attention.csv",
/// "generation_attention.csv") -> CSV text with latency_us, one row per case that passed its
/// check and was timed. bf16, fp16 and fp8 GEMMs (int8 has no calibrated family); flash
/// causal prefill and decode attention in bf16. Tables without a row are left out.
std::map<std::string, std::string> measured_tables(const std::vector<CaseResult>& results);

/// Measured / datasheet, clamped to the loader's [0.01, 1] (a measurement above the datasheet
/// figure means the datasheet figure is wrong or the case was cached: it is capped, not trusted).
double attainable_fraction(double measured, double datasheet);

/// A complete GPU YAML: `base`'s datasheet fields under the name `name`, plus an `attainable:`
/// block with the measured fractions (memory_bandwidth; peak_flops per GEMM type measured) and
/// `source` = `provenance`. gpu_from_yaml reads it back; `-g FILE` then uses it everywhere.
std::string calibrated_gpu_yaml(const GpuSpec& base, const MeasuredCeilings& c, const std::string& name,
                                const std::string& provenance);

}  // namespace ridge::validate
