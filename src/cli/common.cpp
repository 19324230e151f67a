#include "cli/common.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "error.hpp"
#include "loaders.hpp"
#include "quantity.hpp"
#include "query.hpp"
#include "roofline.hpp"
#include "text.hpp"

namespace ridge::cli {
void require_range(const std::string& option, std::int64_t v, std::int64_t min, std::int64_t max) {
  if (v < min || v > max)
    throw InputError(
        {}, option,
        std::to_string(v) + " is out of range; expected " + std::to_string(min) + " to " + std::to_string(max));
}

std::vector<std::string> gpu_list(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& g : split_commas(args))
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  return out;
}

std::vector<std::string> gpu_list(const std::string& arg) {
  std::vector<std::string> out = gpu_list(std::vector<std::string>{arg});
  if (out.empty()) throw InputError({}, "--gpu", "a GPU is required");
  return out;
}

double parse_inter_node_bandwidth(const std::string& text) {
  double bw = 0;
  try {
    bw = parse_quantity(text, QuantityKind::bandwidth);
  } catch (const QuantityError& e) {
    throw InputError({}, "--inter-node-bandwidth", e.what());
  }
  if (!(bw >= 1e6 && bw <= 1e14))
    throw InputError({}, "--inter-node-bandwidth", "\"" + text + "\" must be between 1 MB/s and 100 TB/s");
  return bw;
}

void refuse_context(CLI::App& cmd, const std::string& what_instead) {
  cmd.add_option_function<std::string>(
         "-c,--context",
         [what_instead, name = cmd.get_name()](const std::string& value) {
           throw InputError({}, "--context",
                            "\"" + value + "\": `ridge " + name + "` takes " + what_instead +
                                " (context means prompt + generated tokens, as in `ridge memory -c`)");
         },
         "")
      ->group("");
}

void add_price_option(CLI::App& cmd, std::vector<std::string>& prices) {
  cmd.add_option("--price", prices,
                 "USD per GPU-hour, or GPU=USD, repeatable: your reserved, spot or negotiated rate (default: the GPU "
                 "file's indicative list price)");
}

void apply_prices(const std::vector<std::string>& entries, GpuSpec& gpu, const std::vector<std::string>& command_gpus) {
  for (const std::string& entry : split_commas(entries)) {
    const std::size_t eq = entry.find('=');
    const std::string name = eq == std::string::npos ? "" : entry.substr(0, eq);
    double usd = 0;
    try {
      usd = parse_number(eq == std::string::npos ? entry : entry.substr(eq + 1));
    } catch (const QuantityError& e) {
      throw InputError({}, "--price",
                       "\"" + entry + "\": USD per GPU-hour or GPU=USD (e.g. h100-sxm=2.99): " + e.what());
    }
    if (!(usd > 0 && usd <= 10000)) throw InputError({}, "--price", "USD per GPU-hour must be in (0, 10000]");
    if (!name.empty() && std::find(command_gpus.begin(), command_gpus.end(), name) == command_gpus.end())
      throw InputError({}, "--price", "\"" + name + "\" is not among the GPUs of this command");
    if (!name.empty() && name != gpu.name) continue;
    gpu.usd_per_hour = usd;
    gpu.price_source = "--price (user-given)";
    gpu.price_date.clear();
  }
}

void add_deployment_options(CLI::App& cmd, DeploymentOptions& o, bool with_context) {
  cmd.add_option("-m,--model", o.model, "bundled model name, model YAML, HF config.json or its directory")->required();
  cmd.add_option("-g,--gpu", o.gpu,
                 "bundled GPU name or GPU YAML; several, comma-separated, side by side (memory, roofline)")
      ->required();
  cmd.add_option("--precision", o.precision,
                 "weights: " + join(weight_format_names()) + " (default: the checkpoint's)");
  cmd.add_option("--group-size", o.group_size, "inputs per scale group for int4 formats (default 128)");
  cmd.add_option("--kv-dtype", o.kv_dtype,
                 "KV cache: auto, " + join(kv_dtype_names()) + " (default auto: the 16-bit activation type)");
  cmd.add_option("-b,--batch", o.batch, "concurrent sequences (default 1)");
  if (!with_context) refuse_context(cmd, "--prompt P and --gen G");
  if (with_context)
    cmd.add_option("-c,--context", o.context,
                   "tokens per sequence held in the KV cache: prompt + generated (default 4096, or the model's "
                   "max_position when shorter)");
  cmd.add_option("--tp", o.tp, "tensor-parallel GPUs (default 1)")->each([&o](const std::string&) {
    o.tp_given = true;
  });
  cmd.add_option("--pp", o.pp, "pipeline stages (default 1)");
  cmd.add_option(
      "--ep", o.ep,
      "expert parallelism: MoE experts spread whole over EP GPUs per stage, attention in EP/TP data-parallel "
      "groups of TP (vLLM --enable-expert-parallel; default 1: experts TP-sharded)");
  cmd.add_option("--gpus", o.gpus, "total GPUs: TP x PP x replicas (default TP x PP; alone, sets TP)");
  cmd.add_option("--memory-utilization", o.memory_utilization,
                 "fraction of device memory the engine may use (default 0.9, as vLLM)");
  cmd.add_option("--overhead", o.overhead, "non-model memory per GPU, e.g. \"1.5 GiB\" (default: the GPU file's)");
  cmd.add_option("--attention", o.attention, "flash (O(n) memory) or naive (O(n^2) scores) (default flash)");
  cmd.add_option("--prefill-chunk", o.prefill_chunk,
                 "max tokens per prefill forward pass, like vLLM max_num_batched_tokens (default 8192; 0: the whole "
                 "batch at once)");
  cmd.add_option("--block-size", o.block_size, "paged KV block size in tokens (default 16)");
}

