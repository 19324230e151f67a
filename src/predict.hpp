// Single operators as the measured tables describe them (../shared/measured: gemm,
// context_attention, generation_attention, nccl): reading a table of shapes, each row's
// datasheet-roofline time through the engines every command uses (gemm_op, attention_ops, the
// collective model), and its error against a measured latency when the table carries one.
// A first step of issue 12: the bound only; the calibrated (expected) time comes with a fit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtype.hpp"
#include "gpu.hpp"
#include "roofline.hpp"
#include "units.hpp"

namespace ridge {

enum class OperatorFamily { gemm, context_attention, generation_attention, nccl };
std::string_view to_string(OperatorFamily f);

/// One row of a table; the fields its family uses are set.
struct OperatorRow {
  int line = 0;                      ///< 1-based line in its file
  std::string dtype;                 ///< gemm: the weight format (bf16, fp8, fp8-block128, nvfp4); nccl: element type
  std::int64_t m = 0, n = 0, k = 0;  ///< gemm: Y[m x n] = X[m x k] W^T
  std::int64_t batch = 0;
  std::int64_t tokens = 0;  ///< prompt_tokens (prefill) or kv_tokens (decode: cache + the new token)
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;  ///< per GPU
  std::int64_t window = 0;                             ///< sliding window, 0 = full attention
  DType kv_dtype = DType::bf16;
  std::string collective;  ///< all_reduce, all_gather, reduce_scatter, alltoall
  std::int64_t gpus = 0;
  double message_bytes = 0;
  std::string kernel;  ///< the kernel measured (informational)
  std::optional<double> latency_us;
};

struct OperatorTable {
  OperatorFamily family = OperatorFamily::gemm;
  std::vector<OperatorRow> rows;
  bool measured = false;    ///< every row has latency_us
  bool has_kernel = false;  ///< the table names each row's kernel
};

/// A CSV whose header is one of the measured tables' (columns in any order; `kernel` and
/// `latency_us` optional). InputError at file:line:column for an unknown, missing or repeated
/// column, a wrong field count or a bad value.
OperatorTable read_operator_table(std::string_view text, const std::string& file);

/// The datasheet-roofline time of one row: max(FLOPs / peak, bytes / bandwidth) for GEMMs and
/// attention (a lower bound), ridge's collective model (base latency, hops, bytes over the
/// link) for all_reduce, all_gather, reduce_scatter and alltoall. nullopt: no model for the row.
std::optional<Seconds> operator_bound(const GpuSpec& g, OperatorFamily f, const OperatorRow& r);

/// Ceilings for operators whose weight GEMMs use format `f` (attention: its 16-bit type).
Ceilings format_ceilings(const GpuSpec& g, const WeightFormat& f);

/// Relative errors (predicted − measured) / measured of a set of rows.
struct ErrorSummary {
  std::size_t rows = 0;
  double median_abs = 0;         ///< median of |error|
  double p90_abs = 0;            ///< 90th percentile of |error| (nearest rank)
  double worst = 0;              ///< the error of largest magnitude, signed
  double at_or_above_bound = 0;  ///< fraction of rows measured at or above the prediction
};
ErrorSummary summarize_errors(const std::vector<double>& errors);

/// GEMM rows grouped by M as the summary reports them: "1-16", "17-128", "129-1024", ">1024".
std::string_view m_range(std::int64_t m);

}  // namespace ridge
