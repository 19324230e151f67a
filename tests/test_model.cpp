// The layer layout: every bundled model of 2025 against its model card's or checkpoint's counts,
// the layouts their configs imply (which layers slide, chunk, skip RoPE, route to experts),
// and the HF reader agreeing with the bundled YAML.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "loaders.hpp"
#include "memory.hpp"
#include "ops.hpp"

using namespace ridge;

namespace {
const std::string kData = std::string(RIDGE_SOURCE_DIR) + "/tests/data/";
ModelSpec hf(const char* file) { return resolve_model(kData + "hf/" + file); }

std::vector<std::int64_t> layers_where(const ModelSpec& m, bool (*pred)(const LayerSpec&)) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < m.layers; ++i)
    if (pred(m.layer(i))) out.push_back(i);
  return out;
}
}  // namespace

TEST_CASE("keys and held tokens per attention kind") {
  // Keys one decode step attends: LayerGroup::span with one new token.
  auto group = [](AttentionKind kind, double window) {
    LayerGroup g;
    g.attention = kind;
    g.window = window;
    return g;
  };
  const LayerGroup sliding_group = group(AttentionKind::sliding, 1024);
  CHECK(sliding_group.span(1, 500) == 500);
  CHECK(sliding_group.span(1, 5000) == 1024);
  const LayerGroup chunked_group = group(AttentionKind::chunked, 8192);
  CHECK(chunked_group.span(1, 8192) == 8192);
  CHECK(chunked_group.span(1, 8193) == 1);      // a new chunk starts
  CHECK(chunked_group.span(1, 20000) == 3616);  // 20000 − 2·8192
  CHECK(group(AttentionKind::global, 0).span(1, 20000) == 20000);
  // Tokens held (cached_tokens, exact tokens): Gemma 3's layer 0 slides over 1,024, Llama 4
  // Scout's layer 0 is chunked over 8,192.
  CHECK(cached_tokens(resolve_model("gemma-3-27b"), 0, 5000) == 1024);
  CHECK(cached_tokens(resolve_model("llama-4-scout"), 0, 20000) == 8192);
  const LayerSpec sliding{AttentionKind::sliding, 1024};
  const LayerSpec global;
  CHECK(repeat_layout({sliding, global}, 5).size() == 5);
  CHECK(repeat_layout({sliding, global}, 5)[4] == sliding);  // cut short after 2½ repeats
}

