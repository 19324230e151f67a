#include "report/validate_report.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "format.hpp"
#include "validate/clocks.hpp"

namespace ridge {

using namespace validate;

namespace {

std::string seconds_text(double s) { return human_seconds(Seconds{s}); }

std::string status_word(Status s) { return s == Status::ok ? "ok" : s == Status::waived ? "waived" : "failed"; }

std::string bound_short(bool compute) { return compute ? "compute" : "memory"; }

/// The cache policies of a family's timed cases, distinct, in case order: one goes in the
/// family's header; several (small kernels batched, large ones flushed) are listed per case.
std::vector<std::string> cache_policies(const std::vector<CaseResult>& results, Family f) {
  std::vector<std::string> out;
  for (const CaseResult& r : results)
    if (r.c.family == f && !r.m.cache_policy.empty() &&
        std::find(out.begin(), out.end(), r.m.cache_policy) == out.end())
      out.push_back(r.m.cache_policy);
  return out;
}

nlohmann::ordered_json clock_json(const ClockReading& r) {
  if (!r.unavailable.empty()) return {{"available", false}, {"reason", r.unavailable}};
  if (!r.reasons_unavailable.empty())
    return {{"available", true},
            {"sm_clock_hz", r.sm_clock_hz},
            {"memory_clock_hz", r.memory_clock_hz},
            {"throttle_reasons", nullptr},
            {"throttle_reasons_unavailable", r.reasons_unavailable}};
  return {{"available", true},
          {"sm_clock_hz", r.sm_clock_hz},
          {"memory_clock_hz", r.memory_clock_hz},
          {"throttle_reasons", r.throttle_reasons},
          {"throttle_reason_names", throttle_reason_text(r.throttle_reasons)}};
}

std::string ceiling_text(const GpuSpec& g) {
  return g.has_attainable()
             ? "attainable fractions from " + (g.attainable_source.empty() ? g.source : g.attainable_source)
             : "datasheet peaks, so predictions are lower bounds (ratio >= 1 expected)";
}

}  // namespace

std::string cuda_version_text(int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); }
std::string cublas_version_text(int v) { return fmt::format("{}.{}.{}", v / 10000, (v % 10000) / 100, v % 100); }

std::string validate_provenance_line(const ValidateView& v) {
  const DeviceInfo& d = v.device;
  return fmt::format("{}, sm_{}{}, {} SMs, driver {}, CUDA runtime {}, cuBLAS {}, ridge {}, {}", d.name, d.cc_major,
                     d.cc_minor, d.sm_count, cuda_version_text(d.driver_version), cuda_version_text(d.runtime_version),
                     cublas_version_text(d.cublas_version), v.provenance.ridge_version, v.provenance.date_utc);
}

