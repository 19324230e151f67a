// Cost and energy in every report: one wording and one JSON shape for roofline, serve and plan.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "energy.hpp"
#include "gpu.hpp"

namespace ridge {

/// The energy model in one sentence (reports print it beside the figures).
std::string energy_model_note();

/// {"usd_per_gpu_hour", "price_source", "price_date", "usd_per_million_output_tokens",
/// "gpu_hours_per_million_output_tokens"}: nulls where the GPU has no price.
nlohmann::ordered_json cost_json(const GpuSpec& g, std::int64_t gpus, double output_tokens_per_s);
/// {"kind": "estimate", "model", "power_w", "prefill_power_w", "decode_power_w",
/// "joules_per_output_token", "kwh_per_day"}; null without the GPU's power figures.
nlohmann::ordered_json energy_json(const std::optional<EnergyEstimate>& e);

/// "cost    $0.412 per million output tokens: 4 GPUs x $2.99/GPU-hour (list price ..., 2026-11)"
std::string cost_line(const GpuSpec& g, std::int64_t gpus, double output_tokens_per_s);
/// "energy  0.31 J per output token (estimate): 512 W per GPU on average (prefill 690 W, ...)"
std::string energy_line(const GpuSpec& g, const std::optional<EnergyEstimate>& e);

}  // namespace ridge
