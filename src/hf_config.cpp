// Hugging Face config.json -> ModelSpec. Field names vary between architectures and
// transformers versions (see ../shared/REFERENCE.md "Hugging Face config.json traps");
// each alias and default below cites the transformers config class it comes from.
// An architecture not listed here is an error, never a guess.
#include <map>
#include <string>

#include "loaders.hpp"
#include "text.hpp"

namespace ridge {
namespace {

constexpr std::int64_t kMaxDim = 100'000'000;

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = {
      "llama", "mistral", "mixtral", "qwen2", "gemma2", "phi3", "falcon",
      "RefinedWeb", "RefinedWebModel", "deepseek_v2", "deepseek_v3", "gpt2"};
  return types;
}

/// Reads config fields under their several names, remembering where each was found.
class HfReader {
 public:
  HfReader(const Node& config, ModelSpec& m) : config_(config), m_(m) {}

  /// First present, non-null key among `names`.
  const Node* find(std::initializer_list<const char*> names, std::string* found = nullptr) const {
    for (const char* name : names) {
      const Node* n = config_.find(name);
      if (n && !n->is_null()) {
        if (found) *found = name;
        return n;
      }
    }
    return nullptr;
  }

  std::int64_t integer(const std::string& ridge_field, std::initializer_list<const char*> names,
                       std::int64_t min, std::int64_t max,
                       std::optional<std::int64_t> fallback = std::nullopt) {
    std::string key;
    const Node* n = find(names, &key);
    if (!n) {
      if (fallback) return *fallback;
      std::vector<std::string> list(names.begin(), names.end());
      throw InputError(config_.where, list.front(),
                       list.size() == 1 ? std::string("missing") : "missing; a config needs one of " + join(list));
    }
    m_.field_locations[ridge_field] = n->where;
    return as_int(*n, key, min, max);
  }

  std::optional<bool> boolean(std::initializer_list<const char*> names) const {
    std::string key;
    const Node* n = find(names, &key);
    if (!n) return std::nullopt;
    return as_bool(*n, key);
  }

  std::optional<std::string> text(std::initializer_list<const char*> names) const {
    std::string key;
    const Node* n = find(names, &key);
    if (!n) return std::nullopt;
    return as_string(*n, key);
  }

  const Node& config() const { return config_; }

