// Memory engine against independent figures: published parameter counts, hand computations.
#include <doctest/doctest.h>

#include "loaders.hpp"
#include "memory.hpp"
#include "report/memory_report.hpp"

using namespace ridge;

namespace {
ModelSpec model(const char* name) { return resolve_model(name); }
WeightFormat fmt(const char* name) { return *weight_format(name); }
}  // namespace

TEST_CASE("parameter counts match the published counts within 0.05%") {
  // Published totals (Hugging Face safetensors metadata / model cards / papers).
  struct Published {
    const char* name;
    std::int64_t params;
  };
  const Published published[] = {
      {"llama-2-7b", 6'738'415'616},  // meta-llama/Llama-2-7b-hf (parameters, no rotary buffers)
      {"llama-2-13b", 13'015'864'320},
      {"llama-2-70b", 68'976'648'192},
      {"llama-3.1-8b", 8'030'261'248},  // meta-llama/Llama-3.1-8B
      {"llama-3.1-70b", 70'553'706'496},
      {"llama-3.1-405b", 405'853'388'800},
      {"llama-3.2-1b", 1'235'814'400},  // tied embeddings
      {"mistral-7b", 7'241'732'096},
      {"mixtral-8x7b", 46'702'792'704},
      {"mixtral-8x22b", 140'620'634'112},
      {"qwen2.5-7b", 7'615'616'512},
      {"qwen2.5-72b", 72'706'203'648},
      {"gemma-2-9b", 9'241'705'984},
      {"gemma-2-27b", 27'227'128'320},
      {"phi-3-mini-4k", 3'821'079'552},
      // HF total 41,835,970,560 stores the tied LM head again: minus 65,024 x 8,192.
      {"falcon-40b", 41'835'970'560 - 65'024LL * 8'192},
      // DeepSeek README: 671B main model (HF total 684,531,386,000 includes MTP and FP8 scales).
      {"deepseek-v3", 671'026'419'200},
      {"gpt2", 124'439'808},  // HF total 137,022,720 includes 12,582,912 mask buffers
  };
  for (const auto& p : published) {
    CAPTURE(p.name);
    const ParamCount c = count_params(model(p.name));
    CHECK(std::abs(static_cast<double>(c.total - p.params)) / static_cast<double>(p.params) <= 0.0005);
  }
}

TEST_CASE("MoE active parameters") {
  // Mixtral 8x7B: "12.9B active" (Mistral AI). Experts 32 layers x 8 x 3 x 4096 x 14336 =
  // 45,097,156,608 of the 46,702,792,704; the other 1,605,636,096 (embeddings, attention, norms,
  // the 32 routers of 8 x 4096, the head) always run, plus 2 of 8 experts, 11,274,289,152:
  // 12,879,925,248 active.
  const std::int64_t experts = 32LL * 8 * 3 * 4096 * 14336;  // 45,097,156,608
  const std::int64_t total = 46'702'792'704;
  const std::int64_t active = total - experts / 8 * 6;  // 6 of 8 experts idle
  CHECK(count_params(model("mixtral-8x7b")).active == active);
  CHECK(active == 12'879'925'248);
  // DeepSeek-V3: "37B activated" (technical report).
  const auto ds = count_params(model("deepseek-v3"));
  CHECK(ds.active > 37.0e9);
  CHECK(ds.active < 38.0e9);
}

TEST_CASE("weights by precision") {
  const ModelSpec m = model("llama-2-7b");
  // 6,738,415,616 params x 2 bytes = 13,476,831,232 B ~ 13.5 GB (the articles' figure).
  CHECK(weight_bytes(m, fmt("fp16")).value == 13'476'831'232ULL);
  CHECK(weight_bytes(m, fmt("fp32")).value == 2ULL * 13'476'831'232ULL);

  // int4 g128 with fp16 scale + 4-bit zero on one 4096 x 4096 matrix:
  // 4096*4096*4/8 = 8,388,608 B + 4096 rows * 32 groups * 20 bits / 8 = 327,680 B.
  const WeightTensor q{"q", 4096, 4096, true};
  CHECK(tensor_bytes(q, fmt("int4")).value == 8'388'608 + 327'680);
  // Symmetric: 4096 * 32 * 16 bits / 8 = 262,144 B of scales.
  CHECK(tensor_bytes(q, fmt("int4-sym")).value == 8'388'608 + 262'144);
  // NVFP4: 4 bits + an 8-bit scale per 16 = 4.5 bits: 4096*4096*4.5/8 = 9,437,184 B, plus the
  // tensor's two fp32 global scales (ModelOpt weight_scale_2 and input_scale): 8 B.
  CHECK(tensor_bytes(q, fmt("nvfp4")).value == 9'437'184 + 8);
  // MXFP4 (gpt-oss experts): 4 bits + an 8-bit E8M0 scale per 32 = 4.25 bits:
  // 4096*4096/2 = 8,388,608 B of values + 4096*128 scales = 524,288 B.
  CHECK(tensor_bytes(q, fmt("mxfp4")).value == 8'388'608 + 524'288);
  // Experts-only MXFP4 (gpt-oss as shipped): a non-expert projection stays bf16, an expert's
  // matrix is MXFP4.
  CHECK(tensor_bytes(q, fmt("mxfp4-experts")).value == 4096ULL * 4096 * 2);
  const WeightTensor expert{"moe.expert.up", 4096, 4096, true, true};
  CHECK(tensor_bytes(expert, fmt("mxfp4-experts")).value == 8'388'608 + 524'288);
  // int8 W8A8: 1 byte each + one fp32 scale per output channel.
  CHECK(tensor_bytes(q, fmt("int8")).value == 16'777'216 + 4096 * 4);
  // Non-quantisable tensors (embeddings) stay 16-bit whatever the format.
  const WeightTensor emb{"embed", 32000, 4096, false};
  CHECK(tensor_bytes(emb, fmt("int4")).value == 32000ULL * 4096 * 2);

  // int8 roughly halves a 7B model: only the embedding and head (2 x 131,072,000 params)
  // stay 16-bit: 6,476,271,616 x 1 B + scales + 262,144,000 x 2 B.
  const double ratio = weight_bytes(m, fmt("int8")).as_double() / weight_bytes(m, fmt("fp16")).as_double();
  CHECK(ratio == doctest::Approx(0.519).epsilon(0.01));
}

TEST_CASE("KV bytes per token, by hand") {
  // 2 (K,V) x layers x kv_heads x head_dim x 2 bytes (bf16)
  CHECK(kv_bytes_per_token(model("llama-3.1-70b"), DType::bf16).value == 2 * 80 * 8 * 128 * 2);  // 327,680
  CHECK(kv_bytes_per_token(model("llama-3.1-8b"), DType::bf16).value == 2 * 32 * 8 * 128 * 2);   // 131,072
  CHECK(kv_bytes_per_token(model("llama-2-7b"), DType::fp16).value == 2 * 32 * 32 * 128 * 2);    // 524,288
  CHECK(kv_bytes_per_token(model("mistral-7b"), DType::bf16).value == 2 * 32 * 8 * 128 * 2);
  CHECK(kv_bytes_per_token(model("gemma-2-9b"), DType::bf16).value == 2 * 42 * 8 * 256 * 2);  // head_dim 256
  CHECK(kv_bytes_per_token(model("falcon-40b"), DType::bf16).value == 2 * 60 * 8 * 64 * 2);
  CHECK(kv_bytes_per_token(model("gpt2"), DType::fp16).value == 2 * 12 * 12 * 64 * 2);
  CHECK(kv_bytes_per_token(model("qwen2.5-7b"), DType::bf16).value == 2 * 28 * 4 * 128 * 2);
  // MLA: one latent of 512 + 64 per layer, no factor 2: 61 x 576 x 2 = 70,272 B.
  CHECK(kv_bytes_per_token(model("deepseek-v3"), DType::bf16).value == 61 * 576 * 2);
  // fp8 KV halves it.
  CHECK(kv_bytes_per_token(model("llama-3.1-70b"), DType::fp8).value == 2 * 80 * 8 * 128 * 1);
}

TEST_CASE("the articles' KV figures") {
  // Llama-2-7B fp16 at 4,096 tokens: 524,288 B x 4,096 = 2 GiB exactly.
  CHECK(kv_cache_bytes(model("llama-2-7b"), DType::fp16, 4096, 1, 1, 0, 32).value == 2ULL * kGiB);
  // Llama-3.1-70B at 32,768 tokens: 327,680 x 32,768 = 10,737,418,240 B = 10.7 GB.
  CHECK(kv_cache_bytes(model("llama-3.1-70b"), DType::bf16, 32768, 1, 1, 0, 80).value == 10'737'418'240ULL);
}

TEST_CASE("sliding windows cap the cache") {
  const ModelSpec g = model("gemma-2-9b");  // even layers slide over 4,096 tokens
  const std::uint64_t per_layer = 2 * 8 * 256 * 2;
  // At 8,192 tokens: 21 global layers x 8,192 + 21 sliding layers x 4,096.
  CHECK(kv_cache_bytes(g, DType::bf16, 8192, 1, 1, 0, 42).value == per_layer * (21 * 8192 + 21 * 4096));
  // Below the window every layer holds every token.
  CHECK(kv_cache_bytes(g, DType::bf16, 1000, 2, 1, 0, 42).value == per_layer * 42 * 1000 * 2);
  // Mistral-7B v0.1: all 32 layers slide over 4,096.
  const ModelSpec mi = model("mistral-7b");
  CHECK(kv_cache_bytes(mi, DType::bf16, 32768, 1, 1, 0, 32).value == 131072ULL * 4096);
}

TEST_CASE("tensor parallelism splits KV heads, then replicates them") {
  const ModelSpec m = model("llama-3.1-70b");  // 8 KV heads
  CHECK(kv_bytes_per_token_in_layer(m, 0, DType::bf16, 4).value == 2 * 2 * 128 * 2);
  CHECK(kv_bytes_per_token_in_layer(m, 0, DType::bf16, 8).value == 2 * 1 * 128 * 2);
  CHECK(kv_bytes_per_token_in_layer(m, 0, DType::bf16, 16).value == 2 * 1 * 128 * 2);  // replicated
  // MLA latent is replicated on every rank.
  const ModelSpec ds = model("deepseek-v3");
  CHECK(kv_bytes_per_token_in_layer(ds, 5, DType::bf16, 8).value == 576 * 2);
  // Halving KV heads halves the cache (property).
  ModelSpec half = m;
  half.kv_heads = 4;
  CHECK(kv_bytes_per_token(half, DType::bf16).value * 2 == kv_bytes_per_token(m, DType::bf16).value);
}

TEST_CASE("sharded weights add up") {
  const ModelSpec m = model("llama-2-7b");
  MemoryQuery q;
  q.weights = fmt("fp16");
  q.kv_dtype = DType::fp16;
  q.tp = 1;
  q.pp = 4;
  Bytes sum;
  for (const auto& s : stage_memory(m, q)) sum += s.weights;
  CHECK(sum == weight_bytes(m, q.weights));  // PP splits layers without copying (untied head)
  CHECK(pipeline_split(80, 3) == std::vector<std::int64_t>{27, 27, 26});
  // TP: MHA with 32 KV heads splits everything but norms; 2 ranks hold the whole model.
  q.pp = 1;
  q.tp = 2;
  const auto stages = stage_memory(m, q);
  const std::uint64_t norms = (32 * 2 + 1) * 4096 * 2;  // replicated RMSNorm weights, fp16
  CHECK(stages[0].weights.value * 2 == weight_bytes(m, q.weights).value + norms);
}

TEST_CASE("activations: naive attention is O(n^2), flash O(n)") {
  const ModelSpec m = model("llama-2-7b");
  ActivationQuery q;
  q.context = 4096;
  q.attention = AttentionImpl::naive;
  const Bytes naive = layer_activation_bytes(m, 0, q);
  q.attention = AttentionImpl::flash;
  const Bytes flash = layer_activation_bytes(m, 0, q);
  // Naive holds scores and probabilities: 2 x 32 heads x 4,096 x 4,096 x 2 B = 2 GiB.
  const std::uint64_t scores = 2ULL * 32 * 4096 * 4096 * 2;
  CHECK(naive.value >= scores);
  CHECK(naive.value > flash.value + scores / 2);
  // Doubling the context: naive grows ~4x, flash exactly 2x.
  q.context = 8192;
  const Bytes flash2 = layer_activation_bytes(m, 0, q);
  CHECK(flash2.value == 2 * flash.value);
  q.attention = AttentionImpl::naive;
  const double growth = layer_activation_bytes(m, 0, q).as_double() / naive.as_double();
  CHECK(growth > 3.5);
  // A prefill chunk caps the tokens per pass.
  q.attention = AttentionImpl::flash;
  q.batch = 8;
  q.prefill_chunk = 2048;
  CHECK(tokens_per_pass(q) == 2048);
}

TEST_CASE("vLLM KV block accounting (public log example)") {
  // A public vLLM log (REFERENCE.md): Llama-3.1-8B bf16 on a 23.58 GiB card at 0.9, max length
  // 20,000: peak torch memory 17.06 GiB (weights + the profiling pass's activations), non-torch
  // 0.35 GiB, KV = 0.9 x 23.58 - 17.06 - 0.35 = 3.81 GiB = 1,952 blocks of 16 x 131,072 B.
  const double logged_pool = (0.9 * 23.58 - 17.06 - 0.35) * kGiB;
  const std::uint64_t block = 16 * kv_bytes_per_token(model("llama-3.1-8b"), DType::bf16).value;
  CHECK(block == 2 * 1024 * 1024);
  const auto logged_blocks = static_cast<std::int64_t>(logged_pool / static_cast<double>(block));
  CHECK((logged_blocks == 1951 || logged_blocks == 1952));  // the log rounds its GiB figures
  // The engine on the same card: its own weights (14.96 GiB) and flash activations for one
  // 20,000-token pass (1.91 GiB: vLLM profiled 17.06 - 14.96 = 2.10 GiB), so its pool is larger
  // by that 0.19 GiB: 2,051 blocks, 5.1 % above the log. Held to within 6 % of it.
  GpuSpec g = resolve_gpu("l4");
  g.memory = Bytes{static_cast<std::uint64_t>(23.58 * kGiB)};
  g.runtime_overhead = Bytes{static_cast<std::uint64_t>(0.35 * kGiB)};
  MemoryQuery q;
  q.weights = fmt("bf16");
  q.kv_dtype = DType::bf16;
  q.batch = 1;
  q.context = 20000;
  q.prefill_chunk = 20000;
  q.overhead = g.runtime_overhead;
  const MemoryEstimate e = estimate_memory(model("llama-3.1-8b"), g, q);
  CHECK(e.kv_capacity_blocks >= 1952);
  CHECK(static_cast<double>(e.kv_capacity_blocks) <= 1952 * 1.06);
}

TEST_CASE("estimate: fit, capacity, max batch and context are consistent") {
  const ModelSpec m = model("llama-3.1-8b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  MemoryQuery q;
  q.weights = fmt("bf16");
  q.kv_dtype = DType::bf16;
  q.batch = 8;
  q.context = 8192;
  q.overhead = g.runtime_overhead;
  const MemoryEstimate e = estimate_memory(m, g, q);
  CHECK(e.fits);
  // Breakdown adds up to the total.
  const auto& s = e.per_gpu();
  CHECK(s.total().value == s.weights.value + s.kv_cache.value + s.activations.value + s.overhead.value);
  // max_batch fits and max_batch + 1 does not.
  MemoryQuery at = q;
  at.batch = e.max_batch;
  CHECK(estimate_memory(m, g, at).fits);
  at.batch = e.max_batch + 1;
  CHECK_FALSE(estimate_memory(m, g, at).fits);
  // KV capacity = pool / (16 tokens x 131,072 B) whole blocks.
  CHECK(e.kv_capacity_blocks == static_cast<std::int64_t>(e.kv_pool_per_gpu.value / (16 * 131072)));
  // Monotone in batch and context.
  MemoryQuery more = q;
  more.context = 16384;
  CHECK(estimate_memory(m, g, more).per_gpu().total() > s.total());
  more = q;
  more.batch = 16;
  CHECK(estimate_memory(m, g, more).per_gpu().total() > s.total());
}

TEST_CASE("the 70B scenario: 141 GB of weights + 172 GB of KV do not fit on 4 x A100 80GB") {
  const ModelSpec m = model("llama-3.1-70b");
  const GpuSpec g = resolve_gpu("a100-80gb");
  MemoryQuery q;
  q.weights = fmt("bf16");
  q.kv_dtype = DType::bf16;
  q.batch = 16;
  q.context = 32768;
  q.tp = 4;
  q.overhead = g.runtime_overhead;
  q.prefill_chunk = 8192;
  const MemoryEstimate e = estimate_memory(m, g, q);
  CHECK(e.weights.as_double() == doctest::Approx(141.1e9).epsilon(0.001));  // 70.55 B x 2
  CHECK(e.kv_cache.value == 16ULL * 10'737'418'240ULL);                     // 171.8 GB
  CHECK_FALSE(e.fits);
}

TEST_CASE("memory JSON: the per-GPU breakdown sums to per_gpu_bytes; scopes by hand") {
  // Llama-3.1-8B, TP 2 x 3 replicas, batch 4 x 1,024 tokens, bf16.
  const ModelSpec m = model("llama-3.1-8b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  MemoryQuery q;
  q.weights = *weight_format("bf16");
  q.batch = 4;
  q.context = 1024;
  q.tp = 2;
  q.overhead = g.runtime_overhead;
  q.prefill_chunk = 8192;
  const MemoryEstimate e = estimate_memory(m, g, q);
  const auto j = memory_json(MemoryView{m, g, q, e, 3});
  // The model's weights, one copy: 8,030,261,248 x 2 B.
  CHECK(j["weights_bytes"].get<std::int64_t>() == 16'060'522'496);
  // One replica's KV: 131,072 B per token x 1,024 x 4; per GPU half of it (8 KV heads over TP 2).
  CHECK(j["kv_cache_bytes"].get<std::int64_t>() == 536'870'912);
  CHECK(j["per_gpu_kv_cache_bytes"].get<std::int64_t>() == 268'435'456);
  const std::int64_t sum =
      j["per_gpu_weights_bytes"].get<std::int64_t>() + j["per_gpu_kv_cache_bytes"].get<std::int64_t>() +
      j["per_gpu_activation_bytes"].get<std::int64_t>() + j["per_gpu_overhead_bytes"].get<std::int64_t>();
  CHECK(sum == j["per_gpu_bytes"].get<std::int64_t>());
  CHECK(j["total_bytes"].get<std::int64_t>() == 6 * j["per_gpu_bytes"].get<std::int64_t>());
}

TEST_CASE("KV cache at 128K tokens per layer kind, by hand") {
  const std::int64_t n = 131'072;
  // Gemma-3-27B: 16 KV heads x 128 x 2 (K, V) x 2 B = 8,192 B per token per layer.
  // 10 global layers x 131,072 + 52 sliding layers x 1,024 tokens:
  // 10 GiB + 436,207,616 B = 11,173,625,856 B = 10.41 GiB (62 GiB if every layer were global).
  CHECK(kv_cache_bytes(model("gemma-3-27b"), DType::bf16, n, 1, 1, 0, 62).value ==
        8192ULL * (10 * 131'072 + 52 * 1'024));
  // In whole 16-token blocks a 1,024-token window straddles one block more: 1,040 tokens
  // (vLLM SlidingWindowSpec: cdiv(W − 1, 16) + 1 = 65 blocks).
  CHECK(kv_cache_bytes(model("gemma-3-27b"), DType::bf16, n, 1, 1, 0, 62, 16).value ==
        8192ULL * (10 * 131'072 + 52 * 1'040));
  // gpt-oss-120b: 8 KV heads x 64 x 2 x 2 B = 2,048 B per token per layer; 18 global layers x
  // 131,072 + 18 sliding layers x 128 = 4,836,294,656 B = 4.50 GiB (9.0 GiB all global).
  CHECK(kv_cache_bytes(model("gpt-oss-120b"), DType::bf16, n, 1, 1, 0, 36).value ==
        2048ULL * (18 * 131'072 + 18 * 128));
  // Llama 4 Scout: 8 x 128 x 2 x 2 = 4,096 B per token per layer; 12 global (NoPE) layers x
  // 131,072 + 36 chunked layers x 8,192 = 7,650,410,496 B = 7.125 GiB (24 GiB all global).
  CHECK(kv_cache_bytes(model("llama-4-scout"), DType::bf16, n, 1, 1, 0, 48).value ==
        4096ULL * (12 * 131'072 + 36 * 8'192));
  // A chunked layer holds its current chunk, at most C: below C, every token.
  CHECK(kv_cache_bytes(model("llama-4-scout"), DType::bf16, 5'000, 1, 1, 0, 48).value == 4096ULL * 48 * 5'000);
  // Kimi-K2 (MLA): one 576-element latent per layer, 61 x 576 x 2 B = 70,272 B per token.
  CHECK(kv_cache_bytes(model("kimi-k2"), DType::bf16, n, 1, 1, 0, 61).value == 70'272ULL * n);
  // Qwen3-235B-A22B: 94 layers x 4 KV heads x 128 x 2 x 2 B = 192,512 B per token (40,960 max).
  CHECK(kv_bytes_per_token(model("qwen3-235b-a22b"), DType::bf16).value == 94 * 4 * 128 * 2 * 2);
}

TEST_CASE("vLLM's hybrid KV pool against its startup logs") {
  // (A) gpt-oss-120b, vLLM 0.11.2, TP 1, max_model_len 98,304, max_num_batched_tokens 8,192:
  //   "GPU KV cache size: 130,960 tokens", "Maximum concurrency for 98,304 tokens per request:
  //   2.46x" (tonghuikang/blog _posts/2025-12-28-vllm-logs.md). 18 full + 18 sliding layers:
  //   2 groups of 18; page 16 x 2,048 B = 32,768 B; a block costs 18 pages.
  const ModelSpec oss = model("gpt-oss-120b");
  const KvPoolLayout a = kv_pool_layout(oss, DType::bf16, 1, 0, 36, 16);
  CHECK(a.group_size == 18);
  CHECK(a.groups == 2);
  CHECK(a.page.value == 32'768);
  const Bytes pool_a{16'370ULL * 32'768 * 18};  // "Available KV cache memory: 8.99 GiB"
  CHECK(a.blocks(pool_a) == 16'370);
  CHECK(a.reported_tokens(pool_a) == 130'960);
  // Per request: 98,304 / 16 = 6,144 blocks (full) + cdiv(127 + 8,192, 16) + 1 = 521 (sliding).
  CHECK(a.blocks_per_request(98'304, 8'192) == 6'144 + 521);
  CHECK(16'370.0 / 6'665 == doctest::Approx(2.46).epsilon(0.002));
  // (B) gemma-3-27b-it, vLLM 0.11.0, TP 1, max_model_len 4,096: "Add 8 padding layers",
  //   "GPU KV cache size: 205,696 tokens", "Maximum concurrency for 4,096 tokens per request:
  //   50.05x", "num_gpu_blocks is: 89994". 10 full + 52 sliding: groups of 10, 1 + 6 groups.
  const KvPoolLayout b = kv_pool_layout(model("gemma-3-27b"), DType::bf16, 1, 0, 62, 16);
  CHECK(b.group_size == 10);
  CHECK(b.groups == 7);
  CHECK(b.groups * b.group_size - 62 == 8);  // padding layers
  const Bytes pool_b{89'994ULL * b.page.value * 10};
  CHECK(b.reported_tokens(pool_b) == 205'696);
  // Per request: 256 (full) + 6 x (cdiv(min(1,023 + 8,192, 4,096), 16) + 1 = 257).
  CHECK(b.blocks_per_request(4'096, 8'192) == 256 + 6 * 257);
  CHECK(89'994.0 / b.blocks_per_request(4'096, 8'192) == doctest::Approx(50.05).epsilon(0.0002));
  // (C) Llama-4-Scout, vLLM 0.12.0, 8 x H200, TP 8: "GPU KV cache size: 3,919,664 tokens" from
  //   89.71 GiB; one KV head per rank: page 16 x 2 x 128 x 2 = 8,192 B; 12 global + 36 chunked
  //   layers: groups of 12, 1 + 3 groups.
  const KvPoolLayout c = kv_pool_layout(model("llama-4-scout"), DType::bf16, 8, 0, 48, 16);
  CHECK(c.page.value == 8'192);
  CHECK(c.groups == 4);
  const Bytes pool_c{static_cast<std::uint64_t>(89.71 * kGiB)};
  // 89.71 is rounded to 0.005 GiB = 54 blocks of 12 x 8,192 B = 218 reported tokens.
  CHECK(std::abs(c.reported_tokens(pool_c) - 3'919'664) <= 218);
  // Reported concurrency at 8,388,608 tokens per request: 1.86x (hybrid manager on).
  const double blocks_c = 3'919'664.0 / 16 * 4;
  CHECK(blocks_c / static_cast<double>(c.blocks_per_request(8'388'608, 8'192)) == doctest::Approx(1.86).epsilon(0.003));
  // A model with one kind of layer is one group: the pool / (page x layers), as before.
  const KvPoolLayout d = kv_pool_layout(model("llama-3.1-8b"), DType::bf16, 1, 0, 32, 16);
  CHECK(d.groups == 1);
  CHECK(d.group_size == 32);
}

TEST_CASE("a sliding-window model starts with any max_model_len its pool holds per request") {
  // Mistral-7B v0.1: every layer slides over 4,096 tokens, so one request of any length needs
  // cdiv(4,095 + 8,192, 16) + 1 = 769 blocks per layer group: the model's 32,768 positions fit.
  const ModelSpec m = model("mistral-7b");
  MemoryQuery q;
  q.weights = fmt("bf16");
  q.overhead = Bytes{1ULL << 30};
  const MemoryEstimate e = estimate_memory(m, resolve_gpu("l4"), q);
  CHECK(e.max_model_len_limit == 32'768);
  // Llama-3.1-8B on the same L4: the pool's tokens bound it.
  MemoryQuery q8 = q;
  const MemoryEstimate e8 = estimate_memory(model("llama-3.1-8b"), resolve_gpu("l4"), q8);
  CHECK(e8.max_model_len_limit == e8.kv_capacity_tokens);
}

TEST_CASE("vLLM's KV groups are the whole model's under pipeline parallelism") {
  // Gemma-3-27B over 3 stages (21 + 21 + 20 layers): 7 groups of 10 for every worker; stage 1
  // (layers 0-20) holds global layers 5, 11, 17 (3 of group 0: the 1st, 2nd, 3rd global layers
  // go to group 0 as 0 mod 1) and 18 sliding layers spread over 6 groups (3 each): its blocks
  // span 3 pages; one request still needs every group's blocks: 256 + 6 x 257 at 4,096 tokens.
  const ModelSpec g = model("gemma-3-27b");
  const KvPoolLayout first = kv_pool_layout(g, DType::bf16, 1, 0, 21, 16);
  CHECK(first.groups == 7);
  CHECK(first.group_size == 10);
  CHECK(first.layers_per_block == 3);
  CHECK(first.blocks_per_request(4'096, 8'192) == 256 + 6 * 257);
  CHECK(first.blocks(Bytes{first.page.value * 3 * 100}) == 100);
  CHECK(kv_pool_layout(g, DType::bf16, 1, 0, 62, 16).layers_per_block == 10);
  // Without chunked prefill (chunk 0) a request's prompt is one step: a sliding group needs
  // cdiv(min(1,023 + 4,096, 4,096), 16) + 1 = 257 blocks at 4,096 tokens, 2,049 at 32,768.
  CHECK(first.blocks_per_request(32'768, 0) == 2'048 + 6 * 2'049);
}

TEST_CASE("expert parallelism: DeepSeek-V3 experts spread whole over 8 GPUs, attention in 8 groups of TP 1") {
  const ModelSpec m = resolve_model("deepseek-v3");
  const WeightFormat f = *weight_format("fp8-block128");
  // Routed experts of one MoE layer: 256 x (gate + up + down) = 256 x 3 x 7,168 x 2,048 weights,
  // 1 byte each plus a 4-byte scale per 128 x 128 block; 58 MoE layers. With EP 8 a GPU holds
  // 32 of each layer's 256 instead of all of them: 7/8 of those bytes leave each GPU.
  const double per_expert = 3.0 * 7168 * 2048 * (1 + 4.0 / (128 * 128));
  const double expected_drop = 58 * 256 * per_expert * 7 / 8;
  const Bytes ep1 = stage_weights(m, f, 1, 1, 1).front(), ep8 = stage_weights(m, f, 1, 1, 8).front();
  CHECK(static_cast<double>(ep1.value - ep8.value) == doctest::Approx(expected_drop).epsilon(1e-6));
  // The KV cache: batch 64 over 8 attention groups is 8 sequences per GPU, each 4,096 tokens x
  // 61 layers x (512 latent + 64 rope) x 2 B = 70,272 B per token.
  MemoryQuery q;
  q.weights = f;
  q.batch = 64;
  q.context = 4096;
  q.ep = 8;
  q.overhead = Bytes{0};
  const std::vector<StageMemory> stages = stage_memory(m, q);
  CHECK(stages.front().kv_cache.value == 8ull * 4096 * 70'272);
  CHECK(replica_gpus(1, 1, 8) == 8);
  CHECK(attention_groups(8, 2) == 4);
  CHECK(expert_parallel_problem(m, 3, 8).has_value());                              // EP not a multiple of TP
  CHECK(expert_parallel_problem(m, 1, 512).has_value());                            // more GPUs than experts
  CHECK(expert_parallel_problem(resolve_model("llama-3.1-8b"), 1, 2).has_value());  // no experts
  CHECK_FALSE(expert_parallel_problem(m, 2, 16).has_value());
}

TEST_CASE("expert parallelism keeps block-scaled experts whole: Qwen3-235B-A22B FP8 at TP 8 loads only with EP") {
  const ModelSpec m = resolve_model("qwen3-235b-a22b");
  const WeightFormat f = *weight_format("fp8-block128");
  // moe_intermediate_size 1536 / 8 = 192 per GPU: not whole blocks of 128, so vLLM refuses TP 8;
  // with expert parallelism each GPU holds whole experts of 1536 = 12 blocks.
  const auto tp8 = sharding_problem(m, 8, 1, &f);
  REQUIRE(tp8);
  CHECK(tp8->message.find("192 of the expert FFN width 1536") != std::string::npos);
  CHECK_FALSE(sharding_problem(m, 8, 1, &f, 8));
  CHECK_FALSE(sharding_problem(m, 1, 1, &f, 8));
  // TP 4 divides it into 384 = 3 blocks either way.
  CHECK_FALSE(sharding_problem(m, 4, 1, &f));
}