std::string validate_text(const ValidateView& v) {
  const DeviceInfo& d = v.device;
  std::string out;
  out += fmt::format(
      "ridge validate on {} (sm_{}{}, {} SMs, {} L2, {} memory, max SM clock {:.0f} MHz, max memory clock {:.0f} "
      "MHz)\n",
      d.name, d.cc_major, d.cc_minor, d.sm_count, human_bytes(Bytes{d.l2_bytes}), human_bytes(Bytes{d.memory_bytes}),
      d.sm_clock_hz / 1e6, d.memory_clock_hz / 1e6);
  out += fmt::format("  driver {}, CUDA runtime {}, cuBLAS {}, ridge {}, {}\n", cuda_version_text(d.driver_version),
                     cuda_version_text(d.runtime_version), cublas_version_text(d.cublas_version),
                     v.provenance.ridge_version, v.provenance.date_utc);
  out += fmt::format("  current clocks (NVML) idle before the cases: {}; right after the last case: {}\n",
                     clock_reading_text(v.provenance.clocks_before), clock_reading_text(v.provenance.clocks_after));
  out += fmt::format("  predictions: {} ({}), shapes of {}\n", v.gpu.name, ceiling_text(v.gpu), v.provenance.model);
  out += fmt::format(
      "  method: warm-up of at least {} launches and {:.0f} ms, {} timed samples per case (CUDA events),\n"
      "  median and p10-p90 spread; a kernel under 50 us is timed as R launches per sample over\n"
      "  rotated copies of its inputs (cache policy below); random inputs, every output checked\n"
      "  against a higher-precision reference before timing\n",
      v.provenance.config.warmup, v.provenance.config.warmup_s * 1e3, v.provenance.config.samples);

  std::size_t ok = 0, waived = 0, failed = 0;
  for (const CaseResult& r : v.results) {
    const Status s = r.status();
    ok += s == Status::ok;
    waived += s == Status::waived;
    failed += s == Status::failed;
  }

  for (Family f : {Family::stream, Family::gemm, Family::attention, Family::decode}) {
    Table t;
    t.headers = {"case",           "shape",   "predicted", "measured", "ratio",
                 "bound pred/obs", "TFLOP/s", "GB/s",      "spread",   "check"};
    t.right_aligned = {false, false, true, true, true, false, true, true, true, false};
    for (const CaseResult& r : v.results) {
      if (r.c.family != f) continue;
      std::vector<std::string> row = {r.c.name, r.c.shape};
      if (r.comparison) {
        const Comparison& c = *r.comparison;
        row.push_back(seconds_text(c.predicted.value));
        row.push_back(seconds_text(c.measured.value));
        row.push_back(fmt::format("{:.2f}", c.ratio));
        row.push_back(bound_short(c.predicted_compute_bound) + "/" + bound_short(c.observed_compute_bound));
        row.push_back(fmt::format("{:.1f}", c.achieved_flops.value / 1e12));
        row.push_back(fmt::format("{:.0f}", c.achieved_bytes.value / 1e9));
        row.push_back(fmt::format("{:.1f}%", 100 * r.stats.spread()));
        row.push_back(fmt::format("{:.1e}", r.m.check.rel_error));
      } else {
        const std::string word = r.status() == Status::ok ? "not timed" : status_word(r.status());
        row.push_back(r.c.prediction.ops.empty() ? "-" : seconds_text(r.c.prediction.totals.time.value));
        row.push_back(word);
        for (int i = 0; i < 5; ++i) row.push_back("");
        row.push_back(r.m.check.checked ? fmt::format("{:.1e}", r.m.check.rel_error) : "");
      }
      t.rows.push_back(std::move(row));
    }
    if (t.rows.empty()) continue;
    out += fmt::format("\n{}", to_string(f));
    const std::vector<std::string> policies = cache_policies(v.results, f);
    if (policies.size() == 1) out += " (" + policies.front() + ")";
    out += "\n" + t.text("  ");
    if (policies.size() > 1)
      for (const CaseResult& r : v.results)
        if (r.c.family == f && !r.m.cache_policy.empty()) out += "  " + r.c.name + ": " + r.m.cache_policy + "\n";
    for (const CaseResult& r : v.results)
      if (r.c.family == f && r.status() != Status::ok)
        out += "  " + r.c.name + " " + status_word(r.status()) + ": " + r.note() + "\n";
  }

  for (const CaseResult& r : v.results) {
    if (r.c.family != Family::memory) continue;
    out += fmt::format("\nmemory: {} (cudaMemGetInfo deltas against `ridge memory`)\n", r.c.shape);
    if (r.status() != Status::ok) {
      out += "  " + status_word(r.status()) + ": " + r.note() + "\n";
      continue;
    }
    Table t;
    t.headers = {"item", "predicted", "allocated", "device delta", "delta/predicted"};
    t.right_aligned = {false, true, true, true, true};
    auto row = [&](const char* item, Bytes predicted, std::uint64_t requested, std::uint64_t measured) {
      t.rows.push_back(
          {item, with_commas(predicted.value), with_commas(requested), with_commas(measured),
           fmt::format("{:.4f}", predicted.value ? static_cast<double>(measured) / predicted.as_double() : 0.0)});
    };
    row("KV cache, all layers", r.c.memory.kv_cache, r.memory.requested_kv_bytes, r.memory.kv_cache_bytes);
    row("naive attention peak, one layer", r.c.memory.naive_activations, r.memory.requested_naive_bytes,
        r.memory.naive_peak_bytes);
    row("flash attention peak, one layer", r.c.memory.flash_activations, r.memory.requested_flash_bytes,
        r.memory.flash_peak_bytes);
    out += t.text("  ");
    out += fmt::format("  allocation granularity seen: {}\n", human_bytes(Bytes{r.memory.granularity_bytes}));
    if (!r.memory.note.empty()) out += "  " + r.memory.note + "\n";
  }

  out += fmt::format("\n{} ok, {} waived, {} failed\n", ok, waived, failed);
  const MeasuredCeilings& cal = v.calibration;
  if (cal.memory)
    out += fmt::format("  measured HBM ceiling {} ({:.2f} of the datasheet {}, {})\n", human_rate(*cal.memory),
                       cal.memory->value / v.gpu.memory_bandwidth.value, human_rate(v.gpu.memory_bandwidth),
                       cal.memory_case);
  for (const auto& [t, f] : cal.compute) {
    const auto peak = v.gpu.peak(t);
    out += fmt::format("  measured {} GEMM ceiling {} ({:.2f} of the datasheet {}, {})\n", to_string(t), human_flops(f),
                       peak ? f.value / peak->value : 0.0, peak ? human_flops(*peak) : "-", cal.compute_case.at(t));
  }
  out +=
      "  ratio = measured / predicted; bound pred/obs = the roofline's verdict and the ceiling the measurement is "
      "closer to\n";
  return out;
}

