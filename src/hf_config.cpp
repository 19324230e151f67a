// Hugging Face config.json -> ModelSpec. Field names vary between architectures and
// transformers versions (see ../shared/REFERENCE.md "Hugging Face config.json traps");
// each alias and default below cites the transformers config class it comes from.
// An architecture not listed here is an error, never a guess.
#include <algorithm>
#include <functional>
#include <map>
#include <string>

#include "loaders.hpp"
#include "text.hpp"

namespace ridge {
namespace {

constexpr std::int64_t kMaxDim = 100'000'000;

/// Text model types ridge reads, with the transformers config class each follows.
const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = {
      "llama",       "mistral", "mixtral",    "qwen2",           "qwen3",       "qwen3_moe",   "gemma2",  "gemma3_text",
      "phi3",        "falcon",  "RefinedWeb", "RefinedWebModel", "deepseek_v2", "deepseek_v3", "kimi_k2", "glm4_moe",
      "llama4_text", "gpt_oss", "gpt2"};
  return types;
}

/// A config whose model_type is unknown but whose `architectures` names a class ridge reads
/// (a fine-tune or re-release that renamed model_type keeps the class).
const std::map<std::string, std::string>& architecture_classes() {
  static const std::map<std::string, std::string> classes = {{"LlamaForCausalLM", "llama"},
                                                             {"MistralForCausalLM", "mistral"},
                                                             {"MixtralForCausalLM", "mixtral"},
                                                             {"Qwen2ForCausalLM", "qwen2"},
                                                             {"Qwen3ForCausalLM", "qwen3"},
                                                             {"Qwen3MoeForCausalLM", "qwen3_moe"},
                                                             {"Gemma2ForCausalLM", "gemma2"},
                                                             {"Gemma3ForCausalLM", "gemma3_text"},
                                                             {"Phi3ForCausalLM", "phi3"},
                                                             {"FalconForCausalLM", "falcon"},
                                                             {"DeepseekV2ForCausalLM", "deepseek_v2"},
                                                             {"DeepseekV3ForCausalLM", "deepseek_v3"},
                                                             {"Glm4MoeForCausalLM", "glm4_moe"},
                                                             {"Llama4ForCausalLM", "llama4_text"},
                                                             {"GptOssForCausalLM", "gpt_oss"},
                                                             {"GPT2LMHeadModel", "gpt2"}};
  return classes;
}

/// Multimodal wrappers: the language model sits under text_config (Qwen2.5-VL: at the top
/// level in older files), the vision tower under vision_config.
const std::map<std::string, std::string>& multimodal_text_types() {
  static const std::map<std::string, std::string> types = {{"llava", "llama"},
                                                           {"gemma3", "gemma3_text"},
                                                           {"mistral3", "mistral"},
                                                           {"llama4", "llama4_text"},
                                                           {"qwen2_5_vl", "qwen2"}};
  return types;
}

/// Values transformers' config classes fill in when a file omits the key. Multimodal
/// text_configs list only what differs from these (LLaVA's text_config names 4 keys).
using Defaults = std::map<std::string, std::int64_t>;
const Defaults& class_defaults(const std::string& type) {
  // transformers LlamaConfig.__init__ defaults.
  static const Defaults llama = {{"num_hidden_layers", 32},   {"hidden_size", 4096},
                                 {"num_attention_heads", 32}, {"intermediate_size", 11008},
                                 {"vocab_size", 32000},       {"max_position_embeddings", 2048}};
  // transformers Gemma3TextConfig.__init__ defaults (the 27B file omits vocab_size,
  // max_position_embeddings and the sliding-window pattern).
  static const Defaults gemma3 = {{"num_hidden_layers", 26},  {"hidden_size", 2304},
                                  {"num_attention_heads", 8}, {"num_key_value_heads", 4},
                                  {"head_dim", 256},          {"intermediate_size", 9216},
                                  {"vocab_size", 262208},     {"max_position_embeddings", 131072},
                                  {"sliding_window", 4096},   {"sliding_window_pattern", 6}};
  // transformers Llama4TextConfig.__init__ defaults.
  static const Defaults llama4 = {
      {"num_hidden_layers", 48},        {"hidden_size", 5120},      {"num_attention_heads", 40},
      {"num_key_value_heads", 8},       {"head_dim", 128},          {"intermediate_size", 8192},
      {"intermediate_size_mlp", 16384}, {"vocab_size", 202048},     {"max_position_embeddings", 131072},
      {"num_local_experts", 16},        {"num_experts_per_tok", 1}, {"interleave_moe_layer_step", 1},
      {"attention_chunk_size", 8192}};
  // transformers MistralConfig.__init__ defaults (Mistral 3's text_config).
  static const Defaults mistral = {{"num_hidden_layers", 32},          {"hidden_size", 4096},
                                   {"num_attention_heads", 32},        {"num_key_value_heads", 8},
                                   {"intermediate_size", 14336},       {"vocab_size", 32000},
                                   {"max_position_embeddings", 131072}};
  // transformers GptOssConfig.__init__: attention_bias True (a boolean, read separately),
  // sliding_window 128.
  static const Defaults gpt_oss = {{"sliding_window", 128}};
  static const Defaults none;
  if (type == "gpt_oss") return gpt_oss;
  if (type == "llama") return llama;
  if (type == "gemma3_text") return gemma3;
  if (type == "llama4_text") return llama4;
  if (type == "mistral") return mistral;
  return none;
}

/// Reads config fields under their several names, remembering where each was found.
class HfReader {
 public:
  HfReader(const Node& config, ModelSpec& m, const Defaults& defaults) : config_(config), m_(m), defaults_(defaults) {}

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

