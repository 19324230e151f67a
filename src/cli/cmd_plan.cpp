// `ridge plan`: the cheapest deployment that fits and meets the targets, and why the rest lost.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "error.hpp"
#include "format.hpp"
#include "loaders.hpp"
#include "quantity.hpp"
#include "report/plan_report.hpp"
#include "text.hpp"

namespace ridge::cli {

Runner register_plan(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan", "the cheapest GPU type, count, TP x PP, precision and batch that fit and meet the targets");
  struct Options {
    std::string model;
    std::vector<std::string> gpus;
    std::int64_t prompt = 1024, gen = 256;
    std::optional<std::int64_t> batch, concurrency;
    std::optional<double> ttft_ms, tpot_ms, min_throughput;
    std::int64_t max_gpus = 64;
    std::size_t top = 10;
    bool allow_int4 = false;
    std::vector<std::string> precisions, kv_dtypes, prices;
    double memory_utilization = 0.9;
    std::string attention = "flash";
    std::int64_t prefill_chunk = kDefaultPrefillChunk;
    std::string inter_node_bandwidth;
    double cost_tolerance = 0.10;
    std::string format = "table";
    bool bound = false;
    std::optional<double> rate;
    int slo_percentile = 99;
    std::int64_t requests = 1000;
    std::uint64_t seed = 0;
    bool disagg = false;
    std::string rank_by = "usd";
  };
  auto o = std::make_shared<Options>();
  auto spec = std::make_shared<SpeculativeOptions>();
  cmd->add_option("-m,--model", o->model, "bundled model name, model YAML, HF config.json or its directory")
      ->required();
  cmd->add_option("-g,--gpu", o->gpus, "GPUs to consider, repeatable or comma-separated (default: every bundled GPU)");
  cmd->add_option("-p,--prompt", o->prompt, "prompt tokens per sequence (default 1024)");
  cmd->add_option("-n,--gen", o->gen, "generated tokens per sequence (default 256)");
  refuse_context(*cmd, "--prompt P and --gen G");
  cmd->add_option("-b,--batch", o->batch, "sequences per replica (default: searched over powers of two)");
  cmd->add_option("--concurrency", o->concurrency, "sequences in flight over all replicas");
  cmd->add_option("--ttft-ms", o->ttft_ms, "time-to-first-token limit, milliseconds");
  cmd->add_option("--tpot-ms", o->tpot_ms, "time-per-output-token limit, milliseconds");
  cmd->add_option("--min-throughput", o->min_throughput, "generated tokens/s over all replicas");
  cmd->add_option("--rate", o->rate,
                  "plan by load: requests/s (Poisson) over all replicas; each candidate is simulated as `ridge serve` "
                  "and the SLOs judged at --slo-percentile");
  cmd->add_option("--slo-percentile", o->slo_percentile, "with --rate: 50, 90 or 99 (default 99)");
  cmd->add_option("--requests", o->requests, "with --rate: requests per simulated run (default 1000)");
  cmd->add_option("--seed", o->seed, "with --rate: random seed of the simulated arrivals (default 0)");
  cmd->add_option("--max-gpus", o->max_gpus, "most GPUs a plan may use (default 64)");
  cmd->add_option("--top", o->top, "plans shown (default 10)");
  cmd->add_flag("--allow-int4", o->allow_int4, "consider int4 weights even when 8/16-bit plans exist");
  cmd->add_option("--precision", o->precisions,
                  "weight formats to consider (default: 16-bit, fp8 where supported, int8)");
  cmd->add_option("--kv-dtype", o->kv_dtypes, "KV cache types to consider (default: 16-bit, fp8, int8)");
  add_price_option(*cmd, o->prices);
  cmd->add_option("--rank-by", o->rank_by,
                  "usd (dollars per million output tokens, when every GPU has a price; the default) or gpu-hours");
  cmd->add_option("--memory-utilization", o->memory_utilization, "fraction of device memory usable (default 0.9)");
  cmd->add_option("--attention", o->attention, "flash or naive (default flash)");
  cmd->add_option("--prefill-chunk", o->prefill_chunk,
                  "tokens per prefill pass for activation memory, as vLLM's chunked prefill (default 8192; 0: all)");
  cmd->add_option("--inter-node-bandwidth", o->inter_node_bandwidth,
                  "network per GPU between nodes (default: the GPU file's, else 50 GB/s)");
  cmd->add_option("--cost-tolerance", o->cost_tolerance,
                  "prefer lower quality risk within this fraction of the cheapest cost (default 0.10)");
  cmd->add_flag("--bound", o->bound,
                "judge plans on the datasheet roofline (lower bounds: plans under-provision) instead of the "
                "calibrated estimate of calibrated GPUs");
  cmd->add_flag("--disagg", o->disagg,
                "with --rate: also search disaggregated prefill/decode pools (P:D and each pool's TP) and say whether "
                "they beat colocated serving");
  add_speculative_options(*cmd, *spec);
  add_format_option(*cmd, o->format);
  return [cmd, o, spec]() {
    if (!cmd->parsed()) return -1;
    const Format format = parse_format(o->format);
    const ModelSpec model = resolve_model(o->model);
    PlanRequest r;
    r.basis = o->bound ? TimeBasis::bound : TimeBasis::expected;
    // A GPU named twice is planned once (its rows would repeat).
    std::vector<std::string> gpu_args = gpu_list(o->gpus);
    if (gpu_args.empty()) gpu_args = bundled_gpu_names();
    for (const std::string& g : gpu_args) r.gpus.push_back(resolve_gpu(g));
    std::vector<std::string> names;
    for (const GpuSpec& g : r.gpus) names.push_back(g.name);
    for (GpuSpec& g : r.gpus) apply_prices(o->prices, g, names);
    require_range("--prompt", o->prompt, 1, 100'000'000);
    require_range("--gen", o->gen, 1, 100'000'000);
    if (o->prompt + o->gen > model.max_position)
      throw InputError({}, "--prompt + --gen",
                       std::to_string(o->prompt + o->gen) + " tokens exceeds " + model.name + "'s max_position of " +
                           std::to_string(model.max_position));
    r.prompt = o->prompt;
    r.gen = o->gen;
    if (o->batch) require_range("--batch", *o->batch, 1, 1'000'000);
    if (o->concurrency) require_range("--concurrency", *o->concurrency, 1, 100'000'000);
    r.batch = o->batch;
    r.concurrency = o->concurrency;
    if (o->ttft_ms) r.max_ttft = parse_ms("--ttft-ms", *o->ttft_ms);
    if (o->tpot_ms) r.max_tpot = parse_ms("--tpot-ms", *o->tpot_ms);
    if (o->rate) {
      if (!(*o->rate > 0 && *o->rate <= 1e6))
        throw InputError({}, "--rate", "must be more than 0 and at most 1e6 req/s");
      for (const char* other : {"--batch", "--concurrency", "--min-throughput"})
        if (cmd->count(other) > 0)
          throw InputError(
              {}, other, std::string("planning by --rate sizes the batch and the replicas itself: leave out ") + other);
      if (!r.max_ttft && !r.max_tpot)
        throw InputError({}, "--rate",
                         "planning by load needs a latency target (--ttft-ms and/or --tpot-ms): without one, any "
                         "deployment that keeps up at saturation would do");
      r.rate = o->rate;
    } else {
      for (const char* only : {"--slo-percentile", "--requests", "--seed", "--disagg"})
        if (cmd->count(only) > 0) throw InputError({}, only, "applies to planning by load: give --rate too");
    }
    require_slo_percentile(o->slo_percentile);
    r.slo_percentile = o->slo_percentile;
    require_range("--requests", o->requests, 50, 1'000'000);
    r.sim_requests = o->requests;
    r.seed = o->seed;
    if (o->min_throughput) {
      if (!(*o->min_throughput > 0 && *o->min_throughput <= 1e12))
        throw InputError({}, "--min-throughput", "must be positive tokens/s");
      r.min_throughput = o->min_throughput;
    }
    require_range("--max-gpus", o->max_gpus, 1, 4096);
    r.max_gpus = o->max_gpus;
    r.allow_int4 = o->allow_int4;
    for (const std::string& name : split_commas(o->precisions))
      r.weight_formats.push_back(parse_weight_format("--precision", name));
    for (const std::string& name : split_commas(o->kv_dtypes))
      r.kv_dtypes.push_back(parse_kv_dtype("--kv-dtype", name));
    if (!(o->memory_utilization > 0 && o->memory_utilization <= 1))
      throw InputError({}, "--memory-utilization", "must be in (0, 1]");
    r.memory_utilization = o->memory_utilization;
    if (o->attention == "naive")
      r.attention = AttentionImpl::naive;
    else if (o->attention != "flash")
      throw InputError({}, "--attention", "\"" + o->attention + "\" is not one of flash, naive");
    require_range("--prefill-chunk", o->prefill_chunk, 0, 100'000'000);  // 0: the whole batch at once
    r.prefill_chunk = o->prefill_chunk;
    if (!o->inter_node_bandwidth.empty()) r.inter_node_bandwidth = parse_inter_node_bandwidth(o->inter_node_bandwidth);
    if (!(o->cost_tolerance >= 0 && o->cost_tolerance <= 1))
      throw InputError({}, "--cost-tolerance", "must be in [0, 1]");
    r.cost_tolerance = o->cost_tolerance;
    if (o->top < 1) throw InputError({}, "--top", "must be at least 1");
    r.top_simulated = o->top;

    r.disaggregation = o->disagg;
    if (o->rank_by != "usd" && o->rank_by != "gpu-hours")
      throw InputError({}, "--rank-by", double_quoted(o->rank_by) + " is not one of usd, gpu-hours");
    r.rank_by_usd = o->rank_by == "usd";
    r.speculation = drafter_choice(*spec);
    if (r.speculation && r.disaggregation)
      throw InputError({}, "--disagg", "speculative decoding is not modelled with disaggregated pools yet");
    std::string spec_args;
    if (r.speculation) {
      if (!r.speculation->draft_model && model.mtp_layers == 0)
        throw InputError({}, "--mtp", model.name + " has no MTP module: name a --draft-model");
      spec_args = fmt::format("--spec-tokens {} --spec-acceptance {} {}", spec->tokens, trimmed(*spec->acceptance, 6),
                              spec->mtp ? "--mtp" : "--draft-model " + spec->draft_model);
    }

    const PlanResult result = make_plan(model, r);
    const PlanView view{model, r, result, o->top, o->model, gpu_args, spec_args};
    switch (format) {
      case Format::json:
        std::cout << plan_json(view).dump(2) << "\n";
        break;
      case Format::csv:
        std::cout << plan_csv(view);
        break;
      case Format::markdown:
        std::cout << plan_markdown(view);
        break;
      case Format::table:
        std::cout << plan_text(view);
        break;
    }
    return result.plans.empty() ? 1 : 0;
  };
}

}  // namespace ridge::cli
