#include "efficiency.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>

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
    {"quantise_us", 2, 0.01, 100, "fixed cost of the activation-quantisation kernel"},
    {"quantise_row_us", 0.5, 0.001, 100,
     "cost of one token row in that kernel (one thread block per row, in waves over the SMs), besides its bytes"},
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
    {"launch_us", 8, 0.1, 200, "fixed cost of the attention layer's kernels in a decode step"},
    {"block_us", 3, 0.01, 100,
     "fixed cost of one thread block (a sequence's KV head or a split of it), per wave over the SMs"},
    {"flops_fraction", 0.3, 0.01, 1, "attainable fraction of the 16-bit tensor-core peak"},
    {"query_tile", 16, 1, 256, "query heads per KV head the kernel computes at once (a group is padded to it)"},
    {"bandwidth_fraction", 0.9, 0.05, 1, "attainable fraction of the HBM bandwidth reading K and V"},
    {"cta_bandwidth_gbps", 50, 1, 100000, "bandwidth one thread block sustains, GB/s (few blocks: few SMs busy)"},
    {"overlap", 3, 1, 50, "p of the p-norm that joins compute and memory time"},
    {"split_kv_us", 1, 0.01, 100, "extra cost of splitting the keys across blocks (the combine kernel)"},
    {"l2_fraction", 0.5, 0.01, 1,
     "share of the L2 a replayed kernel's K and V keep (measurement only: in a model other layers evict it)"},
    {"l2_tbps", 10, 0.5, 100, "bandwidth of K and V read from L2, TB/s"},
};
const std::vector<ParameterDef> kCollective = {
    {"ll_latency_us", 5, 0.1, 1000, "fixed cost with NCCL's low-latency protocol (small messages)"},
    {"ll_bandwidth_gbps", 50, 0.1, 10000, "bus bandwidth of the low-latency protocol, GB/s"},
    {"latency_us", 15, 0.1, 1000, "fixed cost with the bandwidth protocol (Simple)"},
    {"bandwidth_gbps", 300, 0.1, 10000, "bus bandwidth of the bandwidth protocol, GB/s"},
    {"per_peer_us", 0.5, 0.001, 100, "extra fixed cost per GPU in the group beyond two"},
    {"sharing", 0.1, 0.001, 4,
     "bandwidth per GPU falls as (2/n)^sharing: ~0 on a switch (NVSwitch), larger where GPUs share a path (PCIe via "
     "the host)"},
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
  const double hi = std::max(a, b), lo = std::min(a, b);
  if (lo <= 0) return std::max(hi, 0.0);
  return hi * std::pow(1 + std::pow(lo / hi, p), 1 / p);
}

}  // namespace

namespace {

/// The weight format each GEMM family was measured in (gemm_format_name), looked up once.
const WeightFormat& gemm_format(CalibratedFamily f) {
  static const WeightFormat kFormats[] = {*weight_format(gemm_format_name(CalibratedFamily::gemm_bf16)),
                                          *weight_format(gemm_format_name(CalibratedFamily::gemm_fp8)),
                                          *weight_format(gemm_format_name(CalibratedFamily::gemm_fp8_block128)),
                                          *weight_format(gemm_format_name(CalibratedFamily::gemm_nvfp4))};
  return kFormats[gemm_index(f)];
}

}  // namespace

ModelGpu model_gpu(const GpuSpec& g) {
  ModelGpu m;
  m.multiprocessors = static_cast<double>(g.multiprocessors.value_or(100));
  m.bandwidth = g.memory_bandwidth.value;
  m.l2_bytes = g.l2_cache.as_double();
  m.cutlass3 = g.architecture == "hopper" || g.architecture == "blackwell";
  for (CalibratedFamily f : {CalibratedFamily::gemm_bf16, CalibratedFamily::gemm_fp8,
                             CalibratedFamily::gemm_fp8_block128, CalibratedFamily::gemm_nvfp4}) {
    const Ceilings c = format_ceilings(g, gemm_format(f));
    m.gemm_peak[gemm_index(f)] = c.gemm.value;
    if (f == CalibratedFamily::gemm_bf16) m.sixteen_bit_peak = c.gemm16.value;
  }
  return m;
}

