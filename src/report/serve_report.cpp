#include "report/serve_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "format.hpp"
#include "efficiency.hpp"
#include "report/cost_report.hpp"
#include "text.hpp"

namespace ridge {

namespace {

std::string seconds(double s) { return short_seconds(Seconds{s}); }
std::string percent(double f) { return fmt::format("{:.1f}%", 100 * f); }

std::string rate_text(double r) { return r > 0 ? trimmed(r, 3) + " req/s" : "all at once"; }

/// What the times are: the simulation adds queueing to step times of this basis.
std::string basis_line(const Ceilings& c) {
  if (c.expected) {
    const Calibration& cal = c.expected->calibration();
    return fmt::format(
        "estimate: calibrated step times ({}, fitted {}) plus simulated queueing; --bound for "
        "lower bounds",
        cal.framework, cal.date);
  }
  return c.attainable ? "estimate: each step at the GPU file's attainable fractions of peak"
                      : "lower bound: each step at the datasheet roofline (no kernel is faster)";
}

std::string workload_line(const ServeView& v, double rate) {
  const WorkloadText& w = v.workload;
  if (w.arrivals == "trace") return fmt::format("trace {} ({} requests)", w.trace, with_commas(w.requests));
  std::string how = w.arrivals == "closed_loop" ? fmt::format("{} users in a closed loop", w.concurrency)
                    : rate > 0                  ? fmt::format("Poisson arrivals at {}", rate_text(rate))
                                                : std::string("all requests at t = 0");
  return fmt::format("{}, {} requests, prompt {} + output {} tokens (seed {})", how, with_commas(w.requests), w.prompt,
                     w.output, w.seed);
}

std::string slo_text(const LatencySlo& s) {
  std::vector<std::string> parts;
  if (s.ttft_s) parts.push_back("TTFT <= " + exact_seconds(Seconds{*s.ttft_s}));
  if (s.tpot_s) parts.push_back("TPOT <= " + exact_seconds(Seconds{*s.tpot_s}));
  return join(parts, " and ");
}

std::int64_t total_gpus(const ServeView& v) {
  return v.total_gpus > 0 ? v.total_gpus : replica_gpus(v.query.tp, v.query.pp, v.query.ep) * v.replicas;
}

std::string title(const ServeView& v) {
  const std::int64_t per_replica = replica_gpus(v.query.tp, v.query.pp, v.query.ep);
  std::string gpus =
      fmt::format("{}x {}", v.total_gpus > 0 ? v.total_gpus : per_replica * v.replicas, v.gpu.display_name);
  if (!v.disaggregation.empty())
    gpus += " (disaggregated prefill/decode)";
  else if (v.query.ep > 1)
    gpus += fmt::format(" (EP {}: {} attention groups of TP {}, x PP {} x {} replica{})", v.query.ep,
                        attention_groups(v.query.ep, v.query.tp), v.query.tp, v.query.pp, v.replicas,
                        v.replicas == 1 ? "" : "s");
  else if (per_replica > 1 || v.replicas > 1)
    gpus +=
        fmt::format(" (TP {} x PP {} x {} replica{})", v.query.tp, v.query.pp, v.replicas, v.replicas == 1 ? "" : "s");
  return fmt::format("{} on {}: {} weights, {} KV cache — serving simulation (vLLM v1 scheduler)", v.model.display_name,
                     gpus, v.query.weights.name, to_string(v.query.kv_dtype));
}

std::string engine_line(const ServeView& v) {
  if (!v.disaggregation.empty())
    return v.disaggregation + fmt::format("; max_num_batched_tokens {}, max_num_seqs {} in each",
                                          with_commas(v.engine.limits.max_num_batched_tokens),
                                          with_commas(v.engine.limits.max_num_seqs));
  std::string s =
      fmt::format("max_num_batched_tokens {}, max_num_seqs {}, KV pool {} blocks of {} tokens per {}",
                  with_commas(v.engine.limits.max_num_batched_tokens), with_commas(v.engine.limits.max_num_seqs),
                  with_commas(v.engine.kv_blocks), v.query.block_size,
                  v.query.ep > 1 ? "attention group (each schedules its own)" : "replica");
  if (v.engine.spec.enabled())
    s += fmt::format("; speculative decoding: the {} drafts K = {} at acceptance {} ({:.3f} tokens per step expected)",
                     v.drafter, v.engine.spec.tokens, trimmed(v.engine.spec.acceptance, 3),
                     expected_tokens_per_step(v.engine.spec.tokens, v.engine.spec.acceptance));
  return s;
}

Table latency_table(const ServeSummary& s) {
  Table t;
  t.headers = {"", "p50", "p90", "p99", "mean"};
  t.right_aligned = {false, true, true, true, true};
  auto row = [&](const char* name, const Percentiles& p, bool present = true) {
    if (!present) {
      t.rows.push_back({name, "n/a", "n/a", "n/a", "n/a"});
      return;
    }
    t.rows.push_back({name, seconds(p.p50), seconds(p.p90), seconds(p.p99), seconds(p.mean)});
  };
  const bool decodes = s.itl.mean > 0;
  row("TTFT (queueing included)", s.ttft);
  row("TPOT", s.tpot, decodes);
  row("ITL (inter-token)", s.itl, decodes);
  row("end-to-end", s.e2e);
  return t;
}

/// The lines under the latency table.
std::string single_body(const ServeView& v, const ServeSummary& s, bool markdown) {
  std::string out;
  auto line = [&](const std::string& label, const std::string& text) {
    out += markdown ? fmt::format("- {}: {}\n", label, text) : fmt::format("  {:<12}{}\n", label, text);
  };
  line("throughput", fmt::format("{:.2f} req/s, {} output tokens/s over {} ({} requests){}", s.requests_per_s,
                                 with_commas(static_cast<std::int64_t>(std::llround(s.output_tokens_per_s))),
                                 seconds(s.duration_s), with_commas(s.completed),
                                 s.offered_rate > 0 ? fmt::format("; offered {}", rate_text(s.offered_rate)) : ""));
  if (s.saturated)
    line("SATURATED", fmt::format("served {:.2f} of {} offered ({:.2f} over the run less a median request's drain): "
                                  "a backlog grew, so latencies grow with --requests",
                                  s.requests_per_s, rate_text(s.offered_rate), s.sustained_requests_per_s));
  if (v.slo.any())
    line("goodput",
         fmt::format("{:.2f} req/s meet {} ({} of requests); p{} {}", s.goodput_requests_per_s, slo_text(v.slo),
                     percent(s.requests_per_s > 0 ? s.goodput_requests_per_s / s.requests_per_s : 0), v.slo.percentile,
                     s.meets_slo ? "meets the SLOs" : "MISSES the SLOs"));
  line("in system", fmt::format("mean {:.2f} requests ({:.2f} running, {:.2f} waiting; longest queue {}); "
                                "Little's law lambda*W = {:.2f}",
                                s.mean_in_system, s.mean_running, s.mean_waiting, s.max_waiting, s.little_lambda_w));
  line("KV cache", fmt::format("mean {} of the blocks in use, peak {}; {} preemption{}", percent(s.kv_use_mean),
                               percent(s.kv_use_max), with_commas(s.preemptions), s.preemptions == 1 ? "" : "s"));
  if (s.mean_transfer_s > 0)
    line("KV transfer",
         fmt::format("{} per request on average, from the prefill pool to the decode pool (in TTFT); KV and step "
                     "figures are the decode pool's, steps both pools'",
                     seconds(s.mean_transfer_s)));
  if (s.verify_steps > 0)
    line("verified", fmt::format("{} verifications yielded {:.3f} tokens each on average (fewer drafts near the end "
                                 "of a request); ITL counts one gap per step, as a streaming client sees it",
                                 with_commas(s.verify_steps), s.tokens_per_verification));
  line("steps",
       fmt::format("{} steps of {} on average: {:.1f} tokens, {:.1f} decodes, {:.2f} prefill chunks; "
                   "{} mixed, {} prefill only{}",
                   with_commas(s.steps), seconds(s.mean_step_busy_s), s.mean_step_tokens, s.mean_step_decodes,
                   s.mean_step_prefills, percent(s.mixed_step_fraction), percent(s.prefill_only_step_fraction),
                   v.disaggregation.empty() ? "; engines busy " + percent(s.busy_fraction) + " of the run" : ""));
  line("cost", cost_line(v.gpu, total_gpus(v), s.output_tokens_per_s));
  line("energy", s.energy                   ? energy_line(v.gpu, s.energy)
                 : v.disaggregation.empty() ? energy_line(v.gpu, std::nullopt)
                                            : "n/a (not modelled for disaggregated pools)");
  return out;
}

Table sweep_table(const ServeView& v) {
  Table t;
  t.headers = {"rate",     "served",   "tokens/s", "TTFT p50", "TTFT p99",
               "TPOT p50", "TPOT p99", "e2e p99",  "KV peak",  "preempt"};
  if (v.slo.any()) t.headers.insert(t.headers.end(), {"goodput", "SLOs"});
  t.right_aligned.assign(t.headers.size(), true);
  for (const ServeSummary& s : v.runs) {
    std::vector<std::string> r{rate_text(s.offered_rate),
                               fmt::format("{:.2f}{}", s.requests_per_s, s.saturated ? " SAT" : ""),
                               with_commas(static_cast<std::int64_t>(std::llround(s.output_tokens_per_s))),
                               seconds(s.ttft.p50),
                               seconds(s.ttft.p99),
                               seconds(s.tpot.p50),
                               seconds(s.tpot.p99),
                               seconds(s.e2e.p99),
                               percent(s.kv_use_max),
                               with_commas(s.preemptions)};
    if (v.slo.any()) {
      r.push_back(fmt::format("{:.2f}", s.goodput_requests_per_s));
      r.push_back(s.meets_slo ? "met" : "missed");
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

std::string sweep_footer(const ServeView& v) {
  std::string out;
  if (std::any_of(v.runs.begin(), v.runs.end(), [](const ServeSummary& s) { return s.saturated; }))
    out +=
        "  SAT: saturated, a backlog grew (served less the drain under 90% of the arrivals, or latency rising through "
        "the run)\n";
  if (v.slo.any()) {
    const auto best = max_rate_meeting_slo(v);
    out += best
               ? fmt::format("  largest rate meeting p{} {}: {}\n", v.slo.percentile, slo_text(v.slo), rate_text(*best))
               : fmt::format("  no rate given meets p{} {}\n", v.slo.percentile, slo_text(v.slo));
  }
  return out;
}

nlohmann::ordered_json percentiles_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}};
}

nlohmann::ordered_json run_json(const ServeView& v, const ServeSummary& s) {
  nlohmann::ordered_json j;
  if (s.offered_rate > 0)
    j["rate"] = s.offered_rate;
  else
    j["rate"] = nullptr;
  const bool decodes = s.itl.mean > 0;
  j["ttft_s"] = percentiles_json(s.ttft);
  j["tpot_s"] = decodes ? percentiles_json(s.tpot) : nlohmann::ordered_json();
  j["itl_s"] = decodes ? percentiles_json(s.itl) : nlohmann::ordered_json();
  j["e2e_s"] = percentiles_json(s.e2e);
  j["throughput_tokens_per_s"] = s.output_tokens_per_s;
  j["requests_per_s"] = s.requests_per_s;
  j["completed"] = s.completed;
  j["generated_tokens"] = s.generated_tokens;
  j["duration_s"] = s.duration_s;
  j["sustained_requests_per_s"] = s.sustained_requests_per_s;
  j["busy_fraction"] = s.busy_fraction;
  j["cost"] = cost_json(v.gpu, total_gpus(v), s.output_tokens_per_s);
  j["energy"] = energy_json(s.energy);
  j["saturated"] = s.saturated;
  j["mean_in_system"] = s.mean_in_system;
  j["mean_running"] = s.mean_running;
  j["mean_waiting"] = s.mean_waiting;
  j["max_waiting"] = s.max_waiting;
  j["kv_cache"] = {{"mean_use", s.kv_use_mean}, {"max_use", s.kv_use_max}};
  j["preemptions"] = s.preemptions;
  if (s.mean_transfer_s > 0) j["mean_kv_transfer_s"] = s.mean_transfer_s;
  if (s.verify_steps > 0)
    j["speculative"] = {{"verifications", s.verify_steps}, {"tokens_per_verification", s.tokens_per_verification}};
  j["steps"] = {{"count", s.steps},
                {"mean_busy_s", s.mean_step_busy_s},
                {"mean_tokens", s.mean_step_tokens},
                {"mean_decodes", s.mean_step_decodes},
                {"mean_prefill_chunks", s.mean_step_prefills},
                {"mixed_fraction", s.mixed_step_fraction},
                {"prefill_only_fraction", s.prefill_only_step_fraction}};
  if (v.slo.any()) {
    j["goodput_requests_per_s"] = s.goodput_requests_per_s;
    j["meets_slo"] = s.meets_slo;
  }
  return j;
}

}  // namespace

std::optional<double> max_rate_meeting_slo(const ServeView& v) {
  if (!v.slo.any()) return std::nullopt;
  std::optional<double> best;
  for (const ServeSummary& s : v.runs)
    if (s.meets_slo && !s.saturated && s.offered_rate > 0 && (!best || s.offered_rate > *best)) best = s.offered_rate;
  return best;
}

std::string serve_text(const ServeView& v) {
  std::string out = title(v) + "\n";
  out += "  times       " + basis_line(v.ceilings) + "\n";
  out += "  engine      " + engine_line(v) + "\n";
  if (v.runs.size() == 1) {
    out += "  workload    " + workload_line(v, v.runs.front().offered_rate) + "\n\n";
    out += latency_table(v.runs.front()).text("  ") + "\n";
    out += single_body(v, v.runs.front(), false);
    return out;
  }
  out += "  workload    " + workload_line(v, 0).substr(workload_line(v, 0).find(',') + 2) + " at each rate\n\n";
  out += sweep_table(v).text("  ");
  out += sweep_footer(v);
  return out;
}

std::string serve_markdown(const ServeView& v) {
  std::string out = "### " + title(v) + "\n\n";
  out += "- times: " + basis_line(v.ceilings) + "\n";
  out += "- engine: " + engine_line(v) + "\n";
  if (v.runs.size() == 1) {
    out += "- workload: " + workload_line(v, v.runs.front().offered_rate) + "\n\n";
    out += latency_table(v.runs.front()).markdown() + "\n";
    out += single_body(v, v.runs.front(), true);
    return out;
  }
  out += "\n" + sweep_table(v).markdown() + "\n" + sweep_footer(v);
  return out;
}

nlohmann::ordered_json serve_json(const ServeView& v) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.serve/v1";
  j["model"] = {{"name", v.model.name}, {"display_name", v.model.display_name}, {"source", v.model.source}};
  j["gpu"] = {{"name", v.gpu.name}, {"display_name", v.gpu.display_name}, {"source", v.gpu.source}};
  const Ceilings& c = v.ceilings;
  j["estimate_kind"] = c.expected ? "calibrated_estimate" : c.attainable ? "attainable_estimate" : "roofline_bound";
  j["time_basis"] = c.expected ? "expected" : "bound";
  j["precision"] = v.query.weights.name;
  j["kv_dtype"] = std::string(to_string(v.query.kv_dtype));
  j["tp"] = v.query.tp;
  j["ep"] = v.query.ep;
  j["pp"] = v.query.pp;
  j["replicas"] = v.replicas;
  j["gpus"] = v.total_gpus > 0 ? v.total_gpus : replica_gpus(v.query.tp, v.query.pp, v.query.ep) * v.replicas;
  if (!v.disaggregation.empty()) j["disaggregated"] = v.disaggregation;
  if (v.engine.spec.enabled())
    j["speculative_decoding"] = {
        {"drafter", v.drafter},
        {"draft_tokens", v.engine.spec.tokens},
        {"acceptance", v.engine.spec.acceptance},
        {"expected_tokens_per_step", expected_tokens_per_step(v.engine.spec.tokens, v.engine.spec.acceptance)}};
  j["engine"] = {{"scheduler", "vllm-v1"},
                 {"max_num_batched_tokens", v.engine.limits.max_num_batched_tokens},
                 {"max_num_seqs", v.engine.limits.max_num_seqs},
                 {"kv_blocks", v.engine.kv_blocks},
                 {"block_size", v.query.block_size}};
  const WorkloadText& w = v.workload;
  j["workload"] = {{"arrivals", w.arrivals}, {"requests", w.requests}};
  if (w.arrivals == "closed_loop") j["workload"]["concurrency"] = w.concurrency;
  if (w.arrivals == "trace") {
    j["workload"]["trace"] = w.trace;
  } else {
    j["workload"]["prompt_tokens"] = w.prompt;
    j["workload"]["output_tokens"] = w.output;
    j["workload"]["seed"] = w.seed;
  }
  if (v.slo.any()) {
    j["slo"] = {{"percentile", v.slo.percentile}};
    if (v.slo.ttft_s) j["slo"]["ttft_s"] = *v.slo.ttft_s;
    if (v.slo.tpot_s) j["slo"]["tpot_s"] = *v.slo.tpot_s;
  }
  if (v.runs.size() == 1) {
    const nlohmann::ordered_json run = run_json(v, v.runs.front());
    for (const auto& [k, val] : run.items()) j[k] = val;
    return j;
  }
  j["runs"] = nlohmann::ordered_json::array();
  for (const ServeSummary& s : v.runs) j["runs"].push_back(run_json(v, s));
  if (v.slo.any()) {
    const auto best = max_rate_meeting_slo(v);
    j["max_rate_meeting_slo"] = best ? nlohmann::ordered_json(*best) : nlohmann::ordered_json();
  }
  return j;
}

