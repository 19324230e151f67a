// Naive attention, as eager frameworks run it: S = Q K^T / sqrt(d) through cuBLAS (strided
// batched, one call per position in the query group so each call's K stride is regular),
// the full n x n score matrix in memory (bf16), a row softmax kernel (causal mask optional)
// writing P (bf16), then O = P V through cuBLAS. cuBLAS computes the masked half too.
#include <cmath>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

constexpr int kSoftmaxThreads = 256;

/// One block per score row: the row is staged in shared memory once (bf16), so S is read
/// once and P written once. Masked keys (j > i under causal) get probability 0.
__global__ void softmax_rows(const __nv_bfloat16* __restrict__ s, __nv_bfloat16* __restrict__ p, int n, bool causal) {
  extern __shared__ __nv_bfloat16 row[];
  __shared__ float red[32];
  const std::size_t r = blockIdx.x;
  const int i = static_cast<int>(r % n);  // query position
  const int keys = causal ? i + 1 : n;
  const __nv_bfloat16* src = s + r * n;
  __nv_bfloat16* dst = p + r * n;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;

  float mx = -INFINITY;
  for (int j = threadIdx.x; j < keys; j += blockDim.x) {
    row[j] = src[j];
    mx = fmaxf(mx, __bfloat162float(row[j]));
  }
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  if (lane == 0) red[warp] = mx;
  __syncthreads();
  mx = -INFINITY;
  for (int w = 0; w < warps; ++w) mx = fmaxf(mx, red[w]);
  __syncthreads();

  float sum = 0;
  for (int j = threadIdx.x; j < keys; j += blockDim.x) sum += __expf(__bfloat162float(row[j]) - mx);
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) red[warp] = sum;
  __syncthreads();
  sum = 0;
  for (int w = 0; w < warps; ++w) sum += red[w];
  const float inv = 1.0f / sum;

  for (int j = threadIdx.x; j < n; j += blockDim.x)
    dst[j] = j < keys ? __float2bfloat16(__expf(__bfloat162float(row[j]) - mx) * inv) : __float2bfloat16(0.0f);
}

}  // namespace

Measurement run_attention_naive(Context& c, const AttentionProblem& p, const RunConfig& cfg) {
  Measurement m;
  const std::int64_t B = p.batch, n = p.seq, H = p.q_heads, Hkv = p.kv_heads, d = p.head_dim;
  if (H % Hkv != 0) throw CudaError("query heads must be a multiple of KV heads");
  const std::int64_t G = H / Hkv;
  if (static_cast<std::size_t>(n) * sizeof(__nv_bfloat16) > 96 * 1024) {
    m.status = Status::waived;
    m.note = "the softmax kernel stages a row of at most 49,152 scores in shared memory";
    return m;
  }
  const std::size_t q_elems = static_cast<std::size_t>(B * H * n * d),
                    kv_elems = static_cast<std::size_t>(B * Hkv * n * d);
  const std::size_t s_elems = static_cast<std::size_t>(B * H) * n * n;
  Buffer q(q_elems * 2), k(kv_elems * 2), v(kv_elems * 2), o(q_elems * 2), s(s_elems * 2), pr(s_elems * 2);
  // Q and K span ±2.5 so that scaled scores have a spread of ~2 (a peaked softmax that a wrong
  // mask or normalisation changes visibly); V is zero-mean.
  fill_uniform(c, q.as<__nv_bfloat16>(), q_elems, cfg.seed, 2.5f);
  fill_uniform(c, k.as<__nv_bfloat16>(), kv_elems, cfg.seed + 1, 2.5f);
  fill_uniform(c, v.as<__nv_bfloat16>(), kv_elems, cfg.seed + 2, 1.0f);

  const std::size_t smem = static_cast<std::size_t>(n) * sizeof(__nv_bfloat16);
  if (smem > 48 * 1024)
    RIDGE_CUDA(cudaFuncSetAttribute(softmax_rows, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const float scale = 1.0f / std::sqrt(static_cast<float>(d)), one = 1.0f, zero = 0.0f;
  const int batches = static_cast<int>(B * Hkv);
  const long long nd = n * d, nn = n * n;

  // Not rotated: it writes and rereads its score matrices within each launch, so copies of Q, K
  // and V alone would not make back-to-back launches cold; every sample is one flushed launch.
  auto launch = [&](int /*set*/) {
    for (std::int64_t g = 0; g < G; ++g) {
      // S^T (col-major n_k x n_q) = K (op T of col-major d x n_k) * Q (col-major d x n_q).
      RIDGE_CUBLAS(blas().cublasGemmStridedBatchedEx(
          c.blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(n), static_cast<int>(d), &scale,
          k.as<__nv_bfloat16>(), CUDA_R_16BF, static_cast<int>(d), nd, q.as<__nv_bfloat16>() + g * nd, CUDA_R_16BF,
          static_cast<int>(d), G * nd, &zero, s.as<__nv_bfloat16>() + g * nn, CUDA_R_16BF, static_cast<int>(n), G * nn,
          batches, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    softmax_rows<<<static_cast<unsigned>(B * H * n), kSoftmaxThreads, smem, c.stream>>>(
        s.as<const __nv_bfloat16>(), pr.as<__nv_bfloat16>(), static_cast<int>(n), p.causal);
    RIDGE_LAUNCHED();
    for (std::int64_t g = 0; g < G; ++g) {
      // O^T (col-major d x n_q) = V (col-major d x n_k) * P^T (col-major n_k x n_q).
      RIDGE_CUBLAS(blas().cublasGemmStridedBatchedEx(
          c.blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(d), static_cast<int>(n), static_cast<int>(n), &one,
          v.as<__nv_bfloat16>(), CUDA_R_16BF, static_cast<int>(d), nd, pr.as<__nv_bfloat16>() + g * nn, CUDA_R_16BF,
          static_cast<int>(n), G * nn, &zero, o.as<__nv_bfloat16>() + g * nd, CUDA_R_16BF, static_cast<int>(d), G * nd,
          batches, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
  };

  poison(c, o.as<void>(), o.bytes(), 0xFF);
  launch(0);
  // Scores and probabilities rounded to bf16 add ~2^-9 relative error per term.
  m.check = check_attention(c, o.as<const __nv_bfloat16>(), q.as<const __nv_bfloat16>(), k.as<const __nv_bfloat16>(),
                            v.as<const __nv_bfloat16>(), B, H, Hkv, n, n, d, p.causal, cfg.seed, 2e-2);
  if (!m.check.passed()) {
    m.status = Status::failed;
    m.note = "naive attention output does not match the reference";
    return m;
  }
  Timing timing = time_samples(c, cfg, launch);
  m.samples_s = std::move(timing.samples_s);
  m.cache_policy = std::move(timing.cache_policy);
  m.note = "cuBLAS strided-batched QK^T and PV (" + std::to_string(G) +
           " calls each), bf16 scores in memory, softmax kernel";
  return m;
}

}  // namespace ridge::validate::cuda
