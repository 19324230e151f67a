// `ridge report`: one self-contained HTML page for a deployment: its memory, roofline, serving
// curves and plans, each section the JSON document `ridge memory|roofline|serve|plan --format
// json` prints for the same options, embedded in the page and drawn by the page's script.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "deploy.hpp"
#include "error.hpp"
#include "loaders.hpp"
#include "quantity.hpp"
#include "report/html_report.hpp"
#include "report/memory_report.hpp"
#include "report/plan_report.hpp"
#include "report/roofline_report.hpp"
#include "report/serve_report.hpp"
#include "ridge_version.hpp"
#include "serve.hpp"
#include "text.hpp"
#include "workload.hpp"

namespace ridge::cli {
namespace {

struct ReportOptions {
  std::string deployment_file;
  std::int64_t prompt = 1024, gen = 256;
  std::string rates;
  std::int64_t requests = 1000;
  std::uint64_t seed = 0;
  std::optional<double> ttft_ms, tpot_ms, min_throughput;
  int slo_percentile = 99;
  std::vector<std::string> plan_gpus;
  std::int64_t max_gpus = 64;
  std::string output;
};

/// The deployment file's fields as the command line's options (`ridge check` reads the same file).
DeploymentOptions options_from(const DeploymentFile& f, ReportOptions& r) {
  DeploymentOptions o;
  o.model = f.model;
  o.gpu = f.gpu;
  o.gpus = f.gpus;
  o.tp = f.tp;
  o.tp_given = f.tp_given;
  o.pp = f.pp;
  o.precision = f.precision;
  o.kv_dtype = f.kv_dtype;
  o.memory_utilization = f.memory_utilization;
  if (f.overhead) o.overhead = std::to_string(f.overhead->value) + " B";
  o.attention = f.attention == AttentionImpl::flash ? "flash" : "naive";
  o.prefill_chunk = f.prefill_chunk;
  o.block_size = f.block_size;
  r.prompt = f.workload.prompt_tokens;
  r.gen = f.workload.gen_tokens;
  if (f.slo.ttft) r.ttft_ms = f.slo.ttft->value * 1e3;
  if (f.slo.tpot) r.tpot_ms = f.slo.tpot->value * 1e3;
  if (f.slo.min_throughput_tokens_per_s) r.min_throughput = *f.slo.min_throughput_tokens_per_s;
  return o;
}

/// --rate: "1,2,4"; each more than 0 and at most 1e6 requests/s.
std::vector<double> parse_rate_list(const std::string& text) {
  std::vector<double> rates;
  for (const std::string& part : split_commas({text})) {
    double r = 0;
    try {
      r = parse_number(part);
    } catch (const QuantityError&) {
      throw InputError({}, "--rate", double_quoted(part) + ": a list of requests per second, e.g. 1,2,4,8");
    }
    if (!(r > 0 && r <= 1e6)) throw InputError({}, "--rate", double_quoted(part) + ": more than 0 and at most 1e6");
    rates.push_back(r);
  }
  if (rates.size() > 50) throw InputError({}, "--rate", "at most 50 rates on one page");
  return rates;
}

/// `ridge serve --rate R1,R2,... --requests N --prompt P --gen G` for the same deployment, as
/// JSON; with no rates, fractions of the rate served when all N requests come at once.
nlohmann::ordered_json serve_section(DeploymentOptions o, const ReportOptions& r, const std::vector<double>& given,
                                     nlohmann::ordered_json& rates_note) {
  // As `ridge serve`: no fixed batch, the engine's token budget, the model's whole length.
  o.batch = 1;
  o.micro_batches = 0;
  o.prefill_chunk = kDefaultPrefillChunk;
  o.context = 1'000'000'000;
  o.context_defaulted = true;
  Deployment d = build_deployment(o);
  const EngineLimits limits = default_engine_limits(d.gpu);
  d.query.prefill_chunk = limits.max_num_batched_tokens;
  d.query.max_num_batched_tokens = limits.max_num_batched_tokens;
  const std::int64_t longest = r.prompt + r.gen;
  if (longest > d.model.max_position)
    throw InputError({}, "--prompt + --gen",
                     fmt::format("a request of {} tokens exceeds {}'s max_position of {}", with_commas(longest),
                                 d.model.name, with_commas(d.model.max_position)));
  d.query.context = longest;
  const MemoryEstimate memory = estimate_memory(d.model, d.gpu, d.query);
  if (memory.kv_capacity_blocks <= 0 ||
      memory.per_gpu().weights + memory.per_gpu().overhead + memory.per_gpu().activations > memory.budget_per_gpu ||
      longest > memory.max_model_len_limit) {
    rates_note = {{"source", "none"},
                  {"why", fmt::format("{} tokens per request do not fit the KV pool of {} on {} at TP {} x PP {}",
                                      with_commas(longest), d.model.name, d.gpu.name, d.query.tp, d.query.pp)}};
    return nullptr;
  }
  const ServeEngine engine = serve_engine(d.model, d.query, memory, limits);
  const ModelShapes shapes = compile_shapes(d.model, d.query.weights, d.query.tp, d.query.ep);
  const Ceilings ceilings = ceilings_for(d.gpu, shapes, d.basis);
  StepCost cost(shapes, ceilings, d.topology, d.query.attention, d.query.kv_dtype);
  const LengthDistribution prompt = parse_length_distribution("--prompt", std::to_string(r.prompt));
  const LengthDistribution gen = parse_length_distribution("--gen", std::to_string(r.gen));
  LatencySlo slo;
  slo.percentile = r.slo_percentile;
  if (r.ttft_ms) slo.ttft_s = *r.ttft_ms / 1e3;
  if (r.tpot_ms) slo.tpot_s = *r.tpot_ms / 1e3;
  const std::int64_t engines = d.replicas * attention_groups(d.query.ep, d.query.tp);
  auto run = [&](double rate) {
    RequestLoad load = generate_workload(r.requests, rate, prompt, gen, r.seed);
    ServeResult result = simulate(cost, engine, load, engines);
    ServeSummary s = summarize(result, slo, rate);
    s.energy = served_energy(d.gpu, shapes, ceilings, d.topology, d.query.attention, d.query.kv_dtype, d.replicas,
                             replica_gpus(d.query.tp, d.query.pp, d.query.ep) * d.replicas, result, s);
    return s;
  };
  std::vector<double> rates = given;
  if (rates.empty()) {
    const double saturation = run(0.0).requests_per_s;
    rates = curve_rates(saturation);
    rates_note = {{"source", "saturation"},
                  {"saturation_requests_per_s", saturation},
                  {"fractions", curve_fractions()},
                  {"why", "fractions of the rate served with every request queued at once"}};
  } else {
    rates_note = {{"source", "--rate"}};
  }
  WorkloadText wt;
  wt.arrivals = "poisson";
  wt.requests = r.requests;
  wt.prompt = prompt.text();
  wt.output = gen.text();
  wt.seed = r.seed;
  ServeView view{d.model, d.gpu, d.query, ceilings, d.replicas, engine, wt, slo, {}, {}, {}, 0};
  for (double rate : rates) view.runs.push_back(run(rate));
  return serve_json(view);
}

/// `ridge plan` over `gpu_args` for the same workload and targets.
nlohmann::ordered_json plan_section(const std::string& model_arg, const DeploymentOptions& o, const ReportOptions& r,
                                    const std::vector<std::string>& gpu_args, std::optional<std::int64_t> batch,
                                    std::optional<std::int64_t> concurrency) {
  const ModelSpec model = resolve_model(model_arg);
  PlanRequest req;
  req.basis = o.bound ? TimeBasis::bound : TimeBasis::expected;
  for (const std::string& g : gpu_args) req.gpus.push_back(resolve_gpu(g, "--plan-gpus"));
  req.prompt = r.prompt;
  req.gen = r.gen;
  req.batch = batch;
  req.concurrency = concurrency;
  if (r.ttft_ms) req.max_ttft = Seconds{*r.ttft_ms / 1e3};
  if (r.tpot_ms) req.max_tpot = Seconds{*r.tpot_ms / 1e3};
  req.min_throughput = r.min_throughput;
  req.max_gpus = r.max_gpus;
  req.memory_utilization = o.memory_utilization;
  req.attention = o.attention == "naive" ? AttentionImpl::naive : AttentionImpl::flash;
  req.prefill_chunk = o.prefill_chunk;
  if (!o.inter_node_bandwidth.empty()) req.inter_node_bandwidth = parse_inter_node_bandwidth(o.inter_node_bandwidth);
  const PlanResult result = make_plan(model, req);
  return plan_json(PlanView{model, req, result, 10, model_arg, gpu_args});
}

}  // namespace

Runner register_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report", "one self-contained HTML page: memory, interactive roofline, serving curves, plans, cost and energy");
  auto o = std::make_shared<ReportOptions>();
  auto dep = std::make_shared<DeploymentOptions>();
  cmd->add_option("deployment", o->deployment_file,
                  "a deployment YAML (as `ridge check` reads) instead of -m/-g and the deployment options");
  add_deployment_options(*cmd, *dep, /*with_context=*/false);
  add_price_option(*cmd, dep->prices);
  cmd->get_option("--model")->required(false);
  cmd->get_option("--gpu")->required(false);
  add_parallel_options(*cmd, *dep);
  cmd->add_option("-p,--prompt", o->prompt, "prompt tokens per sequence (default 1024)");
  cmd->add_option("-n,--gen", o->gen, "generated tokens per sequence (default 256)");
  cmd->add_option("--rate", o->rates,
                  "serving curves: requests/s, a list 1,2,4 (default: seven rates up to 1.1 x the saturation rate)");
  cmd->add_option("--requests", o->requests,
                  "serving curves: requests per simulated run (default 1000, as ridge serve)");
  cmd->add_option("--seed", o->seed, "serving curves: random seed of the arrivals (default 0)");
  cmd->add_option("--ttft-ms", o->ttft_ms, "TTFT target, milliseconds (plans, and goodput on the curves)");
  cmd->add_option("--tpot-ms", o->tpot_ms, "TPOT target, milliseconds");
  cmd->add_option("--slo-percentile", o->slo_percentile, "percentile the curves' targets apply to: 50, 90 or 99");
  cmd->add_option("--min-throughput", o->min_throughput, "plans: generated tokens/s over all replicas");
  cmd->add_option("--plan-gpus", o->plan_gpus, "GPUs the plans consider, comma-separated (default: -g's)");
  cmd->add_option("--max-gpus", o->max_gpus, "plans: most GPUs a plan may use (default 64)");
  cmd->add_option("-o,--output", o->output, "the HTML file to write (- for standard output)")->required();