std::string serve_csv(const ServeView& v) {
  Table t;
  t.headers = {"rate",           "requests_per_s", "throughput_tokens_per_s",
               "completed",      "duration_s",     "ttft_p50_s",
               "ttft_p90_s",     "ttft_p99_s",     "ttft_mean_s",
               "tpot_p50_s",     "tpot_p90_s",     "tpot_p99_s",
               "tpot_mean_s",    "itl_p50_s",      "itl_p90_s",
               "itl_p99_s",      "itl_mean_s",     "e2e_p50_s",
               "e2e_p90_s",      "e2e_p99_s",      "e2e_mean_s",
               "mean_in_system", "mean_waiting",   "kv_max_use",
               "preemptions",    "saturated",      "goodput_requests_per_s",
               "meets_slo",      "time_basis"};
  auto n = [](double x) { return fmt::format("{}", x); };
  for (const ServeSummary& s : v.runs) {
    const bool decodes = s.itl.mean > 0;
    auto p = [&](const Percentiles& q, bool present) {
      return present ? std::vector<std::string>{n(q.p50), n(q.p90), n(q.p99), n(q.mean)}
                     : std::vector<std::string>{"", "", "", ""};
    };
    std::vector<std::string> r{s.offered_rate > 0 ? n(s.offered_rate) : "", n(s.requests_per_s),
                               n(s.output_tokens_per_s), std::to_string(s.completed), n(s.duration_s)};
    for (const auto& part : {p(s.ttft, true), p(s.tpot, decodes), p(s.itl, decodes), p(s.e2e, true)})
      r.insert(r.end(), part.begin(), part.end());
    r.insert(r.end(),
             {n(s.mean_in_system), n(s.mean_waiting), n(s.kv_use_max), std::to_string(s.preemptions),
              s.saturated ? "true" : "false", v.slo.any() ? n(s.goodput_requests_per_s) : "",
              v.slo.any() ? (s.meets_slo ? "true" : "false") : "", v.ceilings.expected ? "expected" : "bound"});
    t.rows.push_back(std::move(r));
  }
  return t.csv();
}