void add_parallel_options(CLI::App& cmd, DeploymentOptions& o) {
  cmd.add_option("--micro-batches", o.micro_batches, "prefill micro-batches under --pp (default min(batch, PP))");
  cmd.add_option("--inter-node-bandwidth", o.inter_node_bandwidth,
                 "network per GPU between nodes, e.g. \"25 GB/s\" (default: the GPU file's, else 50 GB/s)");
  cmd.add_flag("--bound", o.bound,
               "print the datasheet roofline (a lower bound) instead of the calibrated estimate (README \"How "
               "accurate is ridge?\"); GPUs without a calibration always get the bound");
}

void add_format_option(CLI::App& cmd, std::string& format) {
  cmd.add_option("-f,--format", format, "table, json, csv or markdown (default table)");
}

Format parse_format(const std::string& name) {
  if (name == "table") return Format::table;
  if (name == "json") return Format::json;
  if (name == "csv") return Format::csv;
  if (name == "markdown") return Format::markdown;
  const std::vector<std::string> names = {"table", "json", "csv", "markdown"};
  throw InputError({}, "--format", "\"" + name + "\" is not one of " + join(names) + did_you_mean(name, names));
}

WeightFormat parse_weight_format(const std::string& option, const std::string& name, std::optional<int> group_size) {
  auto f = weight_format(name, group_size);
  if (!f)
    throw InputError(
        {}, option,
        "\"" + name + "\" is not one of " + join(weight_format_names()) + did_you_mean(name, weight_format_names()));
  return *f;
}

