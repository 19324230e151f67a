// Decode attention: one new query per sequence and head over a KV cache of `context` tokens,
// split across the context (flash-decoding: each block takes a chunk of keys, a second kernel
// merges the chunks by their log-sum-exp). GQA-aware: a block serves all G query heads of one
// KV head, so each K/V row is read from memory once per group. Memory-bound by design: per
// key it moves 2·d·2 bytes and does 4·d·G FLOPs.
#include <cmath>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

constexpr int kChunk = 256;  // keys per block
constexpr int kWarps = 4;
constexpr int kUnroll = 4;  // keys each warp loads before using them
constexpr float kLog2e = 1.4426950408889634f;

/// Loads the E = D/32 elements of a row this lane owns as floats.
template <int E>
__device__ inline void load_row(const __nv_bfloat16* row, int lane, float (&out)[E]) {
  if constexpr (E == 4) {
    const uint2 raw = *reinterpret_cast<const uint2*>(row + lane * 4);
    const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(&raw.x);
    const __nv_bfloat162 b = *reinterpret_cast<const __nv_bfloat162*>(&raw.y);
    out[0] = __low2float(a);
    out[1] = __high2float(a);
    out[2] = __low2float(b);
    out[3] = __high2float(b);
  } else {
    static_assert(E == 2, "head_dim 64 or 128");
    const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(row + lane * 2);
    out[0] = __low2float(a);
    out[1] = __high2float(a);
  }
}

/// Grid (splits, kv_heads, batch). Writes, per query head and split, the unnormalised output
/// Σ exp2(s − m) v, the chunk max m (log2 domain of scaled scores) and the sum l.
template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32)
    decode_split(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                 const __nv_bfloat16* __restrict__ v, float* __restrict__ part_o, float* __restrict__ part_m,
                 float* __restrict__ part_l, int context, int splits, float scale_log2) {
  constexpr int E = D / 32;
  __shared__ float qs[G][D];
  __shared__ float sc[G][kChunk];
  __shared__ float acc_s[G][D];
  __shared__ float m_s[G], l_s[G];
  const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int kv_heads = gridDim.y, q_heads = kv_heads * G;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int start = split * kChunk, len = min(kChunk, context - start);
  const __nv_bfloat16* kb = k + ((static_cast<std::size_t>(b) * kv_heads + kvh) * context + start) * D;
  const __nv_bfloat16* vb = v + ((static_cast<std::size_t>(b) * kv_heads + kvh) * context + start) * D;

  for (int idx = threadIdx.x; idx < G * D; idx += blockDim.x) {
    const int g = idx / D, dd = idx % D;
    qs[g][dd] = __bfloat162float(q[(static_cast<std::size_t>(b) * q_heads + kvh * G + g) * D + dd]) * scale_log2;
    acc_s[g][dd] = 0.0f;
  }
  __syncthreads();

  // Scores: warp w takes keys w, w + 4, ...; each lane holds E dimensions of the key.
  for (int j0 = warp * kUnroll; j0 < len; j0 += kWarps * kUnroll) {
    float kr[kUnroll][E];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (j0 + u < len) load_row<E>(kb + static_cast<std::size_t>(j0 + u) * D, lane, kr[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (j0 + u >= len) break;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float s = 0;
#pragma unroll
        for (int e = 0; e < E; ++e) s += qs[g][lane * E + e] * kr[u][e];
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) sc[g][j0 + u] = s;
      }
    }
  }
  __syncthreads();

  // Softmax pieces per head: warp w takes heads w, w + 4, ...
  for (int g = warp; g < G; g += kWarps) {
    float mx = -INFINITY;
    for (int j = lane; j < len; j += 32) mx = fmaxf(mx, sc[g][j]);
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0;
    for (int j = lane; j < len; j += 32) {
      const float pv = exp2f(sc[g][j] - mx);
      sc[g][j] = pv;
      sum += pv;
    }
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) {
      m_s[g] = mx;
      l_s[g] = sum;
    }
  }
  __syncthreads();

  // Σ p v: the same key split as the scores; partial sums per warp merged in shared memory.
  float acc[G][E];
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int e = 0; e < E; ++e) acc[g][e] = 0.0f;
  for (int j0 = warp * kUnroll; j0 < len; j0 += kWarps * kUnroll) {
    float vr[kUnroll][E];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (j0 + u < len) load_row<E>(vb + static_cast<std::size_t>(j0 + u) * D, lane, vr[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (j0 + u >= len) break;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float pv = sc[g][j0 + u];
#pragma unroll
        for (int e = 0; e < E; ++e) acc[g][e] += pv * vr[u][e];
      }
    }
  }
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int e = 0; e < E; ++e) atomicAdd(&acc_s[g][lane * E + e], acc[g][e]);
  __syncthreads();

  const int splits_total = splits;
  for (int idx = threadIdx.x; idx < G * D; idx += blockDim.x) {
    const int g = idx / D, dd = idx % D;
    const std::size_t row = (static_cast<std::size_t>(b) * q_heads + kvh * G + g) * splits_total + split;
    part_o[row * D + dd] = acc_s[g][dd];
    if (dd == 0) {
      part_m[row] = m_s[g];
      part_l[row] = l_s[g];
    }
  }
}

/// Grid (q_heads, batch), D threads: O = Σ_s 2^(m_s − M) o_s / Σ_s 2^(m_s − M) l_s.
__global__ void decode_combine(const float* __restrict__ part_o, const float* __restrict__ part_m,
                               const float* __restrict__ part_l, __nv_bfloat16* __restrict__ o, int splits, int d) {
  const std::size_t head = static_cast<std::size_t>(blockIdx.y) * gridDim.x + blockIdx.x;
  const int dd = threadIdx.x;
  float mx = -INFINITY;
  for (int s = 0; s < splits; ++s) mx = fmaxf(mx, part_m[head * splits + s]);
  float num = 0, den = 0;
  for (int s = 0; s < splits; ++s) {
    const float w = exp2f(part_m[head * splits + s] - mx);
    num += w * part_o[(head * splits + s) * d + dd];
    den += w * part_l[head * splits + s];
  }
  o[head * d + dd] = __float2bfloat16(num / den);
}

