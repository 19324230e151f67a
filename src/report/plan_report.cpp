#include "report/plan_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "format.hpp"
#include "report/cost_report.hpp"
#include "text.hpp"

namespace ridge {
namespace {

std::string ms_text(Seconds s) { return short_seconds(s); }

std::string cost_header(const PlanResult& r) { return r.cost_in_usd ? "$/Mtok" : "GPU-h/Mtok"; }
double cost_value(const PlanResult& r, const Plan& p) { return r.cost_in_usd ? *p.usd_per_mtok : p.gpu_hours_per_mtok; }

std::string kv_name(DType t) { return std::string(to_string(t)); }

std::string gpu_name(const PlanView& v, std::size_t i) { return v.request.gpus[i].name; }

/// The format and its interchangeable alternatives: "fp8|int8".
std::string weights_text(const Plan& p) {
  std::string s = p.weights.name;
  for (const auto& w : p.equivalent_weights) s += "|" + w;
  return s;
}
std::string kv_text(const Plan& p) {
  std::string s = kv_name(p.kv_dtype);
  for (DType d : p.equivalent_kv) s += "|" + kv_name(d);
  return s;
}

/// Under the table: what "fp8|int8" means, and why row 1 may cost more than row 2.
std::string ranking_note(const PlanView& v, const char* indent) {
  std::string out;
  bool grouped = false;
  for (std::size_t i = 0; i < v.result.plans.size() && i < v.top; ++i)
    grouped = grouped || !v.result.plans[i].equivalent_weights.empty() || !v.result.plans[i].equivalent_kv.empty();
  if (grouped)
    out += std::string(indent) +
           "a|b: interchangeable formats, the same plan within 0.5% of its cost (the first is the one shown)\n";
  bool disaggregated = false;
  for (std::size_t i = 0; i < v.result.plans.size() && i < v.top; ++i)
    disaggregated = disaggregated || v.result.plans[i].disaggregated.has_value();
  if (disaggregated)
    out += std::string(indent) +
           "a/b, pP+dD: disaggregated, p prefill replicas of TP a and d decode replicas of TP b; their TTFT "
           "includes sending the prompt's KV cache from the prefill to the decode pool\n";
  if (v.request.speculation) {
    const DrafterChoice& c = *v.request.speculation;
    out += std::string(indent) +
           fmt::format(
               "spec: speculative decoding ({} draft tokens, acceptance {}, {}), TPOT speedup over plain "
               "decoding at the plan's batch; {}; -: plain decoding (pipeline-parallel plans{}); GiB/GPU includes "
               "the drafter's weights and cache (`ridge roofline --spec-tokens` shows them, `ridge memory` "
               "does not)\n",
               c.config.tokens, trimmed(c.config.acceptance, 3),
               c.draft_model ? "draft model " + c.draft_model->name : "the model's MTP module",
               v.request.rate ? "planned by load, a server configured to speculate does so at every batch"
                              : "static batches speculate only where it is faster",
               v.request.rate ? "" : ", or batches where speculation would be slower");
  }
  out += std::string(indent) + "J/tok: joules per output token, " + energy_model_note() + "\n";
  if (v.result.cost_in_usd) {
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < v.result.plans.size() && i < v.top; ++i)
      if (std::find(shown.begin(), shown.end(), v.result.plans[i].gpu) == shown.end())
        shown.push_back(v.result.plans[i].gpu);
    for (std::size_t gi : shown) {
      const GpuSpec& g = v.request.gpus[gi];
      out += std::string(indent) + fmt::format("$/Mtok on {}: ${:.2f}/GPU-hour, {}{}\n", g.name, *g.usd_per_hour,
                                               g.price_source, g.price_date.empty() ? "" : ", " + g.price_date);
    }
  }
  if (v.result.recommended_above_cheaper)
    out += std::string(indent) +
           "1*: ranked first although row 2 is cheaper: lower quality risk within --cost-tolerance " +
           fmt::format("{:g}%", 100 * v.request.cost_tolerance) + "\n";
  return out;
}

Table plans_table(const PlanView& v) {
  Table t;
  const bool by_load = v.request.rate.has_value();
  const std::string pct = fmt::format("p{} ", v.request.slo_percentile);
  t.headers = {"#",
               "GPU",
               "GPUs",
               "TP",
               "PP",
               "replicas",
               "weights",
               "KV",
               by_load ? "mean batch" : "batch",
               "GiB/GPU",
               by_load ? pct + "TTFT" : "TTFT*",
               by_load ? pct + "TPOT" : "TPOT",
               "tokens/s",
               cost_header(v.result),
               "quality"};
  t.right_aligned = {true, false, true, true, true, true, false, false, true, true, true, true, true, true, false};
  if (by_load) {
    t.headers.insert(t.headers.begin() + 13, "req/s/replica");
    t.right_aligned.insert(t.right_aligned.begin() + 13, true);
    t.headers.insert(t.headers.begin() + 9, "tokens/step");
    t.right_aligned.insert(t.right_aligned.begin() + 9, true);
  }
  // Energy per output token (an estimate from the GPUs' power figures), before the quality note.
  t.headers.insert(t.headers.end() - 1, "J/tok");
  t.right_aligned.insert(t.right_aligned.end() - 1, true);
  // Speculative decoding: each plan's speedup over plain decoding, "-" where it decodes plainly.
  const bool spec = v.request.speculation.has_value();
  if (spec) {
    t.headers.insert(t.headers.end() - 1, "spec");
    t.right_aligned.insert(t.right_aligned.end() - 1, true);
  }
  // MoE models: the expert-parallel width (1: experts split by TP like the rest).
  const bool moe = v.model.moe.has_value();
  if (moe) {
    t.headers.insert(t.headers.begin() + 5, "EP");
    t.right_aligned.insert(t.right_aligned.begin() + 5, true);
  }
  const auto& plans = v.result.plans;
  for (std::size_t i = 0; i < plans.size() && i < v.top; ++i) {
    const Plan& p = plans[i];
    std::vector<std::string> row{
        std::to_string(i + 1) + (i == 0 && v.result.recommended_above_cheaper ? "*" : ""),
        gpu_name(v, p.gpu),
        std::to_string(p.gpus()),
        p.disaggregated ? fmt::format("{}/{}", p.disaggregated->prefill_tp, p.disaggregated->decode_tp)
                        : std::to_string(p.tp),
        std::to_string(p.pp),
        p.disaggregated ? fmt::format("{}P+{}D", p.disaggregated->prefill_replicas, p.disaggregated->decode_replicas)
                        : std::to_string(p.replicas),
        weights_text(p),
        kv_text(p),
        std::to_string(p.batch),
        gib(p.per_gpu_memory),
        ms_text(p.ttft),
        ms_text(p.tpot),
        fmt::format("{:.0f}", p.throughput_tokens_per_s),
        fmt::format("{:.3f}", cost_value(v.result, p)),
        std::string(quality_note(p.risk))};
    if (by_load) {
      row.insert(row.begin() + 13, fmt::format("{:.2f}", p.capacity_per_replica));
      row.insert(row.begin() + 9, with_commas(p.max_num_batched_tokens));
    }
    row.insert(row.end() - 1, p.joules_per_token ? fmt::format("{:.3g}", *p.joules_per_token) : "-");
    if (spec) row.insert(row.end() - 1, p.speculative ? fmt::format("x{:.2f}", p.speculative_speedup) : "-");
    if (moe) row.insert(row.begin() + 5, p.ep > 1 ? std::to_string(p.ep) : "-");
    t.rows.push_back(std::move(row));
  }
  return t;
}

/// Which TTFT the table shows.
std::string ttft_note(const PlanView& v) {
  if (v.request.rate)
    return fmt::format(
        "p{0} TTFT/TPOT: percentiles of a serving simulation (vLLM v1 scheduler) of one replica, {1} requests of its "
        "round-robin share of {2} req/s (Poisson), queueing included; tokens/step: the engine's max_num_batched_tokens "
        "(vLLM's default and a quarter of it are "
        "searched); req/s/replica: each replica's share of the rate, "
        "where the SLOs hold (with one replica fewer "
        "they do not, or it would exceed 1.25x the static-batch capacity bound){3}",
        v.request.slo_percentile, v.request.sim_requests, trimmed(*v.request.rate, 3),
        v.request.disaggregation ? "; disaggregated plans: both pools simulated together, req/s per decode replica"
                                 : "");
  return "TTFT*: a static batch, every prompt of the batch arriving at once and prefilled together (not a server "
         "under load: --rate R simulates arrivals)";
}

std::string family_text(const PlanView& v, const RejectedFamily& f) {
  return fmt::format("{} {}/{} TP {} x PP {}{}", gpu_name(v, f.gpu), f.weights, kv_name(f.kv_dtype), f.tp, f.pp,
                     f.ep > 1 ? fmt::format(" EP {}", f.ep) : "");
}

/// Per reason: how many families, and the largest (most GPUs) as the example: it failed even there.
struct ReasonSummary {
  std::int64_t families = 0;
  const RejectedFamily* example = nullptr;
};
std::map<Rejection, ReasonSummary> summarize(const PlanResult& r) {
  std::map<Rejection, ReasonSummary> out;
  for (const RejectedFamily& f : r.rejected) {
    ReasonSummary& s = out[f.reason];
    ++s.families;
    if (!s.example || replica_gpus(f.tp, f.pp, f.ep) > replica_gpus(s.example->tp, s.example->pp, s.example->ep))
      s.example = &f;
  }
  return out;
}

std::string targets_line(const PlanRequest& r) {
  std::string s = fmt::format("prompt {}, generate {}", with_commas(r.prompt), with_commas(r.gen));
  if (r.batch) s += fmt::format(", batch {} per replica", *r.batch);
  if (r.concurrency) s += fmt::format(", {} concurrent sequences", *r.concurrency);
  if (r.rate) s += fmt::format(", {} requests/s (Poisson arrivals, simulated)", trimmed(*r.rate, 3));
  if (!r.batch && !r.concurrency && !r.rate) s += ", batch searched (powers of two)";
  std::string targets;
  const std::string pct = r.rate ? fmt::format("p{} ", r.slo_percentile) : "";
  if (r.max_ttft) targets += fmt::format(" {}TTFT <= {}", pct, ms_text(*r.max_ttft));
  if (r.max_tpot) targets += fmt::format(" {}TPOT <= {}", pct, ms_text(*r.max_tpot));
  if (r.min_throughput) targets += fmt::format(" throughput >= {:.0f} tokens/s", *r.min_throughput);
  s += targets.empty() ? "; no latency or throughput targets" : ";" + targets;
  s += fmt::format("; at most {} GPUs", r.max_gpus);
  return s;
}

/// The checkpoint's own format is every command's default: name it only when it is another
/// (its name, e.g. "awq-int4-g128" or "fp8-block64", need not be a --precision choice).
std::string precision_flags(const PlanView& v, const Plan& p) {
  const bool own = v.model.checkpoint_format && v.model.checkpoint_format->name == p.weights.name;
  return own ? fmt::format("--kv-dtype {}", to_string(p.kv_dtype))
             : fmt::format("--precision {} --kv-dtype {}", p.weights.name, to_string(p.kv_dtype));
}

/// One replica's layout; replicas are identical copies, so one replica reproduces the figures.
std::string parallel_flags(const Plan& p) {
  return fmt::format("--tp {} --pp {}", p.tp, p.pp) + (p.ep > 1 ? fmt::format(" --ep {}", p.ep) : "");
}

}  // namespace