std::string serve_svg(const ServeView& v) {
  // Two panels side by side: TTFT and TPOT (log y) against the offered rate (linear x).
  const double width = 1000, height = 480, top = 85, bottom = 60, panel_w = 380, gap = 110, left = 80;
  const double plot_h = height - top - bottom;
  std::vector<const ServeSummary*> runs;
  for (const ServeSummary& s : v.runs)
    if (s.offered_rate > 0) runs.push_back(&s);
  std::sort(runs.begin(), runs.end(), [](auto* a, auto* b) { return a->offered_rate < b->offered_rate; });
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  auto fit = [](std::string text, std::size_t most) {
    if (text.size() > most) text = text.substr(0, most - 1) + "…";
    return text;
  };
  const std::string heading = title(v);
  const std::size_t colon = heading.find(": ");
  svg += fmt::format("<text x=\"{}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", left,
                     xml_escaped(fit(heading.substr(0, colon), 100)));
  svg += fmt::format(
      "<text x=\"{}\" y=\"42\" font-size=\"11\" fill=\"#444\">{}</text>\n", left,
      xml_escaped(
          fit(heading.substr(colon + 2) + "; " + workload_line(v, 0).substr(workload_line(v, 0).find(',') + 2), 150)));
  svg += fmt::format("<text x=\"{}\" y=\"56\" font-size=\"11\" fill=\"#444\">{}</text>\n", left,
                     xml_escaped(fit(basis_line(v.ceilings), 150)));
  if (runs.empty()) return svg + "</svg>\n";
  // Rate axis from 0 to a round number of ticks: steps of 1, 2 or 5 × 10^k.
  const double x_min = 0, raw_step = runs.back()->offered_rate / 5;
  const double decade = std::pow(10, std::floor(std::log10(raw_step)));
  const double tick = raw_step <= decade       ? decade
                      : raw_step <= 2 * decade ? 2 * decade
                      : raw_step <= 5 * decade ? 5 * decade
                                               : 10 * decade;
  const int ticks = static_cast<int>(std::ceil(runs.back()->offered_rate / tick - 1e-9));
  const double x_max = tick * ticks;
  // Decades as people write them: 10 ms, 100 ms, 1 s, 10 s.
  auto decade_label = [](double d) {
    return d >= 1 ? trimmed(d, 0) + " s" : d >= 1e-3 ? trimmed(d * 1e3, 0) + " ms" : trimmed(d * 1e6, 0) + " us";
  };
  struct Series {
    const char* name;
    const char* colour;
    double Percentiles::*field;
  };
  const Series series[] = {{"p50", "#2e86de", &Percentiles::p50},
                           {"p90", "#e67e22", &Percentiles::p90},
                           {"p99", "#c0392b", &Percentiles::p99}};
  struct Panel {
    const char* name;
    Percentiles ServeSummary::*metric;
    std::optional<double> slo;
  };
  const Panel panels[] = {{"TTFT (queueing included)", &ServeSummary::ttft, v.slo.ttft_s},
                          {"TPOT", &ServeSummary::tpot, v.slo.tpot_s}};
  for (int k = 0; k < 2; ++k) {
    const Panel& panel = panels[k];
    const double x0 = left + k * (panel_w + gap);
    double lo = 1e300, hi = 0;
    for (const auto* s : runs)
      for (const Series& se : series) {
        const double y = (s->*panel.metric).*se.field;
        if (y > 0) lo = std::min(lo, y), hi = std::max(hi, y);
      }
    if (panel.slo) lo = std::min(lo, *panel.slo), hi = std::max(hi, *panel.slo);
    if (hi <= 0) continue;
    const double y_lo = std::pow(10, std::floor(std::log10(lo))), y_hi = std::pow(10, std::ceil(std::log10(hi)));
    auto X = [&](double x) { return x0 + panel_w * (x - x_min) / (x_max - x_min); };
    auto Y = [&](double y) {
      return top + plot_h * (1 - (std::log10(y) - std::log10(y_lo)) / (std::log10(y_hi) - std::log10(y_lo)));
    };
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", x0, top - 8, panel.name);
    for (double d = y_lo; d <= y_hi * 1.0001; d *= 10) {
      svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e5e5e5\"/>\n", x0, Y(d),
                         x0 + panel_w);
      svg +=
          fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6, Y(d) + 4, decade_label(d));
    }
    for (int i = 0; i <= ticks; ++i) {
      const double x = tick * i;
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", X(x), top + plot_h + 18,
                         trimmed(x, 2));
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">offered rate (requests/s)</text>\n",
                       x0 + panel_w / 2, top + plot_h + 40);
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", x0, top,
                       panel_w, plot_h);
    if (panel.slo) {
      svg += fmt::format(
          "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#27ae60\" stroke-dasharray=\"6,4\"/>\n",
          x0, Y(*panel.slo), x0 + panel_w);
      svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#27ae60\">SLO {}</text>\n",
                         x0 + panel_w - 4, Y(*panel.slo) - 4, xml_escaped(exact_seconds(Seconds{*panel.slo})));
    }
    for (const Series& se : series) {
      std::string points;
      for (const auto* s : runs) {
        const double y = (s->*panel.metric).*se.field;
        if (y > 0) points += fmt::format("{:.1f},{:.1f} ", X(s->offered_rate), Y(y));
      }
      svg +=
          fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, se.colour);
      for (const auto* s : runs) {
        const double y = (s->*panel.metric).*se.field;
        if (y > 0)
          svg += fmt::format(
              "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{} req/s: {} {} {}</title></circle>\n",
              X(s->offered_rate), Y(y), se.colour, trimmed(s->offered_rate, 3), panel.name, se.name,
              xml_escaped(short_seconds(Seconds{y})));
      }
    }
  }
  // Legend, under the title on the right.
  double lx = width - 250;
  for (const Series& se : series) {
    svg += fmt::format("<line x1=\"{0}\" y1=\"71\" x2=\"{1}\" y2=\"71\" stroke=\"{2}\" stroke-width=\"2\"/>\n", lx,
                       lx + 18, se.colour);
    svg += fmt::format("<text x=\"{}\" y=\"75\">{}</text>\n", lx + 22, se.name);
    lx += 60;
  }
  svg += fmt::format("<text x=\"{}\" y=\"75\" fill=\"#27ae60\">- - SLO</text>\n", lx);
  svg += "</svg>\n";
  return svg;
}

}  // namespace ridge