 private:
  const Node& config_;
  ModelSpec& m_;
};

DType dtype_from_torch(const Node& n, const std::string& field) {
  const std::string s = as_string(n, field);
  if (s == "float32") return DType::fp32;
  if (s == "bfloat16") return DType::bf16;
  if (s == "float16") return DType::fp16;
  fail(n, field, "\"" + s + "\" is not one of float32, bfloat16, float16");
}

Activation activation_from(const Node& n, const std::string& field) {
  const std::string s = as_string(n, field);
  if (s == "silu" || s == "swish") return Activation::silu;
  if (s == "gelu") return Activation::gelu;
  if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::gelu_tanh;
  fail(n, field, "activation \"" + s + "\" is not one of silu, gelu, gelu_new, gelu_pytorch_tanh");
}

/// quantization_config -> the weight format the checkpoint is stored in.
WeightFormat quant_format(const Node& q) {
  MapReader r(q, "quantization_config");
  const Node& method_node = r.required("quant_method");
  const std::string method = as_string(method_node, "quantization_config.quant_method");
  auto int_of = [&](const Node& parent, const char* key, std::int64_t fallback) {
    const Node* n = parent.find(key);
    return (n && !n->is_null()) ? as_int(*n, std::string("quantization_config.") + key, -1, 1 << 20)
                                : fallback;
  };
  if (method == "awq" || method == "gptq") {
    const auto bits = int_of(q, "bits", 4);
    if (bits != 4 && bits != 8)
      fail(*q.find("bits"), "quantization_config.bits", "only 4 and 8 bits are supported");
    const auto group = int_of(q, "group_size", 128);
    // AWQ stores zero points ("zero_point": true by default); GPTQ stores them unless sym.
    bool symmetric = false;
    if (const Node* sym = q.find("sym"); sym && !sym->is_null())
      symmetric = as_bool(*sym, "quantization_config.sym");
    if (const Node* zp = q.find("zero_point"); zp && !zp->is_null())
      symmetric = !as_bool(*zp, "quantization_config.zero_point");
    WeightFormat f = *weight_format(bits == 4 ? (symmetric ? "int4-sym" : "int4") : "int8-w8a16");
    if (bits == 8) {
      f.scales = ScaleGranularity::group;
      f.scale_bits = 16;
      f.zero_bits = symmetric ? 0 : 8;
    }
    if (group <= 0) {
      f.scales = ScaleGranularity::channel;  // group_size -1 = one scale per output channel
      f.group_size = 0;
    } else {
      f.group_size = static_cast<int>(group);
    }
    f.name = method + "-int" + std::to_string(bits) + (group > 0 ? "-g" + std::to_string(group) : "");
    return f;
  }
  if (method == "fp8") {
    WeightFormat f = *weight_format("fp8");
    if (const Node* block = q.find("weight_block_size"); block && !block->is_null()) {
      if (block->kind != Node::Kind::sequence || block->items.size() != 2)
        fail(*block, "quantization_config.weight_block_size", "expected two integers");
      const auto rows = as_int(block->items[0], "quantization_config.weight_block_size", 1, 1 << 16);
      const auto cols = as_int(block->items[1], "quantization_config.weight_block_size", 1, 1 << 16);
      if (rows != cols)
        fail(*block, "quantization_config.weight_block_size", "only square blocks are supported");
      // DeepSeek-V3 style: one fp32 scale per rows x cols block.
      f.scales = ScaleGranularity::block;
      f.group_size = static_cast<int>(rows);
      f.name = "fp8-block" + std::to_string(rows);
    }
    return f;
  }
  if (method == "compressed-tensors") {
    const Node* groups = q.find("config_groups");
    if (!groups || !groups->is_map() || groups->entries.empty())
      fail(q, "quantization_config.config_groups", "missing; cannot tell the weight format");
    const Node& group = groups->entries.front().value;
    const Node* weights = group.find("weights");
    if (!weights || !weights->is_map())
      fail(group, "quantization_config.config_groups.weights", "missing");
    const auto bits = int_of(*weights, "num_bits", 0);
    const Node* type = weights->find("type");
    const std::string kind = type ? as_string(*type, "weights.type") : "int";
    const Node* inputs = group.find("input_activations");
    const bool act_quant = inputs && !inputs->is_null();
    if (bits == 8 && kind == "float") return *weight_format("fp8");
    if (bits == 8 && kind == "int") return *weight_format(act_quant ? "int8" : "int8-w8a16");
    if (bits == 4 && kind == "int") {
      const auto gs = int_of(*weights, "group_size", 128);
      bool symmetric = true;
      if (const Node* sym = weights->find("symmetric"); sym && !sym->is_null())
        symmetric = as_bool(*sym, "weights.symmetric");
      return *weight_format(symmetric ? "int4-sym" : "int4", gs > 0 ? gs : 128);
    }
    if (bits == 4 && kind == "float") return *weight_format("nvfp4");
    fail(*weights, "quantization_config.config_groups.weights",
         "unsupported weight format: " + std::to_string(bits) + "-bit " + kind);
  }
  fail(method_node, "quantization_config.quant_method",
       "\"" + method + "\" is not supported (supported: awq, gptq, fp8, compressed-tensors)");
}

}  // namespace