std::string memory_command(const PlanView& v, const Plan& p) {
  const PlanRequest& r = v.request;
  std::string s = fmt::format("ridge memory -m {} -g {} {} {} --batch {} --context {} --memory-utilization {}",
                              v.model_arg, v.gpu_args[p.gpu], precision_flags(v, p), parallel_flags(p), p.batch,
                              r.prompt + r.gen, r.memory_utilization);
  s += fmt::format(" --prefill-chunk {}", r.prefill_chunk);
  if (r.attention == AttentionImpl::naive) s += " --attention naive";
  return s + " --check";
}

std::string serve_command(const PlanView& v, const Plan& p) {
  const PlanRequest& r = v.request;
  std::string s;
  if (p.disaggregated) {
    const DisaggregatedLayout& l = *p.disaggregated;
    s = fmt::format(
        "ridge serve -m {} -g {} {} --disagg {}:{} --prefill-tp {} --decode-tp {} --rate {} --prompt {} --gen {} "
        "--requests {} --memory-utilization {}",
        v.model_arg, v.gpu_args[p.gpu], precision_flags(v, p), l.prefill_replicas, l.decode_replicas, l.prefill_tp,
        l.decode_tp, r.rate ? trimmed(*r.rate, 6) : "inf", r.prompt, r.gen,
        r.sim_requests * std::max(l.prefill_replicas, l.decode_replicas), r.memory_utilization);
  } else {
    s = fmt::format(
        "ridge serve -m {} -g {} {} {} --gpus {} --rate {} --prompt {} --gen {} --requests {} --memory-utilization {}",
        v.model_arg, v.gpu_args[p.gpu], precision_flags(v, p), parallel_flags(p), p.gpus(),
        r.rate ? trimmed(*r.rate, 6) : "inf", r.prompt, r.gen,
        r.sim_requests * p.replicas * attention_groups(p.ep, p.tp), r.memory_utilization);
  }
  if (p.max_num_batched_tokens > 0) s += fmt::format(" --max-num-batched-tokens {}", p.max_num_batched_tokens);
  if (r.max_ttft) s += fmt::format(" --ttft-ms {}", trimmed(r.max_ttft->value * 1e3, 3));
  if (r.max_tpot) s += fmt::format(" --tpot-ms {}", trimmed(r.max_tpot->value * 1e3, 3));
  if (r.slo_percentile != 99) s += fmt::format(" --slo-percentile {}", r.slo_percentile);
  if (r.seed != 0) s += fmt::format(" --seed {}", r.seed);
  if (r.attention == AttentionImpl::naive) s += " --attention naive";
  if (r.inter_node_bandwidth > 0)
    s += fmt::format(" --inter-node-bandwidth \"{:.6g} GB/s\"", r.inter_node_bandwidth / 1e9);
  if (p.speculative) s += " " + v.spec_args;
  return s + (r.basis == TimeBasis::bound ? " --bound" : "");
}

