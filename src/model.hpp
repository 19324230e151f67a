// A validated description of a decoder-only transformer: everything the memory and compute
// engines need, nothing about files. Built by the YAML loader or the Hugging Face reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"

namespace ridge {

enum class NormKind { rmsnorm, layernorm };
enum class Activation { silu, gelu, gelu_tanh };
enum class LayerAttention { full, sliding };

struct MoeSpec {
  std::int64_t experts = 0;            ///< routed experts per MoE layer
  std::int64_t experts_per_token = 0;  ///< top-k
  std::int64_t expert_ffn_size = 0;    ///< intermediate size of one routed (and shared) expert
  std::int64_t shared_experts = 0;     ///< always-active experts (DeepSeek)
  std::int64_t first_dense_layers = 0; ///< leading layers with a dense MLP (first_k_dense_replace)
  bool router_bias = false;            ///< per-expert router bias (DeepSeek-V3)
};

/// Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 §2.1).
struct MlaSpec {
  std::int64_t q_lora_rank = 0;  ///< 0 = full-rank query projection
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

struct ModelSpec {
  std::string name;          ///< bundled name or file stem
  std::string display_name;
  std::string architecture;  ///< llama, mistral, mixtral, qwen2, gemma2, phi3, falcon, deepseek_v3, gpt2
  std::string source;        ///< file it was read from

  std::int64_t layers = 0;
  std::int64_t hidden_size = 0;
  std::int64_t heads = 0;     ///< query heads
  std::int64_t kv_heads = 0;  ///< key/value heads (GQA/MQA)
  std::int64_t head_dim = 0;
  std::int64_t ffn_size = 0;  ///< dense MLP intermediate size
  bool gated_mlp = true;      ///< gate+up+down (SwiGLU/GeGLU) vs up+down
  Activation activation = Activation::silu;
  std::int64_t vocab_size = 0;
  bool tie_embeddings = false;
  NormKind norm = NormKind::rmsnorm;
  std::int64_t norms_per_layer = 2;
  bool attention_bias = false;  ///< q/k/v biases
  bool output_bias = false;     ///< attention output projection bias
  bool mlp_bias = false;
  bool learned_positions = false;  ///< absolute position table (GPT-2)
  /// Attention and MLP read the same input and add into one residual (Falcon): tensor
  /// parallelism then needs one all-reduce per layer instead of two.
  bool parallel_attention = false;
  std::int64_t max_position = 0;
  DType dtype = DType::bf16;  ///< checkpoint dtype

  std::optional<std::int64_t> sliding_window;  ///< tokens kept by sliding layers
  std::vector<LayerAttention> layer_pattern;   ///< repeated over layers; empty = all full
  std::optional<MoeSpec> moe;
  std::optional<MlaSpec> mla;
  std::optional<std::int64_t> published_params;
  /// Set when the checkpoint itself is quantised (HF quantization_config).
  std::optional<WeightFormat> checkpoint_format;

  /// Where each field was given, for messages about values that are fine alone but not with
  /// the options chosen (e.g. heads not divisible by --tp).
  std::map<std::string, Location> field_locations;

  /// Attention kind of layer `i` (0-based).
  LayerAttention layer_attention(std::int64_t i) const {
    if (layer_pattern.empty()) return LayerAttention::full;
    return layer_pattern[static_cast<std::size_t>(i) % layer_pattern.size()];
  }
  bool is_moe_layer(std::int64_t i) const { return moe && i >= moe->first_dense_layers; }
  Location location_of(const std::string& field) const {
    auto it = field_locations.find(field);
    return it == field_locations.end() ? Location{source, 0, 0} : it->second;
  }
};

/// Checks relations between fields (heads divisible by kv_heads, windows, MoE top-k ≤ experts).
/// Throws InputError at the offending field. Ranges of single fields are checked by loaders.
void validate_model(const ModelSpec& m);

}  // namespace ridge
