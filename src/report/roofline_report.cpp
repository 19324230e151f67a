#include "report/roofline_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "efficiency.hpp"
#include "energy.hpp"
#include "report/cost_report.hpp"
#include "format.hpp"
#include "text.hpp"

namespace ridge {
namespace {

/// "attention (sliding)" when the model has several layer kinds, else the operator's name.
std::string op_label(const Op& op) {
  return op.layers.empty() ? std::string(op.name) : fmt::format("{} ({})", op.name, op.layers);
}

/// "4" for equal micro-batches, "1-2" when the batch does not divide evenly.
std::string sizes_phrase(std::int64_t smallest, std::int64_t largest) {
  return smallest == largest ? std::to_string(largest) : fmt::format("{}-{}", smallest, largest);
}

struct Row {
  const Op* op;
  double flops;  ///< count x per instance
  double bytes;
  double time_s;
  double bound_s;   ///< the roofline bound (= time_s unless calibrated)
  bool calibrated;  ///< time_s is the calibrated estimate
  bool compute_bound;
};

std::vector<Row> rows_of(const std::vector<Op>& ops, const Ceilings& c) {
  std::vector<Row> rows;
  for (const Op& op : ops) {
    const double n = static_cast<double>(op.count);
    const OpTime t = op_time(op, c);
    rows.push_back({&op, n * op.flops, n * op.bytes(), n * t.time().value, n * t.bound().value, t.expected.has_value(),
                    t.compute_bound()});
  }
  return rows;
}

/// "62% of it calibrated" for a phase's operator time.
std::string calibrated_share(const PhaseTotals& t) {
  return fmt::format("{:.0f}%", t.time.value > 0 ? 100 * t.calibrated_time.value / t.time.value : 0.0);
}

std::string unit_name(OpUnit u) { return u == OpUnit::gemm ? "gemm" : u == OpUnit::gemm16 ? "gemm16" : "vector"; }

std::string seconds_text(double s) { return human_seconds(Seconds{s}); }

std::string intensity_text(double x) {
  if (x >= 100) return fmt::format("{:.0f}", x);
  if (x >= 1) return fmt::format("{:.1f}", x);
  return fmt::format("{:.2f}", x);
}

double comm_total(const std::vector<CommOp>& comm) {
  const CommTime t = comm_time(comm);
  return t.tensor_parallel.value + t.pipeline.value;
}

/// Largest of the time in compute-bound operators, in memory-bound ones and in communication.
/// --gen 1: the only token comes from prefill, and there is no decode step to time.
bool has_decode(const RooflineView& v) { return v.query.gen > 1; }
std::string tpot_text(const RooflineView& v) {
  return has_decode(v) ? seconds_text(v.estimate.tpot.value) : "n/a (one token, no decode step)";
}

std::string phase_bound(const PhaseTotals& t, double comm_s) {
  const double compute = t.compute_bound_time.value, memory = t.time.value - compute;
  if (comm_s > compute && comm_s > memory) return "communication";
  return t.compute_bound() ? "compute" : "memory";
}

Table op_table(const std::vector<Op>& ops, const std::vector<CommOp>& comm, const Ceilings& c, double pass_time) {
  Table t;
  const bool expected = c.expected != nullptr;
  // With a calibration: "time" is the estimate (its basis per row), "roofline" the bound.
  t.headers = {"operator", "x", "GFLOP", "MB moved", "FLOP/B", "time", "share", "bound"};
  t.right_aligned = {false, true, true, true, true, true, true, false};
  if (expected) {
    t.headers.insert(t.headers.begin() + 6, {"basis", "roofline"});
    t.right_aligned.insert(t.right_aligned.begin() + 6, {false, true});
  }
  auto share = [&](double time) { return fmt::format("{:.1f}%", pass_time > 0 ? 100 * time / pass_time : 0.0); };
  for (const Row& r : rows_of(ops, c)) {
    std::vector<std::string> row = {op_label(*r.op),
                                    std::to_string(r.op->count),
                                    fmt::format("{:.3f}", r.flops / 1e9),
                                    fmt::format("{:.2f}", r.bytes / 1e6),
                                    intensity_text(r.op->intensity()),
                                    seconds_text(r.time_s),
                                    share(r.time_s),
                                    r.compute_bound ? "compute" : "memory"};
    if (expected) row.insert(row.begin() + 6, {r.calibrated ? "expected" : "bound", seconds_text(r.bound_s)});
    t.rows.push_back(std::move(row));
  }
  for (const CommOp& op : comm) {
    const double n = static_cast<double>(op.count);
    std::vector<std::string> row = {fmt::format("{} ({}, {})", op.name, op.algorithm, op.link),
                                    std::to_string(op.count),
                                    "-",
                                    fmt::format("{:.2f}", n * op.bytes / 1e6),
                                    "-",
                                    seconds_text(n * op.time.value),
                                    share(n * op.time.value),
                                    "communication"};
    if (expected) row.insert(row.begin() + 6, {op.calibrated ? "expected" : "model", "-"});
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::int64_t gpu_count(const RooflineView& v) {
  return replica_gpus(v.memory_query.tp, v.memory_query.pp, v.memory_query.ep) * v.replicas;
}
double total_throughput(const RooflineView& v) {
  return v.estimate.throughput_tokens_per_s * static_cast<double>(v.replicas);
}
std::optional<EnergyEstimate> static_energy(const RooflineView& v) {
  return estimate_energy(v.gpu, v.estimate, v.query.batch, v.query.gen,
                         replica_gpus(v.memory_query.tp, v.memory_query.pp, v.memory_query.ep), v.replicas);
}

std::string setup_line(const RooflineView& v) {
  const auto& q = v.memory_query;
  return fmt::format(
      "weights {} ({}), KV cache {}, batch {}{}, prompt {}, generate {}, TP {} x PP {}{}{}, {} attention",
      q.weights.name, q.weights.scheme(), to_string(q.kv_dtype), v.query.batch, v.replicas > 1 ? " per replica" : "",
      with_commas(v.query.prompt), with_commas(v.query.gen), q.tp, q.pp,
      q.ep > 1 ? fmt::format(", EP {} ({} attention groups)", q.ep, attention_groups(q.ep, q.tp)) : "",
      v.replicas > 1 ? fmt::format(" x {} replicas = {} GPUs", v.replicas, gpu_count(v)) : "",
      v.query.attention == AttentionImpl::flash ? "flash" : "naive");
}

/// Speculative decoding, in numbers: tokens per step, the step's parts, the gain, where it ends.
std::string speculative_text(const SpeculativeSummary& sp, const char* bullet) {
  const SpeculativeEstimate& e = sp.estimate;
  std::string out = fmt::format(
      "{}speculative decoding with the {}, K = {} draft token{} at acceptance {}: {:.3f} tokens per step "
      "((1 - a^(K+1)) / (1 - a)); a step drafts for {} and verifies {} tokens per sequence in {}, so TPOT {} "
      "against {} without ({:.2f}x, {})\n",
      bullet, sp.drafter, sp.config.tokens, sp.config.tokens == 1 ? "" : "s", trimmed(sp.config.acceptance, 3),
      e.expected_tokens, short_seconds(Seconds{e.draft_s}), sp.config.tokens + 1,
      short_seconds(Seconds{e.verify_step_s}), short_seconds(Seconds{e.tpot_s}), short_seconds(Seconds{e.plain_tpot_s}),
      e.speedup(), e.speedup() >= 1 ? "faster" : "slower");
  out += fmt::format("{}  at batch {}, context {}; ", bullet[0] == '-' ? "" : "", sp.batch, sp.context);
  out += e.loss_from_batch
             ? fmt::format(
                   "it stops paying from batch {} (the verification's {} tokens per sequence turn the step "
                   "compute-bound)",
                   *e.loss_from_batch, sp.config.tokens + 1)
             : std::string("it pays at every batch up to 4,096");
  out += fmt::format("; the drafter adds {} GiB of weights and {} GiB of cache per GPU\n", gib(sp.weights_per_gpu),
                     gib(sp.kv_per_gpu));
  return out;
}

/// What this TTFT is: a static batch, not a server under load.
std::string static_batch_note(const RooflineView& v) {
  return v.query.batch == 1 ? "TTFT of one request alone (a server under load queues: `ridge serve --rate R`)"
                            : fmt::format(
                                  "TTFT of a static batch: all {} prompts arrive together and are prefilled at once (a "
                                  "server under load: `ridge serve --rate R`)",
                                  v.query.batch);
}

}  // namespace

std::string time_basis_text(const Ceilings& c) {
  if (c.expected) {
    const Calibration& cal = c.expected->calibration();
    return fmt::format("expected: calibrated estimate ({}, fitted {}); --bound for the datasheet lower bound",
                       cal.framework, cal.date);
  }
  return c.attainable ? "estimate: attainable fractions of peak from the GPU file"
                      : "roofline bound: datasheet peaks, times are lower bounds";
}

std::string bound_word(bool compute_bound) { return compute_bound ? "compute-bound" : "memory-bound"; }

std::string phase_reason(std::string_view phase, const PhaseTotals& t, const Ceilings& c, double comm_s) {
  const double share = t.time.value > 0 ? 100 * t.compute_bound_time.value / t.time.value : 0;
  const double dominant = t.compute_bound() ? share : 100 - share;
  const std::string comm = comm_s > 0 ? fmt::format("; communication adds {} ({:.0f}% of the pass)",
                                                    seconds_text(comm_s), 100 * comm_s / (comm_s + t.time.value))
                                      : "";
  if (phase_bound(t, comm_s) == "communication")
    return fmt::format(
        "{} is communication-bound: {} in collectives and sends, more than its {} in compute-bound "
        "or {} in memory-bound operators",
        phase, seconds_text(comm_s), seconds_text(t.compute_bound_time.value),
        seconds_text(t.time.value - t.compute_bound_time.value));
  return fmt::format(
             "{} is {}: {} FLOP/B against a ridge point of {:.0f} FLOP/B ({}); {:.0f}% of its operator time "
             "is in {} operators",
             phase, bound_word(t.compute_bound()), intensity_text(t.intensity()), c.ridge_point(),
             to_string(c.gemm_math), dominant, t.compute_bound() ? "compute-bound" : "memory-bound") +
         comm;
}

nlohmann::ordered_json roofline_json(const RooflineView& v) {
  const auto& e = v.estimate;
  const auto& c = v.ceilings;
  nlohmann::ordered_json j;
  j["schema"] = "ridge.roofline/v1";
  j["model"] = {{"name", v.model.name}, {"display_name", v.model.display_name}, {"source", v.model.source}};
  j["gpu"] = {{"name", v.gpu.name}, {"display_name", v.gpu.display_name}, {"source", v.gpu.source}};
  // Datasheet peaks give a lower bound on time; attainable fractions turn it into an estimate.
  j["estimate_kind"] = c.expected ? "calibrated_estimate" : c.attainable ? "attainable_estimate" : "roofline_bound";
  j["time_basis"] = c.expected ? "expected" : "bound";
  if (c.expected) {
    const Calibration& cal = c.expected->calibration();
    j["calibration"] = {{"source", cal.source}, {"framework", cal.framework}, {"date", cal.date}};
  }
  j["precision"] = v.memory_query.weights.name;
  j["weight_scheme"] = v.memory_query.weights.scheme();
  j["kv_dtype"] = std::string(to_string(v.memory_query.kv_dtype));
  j["batch"] = v.query.batch;
  j["prompt_tokens"] = v.query.prompt;
  j["gen_tokens"] = v.query.gen;
  j["tp"] = v.memory_query.tp;
  j["ep"] = v.memory_query.ep;
  j["pp"] = v.memory_query.pp;
  j["attention"] = v.query.attention == AttentionImpl::flash ? "flash" : "naive";
  j["gemm_math"] = std::string(to_string(c.gemm_math));
  j["peak_gemm_flops_per_s"] = c.gemm.value;
  j["peak_gemm16_flops_per_s"] = c.gemm16.value;
  j["peak_vector_flops_per_s"] = c.vector.value;
  j["memory_bandwidth_bytes_per_s"] = c.memory.value;
  j["ridge_point_flops_per_byte"] = c.ridge_point();
  if (!c.note.empty()) j["note"] = c.note;
  j["decode_context_tokens"] = e.decode_ops_context;
  j["phases"] = nlohmann::ordered_json::array();
  for (const auto& [name, t, comm] :
       {std::tuple<const char*, const PhaseTotals&, const CommTime&>{"prefill", e.prefill, e.prefill_comm_time},
        std::tuple<const char*, const PhaseTotals&, const CommTime&>{"decode", e.decode_step, e.decode_comm_time}}) {
    const double comm_s = comm.tensor_parallel.value + comm.pipeline.value;
    j["phases"].push_back({{"phase", name},
                           {"flops", t.flops},
                           {"bytes", t.bytes},
                           {"intensity", t.intensity()},
                           {"time_s", t.time.value + comm_s},
                           {"operator_time_s", t.time.value},
                           {"operator_bound_time_s", t.bound_time.value},
                           {"calibrated_time_s", t.calibrated_time.value},
                           {"compute_bound_time_s", t.compute_bound_time.value},
                           {"communication_time_s", comm_s},
                           {"bound", phase_bound(t, comm_s)}});
  }
  j["pipeline"] = {{"stages", v.memory_query.pp},
                   {"stage_imbalance", e.stage_imbalance},
                   {"prefill_micro_batches", e.prefill_micro_batches},
                   {"prefill_micro_batch", e.prefill_micro_batch},
                   {"prefill_micro_batch_smallest", e.prefill_micro_batch_smallest},
                   {"bubble", e.bubble},
                   {"decode_micro_batches", e.decode_micro_batches},
                   {"decode_micro_batch", e.decode_micro_batch},
                   {"decode_micro_batch_smallest", e.decode_micro_batch_smallest}};
  j["ops"] = nlohmann::ordered_json::array();
  for (const auto* ops : {&e.prefill_ops, &e.decode_ops}) {
    for (const Row& r : rows_of(*ops, c)) {
      j["ops"].push_back({{"phase", std::string(to_string(r.op->phase))},
                          {"name", std::string(r.op->name)},
                          {"layers", std::string(r.op->layers)},
                          {"unit", unit_name(r.op->unit)},
                          {"count", r.op->count},
                          {"flops", r.flops},
                          {"bytes", r.bytes},
                          {"bytes_read", r.op->bytes_read * static_cast<double>(r.op->count)},
                          {"bytes_written", r.op->bytes_written * static_cast<double>(r.op->count)},
                          {"intensity", r.op->intensity()},
                          {"time_s", r.time_s},
                          {"bound_time_s", r.bound_s},
                          {"time_basis", r.calibrated ? "expected" : "bound"},
                          {"bound", r.compute_bound ? "compute" : "memory"}});
    }
  }
  for (const auto* comm : {&e.prefill_comm, &e.decode_comm}) {
    for (const CommOp& op : *comm) {
      const double n = static_cast<double>(op.count);
      j["ops"].push_back({{"phase", std::string(to_string(op.phase))},
                          {"name", std::string(op.name)},
                          {"unit", "link"},
                          {"count", op.count},
                          {"flops", 0.0},
                          {"bytes", n * op.bytes},
                          {"intensity", 0.0},
                          {"time_s", n * op.time.value},
                          {"time_basis", op.calibrated ? "expected" : "model"},
                          {"bound", "communication"},
                          {"algorithm", std::string(op.algorithm)},
                          {"link", std::string(op.link)}});
    }
  }
  if (v.speculative) {
    const SpeculativeSummary& sp = *v.speculative;
    const SpeculativeEstimate& se = sp.estimate;
    j["speculative"] = {{"drafter", sp.drafter},
                        {"draft_tokens", sp.config.tokens},
                        {"acceptance", sp.config.acceptance},
                        {"expected_tokens_per_step", se.expected_tokens},
                        {"batch", sp.batch},
                        {"context", sp.context},
                        {"draft_s", se.draft_s},
                        {"verify_step_s", se.verify_step_s},
                        {"tpot_s", se.tpot_s},
                        {"plain_tpot_s", se.plain_tpot_s},
                        {"speedup", se.speedup()},
                        {"loss_from_batch",
                         se.loss_from_batch ? nlohmann::ordered_json(*se.loss_from_batch) : nlohmann::ordered_json()},
                        {"drafter_weights_per_gpu_bytes", sp.weights_per_gpu.value},
                        {"drafter_kv_per_gpu_bytes", sp.kv_per_gpu.value}};
  }
  j["ttft_kind"] = "static_batch";  // every prompt of the batch at once; `ridge serve` has per-request percentiles
  j["ttft_s"] = e.ttft.value;
  // No decode step (one generated token): no TPOT and no decode rate, null rather than 0.
  const nlohmann::ordered_json none(nullptr);
  j["tpot_s"] = has_decode(v) ? nlohmann::ordered_json(e.tpot.value) : none;
  j["e2e_s"] = e.e2e.value;
  j["replicas"] = v.replicas;
  j["throughput_tokens_per_s"] = total_throughput(v);  // all replicas
  j["replica_throughput_tokens_per_s"] = e.throughput_tokens_per_s;
  j["throughput_per_gpu_tokens_per_s"] = total_throughput(v) / static_cast<double>(gpu_count(v));
  j["decode_throughput_tokens_per_s"] =
      has_decode(v) ? nlohmann::ordered_json(e.decode_throughput_tokens_per_s * static_cast<double>(v.replicas)) : none;
  if (v.bound) {
    const double tput = v.bound->throughput_tokens_per_s * static_cast<double>(v.replicas);
    j["bound"] = {{"ttft_s", v.bound->ttft.value},
                  {"tpot_s", has_decode(v) ? nlohmann::ordered_json(v.bound->tpot.value) : none},
                  {"e2e_s", v.bound->e2e.value},
                  {"throughput_tokens_per_s", tput}};
  }
  j["per_gpu_memory_bytes"] = v.memory.per_gpu().total().value;
  j["fits"] = v.memory.fits;
  // Static batch: the replicas generate B x G tokens per end-to-end time.
  j["cost"] = cost_json(v.gpu, gpu_count(v), total_throughput(v));
  j["energy"] = energy_json(static_energy(v));
  return j;
}

std::string roofline_text(const RooflineView& v) {
  const auto& e = v.estimate;
  const auto& c = v.ceilings;
  std::string out = fmt::format("{} on {} ({})\n", v.model.display_name, v.gpu.display_name, time_basis_text(c));
  out += "  " + setup_line(v) + "\n";
  if (c.expected)
    out += fmt::format(
        "  calibrated: {} of prefill's and {} of a decode step's operator time (weight GEMMs, "
        "attention; norms, activations and sampling at least {} per kernel, the fitted fixed cost "
        "of a kernel in a CUDA graph); the rest at its bound\n",
        calibrated_share(e.prefill), calibrated_share(e.decode_step),
        c.expected->kernel_fixed_cost() ? human_seconds(*c.expected->kernel_fixed_cost()) : "nothing");
  out += fmt::format("  weight GEMMs on {} at {}, memory {} -> ridge point {:.0f} FLOP/B\n", to_string(c.gemm_math),
                     human_flops(c.gemm), human_rate(c.memory), c.ridge_point());
  if (!c.note.empty()) out += "  note: " + c.note + "\n";
  const double prefill_comm = comm_total(e.prefill_comm), decode_comm = comm_total(e.decode_comm);
  const std::string scope =
      v.memory_query.pp > 1 ? "per GPU of a TP group, summed over the pipeline stages" : "per GPU";
  if (v.memory_query.pp > 1)
    out += fmt::format(
        "  pipeline: {} stages (largest {:.2f}x an even share), prefill in {} micro-batches of {} "
        "(bubble {:.1f}%), decode with {} micro-batches of {} in flight\n",
        v.memory_query.pp, e.stage_imbalance, e.prefill_micro_batches,
        sizes_phrase(e.prefill_micro_batch_smallest, e.prefill_micro_batch), 100 * e.bubble, e.decode_micro_batches,
        sizes_phrase(e.decode_micro_batch_smallest, e.decode_micro_batch));
  out += fmt::format("\nprefill: {} sequence{} x {} tokens{}, {}\n", e.prefill_micro_batch,
                     e.prefill_micro_batch == 1 ? "" : "s", with_commas(v.query.prompt),
                     e.prefill_micro_batches > 1 ? " (the largest micro-batch)" : "", scope);
  out += op_table(e.prefill_ops, e.prefill_comm, c, e.prefill.time.value + prefill_comm).text("  ");
  out += fmt::format("\ndecode step: {} sequence{} at context {} (middle of the generation{}), {}\n",
                     e.decode_micro_batch, e.decode_micro_batch == 1 ? "" : "s", with_commas(e.decode_ops_context),
                     e.decode_micro_batches > 1 ? "; the largest micro-batch" : "", scope);
  out += op_table(e.decode_ops, e.decode_comm, c, e.decode_step.time.value + decode_comm).text("  ");

  Table phases;
  phases.headers = {"phase", "GFLOP", "GB moved", "FLOP/B", "operators", "communication", "bound"};
  phases.right_aligned = {false, true, true, true, true, true, false};
  for (const auto& [name, t, comm] :
       {std::tuple<const char*, const PhaseTotals&, double>{"prefill", e.prefill, prefill_comm},
        std::tuple<const char*, const PhaseTotals&, double>{"decode step", e.decode_step, decode_comm}}) {
    phases.rows.push_back({name, fmt::format("{:.1f}", t.flops / 1e9), fmt::format("{:.3f}", t.bytes / 1e9),
                           intensity_text(t.intensity()), seconds_text(t.time.value), seconds_text(comm),
                           phase_bound(t, comm)});
  }
  out += "\n" + phases.text("  ");
  out += "  " + phase_reason("prefill", e.prefill, c, prefill_comm) + "\n";
  out += "  " + phase_reason("decode", e.decode_step, c, decode_comm) + "\n";
  out += fmt::format("\n  TTFT {}   TPOT {}   end-to-end {}{}\n", seconds_text(e.ttft.value), tpot_text(v),
                     seconds_text(e.e2e.value), c.expected ? "   (expected)" : "");
  out += "  " + static_batch_note(v) + "\n";
  if (v.speculative) out += speculative_text(*v.speculative, "  ");
  if (v.bound)
    out += fmt::format(
        "  bound: TTFT {}   TPOT {}   end-to-end {}   throughput {:.0f} tokens/s (datasheet roofline)\n",
        seconds_text(v.bound->ttft.value), has_decode(v) ? seconds_text(v.bound->tpot.value) : std::string("n/a"),
        seconds_text(v.bound->e2e.value), v.bound->throughput_tokens_per_s * static_cast<double>(v.replicas));
  out +=
      fmt::format("  throughput {:.0f} tokens/s ({:.0f} per GPU{})", total_throughput(v),
                  total_throughput(v) / static_cast<double>(gpu_count(v)),
                  v.replicas > 1 ? fmt::format(", {} replicas of {:.0f}", v.replicas, e.throughput_tokens_per_s) : "");
  if (has_decode(v))
    out += fmt::format("; while decoding {:.0f} tokens/s",
                       e.decode_throughput_tokens_per_s * static_cast<double>(v.replicas));
  out += "\n";
  out += fmt::format("  memory: {} GiB per GPU of a {} GiB budget ({})\n", gib(v.memory.per_gpu().total()),
                     gib(v.memory.budget_per_gpu), v.memory.fits ? "fits" : "DOES NOT FIT");
  out += "  cost: " + cost_line(v.gpu, gpu_count(v), total_throughput(v)) + "\n";
  out += "  energy: " + energy_line(v.gpu, static_energy(v)) + "\n";
  return out;
}

std::string roofline_markdown(const RooflineView& v) {
  const auto& e = v.estimate;
  const auto& c = v.ceilings;
  std::string out = fmt::format("### {} on {} ({})\n\n{}\n\n", v.model.display_name, v.gpu.display_name,
                                c.expected     ? "expected: calibrated estimate"
                                : c.attainable ? "estimate"
                                               : "roofline bound",
                                setup_line(v));
  const double prefill_comm = comm_total(e.prefill_comm), decode_comm = comm_total(e.decode_comm);
  out += "**Prefill**\n\n" + op_table(e.prefill_ops, e.prefill_comm, c, e.prefill.time.value + prefill_comm).markdown();
  out += fmt::format("\n**Decode step** (context {})\n\n", e.decode_ops_context);
  out += op_table(e.decode_ops, e.decode_comm, c, e.decode_step.time.value + decode_comm).markdown();
  out += "\n- " + phase_reason("prefill", e.prefill, c, prefill_comm) + "\n- " +
         phase_reason("decode", e.decode_step, c, decode_comm) + "\n";
  out += "- " + static_batch_note(v) + "\n";
  if (v.speculative) out += speculative_text(*v.speculative, "- ");
  out += fmt::format("- TTFT {}, TPOT {}, end-to-end {}, throughput {:.0f} tokens/s\n", seconds_text(e.ttft.value),
                     tpot_text(v), seconds_text(e.e2e.value), total_throughput(v));
  if (v.bound)
    out += fmt::format(
        "- bound (datasheet roofline): TTFT {}, TPOT {}, end-to-end {}\n", seconds_text(v.bound->ttft.value),
        has_decode(v) ? seconds_text(v.bound->tpot.value) : std::string("n/a"), seconds_text(v.bound->e2e.value));
  return out;
}

/// For scripts: one row per operator and collective, then the totals, in base units at full
/// precision; `basis` says whether `time_s` is the calibrated estimate or the bound.
std::string roofline_csv(const RooflineView& v) {
  Table t;
  t.headers = {"phase",     "name",   "unit",         "count", "flops", "bytes",
               "intensity", "time_s", "bound_time_s", "basis", "bound"};
  auto num = [](double x) { return fmt::format("{}", x); };
  for (const auto* ops : {&v.estimate.prefill_ops, &v.estimate.decode_ops}) {
    for (const Row& r : rows_of(*ops, v.ceilings)) {
      const OpTime ot = op_time(*r.op, v.ceilings);
      const double n = static_cast<double>(r.op->count);
      t.rows.push_back({std::string(to_string(r.op->phase)), op_label(*r.op), unit_name(r.op->unit),
                        std::to_string(r.op->count), num(r.flops), num(r.bytes), num(r.op->intensity()), num(r.time_s),
                        num(n * ot.bound().value), ot.expected ? "expected" : "bound",
                        r.compute_bound ? "compute" : "memory"});
    }
  }
  for (const auto* comm : {&v.estimate.prefill_comm, &v.estimate.decode_comm}) {
    for (const CommOp& op : *comm) {
      const double n = static_cast<double>(op.count);
      t.rows.push_back({std::string(to_string(op.phase)), std::string(op.name), "link", std::to_string(op.count), "0",
                        num(n * op.bytes), "0", num(n * op.time.value), "", op.calibrated ? "expected" : "bound",
                        "communication"});
    }
  }
  // The request's totals (per replica; TPOT empty without a decode step).
  const char* basis = v.ceilings.expected ? "expected" : "bound";
  auto total = [&](const char* name, std::optional<double> s, std::optional<double> bound_s) {
    t.rows.push_back({"total", name, "s", "1", "", "", "", s ? num(*s) : "", bound_s ? num(*bound_s) : "", basis, ""});
  };
  const auto& e = v.estimate;
  const bool decode = has_decode(v);
  total("ttft", e.ttft.value, v.bound ? std::optional<double>(v.bound->ttft.value) : std::nullopt);
  total("tpot", decode ? std::optional<double>(e.tpot.value) : std::nullopt,
        decode && v.bound ? std::optional<double>(v.bound->tpot.value) : std::nullopt);
  total("e2e", e.e2e.value, v.bound ? std::optional<double>(v.bound->e2e.value) : std::nullopt);
  return t.csv();
}

std::string roofline_svg(const RooflineView& v) {
  // Log-log axes: x = arithmetic intensity (FLOP/B), y = attainable FLOP/s.
  const double width = 960, height = 640, left = 90, right = 220, top = 50, bottom = 70;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const auto& c = v.ceilings;
  double peak_max = c.gemm.value;
  for (const auto& [dtype, rate] : v.gpu.peak_flops) peak_max = std::max(peak_max, rate.value);
  const double x_min = 1e-2, x_max = 1e5;
  const double y_max = std::pow(10, std::ceil(std::log10(peak_max * 1.5)));
  const double y_min = y_max / 1e7;
  auto X = [&](double x) {
    return left + plot_w * (std::log10(x) - std::log10(x_min)) / (std::log10(x_max) - std::log10(x_min));
  };
  auto Y = [&](double y) {
    return top + plot_h * (1 - (std::log10(y) - std::log10(y_min)) / (std::log10(y_max) - std::log10(y_min)));
  };
  auto esc = [](std::string_view s) { return xml_escaped(s); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  // Title on two lines, each cut to what fits the width (a long HF id would run off the page).
  auto fit = [](std::string text, double px, double char_px) {
    const auto most = static_cast<std::size_t>(px / char_px);
    if (text.size() > most && most > 1) text = text.substr(0, most - 1) + "…";
    return text;
  };
  svg += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", left,
                     esc(fit(v.model.display_name + " on " + v.gpu.display_name, width - left - 10, 8.6)));
  svg += fmt::format("<text x=\"{}\" y=\"40\" font-size=\"11\" fill=\"#444\">{}</text>\n", left,
                     esc(fit(fmt::format("roofline: {} weights, batch {}, prompt {}", v.memory_query.weights.name,
                                         v.query.batch, v.query.prompt),
                             width - left - 10, 6.2)));
  // Grid and decade ticks.
  for (int p = -2; p <= 5; ++p) {
    const double x = X(std::pow(10, p));
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e5e5e5\"/>\n", x, top,
                       top + plot_h);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">1e{}</text>\n", x, top + plot_h + 18, p);
  }
  for (double y = y_min; y <= y_max * 1.01; y *= 10) {
    const double py = Y(y);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e5e5e5\"/>\n", left, py,
                       left + plot_w);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", left - 6, py + 4, y / 1e12);
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
                     plot_w, plot_h);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">arithmetic intensity (FLOP/byte, log scale)</text>\n",
      left + plot_w / 2, height - 25);
  svg += fmt::format(
      "<text transform=\"translate(24 {:.1f}) rotate(-90)\" text-anchor=\"middle\">attainable TFLOP/s (log "
      "scale)</text>\n",
      top + plot_h / 2);

  // Bandwidth slope up to the highest ceiling, then one ceiling per precision.
  const double bw = c.memory.value;
  const double x_knee_max = std::min(x_max, peak_max / bw);
  svg += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#1f4e79\" stroke-width=\"2\"/>\n",
      X(x_min), Y(std::max(y_min, bw * x_min)), X(x_knee_max), Y(bw * x_knee_max));
  // The slope's label at its low end, clear of the operators (which sit at 0.1 FLOP/B and up).
  const double hx = X(x_min * 1.2) + 4, hy = Y(bw * x_min * 1.2) - 6;
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#1f4e79\" transform=\"rotate(-{:.1f} {:.1f} {:.1f})\">{} HBM</text>\n",
      hx, hy, std::atan2(Y(bw * x_min) - Y(bw * x_min * 10), X(x_min * 10) - X(x_min)) * 180 / 3.14159265, hx, hy,
      human_rate(c.memory));
  // One ceiling per distinct peak; types sharing a peak share a line ("fp8/int8").
  std::vector<std::pair<std::string, double>> ceilings;
  for (const auto& [dtype, rate] : v.gpu.peak_flops) {
    const double peak = rate.value;  // clang 14 cannot capture a structured binding
    auto same = std::find_if(ceilings.begin(), ceilings.end(),
                             [&](const auto& cl) { return std::fabs(cl.second - peak) < 1e9; });
    if (same != ceilings.end())
      same->first += "/" + std::string(to_string(dtype));
    else
      ceilings.emplace_back(std::string(to_string(dtype)), rate.value);
  }
  for (const auto& [label, rate] : ceilings) {
    if (rate < y_min) continue;
    const double knee = rate / bw;
    const bool used = std::fabs(rate - c.gemm.value) < 1e9;
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
        X(std::max(knee, x_min)), Y(rate), X(x_max), Y(rate), used ? "#1f4e79" : "#888", used ? 2 : 1,
        used ? "" : " stroke-dasharray=\"5 4\"");
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{} {:.0f} TFLOP/s (ridge {:.0f})</text>\n",
                       X(x_max) + 6, Y(rate) + 4, used ? "#1f4e79" : "#666", label, rate / 1e12, knee);
  }

  // Legend box, top left inside the plot: labels keep out of it.
  const double lx = left + 12, ly = top + 14;
  struct Box {
    double x0, y0, x1, y1;
    bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  };
  std::vector<Box> taken = {{lx - 8, ly - 10, lx + 260, ly + 46}};

  // Operators: achieved FLOP/s at their intensity (zero-FLOP ops have no place on a log plot).
  // Operators at the same spot (q/k/v, gate/up/down) share one marker and one label. Prefill
  // points are circles, decode points triangles; each label takes the first place around its
  // point that overlaps no other label, marker or the legend (and is dropped to the tooltip
  // when none is free).
  struct Point {
    double x, y;
    std::vector<std::string> names;
    bool decode;
    const char* color;
  };
  std::vector<Point> all;
  auto collect = [&](const std::vector<Op>& ops, const char* color, bool decode) {
    const std::size_t first = all.size();
    for (const Op& op : ops) {
      const OpTime t = op_time(op, c);
      if (op.flops <= 0 || t.time().value <= 0) continue;
      const double x = X(std::clamp(op.intensity(), x_min, x_max));
      const double y = Y(std::clamp(op.flops / t.time().value, y_min, y_max));
      auto near = std::find_if(all.begin() + static_cast<std::ptrdiff_t>(first), all.end(),
                               [&](const Point& p) { return std::hypot(p.x - x, p.y - y) < 6; });
      // Plain names: the same operator of two layer kinds at one spot is one label, not two.
      const std::string name(op.name);
      if (near == all.end())
        all.push_back({x, y, {name}, decode, color});
      else if (std::find(near->names.begin(), near->names.end(), name) == near->names.end())
        near->names.push_back(name);
    }
  };
  collect(v.estimate.prefill_ops, "#c0392b", false);
  collect(v.estimate.decode_ops, "#e67e22", true);
  for (const Point& p : all) taken.push_back({p.x - 5, p.y - 5, p.x + 5, p.y + 5});
  for (const Point& p : all) {
    const std::string label = join(p.names);
    if (p.decode)
      svg += fmt::format(
          "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"{}\"><title>{}</title></polygon>\n",
          p.x, p.y - 5.5, p.x - 5, p.y + 4, p.x + 5, p.y + 4, p.color, esc(label));
    else
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4.5\" fill=\"{}\"><title>{}</title></circle>\n", p.x,
                         p.y, p.color, esc(label));
    const double w = 5.0 * static_cast<double>(label.size()) + 2, h = 11;
    // Candidate places: right, left, above, below, then further out.
    const double spots[][2] = {{8, -4},       {-8 - w, -4}, {-w / 2, -18}, {-w / 2, 8},   {8, -16},
                               {-8 - w, -16}, {8, 8},       {-8 - w, 8},   {-w / 2, -30}, {-w / 2, 20}};
    for (const auto& d : spots) {
      const Box b{p.x + d[0], p.y + d[1], p.x + d[0] + w, p.y + d[1] + h};
      if (b.x0 < left || b.x1 > left + plot_w || b.y0 < top || b.y1 > top + plot_h) continue;
      if (std::any_of(taken.begin(), taken.end(), [&](const Box& o) { return o.overlaps(b); })) continue;
      taken.push_back(b);
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" fill=\"{}\">{}</text>\n", b.x0 + 1, b.y1 - 2,
                         p.color, esc(label));
      break;
    }
  }
  // Legend.
  svg += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"#c0392b\"/><text x=\"{}\" y=\"{}\">prefill operators</text>\n", lx,
      ly, lx + 10, ly + 4);
  svg += fmt::format(
      "<polygon points=\"{},{} {},{} {},{}\" fill=\"#e67e22\"/><text x=\"{}\" y=\"{}\">decode operators (context "
      "{})</text>\n",
      lx, ly + 12.5, lx - 5, ly + 22, lx + 5, ly + 22, lx + 10, ly + 22, v.estimate.decode_ops_context);
  // Which time placed the points: below the roofline when it is the calibrated estimate.
  svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#555\">{}</text>\n", lx - 4, ly + 40,
                     c.expected ? "points at the calibrated (expected) time" : "points at the datasheet bound");
  svg += "</svg>\n";
  return svg;
}