std::string roofline_command(const PlanView& v, const Plan& p) {
  const PlanRequest& r = v.request;
  std::string s =
      fmt::format("ridge roofline -m {} -g {} {} {} --batch {} --prompt {} --gen {} --memory-utilization {}{}",
                  v.model_arg, v.gpu_args[p.gpu], precision_flags(v, p), parallel_flags(p), p.batch, r.prompt, r.gen,
                  r.memory_utilization, r.basis == TimeBasis::bound ? " --bound" : "");
  s += fmt::format(" --prefill-chunk {}", r.prefill_chunk);
  if (r.inter_node_bandwidth > 0)
    s += fmt::format(" --inter-node-bandwidth \"{:.6g} GB/s\"", r.inter_node_bandwidth / 1e9);
  if (r.attention == AttentionImpl::naive) s += " --attention naive";
  if (p.speculative) s += " " + v.spec_args;
  return s;
}

/// Which GPUs' times are calibrated estimates and which are bounds.
std::string time_basis_line(const PlanView& v) {
  if (v.request.basis == TimeBasis::bound) return "times: datasheet roofline, lower bounds (--bound)";
  std::vector<std::string> expected, bound;
  for (const GpuSpec& g : v.request.gpus) (g.calibration ? expected : bound).push_back(g.name);
  std::string s = "times: ";
  if (!expected.empty()) s += "expected (calibrated estimate) on " + join(expected);
  if (!expected.empty() && !bound.empty()) s += "; ";
  if (!bound.empty()) s += "datasheet lower bound on " + join(bound) + " (no calibration)";
  return s;
}

