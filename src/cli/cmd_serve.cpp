// `ridge serve`: one serving engine per replica under a request load, simulated step by step.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "error.hpp"
#include "format.hpp"
#include "quantity.hpp"
#include "report/serve_report.hpp"
#include "serve.hpp"
#include "text.hpp"
#include "workload.hpp"

namespace ridge::cli {
namespace {

/// --rate: "4", "inf", "1,2,4" or "START:STOP:STEP"; 0 stands for inf (all at t = 0).
std::vector<double> parse_rates(const std::string& text) {
  const std::string shown = double_quoted(text);
  auto one = [&](std::string_view s) {
    if (s == "inf") return 0.0;
    double r = 0;
    try {
      r = parse_number(s);
    } catch (const QuantityError&) {
      throw InputError({}, "--rate",
                       shown +
                           ": requests per second (4, 0.5), inf (all at once), a list (1,2,4) or a range "
                           "START:STOP:STEP");
    }
    if (!(r > 0 && r <= 1e6)) throw InputError({}, "--rate", shown + ": a rate is more than 0 and at most 1e6 req/s");
    return r;
  };
  std::vector<double> rates;
  if (text.find(':') != std::string::npos) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i)
      if (i == text.size() || text[i] == ':') parts.push_back(text.substr(start, i - start)), start = i + 1;
    if (parts.size() != 3) throw InputError({}, "--rate", shown + ": a range is START:STOP:STEP, e.g. 1:20:1");
    const double a = one(parts[0]), b = one(parts[1]), step = one(parts[2]);
    if (a == 0 || b == 0 || step == 0 || b < a)
      throw InputError({}, "--rate", shown + ": a range is START:STOP:STEP with finite START <= STOP");
    const double n = std::floor((b - a) / step + 1e-9) + 1;
    if (n > 200) throw InputError({}, "--rate", shown + ": at most 200 rates in one sweep");
    for (int i = 0; i < static_cast<int>(n); ++i) rates.push_back(a + step * i);
    return rates;
  }
  for (const std::string& part : split_commas({text})) rates.push_back(one(part));
  if (rates.empty()) throw InputError({}, "--rate", shown + ": no rate given");
  if (rates.size() > 200) throw InputError({}, "--rate", shown + ": at most 200 rates in one sweep");
  return rates;
}

/// Draws longer than the model can hold are cut to it (a workload generator cannot ask the
/// engine for more than its max_model_len); says how many.
std::int64_t clamp_to(RequestLoad& w, std::int64_t limit) {
  std::int64_t cut = 0;
  for (Request& r : w.requests) {
    if (r.prompt + r.output <= limit) continue;
    ++cut;
    r.prompt = std::min(r.prompt, limit - 1);
    r.output = std::max<std::int64_t>(1, limit - r.prompt);
  }
  return cut;
}

}  // namespace

