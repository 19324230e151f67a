#include "report/cost_report.hpp"

#include <fmt/format.h>

#include "format.hpp"

namespace ridge {

std::string energy_model_note() {
  return fmt::format(
      "estimate: per GPU idle + (TDP - idle) x the busy share of the time (operator bounds / times) x 1 while "
      "compute-bound, {:g} while memory-bound; GPU board power only (no host, network or cooling)",
      kMemoryBoundPowerShare);
}

nlohmann::ordered_json cost_json(const GpuSpec& g, std::int64_t gpus, double output_tokens_per_s) {
  const nlohmann::ordered_json none(nullptr);
  const double hours = output_tokens_per_s > 0 ? static_cast<double>(gpus) * 1e6 / output_tokens_per_s / 3600.0 : 0;
  nlohmann::ordered_json j;
  j["usd_per_gpu_hour"] = g.usd_per_hour ? nlohmann::ordered_json(*g.usd_per_hour) : none;
  j["price_source"] = g.usd_per_hour ? nlohmann::ordered_json(g.price_source) : none;
  j["price_date"] = g.usd_per_hour && !g.price_date.empty() ? nlohmann::ordered_json(g.price_date) : none;
  j["gpus"] = gpus;
  j["gpu_hours_per_million_output_tokens"] = output_tokens_per_s > 0 ? nlohmann::ordered_json(hours) : none;
  j["usd_per_million_output_tokens"] =
      g.usd_per_hour && output_tokens_per_s > 0 ? nlohmann::ordered_json(hours * *g.usd_per_hour) : none;
  return j;
}

nlohmann::ordered_json energy_json(const std::optional<EnergyEstimate>& e) {
  if (!e) return nlohmann::ordered_json(nullptr);
  return {{"kind", "estimate"},
          {"model", energy_model_note()},
          {"power_w", e->average_power_w},
          {"prefill_power_w", e->prefill_power_w},
          {"decode_power_w", e->decode_power_w},
          {"gpus", e->gpus},
          {"joules_per_output_token", e->joules_per_output_token},
          {"kwh_per_day", e->kwh_per_day}};
}

std::string cost_line(const GpuSpec& g, std::int64_t gpus, double output_tokens_per_s) {
  if (output_tokens_per_s <= 0) return "n/a (no output tokens)";
  const double hours = static_cast<double>(gpus) * 1e6 / output_tokens_per_s / 3600.0;
  if (!g.usd_per_hour)
    return fmt::format("{:.3f} GPU-hours per million output tokens ({} has no price: --price or price: in its file)",
                       hours, g.name);
  return fmt::format("${:.3f} per million output tokens ({:.3f} GPU-hours x ${:.2f}/GPU-hour: {}{})",
                     hours * *g.usd_per_hour, hours, *g.usd_per_hour, g.price_source,
                     g.price_date.empty() ? "" : ", " + g.price_date);
}

std::string energy_line(const GpuSpec& g, const std::optional<EnergyEstimate>& e) {
  if (!e) return fmt::format("n/a ({} has no power figures: power: in its file)", g.name);
  return fmt::format(
      "{:.3g} J per output token, {:.0f} kWh/day for {} GPU{} at this load (estimate): {:.0f} W per GPU on average "
      "(prefill {:.0f} W, decode {:.0f} W; TDP {:.0f} W, idle {:.0f} W)",
      e->joules_per_output_token, e->kwh_per_day, e->gpus, e->gpus == 1 ? "" : "s", e->average_power_w,
      e->prefill_power_w, e->decode_power_w, *g.tdp_watts, *g.idle_watts);
}

}  // namespace ridge