nlohmann::ordered_json plan_json(const PlanView& v) {
  const PlanResult& res = v.result;
  const PlanRequest& r = v.request;
  nlohmann::ordered_json j;
  j["schema"] = "ridge.plan/v1";
  j["time_basis"] = r.basis == TimeBasis::bound ? "bound" : "expected";
  j["time_basis_note"] = time_basis_line(v);
  j["model"] = {{"name", v.model.name}, {"display_name", v.model.display_name}, {"source", v.model.source}};
  j["gpus"] = nlohmann::ordered_json::array();
  for (const GpuSpec& g : r.gpus) {
    nlohmann::ordered_json gj = {{"name", g.name}, {"source", g.source}};
    if (g.usd_per_hour) gj["usd_per_hour"] = *g.usd_per_hour;
    j["gpus"].push_back(gj);
  }
  j["workload"] = {{"prompt_tokens", r.prompt}, {"gen_tokens", r.gen}};
  if (r.batch) j["workload"]["batch"] = *r.batch;
  if (r.concurrency) j["workload"]["concurrency"] = *r.concurrency;
  if (r.rate) {
    j["workload"]["rate"] = *r.rate;
    j["workload"]["arrivals"] = "poisson";
    j["workload"]["simulated_requests"] = r.sim_requests;
    j["workload"]["seed"] = r.seed;
  }
  // Which latency the plans' ttft_s/tpot_s/e2e_s are.
  j["latency_kind"] = r.rate ? fmt::format("simulated_p{}", r.slo_percentile) : std::string("static_batch");
  nlohmann::ordered_json targets = nlohmann::ordered_json::object();
  if (r.max_ttft) targets["ttft_s"] = r.max_ttft->value;
  if (r.max_tpot) targets["tpot_s"] = r.max_tpot->value;
  if (r.min_throughput) targets["throughput_tokens_per_s"] = *r.min_throughput;
  targets["max_gpus"] = r.max_gpus;
  j["targets"] = targets;
  j["cost_unit"] = res.cost_in_usd ? "usd_per_million_tokens" : "gpu_hours_per_million_tokens";
  j["candidates_evaluated"] = res.candidates;
  j["feasible_plans"] = res.plans.size();
  j["int4_fallback"] = res.int4_fallback;
  j["why"] = recommendation_text(v.request, res);
  if (v.request.disaggregation) j["disaggregation"] = disaggregation_text(v);
  j["recommended_above_cheaper"] = res.recommended_above_cheaper;
  j["plans"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < res.plans.size() && i < v.top; ++i) {
    const Plan& p = res.plans[i];
    nlohmann::ordered_json pj = {{"rank", i + 1},
                                 {"gpu", gpu_name(v, p.gpu)},
                                 {"gpus", p.gpus()},
                                 {"tp", p.tp},
                                 {"pp", p.pp},
                                 {"ep", p.ep},
                                 {"replicas", p.replicas},
                                 {"precision", p.weights.name},
                                 {"kv_dtype", kv_name(p.kv_dtype)},
                                 {"equivalent_precisions", p.equivalent_weights},
                                 {"equivalent_kv_dtypes", nlohmann::ordered_json::array()},
                                 {"batch", p.batch},
                                 {"per_gpu_bytes", p.per_gpu_memory.value},
                                 {"budget_per_gpu_bytes", p.budget_per_gpu.value},
                                 {"ttft_s", p.ttft.value},
                                 {"tpot_s", p.tpot.value},
                                 {"e2e_s", p.e2e.value},
                                 {"throughput_tokens_per_s", p.throughput_tokens_per_s},
                                 {"gpu_hours_per_million_tokens", p.gpu_hours_per_mtok}};
    for (DType d : p.equivalent_kv) pj["equivalent_kv_dtypes"].push_back(kv_name(d));
    if (p.usd_per_mtok) pj["usd_per_million_tokens"] = *p.usd_per_mtok;
    pj["joules_per_output_token"] =
        p.joules_per_token ? nlohmann::ordered_json(*p.joules_per_token) : nlohmann::ordered_json(nullptr);
    if (p.disaggregated)
      pj["disaggregated"] = {{"prefill_replicas", p.disaggregated->prefill_replicas},
                             {"prefill_tp", p.disaggregated->prefill_tp},
                             {"decode_replicas", p.disaggregated->decode_replicas},
                             {"decode_tp", p.disaggregated->decode_tp},
                             {"mean_kv_transfer_s", p.mean_transfer_s}};
    pj["speculative"] = p.speculative;
    if (p.speculative) pj["speculative_speedup"] = p.speculative_speedup;
    pj["quality"] = std::string(quality_note(p.risk));
    pj["memory_command"] = memory_command(v, p);
    pj["roofline_command"] = roofline_command(v, p);
    if (p.simulated) {
      pj["serve_command"] = serve_command(v, p);
      pj["requests_per_s_per_replica"] = p.capacity_per_replica;
      pj["kv_cache_max_use"] = p.kv_use_max;
      pj["max_num_batched_tokens"] = p.max_num_batched_tokens;
      pj["max_num_seqs"] = p.max_num_seqs;
    }
    j["plans"].push_back(pj);
  }
  j["rejected"] = nlohmann::ordered_json::array();
  for (const RejectedFamily& f : res.rejected) {
    j["rejected"].push_back({{"gpu", gpu_name(v, f.gpu)},
                             {"precision", f.weights},
                             {"kv_dtype", kv_name(f.kv_dtype)},
                             {"tp", f.tp},
                             {"pp", f.pp},
                             {"ep", f.ep},
                             {"reason", std::string(to_string(f.reason))},
                             {"detail", rejection_text(f.detail)}});
  }
  return j;
}