std::string_view gemm_format_name(CalibratedFamily f) {
  switch (f) {
    case CalibratedFamily::gemm_fp8:
      return "fp8";
    case CalibratedFamily::gemm_fp8_block128:
      return "fp8-block128";
    case CalibratedFamily::gemm_nvfp4:
      return "nvfp4";
    default:
      return "bf16";
  }
}

/// GEMM Y[m×n] = X[m×k]·Wᵀ: the fastest of the tile shapes and split-K factors the library
/// chooses from. Per choice: thread blocks = ⌈m/tm⌉·⌈n/tn⌉·split, waves over the SMs, each
/// block's time the larger of its FLOPs at the per-SM peak and its operand bytes at the per-SM
/// L2 feed; memory time = weight + activations + output (+ split-K partials) over the attained
/// bandwidth; the two joined by a p-norm. Quantised formats run one kernel without split-K
/// (CUTLASS's fp8 path) after an activation-quantisation pass.
Seconds gemm_model(CalibratedFamily f, const std::vector<double>& p, const ModelGpu& g, const GemmCall& c) {
  const bool quantised = f != CalibratedFamily::gemm_bf16;
  const double launch = p[0] * kMicro, flops_fraction = p[1], bandwidth_fraction = p[2];
  const double feed = p[3] * 1e12, overlap = p[4];
  const double M = c.m, N = c.n, K = c.k;
  // Activations in: quantised to the format's math type first (fp8: 1 B, nvfp4: 0.5 B), else 16-bit.
  const double in_bytes = f == CalibratedFamily::gemm_nvfp4 ? 0.5 : quantised ? 1.0 : 2.0;
  const double peak = g.gemm_peak[gemm_index(f)];
  const double bandwidth = g.bandwidth * bandwidth_fraction;
  const double sms = g.multiprocessors;
  const double per_sm_flops = peak * flops_fraction / sms, per_sm_feed = feed / sms;

  // Largest tiles first: they win most large GEMMs, and what cannot beat the best so far is
  // skipped below (the order does not change the result, only how much is evaluated).
  static constexpr double kTiles[][2] = {{128, 256}, {256, 128}, {128, 128}, {64, 128}, {64, 64}};
  // vLLM's per-tensor fp8 GEMM on Hopper and Blackwell (CUTLASS 3) does not search: it picks one
  // tile by M (64×64 up to 64 rows, 64×128 up to 128, else 128×128).
  const bool bucketed = f == CalibratedFamily::gemm_fp8 && g.cutlass3;
  const double bucket[1][2] = {{M <= 128 ? 64.0 : 128.0, M <= 64 ? 64.0 : 128.0}};
  static constexpr double kSplits[] = {1, 2, 4, 8, 16};
  double best = std::numeric_limits<double>::infinity();
  const double none = std::numeric_limits<double>::infinity();
  double best_compute = none, best_memory = none, best_extra = none;  // the terms of the best choice
  for (const auto& tile : bucketed ? std::span<const double[2]>(bucket) : std::span<const double[2]>(kTiles)) {
    const double tm = tile[0], tn = tile[1];
    const double tiles = std::ceil(M / tm) * std::ceil(N / tn);
    for (double split : kSplits) {
      if (quantised && split > 1) break;
      const double k_part = std::ceil(K / split);
      const double waves = std::ceil(tiles * split / sms);
      const double block_time =
          std::max(2 * tm * tn * k_part / per_sm_flops, (tm + tn) * k_part * in_bytes / per_sm_feed);
      const double partials = split > 1 ? M * N * 4 * split * 2 : 0;  // fp32 written, read back
      const double compute = waves * block_time;
      const double memory = (c.weight_bytes + M * K * in_bytes + M * N * 2 + partials) / bandwidth;
      const double extra = split > 1 ? p[5] * kMicro : 0;
      // A choice that cannot win is not evaluated (the p-norm is the costly part): the p-norm
      // is at least its larger term, and grows with each term.
      if (std::max(compute, memory) + extra >= best) continue;
      if (compute >= best_compute && memory >= best_memory && extra >= best_extra) continue;
      const double t = join(compute, memory, overlap) + extra;
      if (t < best) {
        best = t;
        best_compute = compute;
        best_memory = memory;
        best_extra = extra;
      }
    }
  }
  // Quantising the activation: one thread block per token row, in waves over the SMs, each
  // with a fixed cost and its row's bytes (read 2, write in_bytes per element) at its SM's share.
  const double quantise =
      quantised ? p[5] * kMicro + std::ceil(M / sms) * (p[6] * kMicro + K * (2 + in_bytes) / (bandwidth / sms)) : 0;
  return Seconds{launch + best + quantise};
}