  return [=]() {
    if (!cmd->parsed()) return -1;
    if (o->output.empty()) throw InputError({}, "--output", "needs a file name (- for standard output)");
    ReportOptions r = *o;
    DeploymentOptions d = *dep;
    std::optional<std::int64_t> plan_batch, plan_concurrency;
    if (!r.deployment_file.empty()) {
      // The file gives the deployment and its workload; the command line only the page's extras.
      for (const CLI::Option* opt : cmd->get_options()) {
        const std::string name = opt->get_name();
        const bool page_option = name == "--output" || name == "--rate" || name == "--requests" || name == "--seed" ||
                                 name == "--slo-percentile" || name == "--plan-gpus" || name == "--max-gpus" ||
                                 name == "--bound" || name == "--inter-node-bandwidth" || name == "--micro-batches" ||
                                 name == "--help" || name == "deployment";
        if (!page_option && opt->count() > 0)
          throw InputError({}, opt->get_name(),
                           "the deployment file gives the deployment and its workload: leave out " + opt->get_name());
      }
      const DeploymentFile f = load_deployment(r.deployment_file);
      DeploymentOptions from_file = options_from(f, r);
      from_file.micro_batches = d.micro_batches;
      from_file.inter_node_bandwidth = d.inter_node_bandwidth;
      from_file.bound = d.bound;
      d = from_file;
      plan_batch = f.workload.batch;
      plan_concurrency = f.workload.concurrency;
      if (f.workload.concurrency) {
        // Sequences per replica, as `ridge check` spreads them: ceil(concurrency / replicas).
        const std::int64_t replicas = build_deployment(d).replicas;
        d.batch = (*f.workload.concurrency + replicas - 1) / replicas;
      } else {
        d.batch = f.workload.batch.value_or(1);
      }
    } else {
      if (d.model.empty()) throw InputError({}, "--model", "a model is required (or a deployment file)");
      if (d.gpu.empty()) throw InputError({}, "--gpu", "a GPU is required (or a deployment file)");
      if (cmd->count("--batch") > 0) plan_batch = d.batch;
    }
    if (gpu_list(d.gpu).size() > 1) throw InputError({}, "--gpu", "one report is one GPU type: give a single -g");
    require_range("--prompt", r.prompt, 1, 100'000'000);
    require_range("--gen", r.gen, 1, 100'000'000);
    require_range("--requests", r.requests, 50, 100'000);
    require_slo_percentile(r.slo_percentile);
    if (r.ttft_ms) parse_ms("--ttft-ms", *r.ttft_ms);
    if (r.tpot_ms) parse_ms("--tpot-ms", *r.tpot_ms);
    if (r.min_throughput && !(*r.min_throughput > 0 && *r.min_throughput <= 1e12))
      throw InputError({}, "--min-throughput", "must be positive tokens/s");
    require_range("--max-gpus", r.max_gpus, 1, 4096);
    const std::vector<double> rates = r.rates.empty() ? std::vector<double>{} : parse_rate_list(r.rates);
    std::vector<std::string> plan_gpus = gpu_list(r.plan_gpus);
    if (plan_gpus.empty()) plan_gpus = {d.gpu};

    DeploymentOptions roofline_options = d;
    roofline_options.context = r.prompt + r.gen;
    roofline_options.context_option = "--prompt + --gen";
    // As `ridge roofline`: without --prompt, the default prompt shrinks to what the model's
    // max_position leaves after --gen; the curves and plans then use that prompt too.
    roofline_options.context_defaulted = r.deployment_file.empty() && cmd->count("--prompt") == 0;
    const RooflineRun roofline(roofline_options, r.gen);
    r.prompt = roofline.sq.prompt;
    const RooflineView view = roofline.view();
    ReportSections s;
    s.generator = "ridge " RIDGE_VERSION;
    s.memory = memory_json(
        MemoryView{roofline.d.model, roofline.d.gpu, roofline.d.query, roofline.memory, roofline.d.replicas});
    s.roofline = roofline_json(view);
    s.serve = serve_section(d, r, rates, s.rates);
    s.plan = plan_section(d.model, d, r, plan_gpus, plan_batch, plan_concurrency);
    const std::string page = html_report(report_json(s));

    if (r.output == "-") {
      std::cout << page;
      return 0;
    }
    std::ofstream out(r.output, std::ios::binary);
    if (!out) throw InputError({r.output, 0, 0}, "--output", "cannot write the file");
    out << page;
    out.close();
    if (!out) throw InputError({r.output, 0, 0}, "--output", "cannot write the file");
    return 0;
  };
}

}  // namespace ridge::cli