std::string plan_text(const PlanView& v) {
  const PlanResult& res = v.result;
  std::string out = fmt::format("Plans for {}: {}\n", v.model.display_name, targets_line(v.request));
  out += "  " + time_basis_line(v) + "\n";
  const std::string simulated =
      v.request.rate ? fmt::format(
                           " ({} serving simulations; candidates that could not beat the plans shown were "
                           "not simulated)",
                           with_commas(res.simulations))
                     : "";
  out += fmt::format("  {} candidates evaluated, {} feasible{}; cost in {}\n", with_commas(res.candidates),
                     with_commas(static_cast<std::int64_t>(res.feasible)), simulated,
                     res.cost_in_usd ? "USD per million generated tokens" : "GPU-hours per million generated tokens");
  if (!res.cost_in_usd && v.request.gpus.size() > 1)
    out +=
        "  note: without prices an hour of any GPU counts the same; give --price GPU=USD (or usd_per_hour in the "
        "GPU files) to compare GPU types by money\n";
  if (res.plans.empty()) {
    out += "\n  no plan fits and meets the targets\n";
  } else {
    out += "\n" + plans_table(v).text("  ");
    out += ranking_note(v, "  ");
    out += "  " + ttft_note(v) + "\n";
    out += "\n  recommended: " + recommendation_text(v.request, res) + "\n";
    if (v.request.disaggregation) out += "  " + disaggregation_text(v) + "\n";
    out += "  check it: " + memory_command(v, res.plans.front()) + "\n";
    out += "            " +
           (v.request.rate ? serve_command(v, res.plans.front()) : roofline_command(v, res.plans.front())) + "\n";
  }
  const auto summary = summarize(res);
  if (!summary.empty()) {
    out += "\n  rejected families (GPU, weights/KV, TP x PP):\n";
    for (const auto& [reason, s] : summary)
      out += fmt::format("    {:<33} {:>5}  e.g. {}: {}\n", to_string(reason), s.families, family_text(v, *s.example),
                         rejection_text(s.example->detail));
  }
  return out;
}