/// Causal prefill from an empty cache: FLOPs 4·B·H·d·pairs at an efficiency that grows with
/// head_dim, never faster than the longest thread block (128 queries over their keys) on one
/// SM; Q, K, V, O bytes over the attained bandwidth; a fixed and a per-sequence cost.
Seconds context_model(const std::vector<double>& p, const ModelGpu& g, const AttentionCall& c) {
  const double B = c.batch, n = c.tokens, H = c.heads, Hkv = c.kv_heads, d = c.head_dim, w = c.window;
  const double window = w > 0 ? w : n;
  const double efficiency = p[2] * d / (d + p[3]);
  const double peak = g.sixteen_bit_peak * efficiency;
  const double flops = 4 * B * H * d * causal_pairs(n, n, w);
  const double longest_block = 4 * 128 * std::min(n, window + 128) * d / (peak / g.multiprocessors);
  const double compute = std::max(flops / peak, longest_block);
  const double memory = B * n * d * (2 * H * 2 + 2 * Hkv * c.kv_bytes) / (g.bandwidth * p[4]);
  return Seconds{p[0] * kMicro + p[1] * kMicro * B + join(compute, memory, p[5])};
}

/// One decode step: thread blocks of one sequence's KV head each (split along the keys when
/// that is faster, at a cost), each with a fixed cost per wave over the SMs; K and V bytes over
/// the bandwidth the busy blocks reach (part from L2 when the kernel is replayed alone, as
/// measured); FLOPs of each KV head's query group padded to the kernel's query tile.
Seconds generation_model(const std::vector<double>& p, const ModelGpu& g, const AttentionCall& c) {
  const double B = c.batch, n = c.tokens, Hkv = c.kv_heads, d = c.head_dim;
  const double keys = c.window > 0 ? std::min(n, c.window) : n;
  const double bytes = B * Hkv * keys * d * 2 * c.kv_bytes;
  const double group = c.heads / Hkv, tile = p[3];
  const double padded_group = std::ceil(group / tile) * tile;
  const double compute = 4 * B * Hkv * padded_group * keys * d / (g.sixteen_bit_peak * p[2]);
  const double hbm = g.bandwidth * p[4], per_block = p[5] * 1e9;
  const double in_l2 = c.cache_hot && bytes > 0 ? std::min(1.0, p[8] * g.l2_bytes / bytes) : 0.0;
  const double bandwidth = 1 / (in_l2 / (p[9] * 1e12) + (1 - in_l2) / hbm);
  double best = std::numeric_limits<double>::infinity();
  for (double split : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0}) {
    const double blocks = B * Hkv * split;
    const double memory = bytes / std::min(bandwidth, blocks * per_block);
    const double waves = std::ceil(blocks / g.multiprocessors);
    const double extra = (split > 1 ? p[7] * kMicro : 0) + waves * p[1] * kMicro;
    if (std::max(compute, memory) + extra < best) best = std::min(best, join(compute, memory, p[6]) + extra);
    // Once the blocks reach the bandwidth, more splits only add blocks and their costs.
    if (blocks * per_block >= bandwidth) break;
  }
  return Seconds{p[0] * kMicro + best};
}

/// nccl-tests' bus bytes: all-reduce moves 2(n−1)/n of the buffer over each link, the others
/// (n−1)/n. The faster of the low-latency and the bandwidth protocol (NCCL's tuner picks one).
Seconds collective_model(CalibratedFamily f, const std::vector<double>& p, const CollectiveCall& c) {
  const double n = c.gpus;
  const double factor = f == CalibratedFamily::all_reduce ? 2 * (n - 1) / n : (n - 1) / n;
  const double bus_bytes = factor * c.bytes;
  const double peers = std::max(0.0, n - 2) * p[4] * kMicro;
  const double shared = std::pow(2 / n, p[5]);
  const double low_latency = p[0] * kMicro + bus_bytes / (p[1] * 1e9 * shared);
  const double simple = p[2] * kMicro + bus_bytes / (p[3] * 1e9 * shared);
  return Seconds{peers + std::min(low_latency, simple)};
}

