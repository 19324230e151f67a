#include "efficiency.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "dtype.hpp"
#include "memory.hpp"
#include "ops.hpp"

namespace ridge {

namespace {

constexpr double kMicro = 1e-6;

// Parameter tables. Ranges are physical: a fraction of a peak stays in (0, 1], a fixed cost
// between 0.1 µs and 100 µs, and so on, so that no fit can wander into nonsense.
const std::vector<ParameterDef> kGemm16 = {
    {"launch_us", 3, 0.1, 100, "fixed cost of one kernel in a CUDA graph: launch, prologue, epilogue"},
    {"flops_fraction", 0.8, 0.05, 1, "attainable fraction of the tensor-core peak in a full wave"},
    {"bandwidth_fraction", 0.85, 0.05, 1, "attainable fraction of the HBM bandwidth"},
    {"tile_feed_tbps", 30, 0.5, 1000, "L2-to-SM bandwidth, all SMs together, TB/s: feeds each tile's operands"},
    {"overlap", 3, 0.5, 50, "p of the p-norm that joins compute and memory time (large: perfect overlap)"},
    {"split_k_us", 2.5, 0.01, 100, "extra cost of a split-K GEMM (its reduction kernel)"},
};
const std::vector<ParameterDef> kGemmQuantised = {
    {"launch_us", 3, 0.1, 100, "fixed cost of the GEMM kernel in a CUDA graph"},
    {"flops_fraction", 0.6, 0.05, 1, "attainable fraction of the format's tensor-core peak in a full wave"},
    {"bandwidth_fraction", 0.7, 0.05, 1, "attainable fraction of the HBM bandwidth"},
    {"tile_feed_tbps", 30, 0.5, 1000, "L2-to-SM bandwidth, all SMs together, TB/s"},
    {"overlap", 3, 0.5, 50, "p of the p-norm that joins compute and memory time"},
    {"quantise_us", 2, 0.01, 100,
     "fixed cost of quantising the activation (its own kernel); its bytes go at the attained bandwidth"},
};
const std::vector<ParameterDef> kContext = {
    {"launch_us", 10, 0.1, 200, "fixed cost of the attention layer's kernels (cache write, metadata, attention)"},
    {"per_sequence_us", 0.05, 0.0001, 10, "cost per sequence in the batch"},
    {"flops_fraction", 0.7, 0.05, 1, "attainable fraction of the 16-bit tensor-core peak at large head_dim"},
    {"head_dim_half", 30, 0.1, 2000, "head_dim at which half of that fraction is reached (d / (d + this))"},
    {"bandwidth_fraction", 0.5, 0.02, 1, "attainable fraction of the HBM bandwidth for Q, K, V and O"},
    {"overlap", 2, 0.5, 50, "p of the p-norm that joins compute and memory time"},
};
const std::vector<ParameterDef> kGeneration = {
    {"launch_us", 10, 0.1, 200, "fixed cost of the attention layer's kernels in a decode step"},
    {"per_sequence_us", 0.05, 0.0001, 10, "cost per sequence in the batch"},
    {"flops_fraction", 0.3, 0.01, 1, "attainable fraction of the 16-bit tensor-core peak"},
    {"query_tile", 16, 1, 256, "query heads per KV head the kernel computes at once (a group is padded to it)"},
    {"bandwidth_fraction", 0.85, 0.05, 1, "attainable fraction of the HBM bandwidth reading K and V"},
    {"cta_bandwidth_gbps", 100, 1, 100000, "bandwidth one thread block sustains, GB/s (few blocks: few SMs busy)"},
    {"overlap", 2, 0.5, 50, "p of the p-norm that joins compute and memory time"},
    {"split_kv_us", 2, 0.01, 100, "extra cost of splitting the keys across blocks (the combine kernel)"},
};
const std::vector<ParameterDef> kCollective = {
    {"ll_latency_us", 5, 0.1, 1000, "fixed cost with NCCL's low-latency protocol (small messages)"},
    {"ll_bandwidth_gbps", 50, 0.1, 10000, "bus bandwidth of the low-latency protocol, GB/s"},
    {"latency_us", 15, 0.1, 1000, "fixed cost with the bandwidth protocol (Simple)"},
    {"bandwidth_gbps", 300, 0.1, 10000, "bus bandwidth of the bandwidth protocol, GB/s"},
    {"per_peer_us", 0.5, 0.001, 100, "extra fixed cost per GPU in the group beyond two"},
    {"sharing", 0.1, 0.001, 4,
     "bandwidth per GPU falls as (2/n)^sharing: ~0 on a switch (NVSwitch), larger where GPUs share a path (PCIe via the host)"},
};

struct FamilyName {
  CalibratedFamily family;
  std::string_view name;
};
constexpr FamilyName kNames[] = {
    {CalibratedFamily::gemm_bf16, "gemm.bf16"},
    {CalibratedFamily::gemm_fp8, "gemm.fp8"},
    {CalibratedFamily::gemm_fp8_block128, "gemm.fp8-block128"},
    {CalibratedFamily::gemm_nvfp4, "gemm.nvfp4"},
    {CalibratedFamily::context_attention, "context_attention"},
    {CalibratedFamily::generation_attention, "generation_attention"},
    {CalibratedFamily::all_reduce, "all_reduce"},
    {CalibratedFamily::all_gather, "all_gather"},
    {CalibratedFamily::reduce_scatter, "reduce_scatter"},
    {CalibratedFamily::alltoall, "alltoall"},
};

/// (a^p + b^p)^(1/p): max(a, b) as p grows, a + b at p = 1.
double join(double a, double b, double p) {
  const double hi = std::max(a, b);
  if (hi <= 0) return 0;
  return hi * std::pow(std::pow(a / hi, p) + std::pow(b / hi, p), 1 / p);
}

double sixteen_bit_peak(const GpuSpec& g) {
  static const WeightFormat kBf16 = *weight_format("bf16");
  return format_ceilings(g, kBf16).gemm16.value;
}

double sms_of(const GpuSpec& g) { return static_cast<double>(g.multiprocessors.value_or(100)); }

/// GEMM Y[m×n] = X[m×k]·Wᵀ: the fastest of the tile shapes and split-K factors the library
/// chooses from. Per choice: thread blocks = ⌈m/tm⌉·⌈n/tn⌉·split, waves over the SMs, each
/// block's time the larger of its FLOPs at the per-SM peak and its operand bytes at the per-SM
/// L2 feed; memory time = weight + activations + output (+ split-K partials) over the attained
/// bandwidth; the two joined by a p-norm. Quantised formats run one kernel without split-K
/// (CUTLASS's fp8 path) after an activation-quantisation pass.
Seconds gemm_time(CalibratedFamily f, const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r) {
  const bool quantised = f != CalibratedFamily::gemm_bf16;
  const double launch = p[0] * kMicro, flops_fraction = p[1], bandwidth_fraction = p[2];
  const double feed = p[3] * 1e12, overlap = p[4];
  static const WeightFormat kFormats[] = {*weight_format("bf16"), *weight_format("fp8"),
                                          *weight_format("fp8-block128"), *weight_format("nvfp4")};
  const WeightFormat& fmt = kFormats[static_cast<int>(f) - static_cast<int>(CalibratedFamily::gemm_bf16)];
  const double M = static_cast<double>(r.m), N = static_cast<double>(r.n), K = static_cast<double>(r.k);
  const double weight_bytes = tensor_bytes(WeightTensor{"w", r.n, r.k, true}, fmt).as_double();
  const double in_bytes = quantised ? bits_of(fmt.compute) / 8.0 : 2.0;  // per activation element
  const double peak = format_ceilings(g, fmt).gemm.value;
  const double bandwidth = g.memory_bandwidth.value * bandwidth_fraction;
  const double sms = sms_of(g);
  const double per_sm_flops = peak * flops_fraction / sms, per_sm_feed = feed / sms;

  static constexpr double kTiles[][2] = {{64, 64}, {64, 128}, {128, 128}, {128, 256}, {256, 128}};
  static constexpr double kSplits[] = {1, 2, 4, 8, 16};
  double best = std::numeric_limits<double>::infinity();
  for (const auto& tile : kTiles) {
    const double tm = tile[0], tn = tile[1];
    for (double split : kSplits) {
      if (quantised && split > 1) break;
      const double k_part = std::ceil(K / split);
      const double blocks = std::ceil(M / tm) * std::ceil(N / tn) * split;
      const double waves = std::ceil(blocks / sms);
      const double block_time = std::max(2 * tm * tn * k_part / per_sm_flops, (tm + tn) * k_part * in_bytes / per_sm_feed);
      const double partials = split > 1 ? M * N * 4 * split * 2 : 0;  // fp32 written, read back
      const double memory = (weight_bytes + M * K * in_bytes + M * N * 2 + partials) / bandwidth;
      const double t = join(waves * block_time, memory, overlap) + (split > 1 ? p[5] * kMicro : 0);
      best = std::min(best, t);
    }
  }
  const double quantise = quantised ? p[5] * kMicro + M * K * (2 + in_bytes) / bandwidth : 0;
  return Seconds{launch + best + quantise};
}

/// Causal prefill from an empty cache: FLOPs 4·B·H·d·pairs at an efficiency that grows with
/// head_dim, never faster than the longest thread block (128 queries over their keys) on one
/// SM; Q, K, V, O bytes over the attained bandwidth; a fixed and a per-sequence cost.
Seconds context_time(const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r) {
  const double B = static_cast<double>(r.batch), n = static_cast<double>(r.tokens);
  const double H = static_cast<double>(r.heads), Hkv = static_cast<double>(r.kv_heads);
  const double d = static_cast<double>(r.head_dim), w = static_cast<double>(r.window);
  const double window = w > 0 ? w : n;
  const double efficiency = p[2] * d / (d + p[3]);
  const double peak = sixteen_bit_peak(g) * efficiency;
  const double flops = 4 * B * H * d * causal_pairs(n, n, w);
  const double longest_block = 4 * 128 * std::min(n, window + 128) * d / (peak / sms_of(g));
  const double compute = std::max(flops / peak, longest_block);
  const double kv_bytes = bits_of(r.kv_dtype) / 8.0;
  const double memory = B * n * d * (2 * H * 2 + 2 * Hkv * kv_bytes) / (g.memory_bandwidth.value * p[4]);
  return Seconds{p[0] * kMicro + p[1] * kMicro * B + join(compute, memory, p[5])};
}

/// One decode step: K and V of the attended keys over the bandwidth the busy thread blocks
/// reach (B·H_kv blocks, split along the keys when that is faster, at a cost); FLOPs of each
/// KV head's query group padded to the kernel's query tile; a fixed and a per-sequence cost.
Seconds generation_time(const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r) {
  const double B = static_cast<double>(r.batch), n = static_cast<double>(r.tokens);
  const double H = static_cast<double>(r.heads), Hkv = static_cast<double>(r.kv_heads);
  const double d = static_cast<double>(r.head_dim);
  const double keys = r.window > 0 ? std::min(n, static_cast<double>(r.window)) : n;
  const double bytes = B * Hkv * keys * d * 2 * (bits_of(r.kv_dtype) / 8.0);
  const double group = H / Hkv, tile = p[3];
  const double padded_group = std::ceil(group / tile) * tile;
  const double peak = sixteen_bit_peak(g) * p[2];
  const double compute = 4 * B * Hkv * padded_group * keys * d / peak;
  const double bandwidth = g.memory_bandwidth.value * p[4], per_block = p[5] * 1e9;
  double best = std::numeric_limits<double>::infinity();
  for (double split : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0}) {
    const double blocks = B * Hkv * split;
    const double memory = bytes / std::min(bandwidth, blocks * per_block);
    best = std::min(best, join(compute, memory, p[6]) + (split > 1 ? p[7] * kMicro : 0));
  }
  return Seconds{p[0] * kMicro + p[1] * kMicro * B + best};
}

/// nccl-tests' bus bytes: all-reduce moves 2(n−1)/n of the buffer over each link, the others
/// (n−1)/n. The faster of the low-latency and the bandwidth protocol (NCCL's tuner picks one).
Seconds collective_time(CalibratedFamily f, const std::vector<double>& p, const OperatorRow& r) {
  const double n = static_cast<double>(r.gpus);
  const double factor = f == CalibratedFamily::all_reduce ? 2 * (n - 1) / n : (n - 1) / n;
  const double bus_bytes = factor * r.message_bytes;
  const double peers = std::max(0.0, n - 2) * p[4] * kMicro;
  const double shared = std::pow(2 / n, p[5]);
  const double low_latency = p[0] * kMicro + bus_bytes / (p[1] * 1e9 * shared);
  const double simple = p[2] * kMicro + bus_bytes / (p[3] * 1e9 * shared);
  return Seconds{peers + std::min(low_latency, simple)};
}

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

const std::vector<ParameterDef>& parameter_defs(CalibratedFamily f) {
  switch (f) {
    case CalibratedFamily::gemm_bf16: return kGemm16;
    case CalibratedFamily::gemm_fp8:
    case CalibratedFamily::gemm_fp8_block128:
    case CalibratedFamily::gemm_nvfp4: return kGemmQuantised;
    case CalibratedFamily::context_attention: return kContext;
    case CalibratedFamily::generation_attention: return kGeneration;
    default: return kCollective;
  }
}

std::string_view to_string(CalibratedFamily f) {
  for (const auto& n : kNames)
    if (n.family == f) return n.name;
  return "?";
}

std::optional<CalibratedFamily> parse_calibrated_family(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.family;
  return std::nullopt;
}

const std::vector<CalibratedFamily>& all_calibrated_families() {
  static const std::vector<CalibratedFamily> all = [] {
    std::vector<CalibratedFamily> v;
    for (const auto& n : kNames) v.push_back(n.family);
    return v;
  }();
  return all;
}

std::optional<CalibratedFamily> calibrated_family(OperatorFamily f, const OperatorRow& r) {
  switch (f) {
    case OperatorFamily::gemm:
      if (r.dtype == "bf16" || r.dtype == "fp16") return CalibratedFamily::gemm_bf16;
      if (r.dtype == "fp8") return CalibratedFamily::gemm_fp8;
      if (r.dtype == "fp8-block128") return CalibratedFamily::gemm_fp8_block128;
      if (r.dtype == "nvfp4") return CalibratedFamily::gemm_nvfp4;
      return std::nullopt;
    case OperatorFamily::context_attention: return CalibratedFamily::context_attention;
    case OperatorFamily::generation_attention: return CalibratedFamily::generation_attention;
    case OperatorFamily::nccl:
      return parse_calibrated_family(r.collective);
  }
  return std::nullopt;
}

Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r) {
  switch (f) {
    case CalibratedFamily::gemm_bf16:
    case CalibratedFamily::gemm_fp8:
    case CalibratedFamily::gemm_fp8_block128:
    case CalibratedFamily::gemm_nvfp4: return gemm_time(f, p, g, r);
    case CalibratedFamily::context_attention: return context_time(p, g, r);
    case CalibratedFamily::generation_attention: return generation_time(p, g, r);
    default: return collective_time(f, p, r);
  }
}

std::optional<Seconds> operator_expected(const GpuSpec& g, OperatorFamily f, const OperatorRow& r) {
  if (!g.calibration || !g.multiprocessors) return std::nullopt;
  const auto family = calibrated_family(f, r);
  if (!family) return std::nullopt;
  const auto it = g.calibration->families.find(*family);
  if (it == g.calibration->families.end()) return std::nullopt;
  return modelled_time(*family, it->second.params, g, r);
}

bool is_held_out(OperatorFamily f, const OperatorRow& r) {
  std::string key;
  switch (f) {
    case OperatorFamily::gemm: key = std::to_string(r.n) + "x" + std::to_string(r.k); break;
    case OperatorFamily::context_attention:
    case OperatorFamily::generation_attention:
      key = std::to_string(r.heads) + "/" + std::to_string(r.kv_heads) + "/" + std::to_string(r.head_dim);
      break;
    case OperatorFamily::nccl: key = std::to_string(static_cast<std::int64_t>(r.message_bytes)); break;
  }
  return fnv1a(key) % 5 == 0;
}

}  // namespace ridge