  std::int64_t integer(const std::string& ridge_field, std::initializer_list<const char*> names, std::int64_t min,
                       std::int64_t max, std::optional<std::int64_t> fallback = std::nullopt) {
    std::string key;
    const Node* n = find(names, &key);
    if (!n) {
      for (const char* name : names)
        if (auto d = defaults_.find(name); d != defaults_.end()) return d->second;
      if (fallback) return *fallback;
      std::vector<std::string> list(names.begin(), names.end());
      throw InputError(config_.where, list.front(),
                       list.size() == 1 ? std::string("missing") : "missing; a config needs one of " + join(list));
    }
    m_.field_locations[ridge_field] = n->where;
    if (key != ridge_field) m_.field_keys[ridge_field] = key;
    return as_int(*n, key, min, max);
  }

  /// Whether the config class fills `name` in when the file omits it.
  bool has_default(const char* name) const { return defaults_.count(name) > 0; }

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
  const Defaults& defaults_;
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
    return (n && !n->is_null()) ? as_int(*n, std::string("quantization_config.") + key, -1, 1 << 20) : fallback;
  };
  if (method == "awq" || method == "gptq") {
    const auto bits = int_of(q, "bits", 4);
    if (bits != 4 && bits != 8) fail(*q.find("bits"), "quantization_config.bits", "only 4 and 8 bits are supported");
    const auto group = int_of(q, "group_size", 128);
    // AWQ stores zero points ("zero_point": true by default); GPTQ stores them unless sym.
    bool symmetric = false;
    if (const Node* sym = q.find("sym"); sym && !sym->is_null()) symmetric = as_bool(*sym, "quantization_config.sym");
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
      if (rows != cols) fail(*block, "quantization_config.weight_block_size", "only square blocks are supported");
      // DeepSeek-V3 style: one fp32 scale per rows x cols block.
      f.scales = ScaleGranularity::block;
      f.group_size = static_cast<int>(rows);
      f.name = "fp8-block" + std::to_string(rows);
    }
    return f;
  }
  if (method == "mxfp4") {
    // gpt-oss: transformers' Mxfp4HfQuantizer and vLLM's Mxfp4Config quantise the MoE experts
    // only (modules_to_not_convert lists attention, router, embedding and head as well).
    return *weight_format("mxfp4-experts");
  }
  if (method == "modelopt") {
    // NVIDIA ModelOpt checkpoints (nvidia/*-FP8, *-FP4): quant_algo names the format.
    const Node& algo = r.required("quant_algo");
    const std::string a = as_string(algo, "quantization_config.quant_algo");
    if (a == "FP8") return *weight_format("fp8");
    if (a == "NVFP4") return *weight_format("nvfp4");
    fail(algo, "quantization_config.quant_algo", "\"" + a + "\" is not one of FP8, NVFP4");
  }
  if (method == "compressed-tensors") {
    const Node* groups = q.find("config_groups");
    if (!groups || !groups->is_map() || groups->entries.empty())
      fail(q, "quantization_config.config_groups", "missing; cannot tell the weight format");
    const Node& group = groups->entries.front().value;
    const Node* weights = group.find("weights");
    if (!weights || !weights->is_map()) fail(group, "quantization_config.config_groups.weights", "missing");
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
       "\"" + method + "\" is not supported (supported: awq, gptq, fp8, mxfp4, modelopt, compressed-tensors)");
}

