// Options shared by subcommands and the one place that turns them into validated queries.
// No arithmetic here beyond checking ranges: engines compute, reports print.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "parallel.hpp"
#include "report/roofline_report.hpp"
#include "speculative.hpp"
#include "step_cost.hpp"

namespace ridge::cli {

enum class Format { table, json, csv, markdown };

/// A subcommand's work, run after parsing; returns the exit code.
using Runner = std::function<int()>;

struct DeploymentOptions {
  std::string model;
  std::string gpu;
  std::string precision;  ///< empty: the checkpoint's format, else bf16/fp16 as the model
  std::optional<int> group_size;
  std::string kv_dtype = "auto";
  std::int64_t batch = 1;
  std::int64_t context = 4096;
  std::int64_t tp = 1;
  bool tp_given = false;  ///< --tp on the command line (`--tp 1 --gpus 8` = 8 replicas of 1 GPU)
  std::int64_t pp = 1;
  std::int64_t ep = 1;  ///< expert parallelism: GPUs the routed experts spread over (a multiple of TP)
  std::optional<std::int64_t> gpus;
  double memory_utilization = 0.9;
  std::string overhead;  ///< empty: the GPU's documented default
  std::string attention = "flash";
  std::int64_t prefill_chunk = kDefaultPrefillChunk;
  std::int64_t block_size = 16;
  std::string context_option = "--context";  ///< how messages name the context ("--prompt + --gen")
  /// The context is the command's default, not the user's: a model with a shorter
  /// max_position (GPT-2: 1,024, Falcon-40B: 2,048) then gets its max_position instead of an error.
  bool context_defaulted = false;
  std::int64_t micro_batches = 0;    ///< prefill micro-batches under PP (0: min(batch, PP))
  std::string inter_node_bandwidth;  ///< overrides the network between nodes ("50 GB/s")
  bool bound = false;                ///< --bound: datasheet lower bounds, not calibrated estimates
  std::vector<std::string> prices;   ///< --price entries: "USD" or "GPU=USD"
  /// Every GPU the command runs on (side by side: several), for --price GPU=USD; empty: `gpu`.
  std::vector<std::string> command_gpus;
};

/// --price: "USD" (every GPU of the command) or "GPU=USD", repeatable.
void add_price_option(CLI::App& cmd, std::vector<std::string>& prices);
/// Sets the price per GPU-hour of `gpu` from the entries that apply to it, said as user-given.
/// InputError for a malformed entry or one naming a GPU not among `command_gpus`.
void apply_prices(const std::vector<std::string>& entries, GpuSpec& gpu, const std::vector<std::string>& command_gpus);

/// Registers -m/-g and the deployment options on `cmd` (--context only when asked: the
/// roofline takes --prompt and --gen instead).
void add_deployment_options(CLI::App& cmd, DeploymentOptions& o, bool with_context = true);

/// A hidden -c/--context on a command that takes the prompt and the generated tokens apart
/// (roofline, sweep, plan): context means prompt + generated everywhere, so it is answered
/// with the options this command takes (`what_instead`, e.g. "--prompt P and --gen G").
void refuse_context(CLI::App& cmd, const std::string& what_instead);

/// `-g a,b,c` (or repeated -g): the GPUs named, each once, in the order given.
std::vector<std::string> gpu_list(const std::vector<std::string>& args);
/// The same for one option value; at least one GPU.
std::vector<std::string> gpu_list(const std::string& arg);

/// --inter-node-bandwidth, checked the same way by every command: 1 MB/s to 100 TB/s.
double parse_inter_node_bandwidth(const std::string& text);
/// --micro-batches, --inter-node-bandwidth and --bound: for commands that cost time.
void add_parallel_options(CLI::App& cmd, DeploymentOptions& o);

/// InputError naming `option` unless min <= v <= max.
void require_range(const std::string& option, std::int64_t v, std::int64_t min, std::int64_t max);
void add_format_option(CLI::App& cmd, std::string& format);

Format parse_format(const std::string& name);

/// A weight format by name, or an InputError naming `option` with the choices.
WeightFormat parse_weight_format(const std::string& option, const std::string& name,
                                 std::optional<int> group_size = {});
/// A KV-cache type by name, or an InputError naming `option` (listing "auto" when the caller
/// handles it).
DType parse_kv_dtype(const std::string& option, const std::string& name, bool allow_auto = false);
/// "a,b" and repeated options -> {"a", "b"}.
std::vector<std::string> split_commas(const std::vector<std::string>& items);

/// Everything a memory estimate needs, validated. Throws InputError naming the option.
struct Deployment {
  ModelSpec model;
  GpuSpec gpu;
  MemoryQuery query;
  std::int64_t replicas = 1;
  Topology topology;  ///< TP x PP of one replica and the links between its GPUs
  std::int64_t micro_batches = 0;
  double inter_node_bandwidth = 0;        ///< B/s from --inter-node-bandwidth, 0: the GPU file's
  TimeBasis basis = TimeBasis::expected;  ///< bound with --bound (or where the GPU has no calibration)
};
Deployment build_deployment(const DeploymentOptions& o);

/// A latency target in milliseconds (--ttft-ms, --tpot-ms): (0, 3,600,000] ms, else InputError.
Seconds parse_ms(const std::string& option, double ms);
/// --slo-percentile: 50, 90 or 99, else InputError.
void require_slo_percentile(int percentile);

/// --plot takes an .svg name (InputError otherwise: the plot is SVG, whatever the name says).
void require_svg_name(const std::string& path);
/// Writes an SVG plot; InputError naming the file when it cannot be written.
void write_plot(const std::string& path, const std::string& svg);

/// Speculative decoding on the command line (roofline, serve).
struct SpeculativeOptions {
  std::int64_t tokens = 0;
  std::optional<double> acceptance;
  std::string draft_model;
  bool mtp = false;
};
void add_speculative_options(CLI::App& cmd, SpeculativeOptions& o);

/// The drafter the options name, validated (nullopt without --spec-tokens).
std::optional<DrafterChoice> drafter_choice(const SpeculativeOptions& o);
/// That drafter built for a deployment (InputError for a missing or contradictory choice).
std::optional<Drafter> build_drafter(const SpeculativeOptions& o, const Deployment& d, const ModelShapes& target);

/// One GPU's roofline as `ridge roofline` computes it: everything a RooflineView points at, owned
/// in one place (the report's roofline section is the same).
struct RooflineRun {
  Deployment d;
  MemoryEstimate memory;
  ModelShapes shapes;
  Ceilings ceilings;
  ServiceQuery sq;
  ServiceEstimate estimate;
  std::optional<ServiceEstimate> bound;  ///< the datasheet bound too, on a calibrated GPU
  std::optional<SpeculativeSummary> speculative;

  RooflineRun(const DeploymentOptions& o, std::int64_t gen, const SpeculativeOptions& spec = {});
  RooflineView view() const;
};

}  // namespace ridge::cli
