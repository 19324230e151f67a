#include "energy.hpp"

#include <algorithm>

namespace ridge {

// kMemoryBoundPowerShare: decode (memory-bound) draws markedly less than prefill (compute-bound)
// on the same GPU. Published readings: MI300X serving, decode-heavy ~356 W per GPU, prefill spikes
// 662-671 W of a 750 W TDP (SemiAnalysisAI/InferenceX issue 828); H100 SXM decode 300 W at batch
// 1 and 600 W at batch 128 of 700 W (ML.ENERGY benchmark anchors, as used by vLLM Semantic
// Router's fleet-sim power model); H200 decode 137-300 W of 700 W (arXiv 2605.11999); Splitwise
// (arXiv 2311.18677): token generation "can be run with lower power". With the idle floor, 0.6 of
// the dynamic range for a fully busy memory-bound phase puts decode at 0.55-0.65 of TDP and
// compute-bound prefill near it: a model constant read off those figures, not a measurement.

std::optional<double> phase_power_w(const GpuSpec& g, const PhaseTotals& t) {
  if (!g.tdp_watts || !g.idle_watts) return std::nullopt;
  if (t.time.value <= 0) return *g.idle_watts;
  const double busy = std::clamp(t.bound_time.value / t.time.value, 0.0, 1.0);
  const double compute_share = std::clamp(t.compute_bound_time.value / t.time.value, 0.0, 1.0);
  const double weight = compute_share + (1 - compute_share) * kMemoryBoundPowerShare;
  return *g.idle_watts + (*g.tdp_watts - *g.idle_watts) * busy * weight;
}

std::optional<EnergyEstimate> estimate_energy(const GpuSpec& g, const ServiceEstimate& e, std::int64_t batch,
                                              std::int64_t gen, std::int64_t gpus_per_replica, std::int64_t replicas) {
  const auto prefill = phase_power_w(g, e.prefill);
  const auto decode = phase_power_w(g, e.decode_step);
  if (!prefill || !decode || e.e2e.value <= 0) return std::nullopt;
  EnergyEstimate out;
  out.prefill_power_w = *prefill;
  out.decode_power_w = *decode;
  const double decode_s = static_cast<double>(gen - 1) * e.tpot.value;
  const double joules_per_gpu = *prefill * e.ttft.value + *decode * decode_s;
  out.average_power_w = joules_per_gpu / e.e2e.value;
  out.gpus = gpus_per_replica * replicas;
  out.joules_per_output_token =
      joules_per_gpu * static_cast<double>(gpus_per_replica) / static_cast<double>(batch * gen);
  out.kwh_per_day = out.average_power_w * static_cast<double>(out.gpus) * 24.0 / 1000.0;
  return out;
}

std::optional<EnergyEstimate> estimate_served_energy(const GpuSpec& g, const ServiceEstimate& typical, std::int64_t gen,
                                                     double busy_fraction, double duration_s,
                                                     std::int64_t generated_tokens, std::int64_t gpus) {
  const auto prefill = phase_power_w(g, typical.prefill);
  const auto decode = phase_power_w(g, typical.decode_step);
  if (!prefill || !decode || duration_s <= 0 || generated_tokens <= 0) return std::nullopt;
  EnergyEstimate out;
  out.prefill_power_w = *prefill;
  out.decode_power_w = *decode;
  const double decode_s = static_cast<double>(gen - 1) * typical.tpot.value;
  const double busy_w = (*prefill * typical.ttft.value + *decode * decode_s) / (typical.ttft.value + decode_s);
  const double b = std::clamp(busy_fraction, 0.0, 1.0);
  out.average_power_w = b * busy_w + (1 - b) * *g.idle_watts;
  out.gpus = gpus;
  out.joules_per_output_token =
      out.average_power_w * static_cast<double>(gpus) * duration_s / static_cast<double>(generated_tokens);
  out.kwh_per_day = out.average_power_w * static_cast<double>(gpus) * 24.0 / 1000.0;
  return out;
}

}  // namespace ridge
