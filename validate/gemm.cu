// Weight GEMMs through cuBLASLt: Y[m x n] = X[m x k] W^T with W stored n x k, as a linear layer.
// In cuBLAS's column-major terms that is D (n x m) = op(A) B with A = W (k x n, transposed)
// and B = X (k x m): the "TN" layout fp8 and int8 tensor-core kernels require.
#include <cmath>

#include "cuda_util.cuh"

namespace ridge::validate::cuda {
namespace {

struct Types {
  cudaDataType_t in, out, scale;
  cublasComputeType_t compute;
  std::size_t in_bytes, out_bytes;
  double threshold;  ///< relative error allowed against the fp32/int reference
  const char* what;
};

Types types_of(GemmType t) {
  switch (t) {
    // Output rounding dominates: bf16 keeps 8 significant bits (2^-9 relative), fp16 11.
    case GemmType::bf16:
      return {CUDA_R_16BF, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 2, 2, 1e-2, "bf16 in/out, fp32 accumulate"};
    case GemmType::fp16:
      return {CUDA_R_16F, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 2, 2, 5e-3, "fp16 in/out, fp32 accumulate"};
    // The reference reads the same e4m3 inputs, so only accumulation and the bf16 output differ.
    case GemmType::fp8:
      return {CUDA_R_8F_E4M3,
              CUDA_R_16BF,
              CUDA_R_32F,
              CUBLAS_COMPUTE_32F,
              1,
              2,
              1e-2,
              "fp8 e4m3 in, bf16 out, fp32 accumulate"};
    // Integer products summed in int32: exact.
    case GemmType::int8:
      return {CUDA_R_8I, CUDA_R_32I, CUDA_R_32I, CUBLAS_COMPUTE_32I, 1, 4, 0.0, "int8 in, int32 out and accumulate"};
  }
  throw CudaError("unknown GEMM type");
}

/// fp32 (int8: exact 64-bit integer) reference: C[m][n] = Σ_k X[m][k] W[n][k], 16 x 16 tiles.
template <class TI, class TA, class TR>
__global__ void reference_gemm(const TI* __restrict__ x, const TI* __restrict__ w, TR* __restrict__ c, int m, int n,
                               int k) {
  __shared__ TA xs[16][17];
  __shared__ TA ws[16][17];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int row = blockIdx.y * 16 + ty;   // m
  const int col = blockIdx.x * 16 + tx;   // n
  const int wrow = blockIdx.x * 16 + ty;  // the W row this thread stages
  TA acc = 0;
  for (int k0 = 0; k0 < k; k0 += 16) {
    xs[ty][tx] =
        (row < m && k0 + tx < k) ? static_cast<TA>(to_float(x[static_cast<std::size_t>(row) * k + k0 + tx])) : TA(0);
    ws[ty][tx] =
        (wrow < n && k0 + tx < k) ? static_cast<TA>(to_float(w[static_cast<std::size_t>(wrow) * k + k0 + tx])) : TA(0);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < 16; ++kk) acc += xs[ty][kk] * ws[tx][kk];
    __syncthreads();
  }
  if (row < m && col < n) c[static_cast<std::size_t>(row) * n + col] = static_cast<TR>(acc);
}

struct LtDesc {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDesc() {
    if (pref) blas().cublasLtMatmulPreferenceDestroy(pref);
    if (c) blas().cublasLtMatrixLayoutDestroy(c);
    if (b) blas().cublasLtMatrixLayoutDestroy(b);
    if (a) blas().cublasLtMatrixLayoutDestroy(a);
    if (op) blas().cublasLtMatmulDescDestroy(op);
  }
};

template <class TI, class TO, class TA, class TR>
Check check_gemm(Context& c, const void* x, const void* w, const void* y, const GemmProblem& p, double threshold) {
  const std::size_t elems = static_cast<std::size_t>(p.m) * p.n;
  Buffer ref(elems * sizeof(TR));
  const dim3 block(16, 16), grid(static_cast<unsigned>((p.n + 15) / 16), static_cast<unsigned>((p.m + 15) / 16));
  reference_gemm<TI, TA, TR><<<grid, block, 0, c.stream>>>(static_cast<const TI*>(x), static_cast<const TI*>(w),
                                                           ref.as<TR>(), static_cast<int>(p.m), static_cast<int>(p.n),
                                                           static_cast<int>(p.k));
  RIDGE_LAUNCHED();
  Check k = compare_outputs<TO, TR>(c, static_cast<const TO*>(y), ref.as<const TR>(), elems, nullptr, 0, 1);
  k.threshold = threshold;
  k.reference = std::is_same_v<TA, long long> ? "exact integer GPU reference GEMM (64-bit accumulation)"
                                              : "fp32 GPU reference GEMM on the same inputs";
  return k;
}

}  // namespace