/// Parameters of a multimodal checkpoint's vision tower and projector, from its vision_config,
/// by the layer formulas of the transformers class each model_type names (cited per family).
/// Returns 0 and leaves `note` empty for a text-only config.
std::int64_t vision_tower_params(const Node& root, const std::string& wrapper, std::int64_t text_hidden,
                                 std::string& note) {
  const Node* v = root.find("vision_config");
  if (!v || !v->is_map()) return 0;
  // Ranges keep every product below 2^63: widths ≤ 1e6, layers ≤ 1e4, image ≤ 1e6 pixels a side.
  // Every size is required: the vision classes' defaults are other models' (CLIP's 768), so a
  // missing key is an error rather than a guess.
  auto get = [&](const char* key) -> std::int64_t {
    const std::string k = key;
    const std::int64_t max = k == "num_hidden_layers" || k == "depth"                             ? 10'000
                             : k.find("merge") != std::string::npos || k == "temporal_patch_size" ? 16
                             : k == "intermediate_size"                                           ? 10'000'000
                                                                                                  : 1'000'000;
    const Node* n = v->find(key);
    if (!n || n->is_null()) fail(*v, "vision_config." + k, "missing; needed to count the vision tower");
    return as_int(*n, "vision_config." + k, 1, max);
  };
  const std::int64_t channels = 3;
  std::int64_t total = 0;
  if (wrapper == "gemma3") {
    // SiglipVisionModel: conv patch embedding with bias, a learned position per patch, per layer
    // q/k/v/o and fc1/fc2 with biases and two LayerNorms (weight + bias), a post LayerNorm;
    // Gemma3MultiModalProjector: mm_input_projection_weight [vision, text] + RMSNorm(vision).
    const std::int64_t d = get("hidden_size"), f = get("intermediate_size"), L = get("num_hidden_layers");
    const std::int64_t p = get("patch_size"), img = get("image_size");
    const std::int64_t layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d;
    total = channels * p * p * d + d + (img / p) * (img / p) * d + L * layer + 2 * d;
    total += d * text_hidden + d;
    note = "SigLIP vision tower and projector (Gemma3ForConditionalGeneration)";
  } else if (wrapper == "llava") {
    // CLIPVisionModel (penultimate-layer features): conv patch embedding without bias, class
    // embedding, one position per patch + 1, pre LayerNorm, per layer q/k/v/o and fc1/fc2 with
    // biases and two LayerNorms; LlavaMultiModalProjector: linear_1 [text, vision] and linear_2
    // [text, text], both with bias. The post LayerNorm is stored too.
    const std::int64_t d = get("hidden_size"), f = get("intermediate_size"), L = get("num_hidden_layers");
    const std::int64_t p = get("patch_size"), img = get("image_size");
    const std::int64_t layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d;
    total = channels * p * p * d + d + ((img / p) * (img / p) + 1) * d + 2 * d + L * layer + 2 * d;
    total += (d * text_hidden + text_hidden) + (text_hidden * text_hidden + text_hidden);
    note = "CLIP vision tower and projector (LlavaForConditionalGeneration)";
  } else if (wrapper == "mistral3") {
    // PixtralVisionModel: conv patch embedding without bias, ln_pre RMSNorm, per layer q/k/v/o
    // and a gated MLP without biases and two RMSNorms (2-D RoPE: no position table);
    // Mistral3MultiModalProjector: RMSNorm, patch merger [vision, vision·s²], linear_1
    // [text, vision], linear_2 [text, text] (bias per multimodal_projector_bias, default false).
    const std::int64_t d = get("hidden_size"), f = get("intermediate_size"), L = get("num_hidden_layers");
    const std::int64_t p = get("patch_size");
    const Node* merge_node = root.find("spatial_merge_size");
    const std::int64_t merge = merge_node ? as_int(*merge_node, "spatial_merge_size", 1, 16) : 2;
    const Node* bias_node = root.find("multimodal_projector_bias");
    const bool bias = bias_node && !bias_node->is_null() && as_bool(*bias_node, "multimodal_projector_bias");
    const std::int64_t layer = 4 * d * d + 3 * d * f + 2 * d;
    total = channels * p * p * d + d + L * layer;
    total += d + d * d * merge * merge + (d * text_hidden + (bias ? text_hidden : 0)) +
             (text_hidden * text_hidden + (bias ? text_hidden : 0));
    note = "Pixtral vision tower and projector (Mistral3ForConditionalGeneration)";
  } else if (wrapper == "qwen2_5_vl") {
    // Qwen2_5_VisionTransformer: Conv3d patch embedding [d, 3, t, p, p] without bias; per block
    // qkv [3d, d] and proj [d, d] with biases, a gated MLP with biases, two RMSNorms; merger:
    // RMSNorm(d), Linear(d·s², d·s²) and Linear(d·s², out_hidden), both with bias.
    const std::int64_t d = get("hidden_size"), f = get("intermediate_size"), L = get("depth");
    const std::int64_t p = get("patch_size"), t = get("temporal_patch_size"), merge = get("spatial_merge_size");
    const std::int64_t out = get("out_hidden_size");
    const std::int64_t layer = (3 * d * d + 3 * d) + (d * d + d) + 2 * (d * f + f) + (f * d + d) + 2 * d;
    const std::int64_t m = d * merge * merge;
    total = channels * t * p * p * d + L * layer + d + (m * m + m) + (m * out + out);
    note = "Qwen2.5-VL vision tower and merger (Qwen2_5_VLForConditionalGeneration)";
  } else if (wrapper == "llama4") {
    // Llama4VisionModel: unfold patch embedding [d, 3·p²] without bias, class embedding, one
    // position per patch + 1, pre and post LayerNorms, per layer q/k/v/o and fc1/fc2 with
    // biases and two LayerNorms; pixel-shuffle adapter fc1 [proj_in, d/r²], fc2 [proj_out,
    // proj_out] without bias (Llama4VisionMLP2: fc1 intermediate_size -> projector_input_dim, fc2
    // projector_output_dim squared); multi_modal_projector.linear_1 [text, vision_output_dim].
    const std::int64_t d = get("hidden_size"), f = get("intermediate_size"), L = get("num_hidden_layers");
    const std::int64_t p = get("patch_size"), img = get("image_size");
    const std::int64_t proj_in = get("projector_input_dim"), proj_out = get("projector_output_dim");
    const std::int64_t out = get("vision_output_dim");
    const std::int64_t layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d;
    total = channels * p * p * d + d + ((img / p) * (img / p) + 1) * d + 2 * 2 * d + L * layer;
    total += f * proj_in + proj_out * proj_out + out * text_hidden;
    note = "Llama 4 vision tower and projector (Llama4ForConditionalGeneration)";
  } else {
    fail(*v, "vision_config", "the vision tower of \"" + wrapper + "\" is not known to ridge");
  }
  return total;
}