std::string plan_markdown(const PlanView& v) {
  const PlanResult& res = v.result;
  std::string out = fmt::format("### Plans for {}\n\n{}\n\n", v.model.display_name, targets_line(v.request));
  if (res.plans.empty()) {
    out += "No plan fits and meets the targets.\n";
  } else {
    out += plans_table(v).markdown();
    out += ranking_note(v, "\n");
    out += "\n" + ttft_note(v) + "\n";
    out += "\n**Recommended:** " + recommendation_text(v.request, res) + "\n\n`" +
           memory_command(v, res.plans.front()) + "`\n";
    if (v.request.disaggregation) out += "\n**Disaggregation:** " + disaggregation_text(v) + "\n";
  }
  const auto summary = summarize(res);
  if (!summary.empty()) {
    out += "\n| rejected because | families | example |\n|---|---:|---|\n";
    for (const auto& [reason, s] : summary)
      out += fmt::format("| {} | {} | {}: {} |\n", to_string(reason), s.families, family_text(v, *s.example),
                         rejection_text(s.example->detail));
  }
  return out;
}

/// For scripts: base units (bytes, seconds, tokens/s), full precision, snake_case names.
std::string plan_csv(const PlanView& v) {
  Table t;
  t.headers = {"rank",
               "gpu",
               "gpus",
               "tp",
               "pp",
               "ep",
               "replicas",
               "weights",
               "kv_dtype",
               "batch",
               "per_gpu_bytes",
               "budget_per_gpu_bytes",
               "ttft_s",
               "tpot_s",
               "e2e_s",
               "throughput_tokens_per_s",
               "gpu_hours_per_mtok",
               "usd_per_mtok",
               "quality",
               "joules_per_output_token"};
  const auto& plans = v.result.plans;
  for (std::size_t i = 0; i < plans.size() && i < v.top; ++i) {
    const Plan& p = plans[i];
    t.rows.push_back({std::to_string(i + 1),
                      gpu_name(v, p.gpu),
                      std::to_string(p.gpus()),
                      std::to_string(p.tp),
                      std::to_string(p.pp),
                      std::to_string(p.ep),
                      std::to_string(p.replicas),
                      p.weights.name,
                      kv_name(p.kv_dtype),
                      std::to_string(p.batch),
                      std::to_string(p.per_gpu_memory.value),
                      std::to_string(p.budget_per_gpu.value),
                      fmt::format("{}", p.ttft.value),
                      v.request.gen > 1 ? fmt::format("{}", p.tpot.value) : std::string(),
                      fmt::format("{}", p.e2e.value),
                      fmt::format("{}", p.throughput_tokens_per_s),
                      fmt::format("{}", p.gpu_hours_per_mtok),
                      p.usd_per_mtok ? fmt::format("{}", *p.usd_per_mtok) : std::string(),
                      std::string(quality_note(p.risk)),
                      p.joules_per_token ? fmt::format("{}", *p.joules_per_token) : std::string()});
  }
  return t.csv();
}

