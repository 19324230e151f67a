// Energy and cost per generated token: an estimate, never a measurement.
//
// Power model (per GPU): P = P_idle + (P_tdp − P_idle) × u × w, where
//   u = the share of the phase's time some unit runs at its datasheet peak (Σ operator bounds /
//       Σ operator times: 1 on the roofline, below it where calibrated kernels miss their bound);
//   w = 1 for compute-bound time, kMemoryBoundPowerShare for memory-bound time: streaming HBM at
//       full bandwidth with idle tensor cores draws well under the board limit (see energy.cpp).
// The TDP is the ceiling, the idle draw the floor; a GPU file without `power` gives no estimate.
#pragma once

#include <cstdint>
#include <optional>

#include "gpu.hpp"
#include "roofline.hpp"

namespace ridge {

/// Of the dynamic power range (TDP − idle), the share a fully busy memory-bound phase draws.
inline constexpr double kMemoryBoundPowerShare = 0.6;

/// Watts one GPU draws running a phase with these operator totals (nullopt without power figures).
std::optional<double> phase_power_w(const GpuSpec& g, const PhaseTotals& t);

struct EnergyEstimate {
  double prefill_power_w = 0;  ///< per GPU, during prefill
  double decode_power_w = 0;   ///< per GPU, during decode steps
  double average_power_w = 0;  ///< per GPU, over the whole request (or the run)
  double joules_per_output_token = 0;
  double kwh_per_day = 0;  ///< the whole deployment running at this load around the clock
  std::int64_t gpus = 1;   ///< GPUs counted (every replica's)
};

/// A static batch (the roofline's): every GPU of `replicas` replicas of `gpus_per_replica` draws
/// prefill power for TTFT and decode power for (G − 1) × TPOT, for B × G tokens per replica.
std::optional<EnergyEstimate> estimate_energy(const GpuSpec& g, const ServiceEstimate& e, std::int64_t batch,
                                              std::int64_t gen, std::int64_t gpus_per_replica, std::int64_t replicas);

/// A served load: busy for `busy_fraction` of the run at the power of `typical` (the estimate at
/// the mean running batch: prefill and decode weighted by their times), idle the rest;
/// `generated_tokens` over `duration_s` on `gpus` GPUs.
std::optional<EnergyEstimate> estimate_served_energy(const GpuSpec& g, const ServiceEstimate& typical, std::int64_t gen,
                                                     double busy_fraction, double duration_s,
                                                     std::int64_t generated_tokens, std::int64_t gpus);

/// Dollars per million generated tokens: GPUs × price per GPU-hour × hours per million tokens.
inline double usd_per_million_tokens(double usd_per_gpu_hour, std::int64_t gpus, double tokens_per_s) {
  return static_cast<double>(gpus) * usd_per_gpu_hour * (1e6 / tokens_per_s) / 3600.0;
}

}  // namespace ridge