/// The HF text model type a config describes: model_type, or the class in `architectures`
/// when model_type is one ridge does not know (Kimi-K2 says kimi_k2 and DeepseekV3ForCausalLM).
std::string text_model_type(const Node& config, const Node& root) {
  const Node* type_node = config.find("model_type");
  if (!type_node) type_node = root.find("model_type");
  if (!type_node) throw InputError(config.where, "model_type", "missing; cannot tell the architecture");
  const std::string model_type = as_string(*type_node, "model_type");
  const auto& types = supported_model_types();
  if (std::find(types.begin(), types.end(), model_type) != types.end()) return model_type;
  for (const Node* holder : {&config, &root}) {
    const Node* arch = holder->find("architectures");
    if (!arch || arch->kind != Node::Kind::sequence) continue;
    for (const Node& item : arch->items)
      if (item.kind == Node::Kind::scalar)
        if (auto it = architecture_classes().find(item.scalar); it != architecture_classes().end()) return it->second;
  }
  fail(*type_node, "model_type",
       "\"" + model_type + "\" is not supported" + did_you_mean(model_type, supported_model_types()) +
           "; supported: " + join(supported_model_types()) +
           " (or an `architectures` class of one of them). Describe the model in ridge's YAML schema instead (README "
           "\"Model files\")");
}

}  // namespace