namespace {

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
    case CalibratedFamily::gemm_bf16:
      return kGemm16;
    case CalibratedFamily::gemm_fp8:
    case CalibratedFamily::gemm_fp8_block128:
    case CalibratedFamily::gemm_nvfp4:
      return kGemmQuantised;
    case CalibratedFamily::context_attention:
      return kContext;
    case CalibratedFamily::generation_attention:
      return kGeneration;
    default:
      return kCollective;
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
      if (r.dtype == "fp16") return CalibratedFamily::gemm_bf16;  // the same 16-bit kernels
      for (CalibratedFamily g : {CalibratedFamily::gemm_bf16, CalibratedFamily::gemm_fp8,
                                 CalibratedFamily::gemm_fp8_block128, CalibratedFamily::gemm_nvfp4})
        if (r.dtype == gemm_format_name(g)) return g;
      return std::nullopt;
    case OperatorFamily::context_attention:
      return CalibratedFamily::context_attention;
    case OperatorFamily::generation_attention:
      return CalibratedFamily::generation_attention;
    case OperatorFamily::nccl:
      return parse_calibrated_family(r.collective);
  }
  return std::nullopt;
}

Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const ModelGpu& g, const OperatorRow& r) {
  auto d = [](std::int64_t v) { return static_cast<double>(v); };
  switch (f) {
    case CalibratedFamily::gemm_bf16:
    case CalibratedFamily::gemm_fp8:
    case CalibratedFamily::gemm_fp8_block128:
    case CalibratedFamily::gemm_nvfp4: {
      const double weight_bytes = tensor_bytes(WeightTensor{"w", r.n, r.k, true}, gemm_format(f)).as_double();
      return gemm_model(f, p, g, GemmCall{d(r.m), d(r.n), d(r.k), weight_bytes});
    }
    case CalibratedFamily::context_attention:
    case CalibratedFamily::generation_attention: {
      const AttentionCall c{
          d(r.batch), d(r.tokens), d(r.heads), d(r.kv_heads), d(r.head_dim), d(r.window), bits_of(r.kv_dtype) / 8.0};
      return f == CalibratedFamily::context_attention ? context_model(p, g, c) : generation_model(p, g, c);
    }
    default:
      return collective_model(f, p, CollectiveCall{d(r.gpus), r.message_bytes});
  }
}

Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r) {
  return modelled_time(f, p, model_gpu(g), r);
}

ExpectedTimes::ExpectedTimes(const GpuSpec& g)
    : gpu_(model_gpu(g)), calibration_(g.calibration.value_or(Calibration{})), id_(next_id()) {
  for (const auto& [family, fc] : calibration_.families) params_[static_cast<int>(family)] = &fc.params;
}

std::uint64_t ExpectedTimes::next_id() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

namespace {

/// One GEMM call of one ExpectedTimes instance.
struct GemmKey {
  std::uint64_t owner;
  int family;
  double m, n, k, weight_bytes;
  bool operator==(const GemmKey&) const = default;
};

struct GemmKeyHash {
  std::size_t operator()(const GemmKey& k) const {
    // The doubles' bits through splitmix64's finaliser (std::hash<double> goes byte by byte).
    auto mix = [](std::uint64_t x) {
      x ^= x >> 30;
      x *= 0xBF58476D1CE4E5B9ull;
      x ^= x >> 27;
      x *= 0x94D049BB133111EBull;
      return x ^ (x >> 31);
    };
    std::uint64_t h = mix(k.owner * 16 + static_cast<std::uint64_t>(k.family));
    for (double v : {k.m, k.n, k.k, k.weight_bytes}) h = mix(h ^ std::bit_cast<std::uint64_t>(v));
    return static_cast<std::size_t>(h);
  }
};

}  // namespace

