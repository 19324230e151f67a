// ridge's own model schema. Strict: every field known, every value range-checked.
#include <optional>
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
  m.architecture =
      as_enum(r.required("architecture"), "architecture",
              {"llama", "mistral", "mixtral", "qwen2", "gemma2", "phi3", "falcon", "deepseek_v3", "gpt2", "qwen3",
               "qwen3_moe", "llama4", "gpt_oss", "gemma3", "glm4_moe", "kimi_k2", "mistral3", "qwen2_5_vl"});
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
  m.norm = as_enum(r.required("norm"), "norm", {"rmsnorm", "layernorm"}) == "rmsnorm" ? NormKind::rmsnorm
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

  m.qk_norm = bool_field(r, "qk_norm", false);
  if (const Node* n = r.optional("mtp_layers")) m.mtp_layers = as_int(*n, "mtp_layers", 0, 100);
  if (const Node* n = r.optional("vision_params")) {
    m.vision_params = as_int(*n, "vision_params", 0, 100'000'000'000'000);
    m.vision_note = "vision_params in " + source;
  }

  // The layer layout: `layout` (a list of layer kinds, each `count` layers, repeated over the
  // model when the counts add up to fewer layers), or the shorthands `sliding_window` with
  // `layer_types` (a repeated list of full/sliding) and `moe.first_dense_layers`.
  const Node* layout = r.optional("layout");
  const Node* window_node = r.optional("sliding_window");
  const Node* types_node = r.optional("layer_types");
  std::optional<std::int64_t> window;
  if (window_node) {
    note("sliding_window", *window_node);
    window = as_int(*window_node, "sliding_window", 1, 1'000'000'000);
  }
  if (layout && (window_node || types_node))
    fail(*layout, "layout", "describes the layers already: drop sliding_window and layer_types");
  std::vector<LayerSpec> pattern;
  std::int64_t counted = 0;
  const bool model_has_moe = r.optional("moe") != nullptr;
  if (layout) {
    note("layout", *layout);
    if (layout->kind != Node::Kind::sequence || layout->items.empty())
      fail(
          *layout, "layout",
          "expected a list of layer kinds such as [{count: 5, attention: sliding, window: 1024}, {attention: global}]");
    for (std::size_t index = 0; index < layout->items.size(); ++index) {
      const Node& item = layout->items[index];
      const std::string at = "layout[" + std::to_string(index) + "]";
      MapReader lr(item, at);
      const Node* count_node = lr.optional("count");
      const Node* attention_node = lr.optional("attention");
      const Node* window_node_i = lr.optional("window");
      const Node* rope_node = lr.optional("rope");
      const Node* sinks_node = lr.optional("sinks");
      const Node* mlp_node = lr.optional("mlp");
      const Node* ffn_node = lr.optional("ffn_size");
      lr.finish();  // a misspelt key is the first thing to report
      LayerSpec l;
      const std::int64_t count = count_node ? as_int(*count_node, at + ".count", 1, 10'000) : 1;
      if (attention_node) {
        const std::string kind = as_enum(*attention_node, at + ".attention", {"global", "sliding", "chunked"});
        l.attention = kind == "global"    ? AttentionKind::global
                      : kind == "sliding" ? AttentionKind::sliding
                                          : AttentionKind::chunked;
      }
      if (window_node_i) {
        if (l.attention == AttentionKind::global)
          fail(*window_node_i, at + ".window", "a global layer has no window (say attention: sliding or chunked)");
        l.window = as_int(*window_node_i, at + ".window", 1, 1'000'000'000);
      } else if (l.attention != AttentionKind::global) {
        fail(item, at + ".window",
             std::string("missing: a ") + std::string(to_string(l.attention)) + " layer needs its window in tokens");
      }
      l.rope = rope_node ? as_bool(*rope_node, at + ".rope") : true;
      l.sinks = sinks_node ? as_bool(*sinks_node, at + ".sinks") : false;
      l.moe = model_has_moe;
      if (mlp_node) l.moe = as_enum(*mlp_node, at + ".mlp", {"dense", "moe"}) == "moe";
      if (l.moe && !model_has_moe) fail(*mlp_node, at + ".mlp", "moe layers need a moe block in the model");
      if (ffn_node) {
        if (l.moe) fail(*ffn_node, at + ".ffn_size", "an MoE layer's width is moe.expert_ffn_size");
        l.ffn_size = as_int(*ffn_node, at + ".ffn_size", 1, 100 * kMaxDim);
      } else if (!l.moe) {
        l.ffn_size = m.ffn_size;
      }
      counted += count;
      if (counted > m.layers)
        fail(count_node ? *count_node : item, at + ".count",
             "the layout describes " + std::to_string(counted) + " layers; the model has " + std::to_string(m.layers));
      pattern.insert(pattern.end(), static_cast<std::size_t>(count), l);
    }
  } else {
    std::vector<AttentionKind> kinds = {window ? AttentionKind::sliding : AttentionKind::global};
    if (types_node) {
      note("layer_types", *types_node);
      if (types_node->kind != Node::Kind::sequence || types_node->items.empty())
        fail(*types_node, "layer_types", "expected a list such as [sliding, full]");
      if (types_node->items.size() > static_cast<std::size_t>(m.layers))
        fail(*types_node, "layer_types", "pattern is longer than the number of layers");
      kinds.clear();
      for (const Node& item : types_node->items) {
        const bool full = as_enum(item, "layer_types", {"full", "sliding"}) == "full";
        if (!full && !window) fail(item, "layer_types", "names sliding layers but the model has no sliding_window");
        kinds.push_back(full ? AttentionKind::global : AttentionKind::sliding);
      }
    }
    for (AttentionKind k : kinds) {
      LayerSpec l;
      l.attention = k;
      l.window = k == AttentionKind::global ? 0 : *window;
      l.moe = model_has_moe;
      l.ffn_size = l.moe ? 0 : m.ffn_size;
      pattern.push_back(l);
    }
  }
  std::int64_t first_dense = 0;
  if (const Node* n = r.optional("moe")) {
    note("moe", *n);
    MapReader mr(*n, "moe");
    MoeSpec moe;
    moe.experts = int_field(mr, "experts", 1, 100'000);
    moe.experts_per_token = int_field(mr, "experts_per_token", 1, 100'000);
    moe.expert_ffn_size = int_field(mr, "expert_ffn_size", 1, 100 * kMaxDim);
    if (const Node* s = mr.optional("shared_experts")) moe.shared_experts = as_int(*s, "moe.shared_experts", 0, 1'000);
    if (const Node* s = mr.optional("shared_expert_ffn_size"))
      moe.shared_expert_ffn_size = as_int(*s, "moe.shared_expert_ffn_size", 1, 100 * kMaxDim);
    if (const Node* s = mr.optional("first_dense_layers")) {
      // Shorthand: the first N layers have a dense MLP of ffn_size (DeepSeek first_k_dense_replace).
      if (layout) fail(*s, "moe.first_dense_layers", "the layout says which layers are dense: drop this key");
      first_dense = as_int(*s, "moe.first_dense_layers", 0, m.layers);
    }
    moe.router_bias = bool_field(mr, "router_bias", false);
    moe.expert_bias = bool_field(mr, "expert_bias", false);
    mr.finish();
    m.moe = moe;
  }
  m.layer_specs = repeat_layout(pattern, m.layers);
  for (std::int64_t i = 0; i < first_dense; ++i) {
    LayerSpec& l = m.layer_specs[static_cast<std::size_t>(i)];
    l.moe = false;
    l.ffn_size = m.ffn_size;
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