Runner register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "simulate a serving engine (vLLM v1 scheduler) under a request rate: latency percentiles, goodput");
  struct Options {
    std::string rate;
    std::optional<std::int64_t> concurrency;
    std::string trace;
    std::int64_t requests = 1000;
    std::string prompt = "1024";
    std::string gen = "256";
    std::uint64_t seed = 0;
    std::optional<std::int64_t> max_num_seqs;
    std::optional<std::int64_t> max_num_batched_tokens;
    std::optional<double> ttft_ms, tpot_ms;
    int slo_percentile = 99;
    std::string format = "table";
    std::string plot;
    std::string disagg;
    std::optional<std::int64_t> prefill_tp, decode_tp;
  };
  auto o = std::make_shared<Options>();
  auto dep = std::make_shared<DeploymentOptions>();
  auto spec = std::make_shared<SpeculativeOptions>();
  add_deployment_options(*cmd, *dep, /*with_context=*/false);
  add_price_option(*cmd, dep->prices);
  add_parallel_options(*cmd, *dep);
  // A simulated engine has no fixed batch, and its token budget is vLLM's own option.
  for (const char* name : {"--batch", "--prefill-chunk", "--micro-batches"}) cmd->remove_option(cmd->get_option(name));
  cmd->add_option_function<std::string>(
         "-b,--batch",
         [](const std::string&) {
           throw InputError({}, "--batch",
                            "`ridge serve` has no fixed batch: the scheduler batches what arrives, up to "
                            "--max-num-seqs; give the load with --rate or --concurrency");
         },
         "")
      ->group("");
  cmd->add_option("--rate", o->rate,
                  "requests/s with Poisson arrivals: 4, inf (all at t = 0), a list 1,2,4 or a range 1:20:1 "
                  "(default inf)");
  cmd->add_option("--concurrency", o->concurrency,
                  "closed loop: this many users, each sending its next request when the last one finishes");
  cmd->add_option("--trace", o->trace,
                  "requests from a file: CSV or JSON Lines with arrival_s, prompt_tokens, "
                  "output_tokens");
  cmd->add_option("--requests", o->requests, "requests per run (default 1000)");
  cmd->add_option("-p,--prompt", o->prompt,
                  "prompt tokens: 512, 32k, uniform:LOW:HIGH, normal:MEAN:SD, lognormal:MEAN:SD (default 1024)");
  cmd->add_option("-n,--gen", o->gen, "output tokens per request, the same forms (default 256)");
  cmd->add_option("--seed", o->seed, "random seed: the same seed gives the same output (default 0)");
  cmd->add_option("--max-num-seqs", o->max_num_seqs,
                  "most running requests (default vLLM's: 1024 on GPUs with >= 70 GiB but A100, else 256)");
  cmd->add_option("--max-num-batched-tokens,--prefill-chunk", o->max_num_batched_tokens,
                  "token budget of one step (default vLLM's: 8192 on GPUs with >= 70 GiB but A100, else 2048)");
  cmd->add_option("--ttft-ms", o->ttft_ms, "TTFT objective, milliseconds (goodput, and the rate that meets it)");
  cmd->add_option("--tpot-ms", o->tpot_ms, "TPOT objective, milliseconds");
  cmd->add_option("--slo-percentile", o->slo_percentile,
                  "percentile the objectives apply to: 50, 90 or 99 (default 99)");
  cmd->add_option("--plot", o->plot, "write latency percentiles against rate as SVG (needs several rates)");
  add_speculative_options(*cmd, *spec);
  cmd->add_option("--disagg", o->disagg,
                  "disaggregated serving: P:D prefill and decode replicas, the prompt's KV cache sent between them");
  cmd->add_option("--prefill-tp", o->prefill_tp, "with --disagg: TP of a prefill replica (default --tp)");
  cmd->add_option("--decode-tp", o->decode_tp, "with --disagg: TP of a decode replica (default --tp)");
  add_format_option(*cmd, o->format);

  return [=]() {
    if (!cmd->parsed()) return -1;
    const Format f = parse_format(o->format);
    const bool traced = !o->trace.empty();
    if (traced) {
      for (const char* name : {"--rate", "--concurrency", "--requests", "--prompt", "--gen", "--seed"})
        if (cmd->count(name) > 0)
          throw InputError({}, name, "a trace gives the arrivals and lengths: leave out " + std::string(name));
    }
    if (o->concurrency && cmd->count("--rate") > 0)
      throw InputError({}, "--concurrency", "give --rate (open loop) or --concurrency (closed loop), not both");
    if (o->concurrency) require_range("--concurrency", *o->concurrency, 1, 1'000'000);
    require_range("--requests", o->requests, 1, 10'000'000);
    require_slo_percentile(o->slo_percentile);
    LatencySlo slo;
    slo.percentile = o->slo_percentile;
    if (o->ttft_ms) slo.ttft_s = parse_ms("--ttft-ms", *o->ttft_ms).value;
    if (o->tpot_ms) slo.tpot_s = parse_ms("--tpot-ms", *o->tpot_ms).value;
    const std::vector<double> rates = traced || o->concurrency ? std::vector<double>{0.0}
                                      : o->rate.empty()        ? std::vector<double>{0.0}
                                                               : parse_rates(o->rate);
    if (!o->plot.empty()) {
      require_svg_name(o->plot);
      if (std::count_if(rates.begin(), rates.end(), [](double r) { return r > 0; }) < 2)
        throw InputError({}, "--plot", "the plot draws latency against rate: give several rates (--rate 1:10:1)");
    }
    std::int64_t prefill_replicas = 0, decode_replicas = 0;
    if (!o->disagg.empty()) {
      const std::size_t colon = o->disagg.find(':');
      try {
        if (colon == std::string::npos) throw QuantityError("no colon");
        prefill_replicas = parse_integer(o->disagg.substr(0, colon));
        decode_replicas = parse_integer(o->disagg.substr(colon + 1));
      } catch (const QuantityError&) {
        throw InputError({}, "--disagg", double_quoted(o->disagg) + ": P:D, prefill and decode replicas (e.g. 1:3)");
      }
      require_range("--disagg", prefill_replicas, 1, 4096);
      require_range("--disagg", decode_replicas, 1, 4096);
      for (const char* other : {"--concurrency", "--gpus", "--spec-tokens"})
        if (cmd->count(other) > 0)
          throw InputError({}, other,
                           std::string(other) == "--gpus"
                               ? "with --disagg the pools give the GPUs: P x prefill TP x PP + D x decode TP x PP"
                               : std::string(other) + " is not modelled with disaggregated pools yet");
    } else {
      for (const char* only : {"--prefill-tp", "--decode-tp"})
        if (cmd->count(only) > 0) throw InputError({}, only, "applies to disaggregated serving: give --disagg P:D");
    }
    const LengthDistribution prompt = parse_length_distribution("--prompt", o->prompt);
    const LengthDistribution gen = parse_length_distribution("--gen", o->gen);

    // The deployment: the model's whole length for now; the pool does not depend on it.
    DeploymentOptions d_opts = *dep;
    d_opts.context = 1'000'000'000;
    d_opts.context_defaulted = true;
    if (prefill_replicas > 0) {  // the decode pool's deployment stands for the engine limits and checks
      d_opts.tp = o->decode_tp.value_or(dep->tp);
      d_opts.tp_given = true;
      d_opts.gpus.reset();
    }
    Deployment d = build_deployment(d_opts);
    EngineLimits limits = default_engine_limits(d.gpu);
    if (o->max_num_seqs) {
      require_range("--max-num-seqs", *o->max_num_seqs, 1, 1'000'000);
      limits.max_num_seqs = *o->max_num_seqs;
    }
    if (o->max_num_batched_tokens) {
      require_range("--max-num-batched-tokens", *o->max_num_batched_tokens, 1, 10'000'000);
      limits.max_num_batched_tokens = *o->max_num_batched_tokens;
    }
    d.query.prefill_chunk = limits.max_num_batched_tokens;
    d.query.max_num_batched_tokens = limits.max_num_batched_tokens;

    // Workloads, one per rate (the same seed: the runs differ only in the rate).
    std::vector<RequestLoad> loads;
    WorkloadText wt;
    wt.seed = o->seed;
    if (traced) {
      loads.push_back(read_trace(o->trace));
      wt.arrivals = "trace";
      wt.trace = o->trace;
    } else {
      for (double r : rates) {
        loads.push_back(generate_workload(o->requests, r, prompt, gen, o->seed));
        if (o->concurrency) loads.back().concurrency = *o->concurrency;
      }
      wt.arrivals = o->concurrency ? "closed_loop" : rates.size() == 1 && rates[0] == 0 ? "all_at_once" : "poisson";
      wt.concurrency = o->concurrency.value_or(0);
      wt.prompt = prompt.text();
      wt.output = gen.text();
    }
    wt.requests = static_cast<std::int64_t>(loads.front().requests.size());
    const std::int64_t model_limit = d.model.max_position;
    std::int64_t cut = 0;
    if (!traced && (prompt.max() == 0 || gen.max() == 0))
      for (RequestLoad& w : loads) cut = std::max(cut, clamp_to(w, model_limit));
    std::int64_t longest = 0;
    for (const RequestLoad& w : loads)
      for (const Request& r : w.requests) longest = std::max(longest, r.prompt + r.output);
    if (longest > model_limit)
      throw InputError(traced ? Location{o->trace, 0, 0} : Location{}, traced ? "trace" : "--prompt + --gen",
                       fmt::format("a request of {} tokens exceeds {}'s max_position of {}", with_commas(longest),
                                   d.model.name, with_commas(model_limit)));
    d.query.context = longest;
    const MemoryEstimate memory = estimate_memory(d.model, d.gpu, d.query);
    if (memory.kv_capacity_blocks <= 0 ||
        memory.per_gpu().weights + memory.per_gpu().overhead + memory.per_gpu().activations > memory.budget_per_gpu)
      throw InputError({}, "--gpu",
                       fmt::format("{} does not fit {} per GPU at TP {} x PP {}: nothing left for the KV cache "
                                   "(`ridge memory` shows the breakdown; `ridge plan` finds a layout)",
                                   d.model.name, d.gpu.name, d.query.tp, d.query.pp));
    if (longest > memory.max_model_len_limit)
      throw InputError(traced ? Location{o->trace, 0, 0} : Location{}, traced ? "trace" : "--prompt + --gen",
                       fmt::format("a request of {} tokens does not fit the KV pool, which holds one of at most {} "
                                   "(vLLM would refuse to start with this max_model_len)",
                                   with_commas(longest), with_commas(memory.max_model_len_limit)));
    if (cut > 0)
      std::cerr << fmt::format(
          "ridge: note: {} drawn requests were longer than {}'s max_position of {} and were "
          "cut to it\n",
          cut, d.model.name, with_commas(model_limit));

    ServeEngine engine = serve_engine(d.model, d.query, memory, limits);
    const ModelShapes shapes = compile_shapes(d.model, d.query.weights, d.query.tp, d.query.ep);
    std::optional<Drafter> drafter = build_drafter(*spec, d, shapes);
    if (drafter) {
      add_drafter(engine, d.model, d.gpu, d.query, memory, *drafter);
      engine.seed = o->seed;
    }
    const Ceilings ceilings = ceilings_for(d.gpu, shapes, d.basis);
    StepCost cost(shapes, ceilings, d.topology, d.query.attention, d.query.kv_dtype);
    ServeView view{d.model, d.gpu, d.query, ceilings, d.replicas, engine, wt, slo, {}, {}, {}, 0};
    if (drafter) view.drafter = drafter->name;
    // Disaggregated: a deployment per pool, each with its own TP and engine.
    struct Pool {
      Deployment d;
      MemoryEstimate memory;
      ServeEngine engine;
      std::unique_ptr<StepCost> cost;
    };
    auto pool = [&](std::int64_t tp, const char* option) {
      DeploymentOptions po = d_opts;
      po.tp = tp;
      po.tp_given = true;
      po.gpus.reset();
      Pool p{build_deployment(po), {}, {}, nullptr};
      p.d.query.prefill_chunk = limits.max_num_batched_tokens;
      p.d.query.max_num_batched_tokens = limits.max_num_batched_tokens;
      p.d.query.context = longest;
      p.memory = estimate_memory(p.d.model, p.d.gpu, p.d.query);
      if (p.memory.kv_capacity_blocks <= 0 || longest > p.memory.max_model_len_limit)
        throw InputError({}, option,
                         fmt::format("{} at TP {} holds no request of {} tokens on {}", d.model.name, tp,
                                     with_commas(longest), d.gpu.name));
      p.engine = serve_engine(p.d.model, p.d.query, p.memory, limits);
      const ModelShapes s = compile_shapes(p.d.model, p.d.query.weights, tp);
      p.cost = std::make_unique<StepCost>(s, ceilings_for(p.d.gpu, s, p.d.basis), p.d.topology, p.d.query.attention,
                                          p.d.query.kv_dtype);
      return p;
    };
    std::optional<Pool> prefill_pool, decode_pool;
    std::function<double(std::int64_t)> transfer;
    if (prefill_replicas > 0) {
      const std::int64_t tp_p = o->prefill_tp.value_or(dep->tp), tp_d = o->decode_tp.value_or(dep->tp);
      prefill_pool.emplace(pool(tp_p, "--prefill-tp"));
      decode_pool.emplace(pool(tp_d, "--decode-tp"));
      const std::int64_t total = (prefill_replicas * tp_p + decode_replicas * tp_d) * d.query.pp;
      // Inside one node the cache moves over NVLink (or the GPU's own link), else over the
      // network; each prefill GPU sends its shard, all of them at once.
      const bool one_node = total <= d.gpu.gpus_per_node;
      const Link link = one_node ? decode_pool->d.topology.intra_node : decode_pool->d.topology.inter_node;
      transfer = kv_transfer_time(d.model, d.query.kv_dtype, tp_p * d.query.pp, link);
      view.total_gpus = total;
      view.disaggregation = fmt::format(
          "{} prefill replica{} (TP {}) + {} decode replica{} (TP {}), x PP {}: {} GPUs; each prompt's KV cache sent "
          "over {} ({}){}",
          prefill_replicas, prefill_replicas == 1 ? "" : "s", tp_p, decode_replicas, decode_replicas == 1 ? "" : "s",
          tp_d, d.query.pp, total, one_node ? "the node's links" : "the network between nodes", link.name,
          one_node ? "" : " (--inter-node-bandwidth sets it)");
    }
    for (std::size_t i = 0; i < loads.size(); ++i) {
      const double rate = traced || o->concurrency ? 0.0 : rates[i];
      if (prefill_pool) {
        const DisaggregatedPools pools{
            prefill_pool->cost.get(), &prefill_pool->engine, prefill_replicas, decode_pool->cost.get(),
            &decode_pool->engine,     decode_replicas,       transfer};
        DisaggregatedResult r = simulate_disaggregated(pools, loads[i]);
        view.runs.push_back(summarize(r.combined, slo, rate));
        view.runs.back().mean_transfer_s = r.mean_transfer_s;
        continue;
      }
      // Under expert parallelism each attention group schedules its own requests (vLLM: one
      // engine core per data-parallel rank, stepping together for the MoE layers).
      ServeResult r = simulate(cost, engine, loads[i], d.replicas * attention_groups(d.query.ep, d.query.tp));
      ServeSummary s = summarize(r, slo, rate);
      s.energy = served_energy(d.gpu, shapes, ceilings, d.topology, d.query.attention, d.query.kv_dtype, d.replicas,
                               replica_gpus(d.query.tp, d.query.pp, d.query.ep) * d.replicas, r, s);
      view.runs.push_back(std::move(s));
    }

    if (!o->plot.empty()) {
      write_plot(o->plot, serve_svg(view));
    }
    switch (f) {
      case Format::json:
        std::cout << serve_json(view).dump(2) << "\n";
        break;
      case Format::csv:
        std::cout << serve_csv(view);
        break;
      case Format::markdown:
        std::cout << serve_markdown(view);
        break;
      case Format::table:
        std::cout << serve_text(view);
        break;
    }
    return 0;
  };
}

}  // namespace ridge::cli