TEST_CASE("2025 models: totals against the published figures") {
  // Exact integers: HF safetensors "total" (Qwen3), an independent recount (Kimi-K2), DeepSeek's
  // 671B main model. Rounded card figures are checked to the rounding they were printed with.
  struct Published {
    const char* name;
    double params;
    double tolerance;  // absolute, parameters
    bool with_vision;  // the figure counts the vision tower
  };
  const Published published[] = {
      {"qwen3-8b", 8'190'735'360, 0, false},
      {"qwen3-32b", 32'762'123'264, 0, false},
      {"qwen3-30b-a3b", 30'532'122'624, 0, false},
      {"qwen3-235b-a22b", 235'093'634'560, 0, false},
      {"kimi-k2", 1'026'408'232'448, 0, false},
      {"deepseek-r1", 671'026'419'200, 0, false},
      // gpt-oss model card (arXiv 2508.10925) Table 1: 116.83B and 20.91B, two decimals.
      {"gpt-oss-120b", 116.83e9, 0.005e9, false},
      {"gpt-oss-20b", 20.91e9, 0.005e9, false},
      // Gemma 3 report Table 1: 417M + 1,416M + 25,600M; HF total 27,432,406,640.
      {"gemma-3-27b", 27'432'406'640, 0, true},
      // Llama 4 model card: 109B and 400B total (rounded to 1B and to the 100B's "400B").
      {"llama-4-scout", 109e9, 0.5e9, true},
      {"llama-4-maverick", 400e9, 2e9, true},
  };
  for (const auto& p : published) {
    CAPTURE(p.name);
    const ParamCount c = count_params(resolve_model(p.name));
    const double total = static_cast<double>(c.total + (p.with_vision ? c.vision : 0));
    CHECK(std::abs(total - p.params) <= p.tolerance);
  }
  // Gemma 3's report splits the 27B: vision encoder 417M (SigLIP alone: 416,866,032; the
  // projector's 1152 x 5376 + 1152 = 6,194,304 is the rest of vision_params), embedding 1,416M
  // (262,208 x 5,376 = 1,409,630,208), non-embedding 25,600M.
  const ParamCount g = count_params(resolve_model("gemma-3-27b"));
  CHECK(g.vision == 416'866'032 + 1152 * 5376 + 1152);
  CHECK(g.embedding == 262'208LL * 5'376);
  CHECK(std::abs(static_cast<double>(g.total - g.embedding) - 25'600e6) < 0.5e6);
}

TEST_CASE("2025 models: active parameters per token, in each card's convention") {
  // ridge counts the input embedding and the LM head as active (README "Conventions").
  // Qwen3 cards do the same: 30B-A3B "3.3B activated", 235B-A22B "22B activated".
  CHECK(count_params(resolve_model("qwen3-30b-a3b")).active == 3'353'032'704);
  CHECK(count_params(resolve_model("qwen3-235b-a22b")).active == 22'190'763'520);
  // gpt-oss cards count the unembedding but not the embedding: 5.13B and 3.61B.
  for (auto [name, active] : {std::pair{"gpt-oss-120b", 5.13e9}, std::pair{"gpt-oss-20b", 3.61e9}}) {
    CAPTURE(name);
    const ParamCount c = count_params(resolve_model(name));
    CHECK(std::abs(static_cast<double>(c.active - c.embedding) - active) <= 0.005e9);
  }
  // gpt-oss-120b by hand: per layer attention 2880·4096 (q) + 2·2880·512 (k, v) + 4096·2880 (o)
  // + biases 4096 + 2·512 + 2880 + 64 sinks = 26,550,144; norms 2·2880; router 128·2880 + 128;
  // four of 128 experts, each 2·2880·2880 + 2880·2880 + 2·2880 + 2880 (biases) = 24,891,840.
  // Active = 36·(26,550,144 + 5,760 + 368,768 + 4·24,891,840) + 2880 (final norm) + 201,088·2880.
  CHECK(count_params(resolve_model("gpt-oss-120b")).active - count_params(resolve_model("gpt-oss-120b")).embedding ==
        36LL * (26'550'144 + 5'760 + 368'768 + 4LL * 24'891'840) + 2'880 + 201'088LL * 2'880);
  // Llama 4 (model card: 17B activated): Scout and Maverick.
  CHECK(std::abs(static_cast<double>(count_params(resolve_model("llama-4-scout")).active) - 17e9) < 0.5e9);
  CHECK(std::abs(static_cast<double>(count_params(resolve_model("llama-4-maverick")).active) - 17e9) < 0.5e9);
  // DeepSeek-R1: "37B activated"; DeepSeek's README_WEIGHTS: 36.6B without the input embedding.
  const ParamCount r1 = count_params(resolve_model("deepseek-r1"));
  CHECK(std::abs(static_cast<double>(r1.active) - 37e9) < 1e9);
  CHECK(std::abs(static_cast<double>(r1.active - r1.embedding) - 36.6e9) < 0.05e9);
  // Kimi-K2: "32 billion activated".
  CHECK(std::abs(static_cast<double>(count_params(resolve_model("kimi-k2")).active) - 32e9) < 1e9);
}

TEST_CASE("GLM-4.5: 355B total and 32B active counted as its paper does (MTP in, embeddings out)") {
  const ModelSpec m = resolve_model("glm-4.5");
  const ParamCount c = count_params(m);
  const std::int64_t word = 151'552LL * 5'120;  // embedding; the untied output layer is as large
  // MTP layer 92: one MoE decoder layer + enorm, hnorm (5120 each) + eh_proj 5120 x 10240 +
  // shared_head norm (5120).
  CHECK(c.mtp == 3'988'069'792);
  // arXiv 2508.06471 Table 1: "355B total / 32B activated", MTP included, word embedding and
  // output layer excluded.
  CHECK(std::abs(static_cast<double>(c.total - 2 * word + c.mtp) - 355e9) < 0.5e9);
  // HF safetensors total 358,337,791,296: the main model, the MTP layer and its own copies of
  // the embedding and head.
  CHECK(c.total + c.mtp + 2 * word == 358'337'791'296);
  // DeepSeek-V3's MTP module: 13,463,426,304 in the checkpoint with its embedding and head
  // (2 x 129,280 x 7,168) -> 11,610,068,224 of its own.
  CHECK(count_params(resolve_model("deepseek-v3")).mtp == 13'463'426'304 - 2LL * 129'280 * 7'168);
}

TEST_CASE("gpt-oss weights as shipped: MXFP4 experts, bf16 elsewhere, to the byte") {
  // gpt-oss-20b's model.safetensors.index.json total_size is 13,761,264,768 B: the experts'
  // *_blocks (4 bits) and *_scales (one byte per 32), everything else bf16.
  const ModelSpec m = resolve_model("gpt-oss-20b");
  REQUIRE(m.checkpoint_format.has_value());
  CHECK(m.checkpoint_format->name == "mxfp4-experts");
  CHECK(weight_bytes(m, *m.checkpoint_format).value == 13'761'264'768ULL);
  // gpt-oss-120b: 60.8 GiB on the model card.
  const ModelSpec big = resolve_model("gpt-oss-120b");
  CHECK(static_cast<double>(weight_bytes(big, *big.checkpoint_format).value) / kGiB ==
        doctest::Approx(60.77).epsilon(0.001));
}

TEST_CASE("layouts the configs imply") {
  auto global = [](const LayerSpec& l) { return l.attention == AttentionKind::global; };
  auto nope = [](const LayerSpec& l) { return !l.rope; };
  auto moe = [](const LayerSpec& l) { return l.moe; };
  // Gemma 3: global when (i + 1) % 6 == 0 -> 5, 11, ..., 59; 62 layers, the last two local.
  const ModelSpec gemma = resolve_model("gemma-3-27b");
  CHECK(layers_where(gemma, global) == std::vector<std::int64_t>{5, 11, 17, 23, 29, 35, 41, 47, 53, 59});
  CHECK(gemma.layer(0).window == 1024);
  // Llama 4: NoPE (and global) every 4th layer; Maverick routes the odd layers.
  const ModelSpec scout = resolve_model("llama-4-scout");
  std::vector<std::int64_t> every_fourth;
  for (std::int64_t i = 3; i < 48; i += 4) every_fourth.push_back(i);
  CHECK(layers_where(scout, nope) == every_fourth);
  CHECK(layers_where(scout, global) == every_fourth);
  CHECK(layers_where(scout, moe).size() == 48);
  const ModelSpec maverick = resolve_model("llama-4-maverick");
  CHECK(layers_where(maverick, moe).size() == 24);
  CHECK(maverick.layer(1).moe);
  CHECK_FALSE(maverick.layer(0).moe);
  CHECK(maverick.layer(0).ffn_size == 16384);  // intermediate_size_mlp
  // gpt-oss: even layers slide over 128 tokens, all layers have sinks.
  const ModelSpec oss = resolve_model("gpt-oss-20b");
  CHECK(oss.layer(0).attention == AttentionKind::sliding);
  CHECK(oss.layer(0).window == 128);
  CHECK(oss.layer(1).attention == AttentionKind::global);
  CHECK(layers_where(oss, [](const LayerSpec& l) { return l.sinks; }).size() == 24);
  // GLM-4.5 and DeepSeek: leading dense layers.
  CHECK(layers_where(resolve_model("glm-4.5"), moe).front() == 3);
  CHECK(layers_where(resolve_model("kimi-k2"), moe).front() == 1);
}

TEST_CASE("Hugging Face configs of 2025 give the bundled model") {
  struct Case {
    const char* file;
    const char* bundled;
  };
  for (const Case c : {Case{"qwen3-8b.json", "qwen3-8b"}, Case{"qwen3-32b.json", "qwen3-32b"},
                       Case{"qwen3-30b-a3b.json", "qwen3-30b-a3b"}, Case{"qwen3-235b-a22b.json", "qwen3-235b-a22b"},
                       Case{"llama-4-scout.json", "llama-4-scout"}, Case{"llama-4-maverick.json", "llama-4-maverick"},
                       Case{"gpt-oss-20b.json", "gpt-oss-20b"}, Case{"gpt-oss-120b.json", "gpt-oss-120b"},
                       Case{"gemma-3-27b.json", "gemma-3-27b"}, Case{"glm-4.5.json", "glm-4.5"},
                       Case{"kimi-k2.json", "kimi-k2"}, Case{"deepseek-r1.json", "deepseek-r1"}}) {
    CAPTURE(c.file);
    const ModelSpec from_hf = hf(c.file);
    const ModelSpec yaml = resolve_model(c.bundled);
    CHECK(from_hf.layer_specs == yaml.layer_specs);
    const ParamCount a = count_params(from_hf), b = count_params(yaml);
    CHECK(a.total == b.total);
    CHECK(a.active == b.active);
    CHECK(a.vision == b.vision);
    CHECK(a.mtp == b.mtp);
    CHECK(from_hf.checkpoint_format.has_value() == yaml.checkpoint_format.has_value());
    if (from_hf.checkpoint_format && yaml.checkpoint_format)
      CHECK(weight_bytes(from_hf, *from_hf.checkpoint_format) == weight_bytes(yaml, *yaml.checkpoint_format));
    CHECK(kv_cache_bytes(from_hf, DType::bf16, 100'000, 1, 1, 0, from_hf.layers, 16) ==
          kv_cache_bytes(yaml, DType::bf16, 100'000, 1, 1, 0, yaml.layers, 16));
  }
}

TEST_CASE("multimodal configs: the language model planned, the vision tower counted") {
  // Mistral Small 3.1 (mistral3): text 23,572,403,200; Pixtral tower 403,305,472 + projector
  // (RMSNorm 1024 + merger 4096 x 1024 + 1024 x 5120 + 5120 x 5120, no biases) 35,652,608.
  const ModelSpec mistral = hf("mistral-small-3.1.json");
  CHECK(count_params(mistral).total == 23'572'403'200);
  CHECK(count_params(mistral).vision == 403'305'472 + 1024 + 4096LL * 1024 + 1024LL * 5120 + 5120LL * 5120);
  CHECK_FALSE(mistral.has_local_attention());  // text_config sliding_window: null
  // Qwen2.5-VL-7B (flat config): Qwen2.5-7B's language model (7,615,616,512, biased q/k/v).
  const ModelSpec vl = hf("qwen2.5-vl-7b.json");
  CHECK(count_params(vl).total == 7'615'616'512);
  CHECK(vl.attention_bias);
  CHECK(count_params(vl).vision == 631'975'680 + 44'574'464);
  // LLaVA-1.5-7B: CLIP ViT-L/14-336 (303,507,456) + two-layer projector (20,979,712).
  CHECK(count_params(hf("llava-1.5-7b.json")).vision == 303'507'456 + 20'979'712);
  // The vision tower's bytes are in the weights: bf16, on the first pipeline stage.
  const ModelSpec gemma = hf("gemma-3-27b.json");
  const WeightFormat bf16 = *weight_format("bf16");
  CHECK(weight_bytes(gemma, bf16).value == 2ULL * (count_params(gemma).total + count_params(gemma).vision));
}

TEST_CASE("HF reading rules") {
  // Kimi-K2 says model_type kimi_k2; its architectures class is DeepseekV3ForCausalLM.
  const ModelSpec kimi = hf("kimi-k2.json");
  CHECK(kimi.mla.has_value());
  CHECK(kimi.architecture == "kimi_k2");
  // Gemma 3's text_config omits vocab_size, max_position_embeddings, tie_word_embeddings and the
  // sliding-window pattern: Gemma3TextConfig's defaults apply.
  const ModelSpec gemma = hf("gemma-3-27b.json");
  CHECK(gemma.vocab_size == 262'208);
  CHECK(gemma.max_position == 131'072);
  CHECK(gemma.tie_embeddings);
  CHECK(gemma.qk_norm);
  // Qwen3: head_dim 128 given explicitly (32B: 5120 / 64 would be 80).
  CHECK(hf("qwen3-32b.json").head_dim == 128);
}

namespace {
/// A fixture's text with `from` replaced by `to` (once), read as an HF config.
ModelSpec hf_edited(const char* file, const std::string& from, const std::string& to) {
  std::string text = read_text_file(kData + "hf/" + file);
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return model_from_hf_config(parse_document(text, file), file);
}
std::string hf_error(const char* file, const std::string& from, const std::string& to) {
  try {
    hf_edited(file, from, to);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("HF layout keys: decoder_sparse_step, mlp_only_layers, no_rope_layers, attention_bias") {
  // Qwen3-MoE: sparse when not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
  const ModelSpec step2 = hf_edited("qwen3-30b-a3b.json", "\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 2");
  CHECK_FALSE(step2.layer(0).moe);
  CHECK(step2.layer(1).moe);
  CHECK(step2.moe_layer_count() == 24);
  CHECK(step2.layer(0).ffn_size == 6144);  // the dense layers use intermediate_size
  const ModelSpec dense0 = hf_edited("qwen3-30b-a3b.json", "\"mlp_only_layers\": []", "\"mlp_only_layers\": [0, 47]");
  CHECK(dense0.moe_layer_count() == 46);
  CHECK_FALSE(dense0.layer(47).moe);
  CHECK(hf_error("qwen3-30b-a3b.json", "\"mlp_only_layers\": []", "\"mlp_only_layers\": [48]")
            .ends_with("mlp_only_layers: 48 is out of range; expected 0 to 47"));
  // Llama 4: an explicit no_rope_layers list (1 = RoPE); here only layer 0 is NoPE.
  std::string rope = "[0";
  for (int i = 1; i < 48; ++i) rope += ", 1";
  rope += "]";
  const ModelSpec one_nope = hf_edited("llama-4-scout.json", "\"no_rope_layers\": []", "\"no_rope_layers\": " + rope);
  CHECK_FALSE(one_nope.layer(0).rope);
  CHECK(one_nope.layer(0).attention == AttentionKind::global);
  CHECK(one_nope.layer(3).attention == AttentionKind::chunked);
  CHECK(hf_error("llama-4-scout.json", "\"no_rope_layers\": []", "\"no_rope_layers\": [1, 0]")
            .ends_with("no_rope_layers: has 2 entries for 48 layers"));
  // Qwen2 (Qwen2.5-VL's language model): attention_bias false is honoured.
  const ModelSpec no_bias =
      hf_edited("qwen2.5-vl-7b.json", "\"hidden_act\"", "\"attention_bias\": false, \"hidden_act\"");
  CHECK_FALSE(no_bias.attention_bias);
  CHECK(count_params(hf("qwen2.5-vl-7b.json")).total - count_params(no_bias).total == 28LL * (3584 + 2 * 512));
  // An unknown model_type whose architectures class is known reads as that class.
  const ModelSpec renamed = hf_edited("qwen3-8b.json", "\"model_type\": \"qwen3\"", "\"model_type\": \"my_finetune\"");
  CHECK(count_params(renamed).total == 8'190'735'360);
}

TEST_CASE("HF edge cases: class defaults, MXFP4 scope, vision fields") {
  // A flat mistral config without num_key_value_heads: MHA (kv = heads), as before.
  const ModelSpec mha = hf_edited("qwen3-8b.json", "\"num_key_value_heads\": 8,", "");
  CHECK(mha.kv_heads == 32);
  // An mxfp4 quantization_config without modules_to_not_convert still quantises only the experts
  // (transformers' Mxfp4HfQuantizer, vLLM's Mxfp4Config).
  const ModelSpec oss = hf_edited("gpt-oss-20b.json", "\"modules_to_not_convert\"", "\"another_list\"");
  CHECK(oss.checkpoint_format->experts_only);
  // A vision patch_size of 0 is an input error, not a division by zero.
  CHECK(hf_error("gemma-3-27b.json", "\"patch_size\": 14", "\"patch_size\": 0")
            .ends_with("vision_config.patch_size: 0 is out of range; expected 1 to 1000000"));
}

TEST_CASE("formats a checkpoint cannot be served in at a TP size") {
  // FP8 with 128 x 128 block scales: every width a rank holds must be whole blocks. Qwen3-235B's
  // experts are 1,536 wide: TP 4 leaves 384 = 3 blocks, TP 8 leaves 192 (vLLM: "... = 192 is not
  // divisible by weight quantization block_n = 128", vllm-project/vllm#17569).
  const ModelSpec q = resolve_model("qwen3-235b-a22b");
  const WeightFormat block = *weight_format("fp8-block128");
  CHECK_FALSE(sharding_problem(q, 4, 1, &block).has_value());
  const auto tp8 = sharding_problem(q, 8, 1, &block);
  REQUIRE(tp8.has_value());
  CHECK(tp8->message ==
        "8 leaves 192 of the expert FFN width 1536 per GPU, not whole fp8-block128 blocks of 128 (vLLM refuses to load "
        "it)");
  // DeepSeek-R1 ships fp8-block128: TP 16 leaves 128 of 2,048 (fine), TP 32 64.
  const ModelSpec r1 = resolve_model("deepseek-r1");
  CHECK_FALSE(sharding_problem(r1, 16, 1, &*r1.checkpoint_format).has_value());
  CHECK(sharding_problem(r1, 32, 1, &*r1.checkpoint_format).has_value());
  // Other formats do not care.
  const WeightFormat fp8 = *weight_format("fp8");
  CHECK_FALSE(sharding_problem(q, 8, 1, &fp8).has_value());
  // An experts-only format on a model without experts would quantise nothing.
  const WeightFormat mx = *weight_format("mxfp4-experts");
  const auto dense = sharding_problem(resolve_model("qwen3-8b"), 1, 1, &mx);
  REQUIRE(dense.has_value());
  CHECK(dense->option == "--precision");
}

TEST_CASE("HF: a null switches a feature off; a sparse rule that picks no layer is a dense model") {
  // attention_chunk_size: null -> Llama 4 without chunked attention: every layer global.
  const ModelSpec scout =
      hf_edited("llama-4-scout.json", "\"attention_chunk_size\": 8192", "\"attention_chunk_size\": null");
  CHECK_FALSE(scout.has_local_attention());
  CHECK_FALSE(scout.layer(3).rope);  // NoPE layers stay NoPE
  // Gemma 3 with sliding_window: null: no window (an absent key takes the class default 4096).
  const ModelSpec gemma = hf_edited("gemma-3-27b.json", "\"sliding_window\": 1024", "\"sliding_window\": null");
  CHECK_FALSE(gemma.has_local_attention());
  // interleave_moe_layer_step 100 on 48 layers: (i + 1) % 100 == 0 never holds: a dense model.
  const ModelSpec dense =
      hf_edited("llama-4-scout.json", "\"interleave_moe_layer_step\": 1", "\"interleave_moe_layer_step\": 100");
  CHECK_FALSE(dense.moe.has_value());
  CHECK(dense.moe_layer_count() == 0);
  CHECK(dense.layer(0).ffn_size == 16384);
}

TEST_CASE("HF multimodal edge cases") {
  // A vision size the file omits is an error, not another model's default.
  CHECK(hf_error("gemma-3-27b.json", "\"patch_size\": 14,", "")
            .ends_with("vision_config.patch_size: missing; needed to count the vision tower"));
  // LlavaConfig's text model defaults to Llama when text_config names no model_type.
  const ModelSpec llava = hf_edited("llava-1.5-7b.json", "\"model_type\": \"llama\",", "");
  CHECK(count_params(llava).total == 6'738'939'904);
  // no_rope_layers must be a list.
  CHECK(hf_error("llama-4-scout.json", "\"no_rope_layers\": []", "\"no_rope_layers\": 4")
            .ends_with("no_rope_layers: expected a list of 0 (NoPE) and 1 (RoPE) per layer"));
}
