// Fused prefill attention in the FlashAttention-2 style (Dao 2023, Algorithm 1): one block per
// 64 query rows of one head, K/V tiles of 64 keys streamed through shared memory, the scores
// and probabilities never leave the chip, softmax kept online (running max m and sum l per
// row, the output rescaled by exp(m_old − m_new) as the max grows). QK^T and PV run on tensor
// cores through WMMA (bf16 in, fp32 accumulate); GQA maps query head h to KV head h / group.
// Written for correctness first: no software pipelining and the output accumulator lives in
// shared memory, so expect it well below cuDNN/FA2 speed.
#include <cmath>
#include <mma.h>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

using namespace nvcuda;

constexpr int BR = 64;  // query rows per block (16 per warp)
constexpr int BC = 64;  // keys per tile
constexpr int kWarps = 4;
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
struct Smem {
  static constexpr int kv_ld = D + 8;  // bf16, +16 bytes against bank conflicts (wmma: multiple of 8)
  static constexpr int s_ld = BC + 4;  // fp32 scores (wmma: multiple of 4)
  static constexpr int p_ld = BC + 8;  // bf16 probabilities
  static constexpr int o_ld = D + 4;   // fp32 output accumulator
  static constexpr std::size_t k_off = 0;
  static constexpr std::size_t v_off = k_off + sizeof(__nv_bfloat16) * BC * kv_ld;
  static constexpr std::size_t s_off = v_off + sizeof(__nv_bfloat16) * BC * kv_ld;
  static constexpr std::size_t p_off = s_off + sizeof(float) * BR * s_ld;
  static constexpr std::size_t o_off = p_off + sizeof(__nv_bfloat16) * BR * p_ld;
  static constexpr std::size_t stat_off = o_off + sizeof(float) * BR * o_ld;
  static constexpr std::size_t bytes = stat_off + sizeof(float) * 3 * BR;
  static_assert(v_off % 32 == 0 && s_off % 32 == 0 && p_off % 32 == 0 && o_off % 32 == 0,
                "wmma needs 256-bit alignment");
};

/// Copies a 64 x D bf16 tile (rows of D contiguous elements, `rows_valid` of them) into shared
/// memory with leading dimension ld, 16 bytes per access.
template <int D>
__device__ void load_tile(__nv_bfloat16* dst, int ld, const __nv_bfloat16* src, int rows_valid) {
  constexpr int vecs_per_row = D / 8;
  for (int idx = threadIdx.x; idx < BC * vecs_per_row; idx += blockDim.x) {
    const int r = idx / vecs_per_row, cv = idx % vecs_per_row;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (r < rows_valid) val = *reinterpret_cast<const uint4*>(src + static_cast<std::size_t>(r) * D + cv * 8);
    *reinterpret_cast<uint4*>(dst + r * ld + cv * 8) = val;
  }
}

