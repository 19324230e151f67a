#include "dtype.hpp"

namespace ridge {

std::string_view to_string(DType t) {
  switch (t) {
    case DType::fp32:
      return "fp32";
    case DType::tf32:
      return "tf32";
    case DType::bf16:
      return "bf16";
    case DType::fp16:
      return "fp16";
    case DType::fp8:
      return "fp8";
    case DType::int8:
      return "int8";
    case DType::int4:
      return "int4";
    case DType::fp4:
      return "fp4";
  }
  return "?";
}

int bits_of(DType t) {
  switch (t) {
    case DType::fp32:
    case DType::tf32:
      return 32;
    case DType::bf16:
    case DType::fp16:
      return 16;
    case DType::fp8:
    case DType::int8:
      return 8;
    case DType::int4:
    case DType::fp4:
      return 4;
  }
  return 0;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : {DType::fp32, DType::tf32, DType::bf16, DType::fp16, DType::fp8, DType::int8, DType::int4, DType::fp4})
    if (to_string(t) == name) return t;
  return std::nullopt;
}

std::string WeightFormat::scheme() const {
  const int act_bits = activations_quantised ? bits_of(compute) : bits_of(unquantised);
  return "W" + std::to_string(weight_bits) + "A" + std::to_string(act_bits);
}

std::optional<WeightFormat> weight_format(std::string_view name, std::optional<int> group_size) {
  WeightFormat f;
  f.name = std::string(name);
  if (name == "fp32") {
    f.weight_bits = 32;
    f.compute = f.unquantised = DType::fp32;
  } else if (name == "bf16") {
    f.weight_bits = 16;
    f.compute = f.unquantised = DType::bf16;
  } else if (name == "fp16") {
    f.weight_bits = 16;
    f.compute = f.unquantised = DType::fp16;
  } else if (name == "fp8") {
    // FP8 E4M3 weights and activations with per-tensor fp32 scales (vLLM "fp8").
    f.weight_bits = 8;
    f.scales = ScaleGranularity::tensor;
    f.scale_bits = 32;
    f.compute = DType::fp8;
    f.activations_quantised = true;
  } else if (name == "fp8-block128") {
    // FP8 E4M3 with one fp32 scale per 128 x 128 weight block (DeepSeek-V3, Qwen3-FP8), W8A8.
    f.weight_bits = 8;
    f.scales = ScaleGranularity::block;
    f.group_size = 128;
    f.scale_bits = 32;
    f.compute = DType::fp8;
    f.activations_quantised = true;
  } else if (name == "int8") {
    // W8A8 int8 (SmoothQuant / compressed-tensors): per-output-channel fp32 scales.
    f.weight_bits = 8;
    f.scales = ScaleGranularity::channel;
    f.scale_bits = 32;
    f.compute = DType::int8;
    f.activations_quantised = true;
  } else if (name == "int8-w8a16") {
    // Weight-only int8 (e.g. bitsandbytes LLM.int8-style storage): dequantised to bf16 math.
    f.weight_bits = 8;
    f.scales = ScaleGranularity::channel;
    f.scale_bits = 16;
    f.compute = DType::bf16;
  } else if (name == "int4") {
    // AWQ/GPTQ: 4-bit weights, per group of 128 inputs an fp16 scale and a packed 4-bit zero
    // point: 4 + (16 + 4) / 128 = 4.156 bits per weight.
    f.weight_bits = 4;
    f.scales = ScaleGranularity::group;
    f.group_size = group_size.value_or(128);
    f.scale_bits = 16;
    f.zero_bits = 4;
    f.compute = DType::bf16;
  } else if (name == "int4-sym") {
    // Symmetric group quantisation (GPTQ sym=true, Marlin): no zero points.
    f.weight_bits = 4;
    f.scales = ScaleGranularity::group;
    f.group_size = group_size.value_or(128);
    f.scale_bits = 16;
    f.compute = DType::bf16;
  } else if (name == "nvfp4") {
    // NVFP4: E2M1 values with an FP8 (E4M3) scale per 16 elements = 4.5 bits per weight, plus
    // per tensor one fp32 weight global scale and one fp32 input scale (ModelOpt's
    // weight_scale_2 and input_scale). W4A4 on Blackwell's fp4 tensor cores.
    f.weight_bits = 4;
    f.scales = ScaleGranularity::group;
    f.group_size = 16;
    f.scale_bits = 8;
    f.tensor_scale_bits = 64;
    f.compute = DType::fp4;
    f.activations_quantised = true;
    f.fp4_weights = true;
  } else if (name == "mxfp4" || name == "mxfp4-experts") {
    // MXFP4 (OCP Microscaling): E2M1 values with one E8M0 (8-bit power-of-two) scale per 32
    // elements = 4.25 bits per weight (gpt-oss: *_blocks uint8 + *_scales uint8). On Blackwell
    // vLLM runs it against MXFP8 activations (fp8 math); elsewhere dequantised to 16-bit.
    f.weight_bits = 4;
    f.scales = ScaleGranularity::group;
    f.group_size = 32;
    f.scale_bits = 8;
    f.compute = DType::fp8;
    f.activations_quantised = true;
    f.fp4_weights = true;
    f.experts_only = name == "mxfp4-experts";  // gpt-oss as shipped: attention stays bf16
  } else {
    return std::nullopt;
  }
  return f;
}

std::vector<std::string> weight_format_names() {
  return {"fp32",       "bf16", "fp16",     "fp8",   "fp8-block128", "int8",
          "int8-w8a16", "int4", "int4-sym", "nvfp4", "mxfp4",        "mxfp4-experts"};
}

std::vector<std::string> kv_dtype_names() { return {"fp32", "bf16", "fp16", "fp8", "int8", "int4"}; }

}  // namespace ridge
