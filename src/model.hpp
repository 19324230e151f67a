// A validated description of a decoder-only transformer: everything the memory and compute
// engines need, nothing about files. Built by the YAML loader or the Hugging Face reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"

namespace ridge {

enum class NormKind { rmsnorm, layernorm };
enum class Activation { silu, gelu, gelu_tanh };

/// Which earlier tokens a layer's attention sees (and so which ones its KV cache keeps).
enum class AttentionKind {
  global,   ///< every earlier token
  sliding,  ///< the last `window` tokens, itself included (Mistral, Gemma 2/3, gpt-oss)
  chunked,  ///< the earlier tokens of its own `window`-sized chunk (Llama 4's local layers)
};
std::string_view to_string(AttentionKind k);

/// One decoder layer as every engine sees it: how it attends and what its MLP is. A model is
/// `layers` of these (ModelSpec::layer_specs); the YAML `layout` and the HF importer build them.
struct LayerSpec {
  AttentionKind attention = AttentionKind::global;
  std::int64_t window = 0;    ///< sliding window or chunk size in tokens (0 for global layers)
  bool rope = true;           ///< rotary positions; false on NoPE layers (Llama 4)
  bool sinks = false;         ///< a learned sink logit per query head (gpt-oss): no KV cache
  bool moe = false;           ///< routed experts (ModelSpec::moe) instead of a dense MLP
  std::int64_t ffn_size = 0;  ///< dense MLP width (unused on MoE layers)

  bool operator==(const LayerSpec&) const = default;
};

struct MoeSpec {
  std::int64_t experts = 0;                 ///< routed experts per MoE layer
  std::int64_t experts_per_token = 0;       ///< top-k
  std::int64_t expert_ffn_size = 0;         ///< intermediate size of one routed expert
  std::int64_t shared_experts = 0;          ///< always-active experts (DeepSeek, Llama 4, GLM-4.5)
  std::int64_t shared_expert_ffn_size = 0;  ///< intermediate size of one shared expert
  bool router_bias = false;                 ///< per-expert router bias (DeepSeek-V3, gpt-oss)
  bool expert_bias = false;                 ///< biases on the experts' projections (gpt-oss)
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
  std::string name;  ///< bundled name or file stem
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

  bool qk_norm = false;  ///< RMSNorm of head_dim on queries and keys (Qwen3, Gemma 3, GLM-4.5)
  /// Every decoder layer, in order (size == layers): attention kind and MLP kind.
  std::vector<LayerSpec> layer_specs;
  std::optional<MoeSpec> moe;
  /// Multi-token-prediction (next-n) modules the checkpoint also stores (DeepSeek-V3, GLM-4.5).
  /// Serving engines load them only for MTP speculative decoding: counted apart, not served.
  std::int64_t mtp_layers = 0;
  /// Parameters of a multimodal checkpoint's vision tower and projector (0: text only).
  /// Loaded and kept in memory by serving engines; they do not run per generated token.
  std::int64_t vision_params = 0;
  std::string vision_note;  ///< how vision_params was obtained
  std::optional<MlaSpec> mla;
  std::optional<std::int64_t> published_params;
  /// Set when the checkpoint itself is quantised (HF quantization_config).
  std::optional<WeightFormat> checkpoint_format;

  /// Where each field was given, for messages about values that are fine alone but not with
  /// the options chosen (e.g. heads not divisible by --tp).
  std::map<std::string, Location> field_locations;
  /// The key the file used for a field when it is not ridge's name (an HF config's
  /// "num_key_value_heads" for kv_heads): messages name what the user wrote.
  std::map<std::string, std::string> field_keys;

  /// Layer `i` (0-based).
  const LayerSpec& layer(std::int64_t i) const { return layer_specs[static_cast<std::size_t>(i)]; }
  bool is_moe_layer(std::int64_t i) const { return layer(i).moe; }
  std::int64_t moe_layer_count() const;
  /// Any sliding or chunked layer.
  bool has_local_attention() const;
  std::string key_of(const std::string& field) const {
    auto it = field_keys.find(field);
    return it == field_keys.end() ? field : it->second;
  }
  Location location_of(const std::string& field) const {
    auto it = field_locations.find(field);
    return it == field_locations.end() ? Location{source, 0, 0} : it->second;
  }
};

/// Checks relations between fields (heads divisible by kv_heads, windows, MoE top-k ≤ experts,
/// one layer spec per layer). Throws InputError at the offending field. Ranges of single fields
/// are checked by loaders.
void validate_model(const ModelSpec& m);

/// The layout in a few words, kinds in order of first appearance: "52 sliding (1024) + 10
/// global; dense" or "36 chunked (8192) + 12 global NoPE; 48 MoE (16 experts, top-1, 1 shared)".
std::string describe_layout(const ModelSpec& m);

/// `pattern` repeated over `layers` layers, the last repeat cut short (how HF configs state
/// periodic layouts: Gemma 3's five local layers then one global, cut at 62).
std::vector<LayerSpec> repeat_layout(const std::vector<LayerSpec>& pattern, std::int64_t layers);

}  // namespace ridge
