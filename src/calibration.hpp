// A GPU's calibration: the fitted parameters of ridge's efficiency model (efficiency.hpp) per
// operator family, with where they come from. Data only; gpu.hpp holds one per GPU.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ridge {

/// Operators that share one set of fitted parameters on a GPU.
enum class CalibratedFamily {
  gemm_bf16,             ///< 16-bit weights and activations (cuBLAS)
  gemm_fp8,              ///< fp8 weights, per-tensor scales, activation quantised per call
  gemm_fp8_block128,     ///< fp8 weights in 128×128 scaled blocks (DeepSeek-V3's format)
  gemm_nvfp4,            ///< NVFP4 weights and activations (fp4 tensor cores)
  context_attention,     ///< causal prefill (FlashAttention-style)
  generation_attention,  ///< one decode step over a KV cache
  all_reduce,
  all_gather,
  reduce_scatter,
  alltoall,
};

/// The fit of one family and the error it reached on rows it was not fitted to.
struct FamilyCalibration {
  std::vector<double> params;  ///< in parameter_defs(family) order, natural units
  std::size_t rows_used = 0;   ///< training rows
  std::size_t rows_held_out = 0;
  double held_out_median = 0;  ///< median |relative error| on held-out rows
  double held_out_p90 = 0;     ///< 90th percentile of the same
};

struct Calibration {
  std::map<CalibratedFamily, FamilyCalibration> families;
  std::string source;     ///< measurements used (project, commit, licence, folder)
  std::string framework;  ///< what ran the kernels (vLLM 0.24.0, NCCL 2.29.2)
  std::string date;       ///< when the fit was made (YYYY-MM-DD)
  std::string command;    ///< the command that reproduces it
};

}  // namespace ridge