std::string rejection_text(const RejectionDetail& d) {
  using W = RejectionDetail::What;
  const auto gib_of = [](double bytes) { return gib(Bytes{static_cast<std::uint64_t>(bytes)}) + " GiB"; };
  const auto at = [](std::int64_t batch) {
    return batch > 0 ? fmt::format("at batch {}", batch) : std::string("even for a request alone");
  };
  switch (d.what) {
    case W::none:
      return {};
    case W::message:
      return d.message;
    case W::memory:
      return fmt::format("needs {} per GPU at batch {}, budget {}", gib_of(d.measured), d.batch, gib_of(d.limit));
    case W::memory_one_request:
      return fmt::format("needs {} per GPU for one request of {} tokens, budget {}", gib_of(d.measured), d.tokens,
                         gib_of(d.limit));
    case W::ttft:
    case W::tpot:
      return fmt::format("{} {} > {} {}", d.what == W::ttft ? "TTFT" : "TPOT", short_seconds(Seconds{d.measured}),
                         short_seconds(Seconds{d.limit}), at(d.batch));
    case W::throughput:
      return fmt::format("{:.0f} tokens/s from {} replica{} x batch {} < {:.0f}", d.measured, d.replicas,
                         d.replicas == 1 ? "" : "s", d.batch, d.limit);
    case W::gpus_for_throughput:
      return fmt::format("{:.0f} tokens/s per replica at batch {} needs {} replicas = {} GPUs > --max-gpus {}",
                         d.measured, d.batch, d.replicas, d.gpus, d.max_gpus);
    case W::capacity:
      return fmt::format("one replica serves at most ~{:.2f} req/s: {} req/s needs more than --max-gpus {}", d.measured,
                         trimmed(d.limit, 6), d.max_gpus);
    case W::slo_at_most_gpus:
      return fmt::format("{} replica{} ({} GPUs, --max-gpus {}) at {:.3f} req/s each still miss the SLOs", d.replicas,
                         d.replicas == 1 ? "" : "s", d.gpus, d.max_gpus, d.measured);
  }
  return {};
}

std::string disaggregation_text(const PlanView& v) {
  const PlanResult& res = v.result;
  if (!v.request.disaggregation) return {};
  const bool usd = res.cost_in_usd;
  auto cost = [&](const Plan& p) {
    return usd ? fmt::format("${:.3f}/Mtok", *p.usd_per_mtok) : fmt::format("{:.3f} GPU-h/Mtok", p.gpu_hours_per_mtok);
  };
  auto layout = [&](const Plan& p) {
    if (!p.disaggregated) return fmt::format("{} x {} colocated", p.gpus(), gpu_name(v, p.gpu));
    const DisaggregatedLayout& l = *p.disaggregated;
    return fmt::format("{} x {} as {}P (TP {}) + {}D (TP {})", p.gpus(), gpu_name(v, p.gpu), l.prefill_replicas,
                       l.prefill_tp, l.decode_replicas, l.decode_tp);
  };
  const std::string searched = fmt::format("{} prefill/decode TP pair{} simulated", res.disaggregated_searched,
                                           res.disaggregated_searched == 1 ? "" : "s");
  if (!res.best_disaggregated)
    return fmt::format("no disaggregated layout within --max-gpus {} meets the SLOs ({})", v.request.max_gpus,
                       searched);
  const Plan& d = *res.best_disaggregated;
  const std::string dis = fmt::format("{}: {}, p{} TTFT {} (KV transfer {} of it on average), TPOT {}", layout(d),
                                      cost(d), v.request.slo_percentile, short_seconds(d.ttft),
                                      short_seconds(Seconds{d.mean_transfer_s}), short_seconds(d.tpot));
  if (!res.best_colocated) return "only disaggregated serving meets the SLOs: " + dis + " (" + searched + ")";
  const Plan& c = *res.best_colocated;
  const std::string col = fmt::format("{}: {}, p{} TTFT {}, TPOT {}", layout(c), cost(c), v.request.slo_percentile,
                                      short_seconds(c.ttft), short_seconds(c.tpot));
  const double dc = cost_value(res, d), cc = cost_value(res, c);
  if (dc < cc)
    return fmt::format("disaggregation beats colocated serving by {:.1f}% at these SLOs: {} against {} ({})",
                       100 * (1 - dc / cc), dis, col, searched);
  return fmt::format("disaggregation does not beat colocated serving at these SLOs ({}): {} against {} ({})",
                     dc == cc ? "same cost" : fmt::format("{:.1f}% dearer", 100 * (dc / cc - 1)), dis, col, searched);
}