ModelSpec model_from_hf_config(const Node& root, const std::string& source) {
  ModelSpec m;
  m.source = source;

  // Multimodal wrappers (LLaVA, Gemma 3, Mistral 3, Llama 4, Qwen2.5-VL) nest the language model.
  std::string wrapper;
  if (const Node* t = root.find("model_type");
      t && t->kind == Node::Kind::scalar && multimodal_text_types().count(t->scalar))
    wrapper = t->scalar;
  const Node* config_node = &root;
  if (const Node* text = root.find("text_config"); text && text->is_map()) config_node = text;
  const Node& config = *config_node;

  // A flat multimodal file (Qwen2.5-VL) or a text_config of the wrapper's own text type
  // (qwen2_5_vl_text) reads as the wrapper's language model: Qwen2.5-VL's is Qwen2.
  const bool untyped_text = config_node != &root && !config.find("model_type");  // LlavaConfig: llama
  const std::string model_type = wrapper == "qwen2_5_vl" || (!wrapper.empty() && (config_node == &root || untyped_text))
                                     ? multimodal_text_types().at(wrapper)
                                     : text_model_type(config, root);
  // Class defaults complete nested text_configs (they list what differs) and the classes whose
  // shipped files rely on them (Gemma 3's text config, gpt-oss); a flat file of another class
  // must say what it means, else "missing".
  const bool flat = config_node == &root && wrapper.empty();
  const bool defaults_apply = !flat || model_type == "gpt_oss" || model_type == "gemma3_text";
  HfReader rd(config, m, class_defaults(defaults_apply ? model_type : ""));

  const bool falcon = model_type == "falcon" || model_type == "RefinedWeb" || model_type == "RefinedWebModel";
  const bool deepseek = model_type == "deepseek_v2" || model_type == "deepseek_v3" || model_type == "kimi_k2";
  const bool qwen3 = model_type == "qwen3" || model_type == "qwen3_moe";
  const bool gemma = model_type == "gemma2" || model_type == "gemma3_text";
  const bool llama4 = model_type == "llama4_text";
  const bool gpt_oss = model_type == "gpt_oss";
  const bool glm = model_type == "glm4_moe";
  m.architecture = falcon                        ? "falcon"
                   : deepseek                    ? (model_type == "kimi_k2" ? "kimi_k2" : "deepseek_v3")
                   : llama4                      ? "llama4"
                   : model_type == "gemma3_text" ? "gemma3"
                   : wrapper == "mistral3" || wrapper == "qwen2_5_vl" ? wrapper
                                                                      : model_type;

  m.layers = rd.integer("layers", {"num_hidden_layers", "n_layer", "num_layers"}, 1, 10'000);
  m.hidden_size = rd.integer("hidden_size", {"hidden_size", "n_embd", "n_embed", "d_model"}, 1, kMaxDim);
  m.heads = rd.integer("heads", {"num_attention_heads", "n_head", "num_heads"}, 1, 100'000);

  // KV heads: four spellings; Falcon's old format says multi_query (1 KV head) instead.
  if (rd.find({"num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"}) ||
      rd.has_default("num_key_value_heads")) {
    m.kv_heads = rd.integer("kv_heads", {"num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"},
                            1, 100'000);
  } else if (falcon && rd.boolean({"multi_query"}).value_or(true) &&
             !rd.boolean({"new_decoder_architecture"}).value_or(false)) {
    m.kv_heads = 1;  // FalconConfig: multi_query defaults to true
  } else {
    m.kv_heads = m.heads;
  }

  // An explicit head_dim wins (Gemma-2-9B: 256, not 3584/16 = 224; Qwen3-32B: 128, not 80).
  if (rd.find({"head_dim"}) || rd.has_default("head_dim")) {
    m.head_dim = rd.integer("head_dim", {"head_dim"}, 1, 100'000);
  } else {
    if (m.hidden_size % m.heads != 0)
      throw InputError(m.location_of("heads"), "num_attention_heads",
                       "does not divide hidden_size and no head_dim is given");
    m.head_dim = m.hidden_size / m.heads;
  }

  m.vocab_size = rd.integer("vocab_size", {"vocab_size", "padded_vocab_size"}, 1, kMaxDim);
  m.max_position = rd.integer("max_position", {"max_position_embeddings", "n_positions", "seq_length"}, 1,
                              1'000'000'000, falcon ? std::optional<std::int64_t>(2048) : std::nullopt);

  // Dense MLP width. GPT-2: n_inner null means 4 x hidden; Falcon: ffn_hidden_size or 4 x hidden.
  // Llama 4: intermediate_size is the experts' width, intermediate_size_mlp the dense layers'.
  if (model_type == "gpt2" || falcon) {
    m.ffn_size = rd.integer("ffn_size", {"n_inner", "ffn_hidden_size"}, 1, kMaxDim, 4 * m.hidden_size);
    m.gated_mlp = false;
  } else {
    m.ffn_size = rd.integer("ffn_size", {llama4 ? "intermediate_size_mlp" : "intermediate_size"}, 1, kMaxDim);
    m.gated_mlp = true;
  }

  if (const Node* act = rd.find({"hidden_activation", "hidden_act", "activation_function"}))
    m.activation = activation_from(*act, "hidden_act");
  else
    m.activation = (model_type == "gpt2" || falcon) ? Activation::gelu
                   : gemma                          ? Activation::gelu_tanh
                                                    : Activation::silu;

  // tie_word_embeddings absent: the config class's default (transformers): true for Gemma 2/3,
  // GPT-2 and Falcon; false for Llama (1-4), Mistral, Mixtral, Qwen2/3, Phi-3, DeepSeek, GLM,
  // gpt-oss. A multimodal wrapper may state it at the top level.
  const bool tie_default = gemma || model_type == "gpt2" || falcon;
  m.tie_embeddings = rd.boolean({"tie_word_embeddings"}).value_or(tie_default);
  if (config_node != &root && !rd.find({"tie_word_embeddings"}))
    if (const Node* t = root.find("tie_word_embeddings"); t && !t->is_null())
      m.tie_embeddings = as_bool(*t, "tie_word_embeddings");

  m.norm = (model_type == "gpt2" || falcon) ? NormKind::layernorm : NormKind::rmsnorm;
  m.norms_per_layer = gemma ? 4 : 2;
  if (falcon) {
    // New decoder (40B/180B): ln_attn + ln_mlp; old parallel-attention (7B): one input_layernorm.
    // The old "RefinedWeb" model_type (Falcon-40B/180B) is the new decoder architecture.
    const bool new_arch = rd.boolean({"new_decoder_architecture"}).value_or(model_type == "RefinedWeb");
    const bool parallel = rd.boolean({"parallel_attn"}).value_or(true);
    // vLLM's Falcon reduces attention and MLP outputs together when either flag is set.
    m.parallel_attention = new_arch || parallel;
    if (new_arch) {
      m.norms_per_layer = rd.integer("norms_per_layer", {"num_ln_in_parallel_attn"}, 1, 2, 2);
    } else {
      m.norms_per_layer = parallel ? 1 : 2;
    }
    const bool bias = rd.boolean({"bias"}).value_or(false);
    m.attention_bias = m.output_bias = m.mlp_bias = bias;
  } else if (model_type == "gpt2") {
    m.attention_bias = m.output_bias = m.mlp_bias = true;
    m.learned_positions = true;
  } else if (model_type == "qwen2") {
    // Qwen2Attention: q/k/v biases (attention_bias, default true in Qwen2's layer code), o_proj none.
    m.attention_bias = rd.boolean({"attention_bias"}).value_or(true);
  } else if (glm) {
    // Glm4MoeAttention: q/k/v biases follow attention_bias; o_proj has none.
    m.attention_bias = rd.boolean({"attention_bias"}).value_or(false);
  } else {
    // LlamaAttention, Qwen3Attention, GptOssAttention: attention_bias covers q, k, v and o
    // (GptOssConfig's default is true).
    const bool bias = rd.boolean({"attention_bias"}).value_or(gpt_oss);
    m.attention_bias = m.output_bias = bias;
    m.mlp_bias = rd.boolean({"mlp_bias"}).value_or(false);
  }
  // q_norm/k_norm: RMSNorm(head_dim) in Qwen3 and Gemma 3; GLM-4.5 behind use_qk_norm. Llama 4's
  // qk-norm is an L2 norm without weights: nothing stored.
  m.qk_norm = qwen3 || model_type == "gemma3_text" || (glm && rd.boolean({"use_qk_norm"}).value_or(false));

  // Checkpoint dtype: "dtype" (newer transformers) or "torch_dtype"; absent means float32.
  m.dtype = DType::fp32;
  for (const Node* holder : {config_node, &root}) {
    if (const Node* d = holder->find("dtype"); d && !d->is_null()) {
      m.dtype = dtype_from_torch(*d, "dtype");
      break;
    }
    if (const Node* d = holder->find("torch_dtype"); d && !d->is_null()) {
      m.dtype = dtype_from_torch(*d, "torch_dtype");
      break;
    }
  }

  // ---- Layer layout: attention kind per layer.
  std::vector<LayerSpec> layers(static_cast<std::size_t>(m.layers));
  auto each = [&](auto&& f) {
    for (std::int64_t i = 0; i < m.layers; ++i) f(i, layers[static_cast<std::size_t>(i)]);
  };
  std::vector<std::string> types;  // layer_types as given ("full_attention", ...)
  if (const Node* t = config.find("layer_types"); t && !t->is_null()) {
    if (t->kind != Node::Kind::sequence || t->items.empty())
      fail(*t, "layer_types", "expected a list of attention kinds");
    for (const Node& item : t->items)
      types.push_back(as_enum(item, "layer_types", {"full_attention", "sliding_attention", "chunked_attention"}));
    if (types.size() != static_cast<std::size_t>(m.layers))
      fail(*t, "layer_types",
           "has " + std::to_string(types.size()) + " entries for " + std::to_string(m.layers) + " layers");
  }
  // A key present as null switches the feature off (transformers and vLLM read None as "no
  // window"/"no chunking"); only an absent key takes the class default.
  auto stated_null = [&](const char* key) {
    const Node* n = config.find(key);
    return n && n->is_null();
  };
  const Node* window_node = rd.find({"sliding_window"});
  bool window_used =
      window_node != nullptr || ((model_type == "gemma3_text" || gpt_oss) && !stated_null("sliding_window"));
  if (model_type == "qwen2" || qwen3) window_used = window_used && rd.boolean({"use_sliding_window"}).value_or(false);
  std::int64_t window = 0;
  if (window_used) {
    window = rd.integer("sliding_window", {"sliding_window"}, 1, 1'000'000'000);
    m.field_locations["layout"] = m.location_of("sliding_window");
  }
  if (llama4) {
    // Llama4TextConfig: no_rope_layers[i] = 1 uses RoPE, 0 is a NoPE layer; absent or empty,
    // every 4th layer (3, 7, ...) is NoPE. RoPE layers attend within chunks of
    // attention_chunk_size; NoPE layers attend globally (vLLM: ChunkedLocalAttention only when
    // not NoPE).
    const std::int64_t chunk = stated_null("attention_chunk_size")
                                   ? 0
                                   : rd.integer("attention_chunk", {"attention_chunk_size"}, 1, 1'000'000'000);
    std::vector<bool> rope;
    const Node* rope_list = config.find("no_rope_layers");
    if (rope_list && !rope_list->is_null() && rope_list->kind != Node::Kind::sequence)
      fail(*rope_list, "no_rope_layers", "expected a list of 0 (NoPE) and 1 (RoPE) per layer");
    if (const Node* n = rope_list; n && n->kind == Node::Kind::sequence && !n->items.empty()) {
      if (n->items.size() != static_cast<std::size_t>(m.layers))
        fail(*n, "no_rope_layers",
             "has " + std::to_string(n->items.size()) + " entries for " + std::to_string(m.layers) + " layers");
      for (const Node& item : n->items) rope.push_back(as_int(item, "no_rope_layers", 0, 1) == 1);
    } else {
      const std::int64_t interval = rd.integer("no_rope_layer_interval", {"no_rope_layer_interval"}, 1, 10'000, 4);
      for (std::int64_t i = 0; i < m.layers; ++i) rope.push_back((i + 1) % interval != 0);
    }
    each([&](std::int64_t i, LayerSpec& l) {
      l.rope = rope[static_cast<std::size_t>(i)];
      if (l.rope && chunk > 0) {
        l.attention = AttentionKind::chunked;
        l.window = chunk;
      }
    });
  } else if (!types.empty()) {
    each([&](std::int64_t i, LayerSpec& l) {
      const std::string& t = types[static_cast<std::size_t>(i)];
      if (t == "sliding_attention" && window > 0) {
        l.attention = AttentionKind::sliding;
        l.window = window;
      } else if (t == "chunked_attention") {
        fail(*config.find("layer_types"), "layer_types", "chunked_attention is read for Llama 4 only");
      }
    });
  } else if (window > 0) {
    std::function<bool(std::int64_t)> slides = [](std::int64_t) { return true; };
    if (model_type == "gemma2") {
      slides = [](std::int64_t i) { return i % 2 == 0; };  // Gemma2: even layers slide
    } else if (model_type == "gemma3_text") {
      // Gemma3TextConfig: layer i is global when (i + 1) % sliding_window_pattern == 0.
      const std::int64_t period = rd.integer("sliding_window_pattern", {"sliding_window_pattern"}, 1, 10'000);
      slides = [period](std::int64_t i) { return (i + 1) % period != 0; };
    } else if (gpt_oss) {
      slides = [](std::int64_t i) { return i % 2 == 0; };  // vLLM gpt_oss: layer_idx % 2 == 0
    } else if (model_type == "qwen2" || qwen3) {
      // Qwen2Attention: layers from max_window_layers on use the window.
      const auto first = rd.integer("max_window_layers", {"max_window_layers"}, 0, m.layers, m.layers);
      slides = [first](std::int64_t i) { return i >= first; };
    }
    each([&](std::int64_t i, LayerSpec& l) {
      if (!slides(i)) return;
      l.attention = AttentionKind::sliding;
      l.window = window;
    });
  }
  if (gpt_oss) each([](std::int64_t, LayerSpec& l) { l.sinks = true; });  // GptOssAttention.sinks

  // ---- MLP per layer: dense of ffn_size, or routed experts.
  std::function<bool(std::int64_t)> sparse;
  MoeSpec moe;
  if (model_type == "mixtral") {
    moe.experts = rd.integer("moe.experts", {"num_local_experts"}, 1, 100'000);
    moe.experts_per_token = rd.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = m.ffn_size;
    sparse = [](std::int64_t) { return true; };
  } else if (gpt_oss) {
    // GptOssMLP: router Linear(hidden, E) with bias; experts' gate_up and down carry biases.
    moe.experts = rd.integer("moe.experts", {"num_local_experts"}, 1, 100'000);
    moe.experts_per_token =
        rd.integer("moe.experts_per_token", {"num_experts_per_tok", "experts_per_token"}, 1, 100'000);
    moe.expert_ffn_size = m.ffn_size;
    moe.router_bias = moe.expert_bias = true;
    sparse = [](std::int64_t) { return true; };
  } else if (model_type == "qwen3_moe") {
    // Qwen3MoeDecoderLayer: sparse when not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
    moe.experts = rd.integer("moe.experts", {"num_experts"}, 1, 100'000);
    moe.experts_per_token = rd.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = rd.integer("moe.expert_ffn_size", {"moe_intermediate_size"}, 1, kMaxDim);
    const std::int64_t step = rd.integer("decoder_sparse_step", {"decoder_sparse_step"}, 1, 10'000, 1);
    std::vector<bool> dense_only(static_cast<std::size_t>(m.layers), false);
    if (const Node* n = config.find("mlp_only_layers"); n && !n->is_null()) {
      if (n->kind != Node::Kind::sequence) fail(*n, "mlp_only_layers", "expected a list of layer indices");
      for (const Node& item : n->items)
        dense_only[static_cast<std::size_t>(as_int(item, "mlp_only_layers", 0, m.layers - 1))] = true;
    }
    sparse = [=](std::int64_t i) { return !dense_only[static_cast<std::size_t>(i)] && (i + 1) % step == 0; };
  } else if (llama4) {
    // Llama4TextMoe: routed experts of intermediate_size, a router without bias and one shared
    // expert of intermediate_size; MoE layers are every interleave_moe_layer_step-th layer,
    // (i + 1) % step == 0, as vLLM decides (it ignores moe_layers; transformers' default for it
    // is the same list).
    moe.experts = rd.integer("moe.experts", {"num_local_experts"}, 1, 100'000);
    moe.experts_per_token = rd.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = rd.integer("moe.expert_ffn_size", {"intermediate_size"}, 1, kMaxDim);
    moe.shared_experts = 1;
    const std::int64_t step = rd.integer("interleave_moe_layer_step", {"interleave_moe_layer_step"}, 1, 10'000);
    sparse = [step](std::int64_t i) { return (i + 1) % step == 0; };
  } else if (deepseek || glm) {
    // DeepseekV3 / Kimi-K2 / Glm4Moe: dense until first_k_dense_replace, then MoE every
    // moe_layer_freq-th layer; shared experts of moe_intermediate_size each; the noaux_tc router
    // keeps a per-expert e_score_correction_bias (GLM-4.5 always).
    moe.experts = rd.integer("moe.experts", {"n_routed_experts"}, 1, 100'000);
    moe.experts_per_token = rd.integer("moe.experts_per_token", {"num_experts_per_tok"}, 1, 100'000);
    moe.expert_ffn_size = rd.integer("moe.expert_ffn_size", {"moe_intermediate_size"}, 1, kMaxDim);
    moe.shared_experts = rd.integer("moe.shared_experts", {"n_shared_experts"}, 0, 1'000, 0);
    const std::int64_t first = rd.integer("moe.first_dense_layers", {"first_k_dense_replace"}, 0, m.layers, 0);
    const std::int64_t freq = rd.integer("moe_layer_freq", {"moe_layer_freq"}, 1, 1'000, 1);
    moe.router_bias = glm || rd.text({"topk_method"}).value_or("") == "noaux_tc";
    sparse = [=](std::int64_t i) { return i >= first && i % freq == 0; };
    m.mtp_layers = rd.integer("mtp_layers", {"num_nextn_predict_layers"}, 0, 100, 0);
  }
  each([&](std::int64_t i, LayerSpec& l) {
    l.moe = sparse && sparse(i);
    l.ffn_size = l.moe ? 0 : m.ffn_size;
  });
  // A config whose sparse-layer rule picks no layer (interleave step above the depth, every
  // layer dense-first) builds an all-dense model in transformers: so does ridge.
  if (sparse && std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) { return l.moe; })) m.moe = moe;
  m.layer_specs = std::move(layers);

  if (deepseek) {
    MlaSpec mla;
    mla.q_lora_rank = rd.integer("mla.q_lora_rank", {"q_lora_rank"}, 1, kMaxDim, 0);
    mla.kv_lora_rank = rd.integer("mla.kv_lora_rank", {"kv_lora_rank"}, 1, kMaxDim);
    mla.qk_nope_head_dim = rd.integer("mla.qk_nope_head_dim", {"qk_nope_head_dim"}, 1, 100'000);
    mla.qk_rope_head_dim = rd.integer("mla.qk_rope_head_dim", {"qk_rope_head_dim"}, 1, 100'000);
    mla.v_head_dim = rd.integer("mla.v_head_dim", {"v_head_dim"}, 1, 100'000);
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

  if (!wrapper.empty()) m.vision_params = vision_tower_params(root, wrapper, m.hidden_size, m.vision_note);

  // Names: the directory or file stem; display the HF id when the config carries one.
  m.name = source;
  if (auto id = rd.text({"_name_or_path"})) m.display_name = *id;
  validate_model(m);
  return m;
}

}  // namespace ridge