nlohmann::ordered_json validate_json(const ValidateView& v) {
  using nlohmann::ordered_json;
  const DeviceInfo& d = v.device;
  ordered_json j;
  j["schema"] = "ridge.validate/v1";
  j["provenance"] = {{"ridge_version", v.provenance.ridge_version},
                     {"command", v.provenance.command},
                     {"date_utc", v.provenance.date_utc},
                     {"model", v.provenance.model},
                     {"quick", v.provenance.quick},
                     {"warmup", v.provenance.config.warmup},
                     {"warmup_s", v.provenance.config.warmup_s},
                     {"samples", v.provenance.config.samples},
                     {"seed", v.provenance.config.seed}};
  j["device"] = {
      {"name", d.name},
      {"pci_bus_id", d.pci_bus_id},
      {"compute_capability", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
      {"sm_count", d.sm_count},
      {"l2_bytes", d.l2_bytes},
      {"memory_bytes", d.memory_bytes},
      {"free_memory_bytes", d.free_memory_bytes},
      {"driver_version", cuda_version_text(d.driver_version)},
      {"cuda_runtime_version", cuda_version_text(d.runtime_version)},
      {"cublas_version", cublas_version_text(d.cublas_version)},
      {"sm_clock_hz", d.sm_clock_hz},
      {"memory_clock_hz", d.memory_clock_hz},
      {"memory_bus_bits", d.memory_bus_bits},
      {"current_clocks",
       {{"before", clock_json(v.provenance.clocks_before)}, {"after", clock_json(v.provenance.clocks_after)}}}};
  j["gpu"] = {{"name", v.gpu.name},
              {"source", v.gpu.source},
              {"estimate_kind", v.gpu.has_attainable() ? "attainable_estimate" : "roofline_bound"},
              {"memory_bandwidth_bytes_per_s", v.gpu.memory_bandwidth.value}};
  ordered_json cases = ordered_json::array();
  for (const CaseResult& r : v.results) {
    ordered_json c;
    c["name"] = r.c.name;
    c["family"] = to_string(r.c.family);
    c["shape"] = r.c.shape;
    c["dtype"] = r.c.dtype;
    c["status"] = status_word(r.status());
    c["note"] = r.note();
    if (r.c.family == Family::memory) {
      c["predicted"] = {{"kv_cache_bytes", r.c.memory.kv_cache.value},
                        {"naive_activation_bytes", r.c.memory.naive_activations.value},
                        {"flash_activation_bytes", r.c.memory.flash_activations.value}};
      c["measured"] = {{"kv_cache_bytes", r.memory.kv_cache_bytes},
                       {"naive_peak_bytes", r.memory.naive_peak_bytes},
                       {"flash_peak_bytes", r.memory.flash_peak_bytes},
                       {"requested_kv_bytes", r.memory.requested_kv_bytes},
                       {"requested_naive_bytes", r.memory.requested_naive_bytes},
                       {"requested_flash_bytes", r.memory.requested_flash_bytes},
                       {"granularity_bytes", r.memory.granularity_bytes}};
      cases.push_back(std::move(c));
      continue;
    }
    if (!r.c.prediction.ops.empty()) {
      const Prediction& p = r.c.prediction;
      ordered_json ops = ordered_json::array();
      for (const Op& op : p.ops)
        ops.push_back({{"name", op.name},
                       {"flops", op.flops},
                       {"bytes_read", op.bytes_read},
                       {"bytes_written", op.bytes_written}});
      c["predicted"] = {{"time_s", p.totals.time.value},
                        {"compute_s", p.compute.value},
                        {"memory_s", p.memory.value},
                        {"bound", bound_short(p.totals.compute_bound())},
                        {"flops", p.totals.flops},
                        {"bytes", p.totals.bytes},
                        {"ops", ops}};
    }
    if (r.m.check.checked || !r.m.check.reference.empty())
      c["check"] = {{"reference", r.m.check.reference},
                    {"rel_error", r.m.check.rel_error},
                    {"threshold", r.m.check.threshold},
                    {"checked_elements", r.m.check.checked},
                    {"non_finite_elements", r.m.check.non_finite},
                    {"passed", r.m.check.passed()}};
    c["cache_policy"] = r.m.cache_policy;
    if (r.comparison) {
      const Comparison& m = *r.comparison;
      c["measured"] = {{"median_s", r.stats.median}, {"min_s", r.stats.min}, {"max_s", r.stats.max},
                       {"p10_s", r.stats.p10},       {"p90_s", r.stats.p90}, {"mean_s", r.stats.mean},
                       {"samples", r.stats.n}};
      c["ratio"] = m.ratio;
      c["observed_bound"] = bound_short(m.observed_compute_bound);
      c["compute_utilization"] = m.compute_utilization;
      c["memory_utilization"] = m.memory_utilization;
      c["achieved_flops_per_s"] = m.achieved_flops.value;
      c["achieved_bytes_per_s"] = m.achieved_bytes.value;
    }
    c["samples_s"] = r.m.samples_s;
    cases.push_back(std::move(c));
  }
  j["cases"] = cases;
  ordered_json cal = ordered_json::object();
  if (v.calibration.memory)
    cal["memory_bandwidth_bytes_per_s"] = {
        {"measured", v.calibration.memory->value},
        {"fraction", attainable_fraction(v.calibration.memory->value, v.gpu.memory_bandwidth.value)},
        {"case", v.calibration.memory_case}};
  for (const auto& [t, f] : v.calibration.compute) {
    const auto peak = v.gpu.peak(t);
    cal[std::string(to_string(t)) + "_flops_per_s"] = {
        {"measured", f.value},
        {"fraction", peak ? attainable_fraction(f.value, peak->value) : 0.0},
        {"case", v.calibration.compute_case.at(t)}};
  }
  j["calibration"] = cal;
  return j;
}

}  // namespace ridge
