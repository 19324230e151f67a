// ridge's own model schema. Strict: every field known, every value range-checked.
#include <string>

#include "loaders.hpp"

namespace ridge {
namespace {

constexpr std::int64_t kMaxDim = 1'000'000;

}  // namespace

ModelSpec model_from_yaml(const Node& root, const std::string& source) {
  ModelSpec m;
  m.source = source;
  MapReader r(root, "");
  auto note = [&](const std::string& field, const Node& n) { m.field_locations[field] = n.where; };
  auto int_field = [&](MapReader& reader, const char* key, std::int64_t min, std::int64_t max) {
    const Node& n = reader.required(key);
    note(reader.field(key), n);
    return as_int(n, reader.field(key), min, max);
  };
  auto bool_field = [&](MapReader& reader, const char* key, bool fallback) {
    const Node* n = reader.optional(key);
    return n ? as_bool(*n, reader.field(key)) : fallback;
  };

  m.name = as_string(r.required("name"), "name");
  if (const Node* n = r.optional("display_name")) m.display_name = as_string(*n, "display_name");
  if (m.display_name.empty()) m.display_name = m.name;
  m.architecture = as_enum(r.required("architecture"), "architecture",
                           {"llama", "mistral", "mixtral", "qwen2", "gemma2", "phi3", "falcon",
                            "deepseek_v3", "gpt2"});
  if (const Node* n = r.optional("published_params"))
    m.published_params = as_int(*n, "published_params", 1, 100'000'000'000'000);
  m.layers = int_field(r, "layers", 1, 10'000);
  m.hidden_size = int_field(r, "hidden_size", 1, kMaxDim);
  m.heads = int_field(r, "heads", 1, 100'000);
  m.kv_heads = int_field(r, "kv_heads", 1, 100'000);
  m.head_dim = int_field(r, "head_dim", 1, 100'000);
  m.ffn_size = int_field(r, "ffn_size", 1, 100 * kMaxDim);
  m.gated_mlp = as_enum(r.required("mlp"), "mlp", {"gated", "plain"}) == "gated";
  const std::string act = as_enum(r.required("activation"), "activation", {"silu", "gelu", "gelu_tanh"});
  m.activation = act == "silu" ? Activation::silu : act == "gelu" ? Activation::gelu : Activation::gelu_tanh;
  m.vocab_size = int_field(r, "vocab_size", 1, 100 * kMaxDim);
  m.tie_embeddings = as_bool(r.required("tie_embeddings"), "tie_embeddings");
  m.norm = as_enum(r.required("norm"), "norm", {"rmsnorm", "layernorm"}) == "rmsnorm"
               ? NormKind::rmsnorm
               : NormKind::layernorm;
  m.norms_per_layer = int_field(r, "norms_per_layer", 0, 16);
  m.attention_bias = bool_field(r, "attention_bias", false);
  m.output_bias = bool_field(r, "output_bias", false);
  m.mlp_bias = bool_field(r, "mlp_bias", false);
  m.parallel_attention = bool_field(r, "parallel_attention", false);
  m.learned_positions =
      as_enum(r.required("position_embedding"), "position_embedding", {"rope", "learned"}) == "learned";
  m.max_position = int_field(r, "max_position", 1, 1'000'000'000);
  const std::string dtype = as_enum(r.required("dtype"), "dtype", {"fp32", "bf16", "fp16"});
  m.dtype = *parse_dtype(dtype);
  if (const Node* n = r.optional("checkpoint_format")) {
    // A checkpoint that ships quantised: the default weight format of every command.
    m.checkpoint_format = weight_format(as_enum(*n, "checkpoint_format", weight_format_names()));
  }

  if (const Node* n = r.optional("sliding_window")) {
    note("sliding_window", *n);
    m.sliding_window = as_int(*n, "sliding_window", 1, 1'000'000'000);
  }
  if (const Node* n = r.optional("layer_types")) {
    note("layer_types", *n);
    if (n->kind != Node::Kind::sequence || n->items.empty())
      fail(*n, "layer_types", "expected a list such as [sliding, full]");
    for (const Node& item : n->items)
      m.layer_pattern.push_back(as_enum(item, "layer_types", {"full", "sliding"}) == "full"
                                    ? LayerAttention::full
                                    : LayerAttention::sliding);
  } else if (m.sliding_window) {
    m.layer_pattern = {LayerAttention::sliding};  // a window with no pattern applies everywhere
  }
  if (const Node* n = r.optional("moe")) {
    MapReader mr(*n, "moe");
    MoeSpec moe;
    moe.experts = int_field(mr, "experts", 1, 100'000);
    moe.experts_per_token = int_field(mr, "experts_per_token", 1, 100'000);
    moe.expert_ffn_size = int_field(mr, "expert_ffn_size", 1, 100 * kMaxDim);
    if (const Node* s = mr.optional("shared_experts"))
      moe.shared_experts = as_int(*s, "moe.shared_experts", 0, 1'000);
    if (const Node* s = mr.optional("first_dense_layers")) {
      note("moe.first_dense_layers", *s);
      moe.first_dense_layers = as_int(*s, "moe.first_dense_layers", 0, 10'000);
    }
    moe.router_bias = bool_field(mr, "router_bias", false);
    mr.finish();
    m.moe = moe;
  }
  if (const Node* n = r.optional("mla")) {
    MapReader mr(*n, "mla");
    MlaSpec mla;
    if (const Node* q = mr.optional("q_lora_rank")) mla.q_lora_rank = as_int(*q, "mla.q_lora_rank", 0, kMaxDim);
    mla.kv_lora_rank = int_field(mr, "kv_lora_rank", 1, kMaxDim);
    mla.qk_nope_head_dim = int_field(mr, "qk_nope_head_dim", 1, 100'000);
    mla.qk_rope_head_dim = int_field(mr, "qk_rope_head_dim", 1, 100'000);
    mla.v_head_dim = int_field(mr, "v_head_dim", 1, 100'000);
    mr.finish();
    m.mla = mla;
  }
  r.finish();
  validate_model(m);
  return m;
}

}  // namespace ridge