DType parse_kv_dtype(const std::string& option, const std::string& name, bool allow_auto) {
  const auto names = kv_dtype_names();
  const bool allowed = std::find(names.begin(), names.end(), name) != names.end();
  const auto kv = parse_dtype(name);
  if (!kv || !allowed)
    throw InputError(
        {}, option,
        "\"" + name + "\" is not one of " + (allow_auto ? "auto, " : "") + join(names) + did_you_mean(name, names));
  return *kv;
}

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = item.find(',', start);
      out.push_back(item.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Deployment build_deployment(const DeploymentOptions& o) {
  Deployment d{resolve_model(o.model), resolve_gpu(o.gpu), {}, 1, {}, 0, 0};
  MemoryQuery& q = d.query;
  apply_prices(o.prices, d.gpu, o.command_gpus.empty() ? std::vector<std::string>{d.gpu.name} : o.command_gpus);

  // Weight format: explicit option, else the checkpoint's own, else 16-bit like the model.
  if (!o.precision.empty()) {
    q.weights = parse_weight_format("--precision", o.precision, o.group_size);
  } else {
    q.weights = default_weight_format(d.model);
  }
  if (o.group_size) {
    if (q.weights.scales != ScaleGranularity::group || q.weights.name == "nvfp4")
      throw InputError({}, "--group-size", "applies only to int4 and int4-sym");
    require_range("--group-size", *o.group_size, 8, 65536);
  }

  if (o.kv_dtype == "auto") {
    q.kv_dtype = auto_kv_dtype(q.weights);
  } else {
    q.kv_dtype = parse_kv_dtype("--kv-dtype", o.kv_dtype, /*allow_auto=*/true);
  }

  require_range("--batch", o.batch, 1, 10'000'000);
  require_range(o.context_option, o.context, 1, 1'000'000'000);
  const std::int64_t context = o.context_defaulted ? std::min(o.context, d.model.max_position) : o.context;
  if (context > d.model.max_position)
    throw InputError({}, o.context_option,
                     std::to_string(o.context) + " tokens exceeds " + d.model.name + "'s max_position of " +
                         std::to_string(d.model.max_position));
  require_range("--tp", o.tp, 1, 4096);
  require_range("--pp", o.pp, 1, 4096);
  q.batch = o.batch;
  q.context = context;
  q.tp = o.tp;
  q.pp = o.pp;
  require_range("--ep", o.ep, 1, 4096);
  q.ep = o.ep;
  if (o.gpus) {
    require_range("--gpus", *o.gpus, 1, 1'000'000);
    const auto layout = parallel_layout(o.gpus, o.tp, o.pp, o.tp_given, o.ep);
    if (!layout)
      throw InputError({}, "--gpus",
                       o.ep > 1 ? fmt::format("{} is not a multiple of EP x PP = {}", *o.gpus, o.ep * o.pp)
                                : fmt::format("{} is not a multiple of TP x PP = {}", *o.gpus, o.tp * o.pp));
    q.tp = layout->tp;
    d.replicas = layout->replicas;
  }
  if (auto problem = expert_parallel_problem(d.model, q.tp, q.ep))
    throw InputError({}, problem->option, problem->message);
  if (!(o.memory_utilization > 0.0 && o.memory_utilization <= 1.0))
    throw InputError({}, "--memory-utilization", fmt::format("must be in (0, 1], got {:g}", o.memory_utilization));
  q.memory_utilization = o.memory_utilization;

  if (o.overhead.empty()) {
    q.overhead = d.gpu.runtime_overhead;
  } else {
    try {
      q.overhead = Bytes{parse_size_bytes(o.overhead)};
    } catch (const QuantityError& e) {
      throw InputError({}, "--overhead", e.what());
    }
    if (q.overhead >= d.gpu.memory) throw InputError({}, "--overhead", "is not smaller than the GPU's memory");
  }

  if (o.attention == "flash")
    q.attention = AttentionImpl::flash;
  else if (o.attention == "naive")
    q.attention = AttentionImpl::naive;
  else
    throw InputError({}, "--attention", "\"" + o.attention + "\" is not one of flash, naive");

  require_range("--prefill-chunk", o.prefill_chunk, 0, 100'000'000);  // 0: the whole batch at once
  q.prefill_chunk = o.prefill_chunk;
  require_range("--block-size", o.block_size, 1, 4096);
  q.block_size = o.block_size;

  if (auto problem = sharding_problem(d.model, q.tp, q.pp, &q.weights, q.ep)) {
    // `--gpus N` alone sets TP: the error belongs to the option the user typed.
    const bool tp_from_gpus = o.gpus && !o.tp_given && o.pp == 1 && problem->option == "--tp";
    throw InputError({}, tp_from_gpus ? "--gpus" : problem->option,
                     problem->message + (tp_from_gpus ? " (--gpus alone sets TP)" : ""));
  }

  if (o.micro_batches != 0) require_range("--micro-batches", o.micro_batches, 1, 1'000'000);
  d.micro_batches = o.micro_batches;
  if (!o.inter_node_bandwidth.empty()) d.inter_node_bandwidth = parse_inter_node_bandwidth(o.inter_node_bandwidth);
  d.basis = o.bound || !d.gpu.calibration ? TimeBasis::bound : TimeBasis::expected;
  d.topology = topology_for(d.gpu, q.tp, q.pp, d.inter_node_bandwidth, d.basis, q.ep);
  return d;
}

void add_speculative_options(CLI::App& cmd, SpeculativeOptions& o) {
  cmd.add_option("--spec-tokens", o.tokens, "speculative decoding: K draft tokens per step (default 0: off)");
  cmd.add_option("--spec-acceptance", o.acceptance,
                 "probability each draft token is accepted, 0..1 (measure it on your traffic: vLLM reports it)");
  cmd.add_option("--draft-model", o.draft_model, "the draft model (bundled name, YAML or config.json)");
  cmd.add_flag("--mtp", o.mtp, "draft with the model's own multi-token-prediction module (DeepSeek-V3)");
}

std::optional<DrafterChoice> drafter_choice(const SpeculativeOptions& o) {
  if (o.tokens == 0) {
    for (const auto& [given, name] : {std::pair{o.acceptance.has_value(), "--spec-acceptance"},
                                      {!o.draft_model.empty(), "--draft-model"},
                                      {o.mtp, "--mtp"}})
      if (given) throw InputError({}, name, "applies to speculative decoding: give --spec-tokens K too");
    return std::nullopt;
  }
  require_range("--spec-tokens", o.tokens, 1, 16);
  if (!o.acceptance)
    throw InputError({}, "--spec-acceptance",
                     "speculative decoding needs the acceptance rate of your drafter on your traffic (0..1; "
                     "DeepSeek-V3 reports 0.85-0.9 for its MTP module)");
  if (!(*o.acceptance >= 0 && *o.acceptance <= 1)) throw InputError({}, "--spec-acceptance", "must be in [0, 1]");
  if (o.mtp == !o.draft_model.empty())
    throw InputError({}, "--spec-tokens", "name the drafter: --draft-model M or --mtp (the model's own MTP module)");
  DrafterChoice c;
  c.config = SpeculativeConfig{o.tokens, *o.acceptance};
  if (!o.mtp) c.draft_model = resolve_model(o.draft_model, "--draft-model");
  return c;
}

std::optional<Drafter> build_drafter(const SpeculativeOptions& o, const Deployment& d, const ModelShapes& target) {
  const std::optional<DrafterChoice> choice = drafter_choice(o);
  if (!choice) return std::nullopt;
  if (d.query.pp > 1) throw InputError({}, "--pp", "speculative decoding is modelled without pipeline parallelism");
  return make_drafter(*choice, d.model, target, d.gpu, d.basis, d.topology, d.query.attention, d.query.kv_dtype,
                      d.query.tp);
}

void require_svg_name(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext != ".svg" && ext != ".SVG")
    throw InputError({path, 0, 0}, "--plot",
                     "the plot is SVG: name the file .svg (a PNG: rsvg-convert -o plot.png plot.svg)");
}

void write_plot(const std::string& path, const std::string& svg) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError({path, 0, 0}, "--plot", "cannot write the file");
  out << svg;
  if (!out) throw InputError({path, 0, 0}, "--plot", "cannot write the file");
}