Table roofline_comparison(const std::vector<RooflineView>& views) {
  SideBySide<RooflineView> t(views, [](const RooflineView& v) { return v.gpu.name; });
  t.row("time basis", [](const RooflineView& v) { return std::string(v.ceilings.expected ? "expected" : "bound"); });
  t.row("TTFT", [](const RooflineView& v) { return seconds_text(v.estimate.ttft.value); });
  t.row("TPOT",
        [](const RooflineView& v) { return has_decode(v) ? seconds_text(v.estimate.tpot.value) : std::string("n/a"); });
  t.row("end-to-end", [](const RooflineView& v) { return seconds_text(v.estimate.e2e.value); });
  t.row("tokens/s (all replicas)", [](const RooflineView& v) {
    return fmt::format("{:.0f}", v.estimate.throughput_tokens_per_s * static_cast<double>(v.replicas));
  });
  t.row("bound TTFT / TPOT", [](const RooflineView& v) {
    if (!v.bound) return std::string("(the times above)");
    return seconds_text(v.bound->ttft.value) + " / " + (has_decode(v) ? seconds_text(v.bound->tpot.value) : "n/a");
  });
  t.row("decode", [](const RooflineView& v) { return bound_word(v.estimate.decode_step.compute_bound()); });
  t.row("memory per GPU, GiB", [](const RooflineView& v) { return gib(v.memory.per_gpu().total()); });
  t.row("fits", [](const RooflineView& v) { return std::string(v.memory.fits ? "yes" : "NO"); });
  return t.table;
}

nlohmann::ordered_json roofline_comparison_json(const std::vector<RooflineView>& views) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.roofline.comparison/v1";
  j["reports"] = nlohmann::ordered_json::array();
  for (const auto& v : views) j["reports"].push_back(roofline_json(v));
  return j;
}

std::string roofline_comparison_csv(const std::vector<RooflineView>& views) {
  Table t;
  t.headers = {"gpu", "time_basis", "ttft_s", "tpot_s", "e2e_s", "throughput_tokens_per_s", "per_gpu_bytes", "fits"};
  for (const auto& v : views)
    t.rows.push_back({v.gpu.name, v.ceilings.expected ? "expected" : "bound", fmt::format("{}", v.estimate.ttft.value),
                      has_decode(v) ? fmt::format("{}", v.estimate.tpot.value) : std::string(),
                      fmt::format("{}", v.estimate.e2e.value),
                      fmt::format("{}", v.estimate.throughput_tokens_per_s * static_cast<double>(v.replicas)),
                      std::to_string(v.memory.per_gpu().total().value), v.memory.fits ? "true" : "false"});
  return t.csv();
}

}  // namespace ridge