template <int D, int G>
void launch_decode(Context& c, const DecodeProblem& p, const __nv_bfloat16* q, const __nv_bfloat16* k,
                   const __nv_bfloat16* v, float* po, float* pm, float* pl, __nv_bfloat16* o, int splits) {
  const float scale_log2 = kLog2e / std::sqrt(static_cast<float>(D));
  decode_split<D, G>
      <<<dim3(static_cast<unsigned>(splits), static_cast<unsigned>(p.kv_heads), static_cast<unsigned>(p.batch)),
         kWarps * 32, 0, c.stream>>>(q, k, v, po, pm, pl, static_cast<int>(p.context), splits, scale_log2);
  RIDGE_LAUNCHED();
  decode_combine<<<dim3(static_cast<unsigned>(p.q_heads), static_cast<unsigned>(p.batch)), D, 0, c.stream>>>(
      po, pm, pl, o, splits, D);
  RIDGE_LAUNCHED();
}

template <int D>
bool dispatch_group(Context& c, const DecodeProblem& p, int g, const __nv_bfloat16* q, const __nv_bfloat16* k,
                    const __nv_bfloat16* v, float* po, float* pm, float* pl, __nv_bfloat16* o, int splits) {
  switch (g) {
    case 1:
      launch_decode<D, 1>(c, p, q, k, v, po, pm, pl, o, splits);
      return true;
    case 2:
      launch_decode<D, 2>(c, p, q, k, v, po, pm, pl, o, splits);
      return true;
    case 4:
      launch_decode<D, 4>(c, p, q, k, v, po, pm, pl, o, splits);
      return true;
    case 8:
      launch_decode<D, 8>(c, p, q, k, v, po, pm, pl, o, splits);
      return true;
    case 16:
      launch_decode<D, 16>(c, p, q, k, v, po, pm, pl, o, splits);
      return true;
    default:
      return false;
  }
}

}  // namespace

Measurement run_decode(Context& c, const DecodeProblem& p, const RunConfig& cfg) {
  Measurement m;
  const std::int64_t B = p.batch, n = p.context, H = p.q_heads, Hkv = p.kv_heads, d = p.head_dim;
  const std::int64_t G = Hkv > 0 && H % Hkv == 0 ? H / Hkv : 0;
  if ((d != 64 && d != 128) || (G != 1 && G != 2 && G != 4 && G != 8 && G != 16)) {
    m.status = Status::waived;
    m.note = "the decode kernel takes head_dim 64 or 128 and query groups of 1, 2, 4, 8 or 16";
    return m;
  }
  const int splits = static_cast<int>((n + kChunk - 1) / kChunk);
  const std::size_t q_elems = static_cast<std::size_t>(B * H * d), kv_elems = static_cast<std::size_t>(B * Hkv * n * d);
  const std::size_t parts = static_cast<std::size_t>(B * H) * splits;
  Buffer q(q_elems * 2), k(kv_elems * 2), v(kv_elems * 2), o(q_elems * 2);
  Buffer po(parts * d * 4), pm(parts * 4), pl(parts * 4);
  fill_uniform(c, q.as<__nv_bfloat16>(), q_elems, cfg.seed, 2.5f);
  fill_uniform(c, k.as<__nv_bfloat16>(), kv_elems, cfg.seed + 1, 2.5f);
  fill_uniform(c, v.as<__nv_bfloat16>(), kv_elems, cfg.seed + 2, 1.0f);
  // Q and the K/V cache are read-only: a short decode is timed over rotated copies (time_samples).
  Rotation inputs({&q, &k, &v});
  auto launch = [&](int set) {
    const auto* qs = inputs.at<__nv_bfloat16>(0, set);
    const auto* ks = inputs.at<__nv_bfloat16>(1, set);
    const auto* vs = inputs.at<__nv_bfloat16>(2, set);
    if (d == 64)
      dispatch_group<64>(c, p, static_cast<int>(G), qs, ks, vs, po.as<float>(), pm.as<float>(), pl.as<float>(),
                         o.as<__nv_bfloat16>(), splits);
    else
      dispatch_group<128>(c, p, static_cast<int>(G), qs, ks, vs, po.as<float>(), pm.as<float>(), pl.as<float>(),
                          o.as<__nv_bfloat16>(), splits);
  };
  poison(c, o.as<void>(), o.bytes(), 0xFF);
  launch(0);
  // Scores and probabilities stay fp32 here; only the bf16 output rounds.
  m.check = check_attention(c, o.as<const __nv_bfloat16>(), q.as<const __nv_bfloat16>(), k.as<const __nv_bfloat16>(),
                            v.as<const __nv_bfloat16>(), B, H, Hkv, 1, n, d, /*causal=*/false, cfg.seed, 1e-2);
  if (!m.check.passed()) {
    m.status = Status::failed;
    m.note = "decode attention output does not match the reference";
    return m;
  }
  Timing timing = time_samples(c, cfg, launch, &inputs);
  m.samples_s = std::move(timing.samples_s);
  m.cache_policy = std::move(timing.cache_policy);
  m.note = "split-K over " + std::to_string(splits) + " chunks of " + std::to_string(kChunk) +
           " keys, one block per KV head serves its " + std::to_string(G) + " query heads";
  return m;
}

}  // namespace ridge::validate::cuda