Measurement run_gemm(Context& c, const GemmProblem& p, const RunConfig& cfg) {
  Measurement m;
  const Types t = types_of(p.type);
  if (p.type == GemmType::fp8 && !c.info.has_fp8()) {
    m.status = Status::waived;
    m.note = "fp8 needs compute capability 8.9 or 9.0+";
    return m;
  }
  const std::size_t xs = static_cast<std::size_t>(p.m) * p.k, ws = static_cast<std::size_t>(p.n) * p.k,
                    ys = static_cast<std::size_t>(p.m) * p.n;
  Buffer x(xs * t.in_bytes), w(ws * t.in_bytes), y(ys * t.out_bytes);
  switch (p.type) {
    case GemmType::bf16:
      fill_uniform(c, x.as<__nv_bfloat16>(), xs, cfg.seed, 1.0f);
      fill_uniform(c, w.as<__nv_bfloat16>(), ws, cfg.seed + 1, 1.0f);
      break;
    case GemmType::fp16:
      fill_uniform(c, x.as<__half>(), xs, cfg.seed, 1.0f);
      fill_uniform(c, w.as<__half>(), ws, cfg.seed + 1, 1.0f);
      break;
    case GemmType::fp8:
      fill_uniform(c, x.as<__nv_fp8_e4m3>(), xs, cfg.seed, 4.0f);
      fill_uniform(c, w.as<__nv_fp8_e4m3>(), ws, cfg.seed + 1, 4.0f);
      break;
    case GemmType::int8:
      fill_uniform(c, x.as<std::int8_t>(), xs, cfg.seed, 0);
      fill_uniform(c, w.as<std::int8_t>(), ws, cfg.seed + 1, 0);
      break;
  }

  LtDesc d;
  RIDGE_CUBLAS(blas().cublasLtMatmulDescCreate(&d.op, t.compute, t.scale));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  RIDGE_CUBLAS(blas().cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  RIDGE_CUBLAS(blas().cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  RIDGE_CUBLAS(blas().cublasLtMatrixLayoutCreate(&d.a, t.in, p.k, p.n, p.k));
  RIDGE_CUBLAS(blas().cublasLtMatrixLayoutCreate(&d.b, t.in, p.k, p.m, p.k));
  RIDGE_CUBLAS(blas().cublasLtMatrixLayoutCreate(&d.c, t.out, p.n, p.m, p.n));
  RIDGE_CUBLAS(blas().cublasLtMatmulPreferenceCreate(&d.pref));
  const std::size_t ws_bytes = c.workspace.bytes();
  RIDGE_CUBLAS(blas().cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                           sizeof ws_bytes));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  const cublasStatus_t hs =
      blas().cublasLtMatmulAlgoGetHeuristic(c.lt, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &heur, &found);
  if (hs != CUBLAS_STATUS_SUCCESS || found == 0) {
    m.status = Status::waived;
    m.note =
        std::string("cuBLASLt offers no algorithm for this shape and type (") + blas().cublasGetStatusString(hs) + ")";
    return m;
  }
  const float alpha_f = 1.0f, beta_f = 0.0f;
  const std::int32_t alpha_i = 1, beta_i = 0;
  const void* alpha = p.type == GemmType::int8 ? static_cast<const void*>(&alpha_i) : &alpha_f;
  const void* beta = p.type == GemmType::int8 ? static_cast<const void*>(&beta_i) : &beta_f;
  // W and X are read-only: a small GEMM is timed over rotated copies of them (time_samples).
  Rotation inputs({&w, &x});
  auto launch = [&](int set) {
    RIDGE_CUBLAS(blas().cublasLtMatmul(c.lt, d.op, alpha, inputs.at<void>(0, set), d.a, inputs.at<void>(1, set), d.b,
                                       beta, y.as<void>(), d.c, y.as<void>(), d.c, &heur.algo, c.workspace.as<void>(),
                                       ws_bytes, c.stream));
  };

  poison(c, y.as<void>(), y.bytes(), p.type == GemmType::int8 ? 0x80 : 0xFF);
  launch(0);
  switch (p.type) {
    case GemmType::bf16:
      m.check = check_gemm<__nv_bfloat16, __nv_bfloat16, float, float>(c, x.as<void>(), w.as<void>(), y.as<void>(), p,
                                                                       t.threshold);
      break;
    case GemmType::fp16:
      m.check = check_gemm<__half, __half, float, float>(c, x.as<void>(), w.as<void>(), y.as<void>(), p, t.threshold);
      break;
    case GemmType::fp8:
      m.check = check_gemm<__nv_fp8_e4m3, __nv_bfloat16, float, float>(c, x.as<void>(), w.as<void>(), y.as<void>(), p,
                                                                       t.threshold);
      break;
    case GemmType::int8:
      m.check = check_gemm<std::int8_t, std::int32_t, long long, std::int32_t>(c, x.as<void>(), w.as<void>(),
                                                                               y.as<void>(), p, t.threshold);
      break;
  }
  if (!m.check.passed()) {
    m.status = Status::failed;
    m.note = std::string("cuBLASLt output does not match the reference (") + t.what + ")";
    return m;
  }
  Timing timing = time_samples(c, cfg, launch, &inputs);
  m.samples_s = std::move(timing.samples_s);
  m.cache_policy = std::move(timing.cache_policy);
  m.note = std::string("cuBLASLt, ") + t.what;
  return m;
}

}  // namespace ridge::validate::cuda
