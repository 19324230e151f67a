// Loaders: every bundled file loads; HF configs map onto the same numbers; every bad-input
// class fails with one exact, located message.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "loaders.hpp"
#include "memory.hpp"
#include "quantity.hpp"

using namespace ridge;

namespace {
const std::string kData = std::string(RIDGE_SOURCE_DIR) + "/tests/data/";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("every bundled model and GPU loads, named as its file") {
  CHECK(bundled_model_names().size() >= 30);
  for (const auto& name : bundled_model_names()) {
    CAPTURE(name);
    const ModelSpec m = resolve_model(name);
    CHECK(m.name == name);
    REQUIRE(m.published_params.has_value());
  }
  const std::vector<std::string> gpus = {"a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200",
                                         "b200",      "l40s",      "l4",       "rtx-4090",  "mi300x"};
  for (const auto& name : gpus) {
    CAPTURE(name);
    const GpuSpec g = resolve_gpu(name);
    CHECK(g.name == name);
    CHECK(g.memory.value > 16 * kGiB);
  }
}

TEST_CASE("GPU datasheet figures (dense, never sparse)") {
  const GpuSpec h100 = resolve_gpu("h100-sxm");
  CHECK(h100.peak(DType::bf16)->value == doctest::Approx(989.4e12));  // whitepaper Table 3, dense
  CHECK(h100.peak(DType::fp8)->value == doctest::Approx(1978.9e12));
  CHECK(h100.memory_bandwidth.value == doctest::Approx(3.35e12));
  CHECK(h100.memory.value == 81559ULL * kMiB);  // nvidia-smi total
  // Ridge point bf16: 989.4e12 / 3.35e12 = 295 FLOP/byte.
  CHECK(h100.peak(DType::bf16)->value / h100.memory_bandwidth.value == doctest::Approx(295.3).epsilon(0.001));
  const GpuSpec a100 = resolve_gpu("a100-40gb");
  CHECK(a100.memory_bandwidth.value == doctest::Approx(1.555e12));
  CHECK(a100.peak(DType::bf16)->value == doctest::Approx(312e12));
  CHECK_FALSE(a100.peak(DType::fp8).has_value());  // no fp8 tensor cores on Ampere
  CHECK(resolve_gpu("a100-80gb").memory_bandwidth.value == doctest::Approx(2.039e12));
  CHECK(resolve_gpu("h100-pcie").peak(DType::bf16)->value == doctest::Approx(756e12));
}

TEST_CASE("Hugging Face configs give the same model as the bundled YAML") {
  struct Case {
    const char* file;
    const char* bundled;
  };
  for (const Case c : {Case{"llama-3.1-8b.json", "llama-3.1-8b"}, Case{"gemma-2-9b.json", "gemma-2-9b"},
                       Case{"gpt2.json", "gpt2"}, Case{"mixtral-8x7b.json", "mixtral-8x7b"},
                       Case{"deepseek-v3.json", "deepseek-v3"}, Case{"qwen2.5-7b.json", "qwen2.5-7b"},
                       Case{"phi-3-mini-4k.json", "phi-3-mini-4k"}, Case{"falcon-40b-old.json", "falcon-40b"}}) {
    CAPTURE(c.file);
    const ModelSpec hf = resolve_model(kData + "hf/" + c.file);
    const ModelSpec yaml = resolve_model(c.bundled);
    CHECK(count_params(hf).total == count_params(yaml).total);
    CHECK(count_params(hf).active == count_params(yaml).active);
    CHECK(kv_bytes_per_token(hf, DType::bf16) == kv_bytes_per_token(yaml, DType::bf16));
    CHECK(kv_cache_bytes(hf, DType::bf16, 20000, 1, 1, 0, hf.layers) ==
          kv_cache_bytes(yaml, DType::bf16, 20000, 1, 1, 0, yaml.layers));
  }
}

TEST_CASE("Hugging Face field variants") {
  const ModelSpec gemma = resolve_model(kData + "hf/gemma-2-9b.json");
  CHECK(gemma.head_dim == 256);  // explicit head_dim, not 3584 / 16 = 224
  CHECK(gemma.tie_embeddings);   // absent -> Gemma default true
  CHECK(gemma.layer(0).attention == AttentionKind::sliding);
  CHECK(gemma.layer(0).window == 4096);
  CHECK(gemma.layer(1).attention == AttentionKind::global);
  const ModelSpec qwen = resolve_model(kData + "hf/qwen2.5-7b.json");
  CHECK_FALSE(qwen.has_local_attention());  // use_sliding_window: false
  CHECK(qwen.attention_bias);
  const ModelSpec falcon = resolve_model(kData + "hf/falcon-40b-old.json");
  CHECK(falcon.kv_heads == 8);  // n_head_kv
  CHECK(falcon.tie_embeddings);
  // The directory form: a directory holding config.json is named after the directory.
  const ModelSpec dir = resolve_model(kData + "hf/dir-form/llama-3.1-8b");
  CHECK(dir.name == "llama-3.1-8b");
  CHECK(count_params(dir).total == 8'030'261'248);
  // LLaVA nests the language model; its text_config lists only non-default LlamaConfig values:
  // Vicuna-7B = Llama-2-7B with vocab 32,064: 6,738,415,616 + 2 x 64 x 4,096 = 6,738,939,904.
  const ModelSpec llava = resolve_model(kData + "hf/llava-1.5-7b.json");
  CHECK(count_params(llava).total == 6'738'939'904);
  // AWQ checkpoint: int4, group 128, with zero points.
  const ModelSpec awq = resolve_model(kData + "hf/llama-3.1-8b-awq.json");
  REQUIRE(awq.checkpoint_format.has_value());
  CHECK(awq.checkpoint_format->weight_bits == 4);
  CHECK(awq.checkpoint_format->group_size == 128);
  CHECK(awq.checkpoint_format->zero_bits == 4);
  // DeepSeek-V3 ships FP8 with 128 x 128 block scales.
  const ModelSpec ds = resolve_model(kData + "hf/deepseek-v3.json");
  REQUIRE(ds.checkpoint_format.has_value());
  CHECK(ds.checkpoint_format->scales == ScaleGranularity::block);
  // The bundled YAML says the same through checkpoint_format, so every command defaults to it;
  // the HF reader and the preset agree on the name and the scale layout.
  const ModelSpec bundled = resolve_model("deepseek-v3");
  REQUIRE(bundled.checkpoint_format.has_value());
  CHECK(bundled.checkpoint_format->name == "fp8-block128");
  CHECK(ds.checkpoint_format->name == "fp8-block128");
  CHECK(bundled.checkpoint_format->group_size == 128);
  CHECK(bundled.checkpoint_format->scale_bits == 32);
  // One 7168 x 18432 dense MLP matrix: 132,120,576 B of fp8 + 56 x 144 blocks x 4 B of scales.
  const WeightTensor t{"mlp.up", 18432, 7168, true};
  CHECK(tensor_bytes(t, *bundled.checkpoint_format).value == 132'120'576ull + 56 * 144 * 4);
}

TEST_CASE("bad input: one located message each") {
  struct Case {
    const char* file;
    bool gpu;
    const char* message;
  };
  const Case cases[] = {
      {"gpu-unit-typo.yaml", true, "memory: \"80GB\" is ambiguous; write 80 GB (1e9 bytes) or 80 GiB (2^30 bytes)"},
      {"gpu-bare-number.yaml", true,
       "memory: a bare number means bytes: 80 B is below the minimum of 1073741824 B; write a unit, e.g. \"80 GiB\""},
      {"gpu-unknown-key.yaml", true, "memory_bandwith: unknown field (did you mean \"memory_bandwidth\"?)"},
      {"gpu-duplicate-key.yaml", true, "l2_cache: duplicate key (first given at line 7)"},
      {"gpu-negative.yaml", true, "memory_bandwidth: \"-3.35 TB/s\" is out of range (must be positive)"},
      {"gpu-nan.yaml", true, "peak_flops.bf16: expected a decimal number, found \".nan\""},
      {"gpu-unknown-unit.yaml", true,
       "peak_flops.bf16: unknown unit \"TFLOPS\" for a compute rate (did you mean \"TFLOP/s\"?); expected one of "
       "FLOP/s, GFLOP/s, TFLOP/s, PFLOP/s"},
      {"gpu-alias.yaml", true, "YAML anchors (&name) are not supported; write the value out"},
      {"gpu-bad-enum.yaml", true, "vendor: \"nvdia\" is not one of nvidia, amd (did you mean \"nvidia\"?)"},
      {"gpu-missing-field.yaml", true, "l2_cache: missing required field"},
      {"empty.yaml", true, "empty document"},
      {"malformed.yaml", true, "malformed YAML/JSON: end of sequence flow not found"},
      {"not-a-map.yaml", true, "expected a map of fields at the top level"},
      {"model-zero.yaml", false, "hidden_size: 0 is out of range; expected 1 to 1000000"},
      {"model-kv-heads.yaml", false, "kv_heads: 5 does not divide heads (32)"},
      {"model-leading-zero.yaml", false, "layers: \"032\" has a leading zero; write it without"},
      {"model-yes-bool.yaml", false, "tie_embeddings: expected true or false, found \"yes\""},
      {"model-huge.yaml", false, "heads: expected an integer, found \"1e400\""},
      {"model-layout-count.yaml", false, "layout[1].count: the layout describes 40 layers; the model has 32"},
      {"model-layout-window.yaml", false, "layout[0].window: missing: a sliding layer needs its window in tokens"},
      {"model-layout-and-window.yaml", false,
       "layout: describes the layers already: drop sliding_window and layer_types"},
      {"model-layout-unknown-key.yaml", false, "layout[0].atention: unknown field (did you mean \"attention\"?)"},
      {"model-layout-moe.yaml", false, "layout[0].mlp: moe layers need a moe block in the model"},
      {"model-layout-zero-window.yaml", false, "layout[0].window: 0 is out of range; expected 1 to 1000000000"},
      {"hf-duplicate.json", false, "hidden_size: duplicate key (first given at line 1)"},
      {"hf-missing.json", false, "hidden_size: missing; a config needs one of hidden_size, n_embd, n_embed, d_model"},
      {"hf-truncated.json", false, "malformed YAML/JSON: end of map flow not found"},
      {"hf-unknown-quant.json", false,
       "quantization_config.quant_method: \"bitsandbytes\" is not supported (supported: awq, gptq, fp8, mxfp4, "
       "modelopt, compressed-tensors)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    const std::string path = kData + "bad/" + c.file;
    const std::string err = error_of([&] {
      if (c.gpu)
        resolve_gpu(path);
      else
        resolve_model(path);
    });
    // "<path>:<line>:<col>: <message>": the file is named, then the exact message.
    CHECK(err.rfind(path + ":", 0) == 0);
    CHECK(err.substr(err.size() - std::min(err.size(), std::string(c.message).size())) == c.message);
  }
}

TEST_CASE("error positions are 1-based file:line:col") {
  CHECK(
      error_of([] { resolve_gpu(kData + "bad/gpu-unit-typo.yaml"); }) ==
      kData +
          "bad/gpu-unit-typo.yaml:4:9: memory: \"80GB\" is ambiguous; write 80 GB (1e9 bytes) or 80 GiB (2^30 bytes)");
  CHECK(error_of([] { resolve_model(kData + "bad/model-kv-heads.yaml"); }) ==
        kData + "bad/model-kv-heads.yaml:15:11: kv_heads: 5 does not divide heads (32)");
}

TEST_CASE("unknown names suggest the closest") {
  CHECK(error_of([] { resolve_model("lama-3.1-8b"); }).find("did you mean \"llama-3.1-8b\"?") != std::string::npos);
  CHECK(error_of([] { resolve_gpu("h100"); }).find("unknown GPU \"h100\"") != std::string::npos);
  CHECK(error_of([] { resolve_model("/nonexistent/config.json"); }).find("no such file") != std::string::npos);
}

TEST_CASE("hostile YAML is refused quickly") {
  // Billion laughs: aliases are rejected before any expansion.
  const std::string laughs = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
  CHECK(error_of([&] { parse_document(laughs, "laughs.yaml"); }).find("anchors") != std::string::npos);
  // Deep nesting stops at the cap, not in yaml-cpp's recursion.
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  CHECK(error_of([&] { parse_document("a: " + deep, "deep.yaml"); }).find("nesting deeper") != std::string::npos);
  // "," made yaml-cpp's LoadAll loop forever; one document is read, then refused.
  CHECK(error_of([] { parse_document(",", "comma.yaml"); }) != "(no error)");
  CHECK(error_of([] { parse_document("a: 1\n---\nb: 2\n", "two.yaml"); }).find("more than one") != std::string::npos);
  CHECK(error_of([] { parse_document("!!str a: 1", "tag.yaml"); }) != "(no error)");
  CHECK(error_of([] { parse_document(std::string(kMaxInputBytes + 1, ' '), "big.yaml"); }).find("larger than") !=
        std::string::npos);
}

TEST_CASE("quantities: strict numbers and units") {
  CHECK(parse_size_bytes("81559 MiB") == 81559ULL * 1024 * 1024);
  CHECK(parse_size_bytes("80 GB") == 80'000'000'000ULL);
  CHECK(parse_size_bytes("1.5 GiB") == 1'610'612'736ULL);
  CHECK(parse_size_bytes("4096") == 4096);
  CHECK(parse_quantity("3.35 TB/s", QuantityKind::bandwidth) == doctest::Approx(3.35e12));
  CHECK(parse_quantity("989.4 TFLOP/s", QuantityKind::compute) == doctest::Approx(989.4e12));
  CHECK(parse_quantity("2 us", QuantityKind::duration) == doctest::Approx(2e-6));
  CHECK_THROWS_AS(parse_integer("010"), QuantityError);  // YAML 1.1 octal trap
  CHECK_THROWS_AS(parse_integer("0x10"), QuantityError);
  CHECK_THROWS_AS(parse_number(".inf"), QuantityError);
  CHECK_THROWS_AS(parse_number("nan"), QuantityError);
  CHECK_THROWS_AS(parse_quantity("3.35TB/s", QuantityKind::bandwidth), QuantityError);
  CHECK_THROWS_AS(parse_size_bytes("1.5 B"), QuantityError);  // not whole bytes
  CHECK_THROWS_AS(parse_size_bytes("99999999999 TiB"), QuantityError);
}

TEST_CASE("sharding errors name the option") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  CHECK(error_of([&] { check_sharding(m, 3, 1); }) ==
        "--tp: 3 does not divide the 64 attention heads of llama-3.1-70b");
  CHECK(error_of([&] { check_sharding(m, 1, 81); }) == "--pp: 81 stages for 80 layers of llama-3.1-70b");
}