std::string recommendation_text(const PlanRequest& r, const PlanResult& res) {
  if (res.plans.empty()) return {};
  const Plan& w = res.plans.front();
  const bool usd = res.cost_in_usd;
  const std::string cost = usd ? fmt::format("${:.3f} per million tokens", *w.usd_per_mtok)
                               : fmt::format("{:.3f} GPU-hours per million tokens", w.gpu_hours_per_mtok);
  const std::string layout =
      w.disaggregated
          ? fmt::format("{} prefill replica{} of TP {} + {} decode replica{} of TP {}",
                        w.disaggregated->prefill_replicas, w.disaggregated->prefill_replicas == 1 ? "" : "s",
                        w.disaggregated->prefill_tp, w.disaggregated->decode_replicas,
                        w.disaggregated->decode_replicas == 1 ? "" : "s", w.disaggregated->decode_tp)
      : w.ep > 1
          ? fmt::format("EP {} ({} attention groups of TP {}) x PP {}", w.ep, attention_groups(w.ep, w.tp), w.tp, w.pp)
          : fmt::format("TP {} x PP {}", w.tp, w.pp);
  const std::string replicas =
      w.disaggregated ? "" : fmt::format(" x {} replica{}", w.replicas, w.replicas == 1 ? "" : "s");
  std::string why = fmt::format("{} x {} ({}{}), {} weights, {} KV, batch {}: {}", w.gpus(), r.gpus[w.gpu].name, layout,
                                replicas, w.weights.name, to_string(w.kv_dtype), w.batch, cost);
  if (!res.cheapest) {
    why += fmt::format(", the cheapest of {} feasible plans", res.feasible);
  } else {
    const Plan& c = *res.cheapest;
    const double ratio = usd ? *w.usd_per_mtok / *c.usd_per_mtok : w.gpu_hours_per_mtok / c.gpu_hours_per_mtok;
    why += fmt::format(", {:.1f}% above the cheapest ({} weights, {} KV) but with lower quality risk",
                       100 * (ratio - 1), c.weights.name, to_string(c.kv_dtype));
  }
  if (w.simulated)
    why += fmt::format("; at {} req/s per replica: p{} TTFT {}, TPOT {}, {:.0f} tokens/s; {}",
                       trimmed(w.capacity_per_replica, 3), r.slo_percentile, short_seconds(w.ttft),
                       short_seconds(w.tpot), w.throughput_tokens_per_s, quality_note(w.risk));
  else
    why += fmt::format("; TTFT {}, TPOT {}, {:.0f} tokens/s; {}", short_seconds(w.ttft), short_seconds(w.tpot),
                       w.throughput_tokens_per_s, quality_note(w.risk));
  if (w.speculative)
    why += fmt::format("; speculative decoding, TPOT x{:.2f} faster than plain at batch {}", w.speculative_speedup,
                       w.batch);
  else if (r.speculation)
    why += w.pp > 1 ? "; plain decoding (speculation is modelled without PP)"
                    : "; plain decoding (speculation would be slower at this batch)";
  if (res.int4_fallback) why += "; int4 only because no 8- or 16-bit plan fits within --max-gpus";
  return why;
}

}  // namespace ridge