template <int D>
__global__ void __launch_bounds__(kWarps * 32)
    flash_forward(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                  const __nv_bfloat16* __restrict__ v, __nv_bfloat16* __restrict__ o, float* __restrict__ lse, int n,
                  int q_heads, int kv_heads, float scale_log2, bool causal) {
  using L = Smem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  auto* ks = reinterpret_cast<__nv_bfloat16*>(smem + L::k_off);
  auto* vs = reinterpret_cast<__nv_bfloat16*>(smem + L::v_off);
  auto* ss = reinterpret_cast<float*>(smem + L::s_off);
  auto* ps = reinterpret_cast<__nv_bfloat16*>(smem + L::p_off);
  auto* os = reinterpret_cast<float*>(smem + L::o_off);
  float* row_m = reinterpret_cast<float*>(smem + L::stat_off);  // running max, log2 domain of scaled scores
  float* row_l = row_m + BR;                                    // running sum of exp2
  float* row_a = row_l + BR;                                    // this tile's rescale factor

  const int q_tile = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (q_heads / kv_heads);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = q_tile * BR;
  const __nv_bfloat16* qg = q + (static_cast<std::size_t>(b) * q_heads + h) * n * D + static_cast<std::size_t>(q0) * D;
  const __nv_bfloat16* kg = k + (static_cast<std::size_t>(b) * kv_heads + kvh) * n * D;
  const __nv_bfloat16* vg = v + (static_cast<std::size_t>(b) * kv_heads + kvh) * n * D;

  // Q tile through the K buffer into registers (one A fragment per 16 columns of D).
  load_tile<D>(ks, L::kv_ld, qg, min(BR, n - q0));
  for (int idx = threadIdx.x; idx < BR * L::o_ld; idx += blockDim.x) os[idx] = 0.0f;
  if (threadIdx.x < BR) {
    row_m[threadIdx.x] = -INFINITY;
    row_l[threadIdx.x] = 0.0f;
  }
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> qf[D / 16];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) wmma::load_matrix_sync(qf[kk], ks + warp * 16 * L::kv_ld + kk * 16, L::kv_ld);

  const int tiles = causal ? q_tile + 1 : (n + BC - 1) / BC;  // causal: keys up to the last query of this tile
  for (int t = 0; t < tiles; ++t) {
    const int k0 = t * BC;
    __syncthreads();  // everyone is done with the previous K/V tile (and the Q staging)
    load_tile<D>(ks, L::kv_ld, kg + static_cast<std::size_t>(k0) * D, min(BC, n - k0));
    load_tile<D>(vs, L::kv_ld, vg + static_cast<std::size_t>(k0) * D, min(BC, n - k0));
    __syncthreads();

    // S (16 rows of this warp x 64 keys) = Q K^T.
#pragma unroll
    for (int j = 0; j < BC / 16; ++j) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, ks + j * 16 * L::kv_ld + kk * 16, L::kv_ld);
        wmma::mma_sync(acc, qf[kk], kf, acc);
      }
      wmma::store_matrix_sync(ss + warp * 16 * L::s_ld + j * 16, acc, L::s_ld, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: two lanes per row, 32 keys each.
    {
      const int r = warp * 16 + lane / 2, half = lane % 2;
      const int qi = q0 + r;
      float* srow = ss + r * L::s_ld + half * 32;
      float tile_max = -INFINITY;
      for (int c = 0; c < 32; ++c) {
        const int kj = k0 + half * 32 + c;
        const bool masked = kj >= n || (causal && kj > qi);
        const float x = masked ? -INFINITY : srow[c] * scale_log2;
        srow[c] = x;
        tile_max = fmaxf(tile_max, x);
      }
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      const float m_old = row_m[r];
      const float m_new = fmaxf(m_old, tile_max);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet
      const float alpha = exp2f(m_old - m_use);               // 0 on the first tile
      float sum = 0;
      __nv_bfloat16* prow = ps + r * L::p_ld + half * 32;
      for (int c = 0; c < 32; ++c) {
        const float pv = exp2f(srow[c] - m_use);
        prow[c] = __float2bfloat16(pv);
        sum += pv;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      __syncwarp();
      if (half == 0) {
        row_m[r] = m_new;
        row_l[r] = row_l[r] * alpha + sum;
        row_a[r] = alpha;
      }
    }
    __syncwarp();

    // Rescale this warp's output rows, then O += P V.
    for (int idx = lane; idx < 16 * D; idx += 32) {
      const int r = warp * 16 + idx / D, c = idx % D;
      os[r * L::o_ld + c] *= row_a[r];
    }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> pf[BC / 16];
#pragma unroll
    for (int kk = 0; kk < BC / 16; ++kk) wmma::load_matrix_sync(pf[kk], ps + warp * 16 * L::p_ld + kk * 16, L::p_ld);
#pragma unroll
    for (int cb = 0; cb < D / 16; ++cb) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      float* optr = os + warp * 16 * L::o_ld + cb * 16;
      wmma::load_matrix_sync(acc, optr, L::o_ld, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < BC / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vf;
        wmma::load_matrix_sync(vf, vs + kk * 16 * L::kv_ld + cb * 16, L::kv_ld);
        wmma::mma_sync(acc, pf[kk], vf, acc);
      }
      wmma::store_matrix_sync(optr, acc, L::o_ld, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // O = acc / l, and the log-sum-exp (natural log) per row.
  __nv_bfloat16* og = o + (static_cast<std::size_t>(b) * q_heads + h) * n * D;
  for (int idx = lane; idx < 16 * D; idx += 32) {
    const int r = warp * 16 + idx / D, c = idx % D;
    if (q0 + r < n) og[static_cast<std::size_t>(q0 + r) * D + c] = __float2bfloat16(os[r * L::o_ld + c] / row_l[r]);
  }
  if (lane < 16) {
    const int r = warp * 16 + lane;
    if (q0 + r < n)
      lse[(static_cast<std::size_t>(b) * q_heads + h) * n + q0 + r] = (row_m[r] + log2f(row_l[r])) / kLog2e;
  }
}

template <int D>
void launch_flash(Context& c, const AttentionProblem& p, const __nv_bfloat16* q, const __nv_bfloat16* k,
                  const __nv_bfloat16* v, __nv_bfloat16* o, float* lse) {
  const dim3 grid(static_cast<unsigned>((p.seq + BR - 1) / BR), static_cast<unsigned>(p.q_heads),
                  static_cast<unsigned>(p.batch));
  const float scale_log2 = kLog2e / std::sqrt(static_cast<float>(D));
  flash_forward<D><<<grid, kWarps * 32, Smem<D>::bytes, c.stream>>>(q, k, v, o, lse, static_cast<int>(p.seq),
                                                                    static_cast<int>(p.q_heads),
                                                                    static_cast<int>(p.kv_heads), scale_log2, p.causal);
  RIDGE_LAUNCHED();
}

}  // namespace

Measurement run_attention_flash(Context& c, const AttentionProblem& p, const RunConfig& cfg) {
  Measurement m;
  if (p.head_dim != 64 && p.head_dim != 128) {
    m.status = Status::waived;
    m.note = "the fused kernel takes head_dim 64 or 128";
    return m;
  }
  if (p.seq % BR != 0) {
    m.status = Status::waived;
    m.note = "the fused kernel takes sequence lengths that are multiples of 64";
    return m;
  }
  if (p.q_heads % p.kv_heads != 0) throw CudaError("query heads must be a multiple of KV heads");
  const std::size_t smem = p.head_dim == 64 ? Smem<64>::bytes : Smem<128>::bytes;
  RIDGE_CUDA(cudaFuncSetAttribute(flash_forward<64>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(Smem<64>::bytes)));
  RIDGE_CUDA(cudaFuncSetAttribute(flash_forward<128>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(Smem<128>::bytes)));
  const std::int64_t B = p.batch, n = p.seq, H = p.q_heads, Hkv = p.kv_heads, d = p.head_dim;
  const std::size_t q_elems = static_cast<std::size_t>(B * H * n * d),
                    kv_elems = static_cast<std::size_t>(B * Hkv * n * d);
  Buffer q(q_elems * 2), k(kv_elems * 2), v(kv_elems * 2), o(q_elems * 2), lse(static_cast<std::size_t>(B * H * n) * 4);
  fill_uniform(c, q.as<__nv_bfloat16>(), q_elems, cfg.seed, 2.5f);
  fill_uniform(c, k.as<__nv_bfloat16>(), kv_elems, cfg.seed + 1, 2.5f);
  fill_uniform(c, v.as<__nv_bfloat16>(), kv_elems, cfg.seed + 2, 1.0f);
  // Q, K and V are read-only: a short prefill is timed over rotated copies (time_samples).
  Rotation inputs({&q, &k, &v});
  auto launch = [&](int set) {
    const auto* qs = inputs.at<__nv_bfloat16>(0, set);
    const auto* ks = inputs.at<__nv_bfloat16>(1, set);
    const auto* vs = inputs.at<__nv_bfloat16>(2, set);
    if (d == 64)
      launch_flash<64>(c, p, qs, ks, vs, o.as<__nv_bfloat16>(), lse.as<float>());
    else
      launch_flash<128>(c, p, qs, ks, vs, o.as<__nv_bfloat16>(), lse.as<float>());
  };
  poison(c, o.as<void>(), o.bytes(), 0xFF);
  launch(0);
  // P is rounded to bf16 before PV (as FlashAttention-2 does): ~2^-9 relative per term.
  m.check = check_attention(c, o.as<const __nv_bfloat16>(), q.as<const __nv_bfloat16>(), k.as<const __nv_bfloat16>(),
                            v.as<const __nv_bfloat16>(), B, H, Hkv, n, n, d, p.causal, cfg.seed, 2e-2);
  if (!m.check.passed()) {
    m.status = Status::failed;
    m.note = "fused attention output does not match the reference";
    return m;
  }
  Timing timing = time_samples(c, cfg, launch, &inputs);
  m.samples_s = std::move(timing.samples_s);
  m.cache_policy = std::move(timing.cache_policy);
  m.note = "fused WMMA bf16 kernel, 64 x 64 tiles, " + std::to_string(smem / 1024) + " KiB shared memory per block";
  return m;
}

}  // namespace ridge::validate::cuda
