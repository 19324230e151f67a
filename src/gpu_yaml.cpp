// ridge's GPU schema: datasheet figures with explicit units.
#include <string>

#include <fmt/format.h>

#include "efficiency.hpp"
#include "loaders.hpp"
#include "text.hpp"

namespace ridge {
namespace {

Interconnect read_link(const Node& n, const std::string& path) {
  MapReader r(n, path);
  Interconnect link;
  if (const Node* name = r.optional("name")) link.name = as_string(*name, r.field("name"));
  if (const Node* gen = r.optional("generation")) {
    const auto g = as_int(*gen, r.field("generation"), 1, 10);
    if (link.name.empty()) link.name = "PCIe " + std::to_string(g);
  }
  // 1 MB/s .. 100 TB/s per direction covers every link that exists.
  link.bandwidth = {as_quantity(r.required("bandwidth"), r.field("bandwidth"), QuantityKind::bandwidth, 1e6, 1e14)};
  if (const Node* peer = r.optional("per_peer_bandwidth")) {
    link.per_peer_bandwidth =
        BytesPerSecond{as_quantity(*peer, r.field("per_peer_bandwidth"), QuantityKind::bandwidth, 1e6, 1e14)};
    if (link.per_peer_bandwidth->value > link.bandwidth.value)
      fail(*peer, r.field("per_peer_bandwidth"), "is larger than the link's total bandwidth");
  }
  if (const Node* lat = r.optional("latency"))
    link.latency = Seconds{as_quantity(*lat, r.field("latency"), QuantityKind::duration, 1e-9, 1e-2)};
  r.finish();
  return link;
}

/// The `calibration:` block `ridge calibrate` writes: provenance, then per family every
/// parameter of its model (efficiency.hpp) and the held-out error the fit reached.
Calibration read_calibration(const Node& n) {
  MapReader r(n, "calibration");
  Calibration c;
  c.source = as_string(r.required("source"), r.field("source"));
  c.framework = as_string(r.required("framework"), r.field("framework"));
  c.date = as_string(r.required("date"), r.field("date"));
  if (const Node* x = r.optional("command")) c.command = as_string(*x, r.field("command"));
  const Node& families = r.required("families");
  MapReader fr(families, r.field("families"));
  for (CalibratedFamily f : all_calibrated_families()) {
    const std::string key(to_string(f));
    const Node* node = fr.optional(key);
    if (!node) continue;
    MapReader pr(*node, fr.field(key));
    FamilyCalibration fc;
    for (const ParameterDef& d : parameter_defs(f))
      fc.params.push_back(as_number(pr.required(d.name), pr.field(d.name), d.min, d.max));
    fc.rows_used = static_cast<std::size_t>(as_int(pr.required("rows_used"), pr.field("rows_used"), 0, 1'000'000'000));
    const Node& held = pr.required("held_out");
    MapReader hr(held, pr.field("held_out"));
    fc.rows_held_out = static_cast<std::size_t>(as_int(hr.required("rows"), hr.field("rows"), 0, 1'000'000'000));
    fc.held_out_median = as_number(hr.required("median_error"), hr.field("median_error"), 0, 100);
    fc.held_out_p90 = as_number(hr.required("p90_error"), hr.field("p90_error"), 0, 100);
    hr.finish();
    pr.finish();
    c.families[f] = std::move(fc);
  }
  fr.finish();
  r.finish();
  return c;
}

}  // namespace

std::string calibration_yaml(const Calibration& c) {
  std::string out = "calibration:  # written by `ridge calibrate`; README \"How accurate is ridge?\"\n";
  out += "  source: " + double_quoted(c.source) + "\n";
  out += "  framework: " + double_quoted(c.framework) + "\n";
  out += "  date: " + double_quoted(c.date) + "\n";
  if (!c.command.empty()) out += "  command: " + double_quoted(c.command) + "\n";
  out += "  families:\n";
  for (const auto& [family, fc] : c.families) {
    out += fmt::format("    {}:\n", to_string(family));
    const auto& defs = parameter_defs(family);
    for (std::size_t i = 0; i < defs.size(); ++i)
      out += fmt::format("      {}: {:.6g}  # {}\n", defs[i].name, fc.params[i], defs[i].meaning);
    out += fmt::format("      rows_used: {}\n", fc.rows_used);
    out += fmt::format("      held_out: {{rows: {}, median_error: {:.4f}, p90_error: {:.4f}}}\n", fc.rows_held_out,
                       fc.held_out_median, fc.held_out_p90);
  }
  return out;
}

GpuSpec gpu_from_yaml(const Node& root, const std::string& source) {
  GpuSpec g;
  g.source = source;
  MapReader r(root, "");
  g.name = as_string(r.required("name"), "name");
  if (const Node* n = r.optional("display_name")) g.display_name = as_string(*n, "display_name");
  if (g.display_name.empty()) g.display_name = g.name;
  g.vendor = as_enum(r.required("vendor"), "vendor", {"nvidia", "amd"});
  g.architecture =
      as_enum(r.required("architecture"), "architecture", {"ampere", "ada", "hopper", "blackwell", "cdna3"});
  // 1 GiB .. 16 TiB: any accelerator that exists, and a clear error for "80" meaning GB.
  g.memory = Bytes{as_size(r.required("memory"), "memory", kGiB, 16ull * 1024 * kGiB)};
  g.memory_source = as_string(r.required("memory_source"), "memory_source");
  g.memory_bandwidth = {
      as_quantity(r.required("memory_bandwidth"), "memory_bandwidth", QuantityKind::bandwidth, 1e9, 1e15)};
  g.l2_cache = Bytes{as_size(r.required("l2_cache"), "l2_cache", kKiB, 16 * kGiB)};
  {
    const Node& peaks = r.required("peak_flops");
    MapReader pr(peaks, "peak_flops");
    for (const char* key : {"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"}) {
      if (const Node* n = pr.optional(key))
        g.peak_flops[*parse_dtype(key)] = {as_quantity(*n, pr.field(key), QuantityKind::compute, 1e9, 1e18)};
    }
    pr.finish();
    if (!g.peak(DType::bf16) && !g.peak(DType::fp16)) fail(peaks, "peak_flops", "needs at least bf16 or fp16");
  }
  g.interconnect = read_link(r.required("interconnect"), "interconnect");
  if (const Node* n = r.optional("pcie")) g.pcie = read_link(*n, "pcie");
  if (const Node* n = r.optional("inter_node")) g.inter_node = read_link(*n, "inter_node");
  if (const Node* n = r.optional("usd_per_hour")) {
    g.usd_per_hour = as_number(*n, "usd_per_hour", 0.001, 10000.0);
    g.price_source = "usd_per_hour in " + source;
  }
  if (const Node* n = r.optional("usd_per_hour_source")) g.price_source = as_string(*n, "usd_per_hour_source");
  if (const Node* n = r.optional("price")) {
    // An indicative price per GPU-hour: the number, when it was read and where.
    if (g.usd_per_hour) fail(*n, "price", "give price or usd_per_hour, not both");
    MapReader pr(*n, "price");
    g.usd_per_hour = as_number(pr.required("usd_per_hour"), pr.field("usd_per_hour"), 0.001, 10000.0);
    g.price_date = as_string(pr.required("date"), pr.field("date"));
    g.price_source = as_string(pr.required("source"), pr.field("source"));
    pr.finish();
  }
  if (const Node* n = r.optional("power")) {
    MapReader pw(*n, "power");
    const Node& tdp = pw.required("tdp_watts");
    g.tdp_watts = as_number(tdp, pw.field("tdp_watts"), 1.0, 100000.0);
    g.idle_watts = as_number(pw.required("idle_watts"), pw.field("idle_watts"), 0.0, 100000.0);
    if (*g.idle_watts >= *g.tdp_watts) fail(tdp, pw.field("tdp_watts"), "must exceed idle_watts");
    g.power_source = as_string(pw.required("source"), pw.field("source"));
    pw.finish();
  }
  if (const Node* n = r.optional("gpus_per_node")) g.gpus_per_node = as_int(*n, "gpus_per_node", 1, 1024);
  if (const Node* n = r.optional("multiprocessors")) g.multiprocessors = as_int(*n, "multiprocessors", 1, 100000);
  g.runtime_overhead = Bytes{as_size(r.required("runtime_overhead"), "runtime_overhead", 0, 64 * kGiB)};
  if (g.runtime_overhead >= g.memory)
    fail(*root.find("runtime_overhead"), "runtime_overhead", "is not smaller than memory");
  if (const Node* n = r.optional("attainable")) {
    MapReader ar(*n, "attainable");
    if (const Node* x = ar.optional("memory_bandwidth"))
      g.attainable_memory = as_number(*x, ar.field("memory_bandwidth"), 0.01, 1.0);
    if (const Node* x = ar.optional("compute")) g.attainable_compute = as_number(*x, ar.field("compute"), 0.01, 1.0);
    if (const Node* x = ar.optional("peak_flops")) {
      MapReader pr(*x, ar.field("peak_flops"));
      for (const char* key : {"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"}) {
        if (const Node* f = pr.optional(key)) {
          if (!g.peak(*parse_dtype(key))) fail(*f, pr.field(key), "the GPU has no peak_flops entry for this type");
          g.attainable_by_type[*parse_dtype(key)] = as_number(*f, pr.field(key), 0.01, 1.0);
        }
      }
      pr.finish();
    }
    if (const Node* x = ar.optional("source")) g.attainable_source = as_string(*x, ar.field("source"));
    ar.finish();
  }
  if (const Node* n = r.optional("calibration")) {
    if (!g.multiprocessors) fail(*n, "calibration", "needs multiprocessors (the SM count) in the same file");
    g.calibration = read_calibration(*n);
  }
  r.finish();
  return g;
}

}  // namespace ridge
