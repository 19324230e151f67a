// `ridge models` and `ridge gpus`: what is bundled.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "format.hpp"
#include "loaders.hpp"
#include "memory.hpp"
#include "roofline.hpp"

namespace ridge::cli {
namespace {

/// A listing in the format asked for: the JSON document, or the table as CSV, Markdown or text.
void print_listing(Format f, const nlohmann::ordered_json& j, const Table& t) {
  switch (f) {
    case Format::json:
      std::cout << j.dump(2) << "\n";
      break;
    case Format::csv:
      std::cout << t.csv();
      break;
    case Format::markdown:
      std::cout << t.markdown();
      break;
    case Format::table:
      std::cout << t.text();
      break;
  }
}

}  // namespace

Runner register_models(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "list bundled models");
  auto format = std::make_shared<std::string>("table");
  add_format_option(*cmd, *format);
  return [cmd, format]() {
    if (!cmd->parsed()) return -1;
    const Format f = parse_format(*format);
    Table t;
    t.headers = {"name",   "display_name", "architecture", "params",   "active_params",           "layers",
                 "hidden", "heads",        "kv_heads",     "head_dim", "kv_bytes_per_token_bf16", "max_position"};
    t.right_aligned = {false, false, false, true, true, true, true, true, true, true, true, true};
    nlohmann::ordered_json j;
    j["schema"] = "ridge.models/v1";
    j["models"] = nlohmann::ordered_json::array();
    for (const auto& name : bundled_model_names()) {
      const ModelSpec m = resolve_model(name);
      const ParamCount p = count_params(m);
      const Bytes kv = kv_bytes_per_token(m, DType::bf16);
      const bool machine = f == Format::csv;
      t.rows.push_back({m.name, m.display_name, m.architecture,
                        machine ? std::to_string(p.total) : human_count(p.total),
                        machine ? std::to_string(p.active) : human_count(p.active), std::to_string(m.layers),
                        std::to_string(m.hidden_size), std::to_string(m.heads), std::to_string(m.kv_heads),
                        std::to_string(m.head_dim), machine ? std::to_string(kv.value) : with_commas(kv.value),
                        std::to_string(m.max_position)});
      j["models"].push_back({{"name", m.name},
                             {"display_name", m.display_name},
                             {"architecture", m.architecture},
                             {"params", p.total},
                             {"active_params", p.active},
                             {"layers", m.layers},
                             {"hidden_size", m.hidden_size},
                             {"heads", m.heads},
                             {"kv_heads", m.kv_heads},
                             {"head_dim", m.head_dim},
                             {"kv_bytes_per_token_bf16", kv.value},
                             {"max_position", m.max_position},
                             {"vision_params", p.vision},
                             {"layout", describe_layout(m)},
                             {"source", m.source}});
    }
    print_listing(f, j, t);
    return 0;
  };
}

Runner register_gpus(CLI::App& app) {
  auto* cmd = app.add_subcommand("gpus", "list bundled GPUs");
  auto format = std::make_shared<std::string>("table");
  add_format_option(*cmd, *format);
  return [cmd, format]() {
    if (!cmd->parsed()) return -1;
    const Format f = parse_format(*format);
    const bool machine = f == Format::csv;  // base units, full precision
    Table t;
    t.headers =
        machine ? std::vector<std::string>{"name",
                                           "display_name",
                                           "memory_bytes",
                                           "memory_bandwidth_bytes_per_s",
                                           "bf16_dense_flops_per_s",
                                           "fp8_dense_flops_per_s",
                                           "interconnect",
                                           "interconnect_bytes_per_s",
                                           "ridge_bf16_flop_per_byte"}
                : std::vector<std::string>{"name",       "display_name", "memory_GiB",   "bandwidth",
                                           "bf16_dense", "fp8_dense",    "interconnect", "ridge_bf16_flop_per_byte"};
    t.right_aligned = {false, false, true, true, true, true, false, true};
    nlohmann::ordered_json j;
    j["schema"] = "ridge.gpus/v1";
    j["gpus"] = nlohmann::ordered_json::array();
    for (const auto& name : bundled_gpu_names()) {
      const GpuSpec g = resolve_gpu(name);
      const auto bf16 = g.peak(DType::bf16).value_or(g.peak(DType::fp16).value_or(FlopsPerSecond{}));
      const auto fp8 = g.peak(DType::fp8);
      const double ridge_point = ridge_point_of(bf16, g.memory_bandwidth);
      if (machine)
        t.rows.push_back({g.name, g.display_name, std::to_string(g.memory.value),
                          fmt::format("{}", g.memory_bandwidth.value), fmt::format("{}", bf16.value),
                          fp8 ? fmt::format("{}", fp8->value) : std::string(), g.interconnect.name,
                          fmt::format("{}", g.interconnect.bandwidth.value), fmt::format("{}", ridge_point)});
      else
        t.rows.push_back({g.name, g.display_name, gib(g.memory), human_rate(g.memory_bandwidth), human_flops(bf16),
                          fp8 ? human_flops(*fp8) : "-",
                          g.interconnect.name + " " + human_rate(g.interconnect.bandwidth),
                          fmt::format("{:.0f}", ridge_point)});
      nlohmann::ordered_json peaks;
      for (const auto& [dtype, rate] : g.peak_flops) peaks[std::string(to_string(dtype)) + "_flops_per_s"] = rate.value;
      j["gpus"].push_back({{"name", g.name},
                           {"display_name", g.display_name},
                           {"memory_bytes", g.memory.value},
                           {"memory_bandwidth_bytes_per_s", g.memory_bandwidth.value},
                           {"l2_cache_bytes", g.l2_cache.value},
                           {"peak", peaks},
                           {"interconnect", g.interconnect.name},
                           {"interconnect_bytes_per_s", g.interconnect.bandwidth.value},
                           {"runtime_overhead_bytes", g.runtime_overhead.value},
                           {"source", g.source}});
    }
    print_listing(f, j, t);
    return 0;
  };
}

}  // namespace ridge::cli