ModelSpec model_from_hf_config(const Node& root, const std::string& source) {
  ModelSpec m;
  m.source = source;

  // Multimodal wrappers (LLaVA, Gemma 3, Mistral 3 ...) nest the language model.
  const Node* config_node = &root;
  bool nested = false;
  if (const Node* text = root.find("text_config"); text && text->is_map()) {
    config_node = text;
    nested = true;
  }
  const Node& config = *config_node;
  HfReader r(config, m);

  const Node* type_node = config.find("model_type");
  if (!type_node) type_node = root.find("model_type");
  if (!type_node) throw InputError(config.where, "model_type", "missing; cannot tell the architecture");
  const std::string model_type = as_string(*type_node, "model_type");
  bool known = false;
  for (const auto& t : supported_model_types()) known = known || (t == model_type);
  if (!known)
    fail(*type_node, "model_type",
         "\"" + model_type + "\" is not supported" + did_you_mean(model_type, supported_model_types()) +
             "; supported: " + join(supported_model_types()) +
             ". Describe the model in ridge's YAML schema instead (README \"Model files\")");

  const bool falcon = model_type == "falcon" || model_type == "RefinedWeb" || model_type == "RefinedWebModel";
  const bool deepseek = model_type == "deepseek_v2" || model_type == "deepseek_v3";
  m.architecture = falcon ? "falcon" : deepseek ? "deepseek_v3" : model_type;

  // A LLaVA-style text_config lists only what differs from LlamaConfig's defaults
  // (transformers LlamaConfig: hidden 4096, intermediate 11008, 32 layers, 32 heads, 2048 positions).
  const bool llama_defaults = nested && model_type == "llama";
  auto dflt = [&](std::int64_t v) { return llama_defaults ? std::optional<std::int64_t>(v) : std::nullopt; };

  m.layers = r.integer("layers", {"num_hidden_layers", "n_layer", "num_layers"}, 1, 10'000, dflt(32));
  m.hidden_size = r.integer("hidden_size", {"hidden_size", "n_embd", "n_embed", "d_model"}, 1, kMaxDim, dflt(4096));
  m.heads = r.integer("heads", {"num_attention_heads", "n_head", "num_heads"}, 1, 100'000, dflt(32));

  // KV heads: four spellings; Falcon's old format says multi_query (1 KV head) instead.
  if (r.find({"num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"})) {
    m.kv_heads = r.integer("kv_heads", {"num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"},
                           1, 100'000);
  } else if (falcon && r.boolean({"multi_query"}).value_or(true) &&
             !r.boolean({"new_decoder_architecture"}).value_or(false)) {
    m.kv_heads = 1;  // FalconConfig: multi_query defaults to true
  } else {
    m.kv_heads = m.heads;
  }

  // An explicit head_dim wins (Gemma-2-9B: 256, not 3584/16 = 224).
  if (r.find({"head_dim"})) {
    m.head_dim = r.integer("head_dim", {"head_dim"}, 1, 100'000);
  } else {
    if (m.hidden_size % m.heads != 0)
      throw InputError(m.location_of("heads"), "num_attention_heads",
                       "does not divide hidden_size and no head_dim is given");
    m.head_dim = m.hidden_size / m.heads;
  }

  m.vocab_size = r.integer("vocab_size", {"vocab_size", "padded_vocab_size"}, 1, kMaxDim, dflt(32000));
  m.max_position = r.integer("max_position", {"max_position_embeddings", "n_positions", "seq_length"}, 1,
                             1'000'000'000, falcon ? std::optional<std::int64_t>(2048) : dflt(2048));

  // Dense MLP width. GPT-2: n_inner null means 4 x hidden; Falcon: ffn_hidden_size or 4 x hidden.
  if (model_type == "gpt2" || falcon) {
    m.ffn_size = r.integer("ffn_size", {"n_inner", "ffn_hidden_size"}, 1, kMaxDim, 4 * m.hidden_size);
    m.gated_mlp = false;
  } else {
    m.ffn_size = r.integer("ffn_size", {"intermediate_size"}, 1, kMaxDim, dflt(11008));
    m.gated_mlp = true;
  }

  if (const Node* act = r.find({"hidden_activation", "hidden_act", "activation_function"}))
    m.activation = activation_from(*act, "hidden_act");
  else
    m.activation = (model_type == "gpt2" || falcon) ? Activation::gelu : Activation::silu;

  // tie_word_embeddings absent: the architecture's default (transformers config classes):
  // true for Gemma-2, GPT-2 and Falcon, false for Llama, Mistral, Mixtral, Qwen2, Phi-3, DeepSeek.
  const bool tie_default = model_type == "gemma2" || model_type == "gpt2" || falcon;
  m.tie_embeddings = r.boolean({"tie_word_embeddings"}).value_or(tie_default);

  m.norm = (model_type == "gpt2" || falcon) ? NormKind::layernorm : NormKind::rmsnorm;
  m.norms_per_layer = model_type == "gemma2" ? 4 : 2;
  if (falcon) {
    // New decoder (40B/180B): ln_attn + ln_mlp; old parallel-attention (7B): one input_layernorm.
    // The old "RefinedWeb" model_type (Falcon-40B/180B) is the new decoder architecture.
    const bool new_arch = r.boolean({"new_decoder_architecture"}).value_or(model_type == "RefinedWeb");
    const bool parallel = r.boolean({"parallel_attn"}).value_or(true);
    // vLLM's Falcon reduces attention and MLP outputs together when either flag is set.
    m.parallel_attention = new_arch || parallel;
    if (new_arch) {
      m.norms_per_layer = r.integer("norms_per_layer", {"num_ln_in_parallel_attn"}, 1, 2, 2);
    } else {
      m.norms_per_layer = parallel ? 1 : 2;
    }
    const bool bias = r.boolean({"bias"}).value_or(false);
    m.attention_bias = m.output_bias = m.mlp_bias = bias;
  } else if (model_type == "gpt2") {
    m.attention_bias = m.output_bias = m.mlp_bias = true;
    m.learned_positions = true;
  } else if (model_type == "qwen2") {
    m.attention_bias = true;  // Qwen2Attention: q/k/v have biases, o_proj does not
  } else {
    const bool bias = r.boolean({"attention_bias"}).value_or(false);
    m.attention_bias = m.output_bias = bias;  // LlamaAttention: attention_bias covers q,k,v,o
    m.mlp_bias = r.boolean({"mlp_bias"}).value_or(false);
  }

  // Checkpoint dtype: "dtype" (newer transformers) or "torch_dtype"; absent means float32.
  m.dtype = DType::fp32;
  for (const Node* holder : {config_node, &root}) {
    if (const Node* d = holder->find("dtype"); d && !d->is_null()) { m.dtype = dtype_from_torch(*d, "dtype"); break; }
    if (const Node* d = holder->find("torch_dtype"); d && !d->is_null()) { m.dtype = dtype_from_torch(*d, "torch_dtype"); break; }
  }

  // Sliding windows.
  if (const Node* types = config.find("layer_types"); types && !types->is_null()) {
    if (types->kind != Node::Kind::sequence || types->items.empty())
      fail(*types, "layer_types", "expected a list of attention kinds");
    for (const Node& item : types->items) {
      const std::string kind = as_enum(item, "layer_types", {"full_attention", "sliding_attention"});
      m.layer_pattern.push_back(kind == "full_attention" ? LayerAttention::full : LayerAttention::sliding);
    }
    if (m.layer_pattern.size() != static_cast<std::size_t>(m.layers))
      fail(*types, "layer_types", "has " + std::to_string(m.layer_pattern.size()) + " entries for " +
                                      std::to_string(m.layers) + " layers");
  }
  const Node* window_node = r.find({"sliding_window"});
  bool window_used = window_node != nullptr;
  if (model_type == "qwen2") window_used = window_used && r.boolean({"use_sliding_window"}).value_or(false);
  if (window_used) {
    m.sliding_window = r.integer("sliding_window", {"sliding_window"}, 1, 1'000'000'000);
    if (m.layer_pattern.empty()) {
      if (model_type == "gemma2") {
        m.layer_pattern = {LayerAttention::sliding, LayerAttention::full};  // Gemma2: even layers slide
      } else if (model_type == "qwen2") {
        // Qwen2Attention: layers from max_window_layers on use the window.
        const auto first = r.integer("max_window_layers", {"max_window_layers"}, 0, m.layers, m.layers);
        for (std::int64_t i = 0; i < m.layers; ++i)
          m.layer_pattern.push_back(i >= first ? LayerAttention::sliding : LayerAttention::full);
      } else {
        m.layer_pattern = {LayerAttention::sliding};
      }
    }
  } else {
    for (auto& kind : m.layer_pattern) kind = LayerAttention::full;  // no window given: full
  }

  // Mixture of experts.
  if (model_type == "mixtral") {
    MoeSpec moe;
    moe.experts = r.integer("moe.experts", {"num_local_experts"}, 1, 100'000);
    moe.experts_per_token = r.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = m.ffn_size;
    m.moe = moe;
  }
  if (deepseek) {
    MoeSpec moe;
    moe.experts = r.integer("moe.experts", {"n_routed_experts"}, 1, 100'000);
    moe.experts_per_token = r.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = r.integer("moe.expert_ffn_size", {"moe_intermediate_size"}, 1, kMaxDim);
    moe.shared_experts = r.integer("moe.shared_experts", {"n_shared_experts"}, 0, 1'000, 0);
    moe.first_dense_layers = r.integer("moe.first_dense_layers", {"first_k_dense_replace"}, 0, m.layers, 0);
    if (r.integer("moe_layer_freq", {"moe_layer_freq"}, 1, 1'000, 1) != 1)
      throw InputError(m.location_of("moe_layer_freq"), "moe_layer_freq", "only 1 (every layer after the dense ones) is supported");
    // DeepSeek-V3's noaux_tc routing adds a per-expert correction bias (e_score_correction_bias).
    moe.router_bias = r.text({"topk_method"}).value_or("") == "noaux_tc";
    m.moe = moe;
    MlaSpec mla;
    mla.q_lora_rank = r.integer("mla.q_lora_rank", {"q_lora_rank"}, 1, kMaxDim, 0);
    mla.kv_lora_rank = r.integer("mla.kv_lora_rank", {"kv_lora_rank"}, 1, kMaxDim);
    mla.qk_nope_head_dim = r.integer("mla.qk_nope_head_dim", {"qk_nope_head_dim"}, 1, 100'000);
    mla.qk_rope_head_dim = r.integer("mla.qk_rope_head_dim", {"qk_rope_head_dim"}, 1, 100'000);
    mla.v_head_dim = r.integer("mla.v_head_dim", {"v_head_dim"}, 1, 100'000);
    m.mla = mla;
    m.head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim;
    m.kv_heads = m.heads;
  }

  for (const Node* holder : {config_node, &root}) {
    if (const Node* q = holder->find("quantization_config"); q && !q->is_null()) {
      m.checkpoint_format = quant_format(*q);
      break;
    }
  }

  // Names: the directory or file stem; display the HF id when the config carries one.
  m.name = source;
  if (auto id = r.text({"_name_or_path"})) m.display_name = *id;
  validate_model(m);
  return m;
}

}  // namespace ridge
