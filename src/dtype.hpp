// Number formats: element types, weight storage formats (with quantisation scale overhead)
// and the KV-cache element type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ridge {

/// An element type as the hardware computes or stores it.
enum class DType { fp32, tf32, bf16, fp16, fp8, int8, int4, fp4 };

std::string_view to_string(DType t);
/// Storage bits of one element.
int bits_of(DType t);
std::optional<DType> parse_dtype(std::string_view name);

/// How scales are attached to quantised weights.
enum class ScaleGranularity {
  none,     ///< no scales (native 16/32-bit weights)
  tensor,   ///< one fp32 scale per weight matrix (FP8 per-tensor, as vLLM's fp8 checkpoints)
  channel,  ///< one scale per output channel (int8 W8A8, SmoothQuant-style)
  group,    ///< one scale (and zero point) per `group_size` consecutive inputs of each row
  block,    ///< one scale per group_size x group_size tile (DeepSeek-V3 FP8, 128 x 128)
};

/// How the transformer's linear weights are stored and which math unit runs them.
/// Embeddings, norms, biases, the router and the LM head stay in `unquantised`
/// (what AWQ/GPTQ/FP8 checkpoints and vLLM do: they quantise the decoder's linear layers).
struct WeightFormat {
  std::string name;      ///< "bf16", "int4", ...
  int weight_bits = 16;  ///< bits per stored weight
  ScaleGranularity scales = ScaleGranularity::none;
  int group_size = 0;                  ///< inputs per scale group (group granularity only)
  int scale_bits = 0;                  ///< bits per scale
  int zero_bits = 0;                   ///< bits per zero point (asymmetric schemes), 0 if symmetric
  DType compute = DType::bf16;         ///< the tensor-core type the GEMM runs in
  DType unquantised = DType::bf16;     ///< type of tensors that are not quantised
  bool activations_quantised = false;  ///< W8A8/W4A4 (true) vs weight-only W4A16 (false)
  int tensor_scale_bits = 0;           ///< extra bits per quantised tensor (NVFP4's two fp32 global scales)
  /// 4-bit floating-point weights: `compute` needs fp4 tensor cores (Blackwell); elsewhere
  /// serving engines dequantise them to 16-bit math (vLLM's Marlin W4A16 path).
  bool fp4_weights = false;
  /// Only the routed experts are quantised (gpt-oss ships MXFP4 experts and bf16 attention:
  /// quantization_config.modules_to_not_convert); everything else stays `unquantised`.
  bool experts_only = false;

  /// "W4A16" style label.
  std::string scheme() const;
};

/// The weight formats ridge knows, by name: fp32, bf16, fp16, fp8, fp8-block128, int8,
/// int8-w8a16, int4, int4-sym, nvfp4, mxfp4. `group_size` overrides the default group for group-quantised formats.
std::optional<WeightFormat> weight_format(std::string_view name, std::optional<int> group_size = {});
std::vector<std::string> weight_format_names();

/// KV-cache element types users can choose.
std::vector<std::string> kv_dtype_names();

}  // namespace ridge
