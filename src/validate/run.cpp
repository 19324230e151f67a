#include "validate/run.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace ridge::validate {

Comparison compare(const Prediction& p, double measured_s) {
  Comparison c;
  c.predicted = p.totals.time;
  c.measured = Seconds{measured_s};
  c.ratio = p.totals.time.value > 0 ? measured_s / p.totals.time.value : 0.0;
  c.predicted_compute_bound = p.totals.compute_bound();
  c.compute_utilization = p.compute.value / measured_s;
  c.memory_utilization = p.memory.value / measured_s;
  c.observed_compute_bound = c.compute_utilization >= c.memory_utilization && p.totals.flops > 0;
  c.achieved_flops = FlopsPerSecond{p.totals.flops / measured_s};
  c.achieved_bytes = BytesPerSecond{p.totals.bytes / measured_s};
  return c;
}

Status CaseResult::status() const {
  if (!c.waived.empty()) return Status::waived;
  return c.family == Family::memory ? memory.status : m.status;
}

std::string CaseResult::note() const {
  if (!c.waived.empty()) return c.waived;
  return c.family == Family::memory ? memory.note : m.note;
}

std::vector<CaseResult> run_cases(Device& d, std::vector<Case> cases, const RunConfig& cfg,
                                  const std::function<void(std::size_t, std::size_t, const Case&)>& progress) {
  std::vector<CaseResult> out;
  out.reserve(cases.size());
  std::string lost_note;  // set once a case reports that the CUDA context is gone
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CaseResult r;
    r.c = std::move(cases[i]);
    if (progress) progress(i, cases.size(), r.c);
    if (r.c.waived.empty() && !lost_note.empty()) {
      // Nothing can run on a corrupted context; say which case broke it, and do not call the device.
      r.m.status = r.memory.status = Status::failed;
      r.m.note = r.memory.note = lost_note;
    } else if (r.c.waived.empty()) {
      RunConfig one = cfg;
      one.seed = cfg.seed + 7919 * i;  // fresh inputs for every case
      if (const auto* s = std::get_if<StreamShape>(&r.c.problem))
        r.m = d.stream(*s, one);
      else if (const auto* g = std::get_if<GemmProblem>(&r.c.problem))
        r.m = d.gemm(*g, one);
      else if (const auto* a = std::get_if<AttentionProblem>(&r.c.problem))
        r.m = d.attention(*a, one);
      else if (const auto* k = std::get_if<DecodeProblem>(&r.c.problem))
        r.m = d.decode(*k, one);
      else if (const auto* mp = std::get_if<MemoryProblem>(&r.c.problem))
        r.memory = d.memory(*mp);
      const std::string& lost = r.c.family == Family::memory ? r.memory.context_lost : r.m.context_lost;
      if (!lost.empty()) lost_note = "not run: the CUDA context was lost in case " + r.c.name + ": " + lost;
      if (r.c.family != Family::memory) {
        // A check that did not pass means no time counts.
        if (r.m.status == Status::ok && !r.m.check.passed()) {
          r.m.status = Status::failed;
          if (r.m.note.empty()) r.m.note = "output does not match the reference";
        }
        if (r.m.status == Status::ok && !r.m.samples_s.empty()) {
          r.stats = summarize(r.m.samples_s);
          if (r.stats.median > 0) r.comparison = compare(r.c.prediction, r.stats.median);
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, std::string> measured_tables(const std::vector<CaseResult>& results) {
  std::string gemm, context, generation;
  for (const CaseResult& r : results) {
    if (!r.comparison) continue;
    const double us = r.comparison->measured.value * 1e6;
    if (const auto* g = std::get_if<GemmProblem>(&r.c.problem)) {
      if (g->type == GemmType::int8) continue;
      const std::string_view kernel = g->type == GemmType::fp8 ? "cublaslt-fp8" : "cublas";
      gemm += fmt::format("{},{},{},{},{},{:.4f}\n", to_string(g->type), g->m, g->n, g->k, kernel, us);
    } else if (const auto* a = std::get_if<AttentionProblem>(&r.c.problem)) {
      if (a->kernel != AttentionKernel::flash || !a->causal) continue;
      context += fmt::format("{},{},{},{},{},0,bf16,ridge-flash,{:.4f}\n", a->batch, a->seq, a->q_heads, a->kv_heads,
                             a->head_dim, us);
    } else if (const auto* d = std::get_if<DecodeProblem>(&r.c.problem)) {
      generation += fmt::format("{},{},{},{},{},0,bf16,ridge-decode,{:.4f}\n", d->batch, d->context, d->q_heads,
                                d->kv_heads, d->head_dim, us);
    }
  }
  std::map<std::string, std::string> tables;
  if (!gemm.empty()) tables["gemm.csv"] = "dtype,m,n,k,kernel,latency_us\n" + gemm;
  if (!context.empty())
    tables["context_attention.csv"] =
        "batch,prompt_tokens,heads,kv_heads,head_dim,window,kv_dtype,kernel,latency_us\n" + context;
  if (!generation.empty())
    tables["generation_attention.csv"] =
        "batch,kv_tokens,heads,kv_heads,head_dim,window,kv_dtype,kernel,latency_us\n" + generation;
  return tables;
}

MeasuredCeilings measured_ceilings(const std::vector<CaseResult>& results) {
  MeasuredCeilings cal;
  for (const CaseResult& r : results) {
    if (!r.comparison) continue;
    if (r.c.family == Family::stream) {
      if (!cal.memory || r.comparison->achieved_bytes.value > cal.memory->value) {
        cal.memory = r.comparison->achieved_bytes;
        cal.memory_case = r.c.name;
      }
    } else if (r.c.family == Family::gemm) {
      const DType t = r.c.prediction.ceilings.gemm_math;
      auto it = cal.compute.find(t);
      if (it == cal.compute.end() || r.comparison->achieved_flops.value > it->second.value) {
        cal.compute[t] = r.comparison->achieved_flops;
        cal.compute_case[t] = r.c.name;
      }
    }
  }
  return cal;
}

double attainable_fraction(double measured, double datasheet) { return std::clamp(measured / datasheet, 0.01, 1.0); }

namespace {

/// A YAML double-quoted scalar.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

// Quantities in base units, whole numbers, so the file reads back to the same doubles.
std::string bandwidth(BytesPerSecond b) { return fmt::format("{:.0f} B/s", b.value); }
std::string compute(FlopsPerSecond f) { return fmt::format("{:.0f} FLOP/s", f.value); }

}  // namespace

std::string calibrated_gpu_yaml(const GpuSpec& g, const MeasuredCeilings& c, const std::string& name,
                                const std::string& provenance) {
  std::string y;
  y += "# Calibrated by `ridge validate --calibrate`: the datasheet figures of " + g.name + " (" + g.source +
       ")\n# plus the fractions of them measured on this device. " + provenance + "\n";
  y += "name: " + quoted(name) + "\n";
  y += "display_name: " + quoted(g.display_name + " (calibrated)") + "\n";
  y += "vendor: " + g.vendor + "\n";
  y += "architecture: " + g.architecture + "\n";
  y += fmt::format("memory: {} B\n", g.memory.value);
  y += "memory_source: " + quoted(g.memory_source) + "\n";
  y += "memory_bandwidth: " + bandwidth(g.memory_bandwidth) + "\n";
  y += fmt::format("l2_cache: {} B\n", g.l2_cache.value);
  y += "peak_flops:\n";
  for (const auto& [t, f] : g.peak_flops) y += "  " + std::string(to_string(t)) + ": " + compute(f) + "\n";
  auto link = [&](const char* key, const Interconnect& l) {
    y += std::string(key) + ":\n  name: " + quoted(l.name) + "\n  bandwidth: " + bandwidth(l.bandwidth) + "\n";
    if (l.latency) y += fmt::format("  latency: {:.0f} ns\n", l.latency->value * 1e9);
  };
  link("interconnect", g.interconnect);
  if (g.pcie) link("pcie", *g.pcie);
  y += fmt::format("gpus_per_node: {}\n", g.gpus_per_node);
  y += fmt::format("runtime_overhead: {} B\n", g.runtime_overhead.value);

  // Measured fractions; what was not measured keeps the base file's value, if it had one.
  std::optional<double> memory = g.attainable_memory;
  if (c.memory) memory = attainable_fraction(c.memory->value, g.memory_bandwidth.value);
  std::map<DType, double> by_type = g.attainable_by_type;
  for (const auto& [t, f] : c.compute)
    if (auto peak = g.peak(t)) by_type[t] = attainable_fraction(f.value, peak->value);
  if (memory || g.attainable_compute || !by_type.empty()) {
    y += "attainable:\n";
    if (memory) {
      y += fmt::format("  memory_bandwidth: {:.4f}", *memory);
      if (c.memory) y += fmt::format("    # {:.1f} GB/s measured ({})", c.memory->value / 1e9, c.memory_case);
      y += "\n";
    }
    if (g.attainable_compute) y += fmt::format("  compute: {:.4f}\n", *g.attainable_compute);
    if (!by_type.empty()) {
      y += "  peak_flops:\n";
      for (const auto& [t, f] : by_type) {
        y += fmt::format("    {}: {:.4f}", to_string(t), f);
        if (auto it = c.compute.find(t); it != c.compute.end())
          y += fmt::format("    # {:.1f} TFLOP/s measured ({})", it->second.value / 1e12, c.compute_case.at(t));
        y += "\n";
      }
    }
    y += "  source: " + quoted(provenance) + "\n";
  }
  return y;
}

}  // namespace ridge::validate
