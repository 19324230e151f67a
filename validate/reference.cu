// The fp32 reference for every attention kernel: one warp per checked query row, two passes
// (max, then exp-sum and Σ p·v), fp32 arithmetic on the same bf16 inputs. Slow and simple on
// purpose: it shares no code or layout trick with the kernels it checks.
#include <cmath>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

constexpr int kWarps = 4;

template <int D>
__global__ void reference_rows(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                               const __nv_bfloat16* __restrict__ v, float* __restrict__ ref,
                               const std::int64_t* __restrict__ rows, std::size_t count, int q_heads, int kv_heads,
                               int nq, int nk, bool causal, float scale) {
  constexpr int E = D / 32;
  __shared__ float qs[kWarps][D];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::size_t idx = static_cast<std::size_t>(blockIdx.x) * kWarps + warp;
  if (idx >= count) return;  // the whole warp leaves together
  const std::int64_t row = rows[idx];
  const int i = static_cast<int>(row % nq);
  const std::int64_t bh = row / nq;
  const int h = static_cast<int>(bh % q_heads);
  const std::int64_t b = bh / q_heads;
  const int kvh = h / (q_heads / kv_heads);
  const __nv_bfloat16* qr = q + static_cast<std::size_t>(row) * D;
  const __nv_bfloat16* kb = k + (static_cast<std::size_t>(b) * kv_heads + kvh) * nk * D;
  const __nv_bfloat16* vb = v + (static_cast<std::size_t>(b) * kv_heads + kvh) * nk * D;
  for (int dd = lane; dd < D; dd += 32) qs[warp][dd] = __bfloat162float(qr[dd]);
  __syncwarp();
  const int limit = causal ? i + (nk - nq) + 1 : nk;  // keys 0 .. limit − 1 are visible

  auto score = [&](int j) {
    float s = 0;
    const __nv_bfloat16* kr = kb + static_cast<std::size_t>(j) * D;
    for (int dd = 0; dd < D; ++dd) s += qs[warp][dd] * __bfloat162float(kr[dd]);
    return s * scale;
  };
  float mx = -INFINITY;
  for (int j = lane; j < limit; j += 32) mx = fmaxf(mx, score(j));
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));

  float l = 0;
  float acc[E];
  for (int e = 0; e < E; ++e) acc[e] = 0;
  for (int j0 = 0; j0 < limit; j0 += 32) {
    const int j = j0 + lane;
    const float p = j < limit ? expf(score(j) - mx) : 0.0f;
    l += p;
    for (int t = 0; t < 32 && j0 + t < limit; ++t) {
      const float pt = __shfl_sync(0xffffffffu, p, t);
      const __nv_bfloat16* vr = vb + static_cast<std::size_t>(j0 + t) * D;
      for (int e = 0; e < E; ++e) acc[e] += pt * __bfloat162float(vr[lane + 32 * e]);
    }
  }
  for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
  for (int e = 0; e < E; ++e) ref[idx * D + lane + 32 * e] = acc[e] / l;
}

}  // namespace

void reference_attention(Context& c, const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, float* ref,
                         const std::int64_t* rows, std::size_t row_count, std::int64_t q_heads, std::int64_t kv_heads,
                         std::int64_t nq, std::int64_t nk, std::int64_t d, bool causal) {
  const unsigned blocks = static_cast<unsigned>((row_count + kWarps - 1) / kWarps);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  if (d == 64)
    reference_rows<64><<<blocks, kWarps * 32, 0, c.stream>>>(q, k, v, ref, rows, row_count, static_cast<int>(q_heads),
                                                             static_cast<int>(kv_heads), static_cast<int>(nq),
                                                             static_cast<int>(nk), causal, scale);
  else if (d == 128)
    reference_rows<128><<<blocks, kWarps * 32, 0, c.stream>>>(q, k, v, ref, rows, row_count, static_cast<int>(q_heads),
                                                              static_cast<int>(kv_heads), static_cast<int>(nq),
                                                              static_cast<int>(nk), causal, scale);
  else
    throw CudaError("reference attention takes head_dim 64 or 128");
  RIDGE_LAUNCHED();
}

}  // namespace ridge::validate::cuda