Seconds parse_ms(const std::string& option, double ms) {
  if (!(ms > 0 && ms <= 3.6e6)) throw InputError({}, option, "must be between 0 and 3,600,000 ms");
  return Seconds{ms / 1e3};
}

void require_slo_percentile(int percentile) {
  if (percentile != 50 && percentile != 90 && percentile != 99)
    throw InputError({}, "--slo-percentile", std::to_string(percentile) + " is not one of 50, 90, 99");
}

RooflineRun::RooflineRun(const DeploymentOptions& o, std::int64_t gen, const SpeculativeOptions& spec)
    : d(build_deployment(o)) {
  const std::int64_t prompt_tokens = d.query.context - gen;
  if (prompt_tokens < 1)
    throw InputError({}, "--gen",
                     std::to_string(gen) + " tokens leave no room for a prompt within " + d.model.name +
                         "'s max_position of " + std::to_string(d.model.max_position));
  memory = estimate_memory(d.model, d.gpu, d.query);
  shapes = compile_shapes(d.model, d.query.weights, d.query.tp, d.query.ep);
  ceilings = ceilings_for(d.gpu, shapes, d.basis);
  sq =
      ServiceQuery{d.query.batch, prompt_tokens, gen, d.query.attention, d.query.kv_dtype, d.topology, d.micro_batches};
  estimate = estimate_service(shapes, ceilings, sq);
  if (ceilings.expected) {
    ServiceQuery bq = sq;
    bq.topology = topology_for(d.gpu, d.query.tp, d.query.pp, d.inter_node_bandwidth, TimeBasis::bound, d.query.ep);
    bound = estimate_service(shapes, ceilings_for(d.gpu, shapes, TimeBasis::bound), bq);
  }
  if (std::optional<Drafter> drafter = build_drafter(spec, d, shapes)) {
    StepCost target(shapes, ceilings, d.topology, d.query.attention, d.query.kv_dtype);
    SpeculativeSummary sp;
    sp.drafter = drafter->name;
    sp.config = drafter->config;
    sp.batch = d.query.batch;
    sp.context = estimate.decode_ops_context;
    sp.estimate = estimate_speculative(target, *drafter->cost, sp.batch, sp.context, sp.config);
    sp.weights_per_gpu = drafter->weights_per_gpu;
    sp.kv_per_gpu = Bytes{drafter->kv_per_token_per_gpu.value * static_cast<std::uint64_t>(d.query.batch) *
                          static_cast<std::uint64_t>(d.query.context)};
    speculative = sp;
  }
}

RooflineView RooflineRun::view() const {
  return RooflineView{d.model,
                      d.gpu,
                      d.query,
                      memory,
                      sq,
                      estimate,
                      ceilings,
                      d.replicas,
                      bound ? &*bound : nullptr,
                      speculative ? &*speculative : nullptr};
}

}  // namespace ridge::cli