std::optional<Seconds> ExpectedTimes::gemm(CalibratedFamily f, const GemmCall& c) const {
  const auto* p = params_[static_cast<int>(f)];
  if (!p) return std::nullopt;
  const GemmKey key{id_, static_cast<int>(f), c.m, c.n, c.k, c.weight_bytes};
  // The parts of a fused GEMM (q, k, v; gate, up) ask for the same call one after another.
  struct Recent {
    GemmKey key{};
    double seconds = 0;
  };
  thread_local Recent recent[4];
  thread_local unsigned next = 0;
  for (const Recent& r : recent)
    if (r.key == key) return Seconds{r.seconds};
  auto remember = [&](double seconds) {
    recent[next++ % 4] = Recent{key, seconds};
    return Seconds{seconds};
  };
  // Decode-sized GEMMs repeat (every context of a batch); a prefill's rows (batch × prompt)
  // rarely do, and caching them would only grow the table.
  if (c.m > 16384) return remember(gemm_model(f, *p, gpu_, c).value);
  thread_local std::unordered_map<GemmKey, double, GemmKeyHash> cache;
  if (const auto it = cache.find(key); it != cache.end()) return remember(it->second);
  const Seconds t = gemm_model(f, *p, gpu_, c);
  if (cache.size() > (1u << 20)) cache.clear();  // bounded: a sweep over millions of batches
  cache.emplace(key, t.value);
  return remember(t.value);
}

std::optional<Seconds> ExpectedTimes::grouped_gemm(CalibratedFamily f, const GemmCall& c, double groups) const {
  const auto one = gemm(f, c);
  if (!one || groups <= 1) return one;
  // Paid once per fused kernel, not per expert: the GEMM's launch and, for formats that
  // quantise their activations, the quantisation kernel's fixed cost (one pass over the tokens).
  const std::vector<double>& p = *params_[static_cast<int>(f)];
  const double fixed = (p[0] + (f == CalibratedFamily::gemm_bf16 ? 0.0 : p[5])) * kMicro;
  return Seconds{fixed + groups * (one->value - fixed)};
}

std::optional<Seconds> ExpectedTimes::attention(Phase phase, const AttentionCall& c) const {
  if (c.kv_heads <= 0) return std::nullopt;  // MLA: no calibrated family
  const auto f = phase == Phase::prefill ? CalibratedFamily::context_attention : CalibratedFamily::generation_attention;
  const auto* p = params_[static_cast<int>(f)];
  if (!p) return std::nullopt;
  return phase == Phase::prefill ? context_model(*p, gpu_, c) : generation_model(*p, gpu_, c);
}

std::optional<Seconds> ExpectedTimes::collective(CalibratedFamily f, const CollectiveCall& c) const {
  const auto* p = params_[static_cast<int>(f)];
  if (!p) return std::nullopt;
  return collective_model(f, *p, c);
}

std::shared_ptr<const ExpectedTimes> expected_times_for(const GpuSpec& g, TimeBasis basis) {
  if (basis != TimeBasis::expected || !g.calibration || !g.multiprocessors) return nullptr;
  return std::make_shared<const ExpectedTimes>(g);
}

std::optional<Seconds> ExpectedTimes::kernel_fixed_cost() const {
  const auto* p = params(CalibratedFamily::gemm_bf16);
  if (!p) return std::nullopt;
  return Seconds{(*p)[0] * kMicro};
}

std::optional<Seconds> ExpectedTimes::row(OperatorFamily f, const OperatorRow& r) const {
  const auto family = calibrated_family(f, r);
  if (!family || !params_[static_cast<int>(*family)]) return std::nullopt;
  return modelled_time(*family, *params_[static_cast<int>(*family)], gpu_, r);
}

bool is_held_out(OperatorFamily f, const OperatorRow& r) {
  std::string key;
  switch (f) {
    case OperatorFamily::gemm:
      key = std::to_string(r.n) + "x" + std::to_string(r.k);
      break;
    case OperatorFamily::context_attention:
    case OperatorFamily::generation_attention:
      key = std::to_string(r.heads) + "/" + std::to_string(r.kv_heads) + "/" + std::to_string(r.head_dim);
      break;
    case OperatorFamily::nccl:
      key = std::to_string(static_cast<std::int64_t>(r.message_bytes));
      break;
  }
  return fnv1a(key) % 5 == 0;
}

}  // namespace ridge
