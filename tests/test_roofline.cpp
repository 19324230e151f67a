// Roofline engine against hand computations (the figures written out).
#include <doctest/doctest.h>

#include "loaders.hpp"
#include "roofline.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace ridge;

namespace {
struct Setup {
  ModelSpec model;
  GpuSpec gpu;
  ModelShapes shapes;
  Ceilings ceilings;
  Setup(const char* m, const char* g, const char* precision, std::int64_t tp = 1)
      : model(resolve_model(m)),
        gpu(resolve_gpu(g)),
        shapes(compile_shapes(model, *weight_format(precision), tp)),
        ceilings(ceilings_for(gpu, shapes)) {}
};

PhaseTotals totals(const Setup& s, Phase phase, std::int64_t batch, std::int64_t tokens, std::int64_t context,
                   DType kv = DType::fp16, AttentionImpl attn = AttentionImpl::flash) {
  return phase_totals(phase_ops(s.shapes, PhaseQuery{phase, batch, tokens, context, attn, kv}), s.ceilings);
}
}  // namespace

TEST_CASE("Llama-2-7B fp16 decode on A100 40GB: ~15.36 GB per step, ~9.88 ms, memory-bound") {
  const Setup s("llama-2-7b", "a100-40gb", "fp16");
  const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::decode, 1, 1, 4096, AttentionImpl::flash, DType::fp16});
  const PhaseTotals t = phase_totals(ops, s.ceilings);
  // Weights touched: all but the embedding table (one row gathered): 13,476,831,232 B −
  // 32,000 x 4,096 x 2 B = 13,214,687,232 B; KV read: 524,288 B x 4,096 = 2,147,483,648 B;
  // total 15,362,170,880 B = 15.36 GB (the articles' figure), plus a few MB of activations.
  CHECK(t.bytes == doctest::Approx(13'214'687'232.0 + 2'147'483'648.0).epsilon(0.001));
  CHECK(t.bytes / 1e9 == doctest::Approx(15.36).epsilon(0.002));
  // Time = 15.36 GB / 1.555 TB/s = 9.88 ms.
  CHECK(t.time.value == doctest::Approx(t.bytes / 1.555e12).epsilon(0.001));
  CHECK(t.time.value * 1e3 == doctest::Approx(9.88).epsilon(0.01));
  CHECK_FALSE(t.compute_bound());
  for (const Op& op : ops) {
    if (op.unit != OpUnit::gemm) continue;
    CAPTURE(op.name);
    // 2·K·N FLOPs over 2·K·N weight bytes (+ tiny activations): ≈ 1 FLOP/byte.
    CHECK(op.intensity() == doctest::Approx(1.0).epsilon(0.01));
    CHECK_FALSE(op_time(op, s.ceilings).compute_bound());
  }
}

TEST_CASE("prefill of 4,096 tokens is compute-bound; linear FLOPs per token = 2 x parameters") {
  const Setup s("llama-2-7b", "a100-40gb", "fp16");
  const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::prefill, 1, 4096, 4096, AttentionImpl::flash, DType::fp16});
  double linear_flops = 0;
  for (const Op& op : ops)
    if (op.unit == OpUnit::gemm) linear_flops += static_cast<double>(op.count) * op.flops;
  // Decoder linear weights: 32 x (4 x 4096² + 3 x 4096 x 11008) = 6,476,005,376 parameters.
  const double linear_params = 32.0 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 11008);
  CHECK(linear_flops / 4096 == doctest::Approx(2 * linear_params));
  CHECK(phase_totals(ops, s.ceilings).compute_bound());
}

TEST_CASE("ridge point: H100 SXM bf16 = 989.4 / 3.35 = 295 FLOP/byte") {
  const Setup s("llama-3.1-8b", "h100-sxm", "bf16");
  CHECK(s.ceilings.ridge_point() == doctest::Approx(295.3).epsilon(0.001));
  // fp8 doubles the peak and the ridge point.
  const Setup f("llama-3.1-8b", "h100-sxm", "fp8");
  CHECK(f.ceilings.ridge_point() == doctest::Approx(590.7).epsilon(0.001));
  // A100 has no fp8: weight-only fp8 runs in 16-bit math.
  const Setup a("llama-3.1-8b", "a100-80gb", "fp8");
  CHECK(a.ceilings.gemm.value == doctest::Approx(312e12));
  CHECK_FALSE(a.ceilings.note.empty());
}

TEST_CASE("attainable fractions scale the ceilings and turn the bound into an estimate") {
  // The bundled H100 file plus measured-style fractions: 0.9 of 3.35 TB/s and 0.75 of 989.4 TFLOP/s.
  const std::string base =
      "name: h100-frac\ndisplay_name: H100 fractions\nvendor: nvidia\narchitecture: hopper\n"
      "memory: 81559 MiB\nmemory_source: test\nmemory_bandwidth: 3.35 TB/s\nl2_cache: 50 MiB\n"
      "peak_flops:\n  fp32: 66.9 TFLOP/s\n  bf16: 989.4 TFLOP/s\n"
      "interconnect:\n  name: NVLink 4\n  bandwidth: 450 GB/s\nruntime_overhead: 1 GiB\n";
  const GpuSpec plain = gpu_from_yaml(parse_document(base, "plain.yaml"), "plain.yaml");
  const GpuSpec frac = gpu_from_yaml(
      parse_document(base + "attainable:\n  memory_bandwidth: 0.9\n  compute: 0.75\n  source: test\n", "f.yaml"),
      "f.yaml");
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const ModelShapes shapes = compile_shapes(m, *weight_format("bf16"), 1);
  const Ceilings cp = ceilings_for(plain, shapes), cf = ceilings_for(frac, shapes);
  CHECK_FALSE(cp.attainable);
  CHECK(cf.attainable);
  CHECK(cf.memory.value == doctest::Approx(0.9 * 3.35e12));
  CHECK(cf.gemm.value == doctest::Approx(0.75 * 989.4e12));
  // A memory-bound decode step takes 1/0.9 as long; a compute-bound prefill 1/0.75.
  const auto decode = phase_ops(shapes, PhaseQuery{Phase::decode, 1, 1, 4096, AttentionImpl::flash, DType::bf16});
  CHECK(phase_totals(decode, cf).time.value == doctest::Approx(phase_totals(decode, cp).time.value / 0.9));
  const auto prefill = phase_ops(shapes, PhaseQuery{Phase::prefill, 1, 8192, 8192, AttentionImpl::flash, DType::bf16});
  CHECK(phase_totals(prefill, cf).time.value ==
        doctest::Approx(phase_totals(prefill, cp).time.value / 0.75).epsilon(0.02));
  // Out-of-range fractions are input errors.
  CHECK_THROWS_AS(gpu_from_yaml(parse_document(base + "attainable:\n  compute: 1.5\n", "x.yaml"), "x.yaml"),
                  InputError);
}

TEST_CASE("a bf16 model on a fp16-only GPU runs at the fp16 rate, and says so") {
  // A V100-like file (V100 figures: fp16 tensor 125 TFLOP/s, no bf16, fp32 15.7 TFLOP/s).
  const std::string yaml =
      "name: fp16-only\ndisplay_name: fp16 only\nvendor: nvidia\narchitecture: ampere\n"
      "memory: 32 GiB\nmemory_source: test\nmemory_bandwidth: 900 GB/s\nl2_cache: 6 MiB\n"
      "peak_flops:\n  fp32: 15.7 TFLOP/s\n  fp16: 125 TFLOP/s\n"
      "interconnect:\n  name: NVLink 2\n  bandwidth: 150 GB/s\nruntime_overhead: 1 GiB\n"
      "attainable:\n  memory_bandwidth: 0.9\n  peak_flops:\n    fp16: 0.8\n  source: test\n";
  const GpuSpec g = gpu_from_yaml(parse_document(yaml, "v.yaml"), "v.yaml");
  const ModelShapes shapes = compile_shapes(resolve_model("llama-3.1-8b"), *weight_format("bf16"), 1);
  const Ceilings c = ceilings_for(g, shapes);
  CHECK(c.gemm16.value == doctest::Approx(0.8 * 125e12));  // the fp16 rate and the fp16 fraction
  CHECK(c.gemm.value == doctest::Approx(0.8 * 125e12));
  CHECK(c.gemm_math == DType::fp16);
  CHECK(c.note == "fp16-only has no bf16 tensor cores: the model runs at the fp16 rate");
}

TEST_CASE("each side of the ridge point gets its verdict") {
  const Setup s("llama-3.1-8b", "h100-sxm", "bf16");
  // A decode GEMM at batch B has intensity ≈ B: memory-bound below ~295, compute-bound above.
  for (std::int64_t batch : {1, 64, 200}) {
    CAPTURE(batch);
    const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::decode, batch, 1, 512, AttentionImpl::flash, DType::bf16});
    for (const Op& op : ops)
      if (op.name == "mlp.up") CHECK_FALSE(op_time(op, s.ceilings).compute_bound());
  }
  for (std::int64_t batch : {512, 2048}) {
    CAPTURE(batch);
    const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::decode, batch, 1, 512, AttentionImpl::flash, DType::bf16});
    for (const Op& op : ops)
      if (op.name == "mlp.up") CHECK(op_time(op, s.ceilings).compute_bound());
  }
}

TEST_CASE("decode attention is memory-bound at any batch; GQA raises its intensity by the group") {
  const Setup s("llama-3.1-8b", "h100-sxm", "bf16");  // 32 query heads, 8 KV heads: group 4
  for (std::int64_t batch : {1, 256}) {
    const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::decode, batch, 1, 8192, AttentionImpl::flash, DType::bf16});
    for (const Op& op : ops) {
      if (op.name != "attention") continue;
      // 4·Hq·d FLOPs per cached token over 2·Hkv·d·2 bytes: 4·32/(2·8·2) = 4 FLOP/byte.
      CHECK(op.intensity() == doctest::Approx(4.0).epsilon(0.01));
      CHECK_FALSE(op_time(op, s.ceilings).compute_bound());
    }
  }
}

TEST_CASE("naive vs flash: same FLOPs, bytes differ by the n^2 score traffic") {
  const Setup s("llama-2-7b", "a100-40gb", "fp16");
  const std::int64_t n = 2048;
  const PhaseTotals flash = totals(s, Phase::prefill, 1, n, n, DType::fp16, AttentionImpl::flash);
  const PhaseTotals naive = totals(s, Phase::prefill, 1, n, n, DType::fp16, AttentionImpl::naive);
  // Scores written, read+written by softmax, read by PV: 4 passes of 32 heads x n² x 2 B, 32 layers.
  const double score_traffic = 32.0 * 4 * 32 * n * n * 2;
  CHECK(naive.bytes - flash.bytes == doctest::Approx(score_traffic));
  // FLOPs differ only by the softmax's (5 per score), none in the matrix products.
  const double softmax_flops = 32.0 * 5 * 32 * n * n;
  CHECK(naive.flops - flash.flops == doctest::Approx(softmax_flops));
}

TEST_CASE("compressing the KV cache 4x: < 3% on a compute-bound prefill, much more on long decode") {
  const Setup s("llama-3.1-8b", "h100-sxm", "bf16");
  const double prefill16 = totals(s, Phase::prefill, 8, 4096, 4096, DType::bf16).time.value;
  const double prefill4 = totals(s, Phase::prefill, 8, 4096, 4096, DType::int4).time.value;
  CHECK((prefill16 - prefill4) / prefill16 < 0.03);
  const double decode16 = totals(s, Phase::decode, 32, 1, 32768, DType::bf16).time.value;
  const double decode4 = totals(s, Phase::decode, 32, 1, 32768, DType::int4).time.value;
  CHECK((decode16 - decode4) / decode16 > 0.4);
}

TEST_CASE("monotone in batch and context; op times sum to the phase time") {
  const Setup s("mixtral-8x7b", "h100-sxm", "bf16", 2);
  double previous = 0;
  for (std::int64_t batch : {1, 2, 8, 32, 128}) {
    const double t = totals(s, Phase::decode, batch, 1, 4096, DType::bf16).time.value;
    CHECK(t > previous);
    previous = t;
  }
  previous = 0;
  for (std::int64_t context : {128, 1024, 8192, 32768}) {
    const double t = totals(s, Phase::decode, 4, 1, context, DType::bf16).time.value;
    CHECK(t > previous);
    previous = t;
  }
  const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::prefill, 2, 1000, 1000, AttentionImpl::flash, DType::bf16});
  double sum = 0;
  for (const Op& op : ops) sum += static_cast<double>(op.count) * op_time(op, s.ceilings).time().value;
  CHECK(phase_totals(ops, s.ceilings).time.value == doctest::Approx(sum));
}

TEST_CASE("MoE: expected distinct experts and active-parameter FLOPs") {
  CHECK(expected_distinct_experts(8, 2, 1) == doctest::Approx(2.0));
  CHECK(expected_distinct_experts(8, 2, 2) == doctest::Approx(8 * (1 - 0.75 * 0.75)));  // 3.5
  CHECK(expected_distinct_experts(256, 8, 1e6) == doctest::Approx(256.0));
  // Prefill GEMM FLOPs per token = 2 x active linear parameters (Mixtral: 2 of 8 experts).
  const Setup s("mixtral-8x7b", "h100-sxm", "bf16");
  const auto ops = phase_ops(s.shapes, PhaseQuery{Phase::prefill, 1, 1024, 1024, AttentionImpl::flash, DType::bf16});
  double flops = 0;
  for (const Op& op : ops)
    if (op.unit == OpUnit::gemm) flops += static_cast<double>(op.count) * op.flops;
  const double attention = 32.0 * (2 * 4096.0 * 4096 + 2 * 4096.0 * 1024);  // q,o + k,v
  const double experts = 32.0 * 2 * 3 * 4096.0 * 14336;                     // top-2 of 8
  CHECK(flops / 1024 == doctest::Approx(2 * (attention + experts)));
}

TEST_CASE("causal pairs with and without a window") {
  CHECK(causal_pairs(4, 4, 0) == 10);     // 1+2+3+4
  CHECK(causal_pairs(1, 100, 0) == 100);  // decode: all 100 keys
  CHECK(causal_pairs(1, 100, 30) == 30);  // window caps it
  CHECK(causal_pairs(6, 6, 3) == 1 + 2 + 3 + 3 + 3 + 3);
}

TEST_CASE("TPOT closed form equals the per-step loop") {
  const Setup s("gemma-2-9b", "l4", "bf16");  // sliding layers: the window splits the range
  ServiceQuery q;
  q.batch = 4;
  q.prompt = 3000;
  q.gen = 2500;  // contexts 3001..5499 cross the 4,096 window
  q.kv_dtype = DType::bf16;
  const ServiceEstimate e = estimate_service(s.shapes, s.ceilings, q);
  double loop = 0;
  for (std::int64_t c = q.prompt + 1; c <= q.prompt + q.gen - 1; ++c)
    loop += totals(s, Phase::decode, q.batch, 1, c, DType::bf16).time.value;
  CHECK(e.tpot.value == doctest::Approx(loop / (q.gen - 1)).epsilon(1e-9));
  // End to end: the prefill, then every decode step summed one by one (not the mean times G - 1).
  CHECK(e.e2e.value == doctest::Approx(e.ttft.value + loop).epsilon(1e-9));
  // Decode rate: 4 sequences, one token each per step of the loop's mean length.
  CHECK(e.decode_throughput_tokens_per_s == doctest::Approx(4.0 * static_cast<double>(q.gen - 1) / loop).epsilon(1e-9));
  // The crossing of compute and memory time inside a range is summed exactly.
  CHECK(mean_of_max_linear(0, 10, 5, 5, 11) == doctest::Approx((5.0 * 6 + 6 + 7 + 8 + 9 + 10) / 11));
}

TEST_CASE("chunked local attention: pairs and keys restart at each chunk") {
  // Chunks of 4: positions 1..10 attend 1,2,3,4, 1,2,3,4, 1,2 keys.
  CHECK(chunked_pairs(10, 10, 4) == 1 + 2 + 3 + 4 + 1 + 2 + 3 + 4 + 1 + 2);
  CHECK(chunked_pairs(3, 10, 4) == 4 + 1 + 2);  // positions 8, 9, 10
  CHECK(chunked_pairs(1, 8193, 8192) == 1);     // the first token of the second chunk
  CHECK(chunked_pairs(1, 8192, 8192) == 8192);  // the last token of the first
  // A Llama 4 prompt of 20,000 tokens on a chunked layer: two full chunks (8192·8193/2 each)
  // and 3,616 tokens of the third (3616·3617/2) = 67,117,056 + 6,539,536.
  CHECK(chunked_pairs(20000, 20000, 8192) == 2.0 * 8192 * 8193 / 2 + 3616.0 * 3617 / 2);
  // The same prompt on a global (NoPE) layer: n(n+1)/2.
  CHECK(causal_pairs(20000, 20000, 0) == 20000.0 * 20001 / 2);
}

TEST_CASE("Llama 4 Scout decode reads 36 chunked layers' current chunk and 12 layers' whole context") {
  const Setup s("llama-4-scout", "h100-sxm", "bf16");
  // Two kinds of layer: chunked (36, RoPE) and global (12, NoPE).
  std::int64_t chunked = 0, global = 0;
  for (const LayerGroup& g : s.shapes.groups) (g.attention == AttentionKind::chunked ? chunked : global) += g.count;
  CHECK(chunked == 36);
  CHECK(global == 12);
  // Batch 1 decode at context 20,000: a chunked layer's newest token sees ((20000-1) mod 8192)+1
  // = 3,616 keys; K and V of 8 KV heads x 128 x 2 B = 4,096 B per token per layer.
  double kv_read = 0;
  for_each_op(s.shapes, PhaseQuery{Phase::decode, 1, 1, 20000, AttentionImpl::flash, DType::bf16}, [&](const Op& op) {
    if (op.name == "attention") kv_read += static_cast<double>(op.count) * (op.bytes_read - 40 * 128 * 2.0);
  });
  CHECK(kv_read == doctest::Approx(36.0 * 3616 * 4096 + 12.0 * 20000 * 4096));
}

TEST_CASE("TPOT closed form equals the per-step loop across chunk boundaries") {
  const Setup s("llama-4-maverick", "h200", "fp8");
  ServiceQuery q;
  q.batch = 8;
  q.prompt = 7000;
  q.gen = 10000;  // contexts 7001..16999 cross the chunk boundaries at 8,192 and 16,384
  q.kv_dtype = DType::bf16;
  // A chunked group's pieces: 7001..8192, one full chunk 8193..16384, then 16385..16999.
  const LayerGroup* chunked = nullptr;
  for (const LayerGroup& g : s.shapes.groups)
    if (g.attention == AttentionKind::chunked) chunked = &g;
  REQUIRE(chunked);
  const std::vector<DecodePiece> pieces = decode_pieces(chunked, q.prompt + 1, q.prompt + q.gen - 1);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].first == 7001);
  CHECK(pieces[0].last == 8192);
  CHECK(pieces[1].first == 8193);
  CHECK(pieces[1].last == 16384);
  CHECK(pieces[1].repeat == 1);
  CHECK(pieces[2].first == 16385);
  CHECK(pieces[2].last == 16999);
  // Many chunks are one repeated piece: 100..1,000,000 over chunks of 64.
  const LayerGroup c64 = [] {
    LayerGroup g;
    g.attention = AttentionKind::chunked;
    g.window = 64;
    return g;
  }();
  const std::vector<DecodePiece> many = decode_pieces(&c64, 100, 1'000'010);
  REQUIRE(many.size() == 3);
  CHECK(many[1].repeat == (1'000'000 - 128) / 64);
  CHECK(many[2].first == 1'000'001);
  const ServiceEstimate e = estimate_service(s.shapes, s.ceilings, q);
  double loop = 0;
  for (std::int64_t c = q.prompt + 1; c <= q.prompt + q.gen - 1; ++c)
    loop += totals(s, Phase::decode, q.batch, 1, c, DType::bf16).time.value;
  CHECK(e.tpot.value == doctest::Approx(loop / (q.gen - 1)).epsilon(1e-9));
}

TEST_CASE("4-bit float weights: fp4 tensor cores on B200, dequantised to 16-bit math elsewhere") {
  const Setup b200("gpt-oss-120b", "b200", "mxfp4-experts");
  CHECK(b200.ceilings.gemm_math == DType::fp8);  // MXFP4 x MXFP8 on Blackwell
  CHECK(b200.ceilings.note.empty());
  const Setup h100("gpt-oss-120b", "h100-sxm", "mxfp4-experts");
  CHECK(h100.ceilings.gemm_math == DType::bf16);
  CHECK(h100.ceilings.gemm.value == h100.ceilings.gemm16.value);
  CHECK(h100.ceilings.note.find("no fp4 tensor cores") != std::string::npos);
  const Setup nv("llama-3.1-8b", "h100-sxm", "nvfp4");
  CHECK(nv.ceilings.gemm_math == DType::bf16);
  CHECK(Setup("llama-3.1-8b", "b200", "nvfp4").ceilings.gemm_math == DType::fp4);
  // Experts-only: the attention projections stay 16-bit GEMMs (gemm16), the experts use `gemm`.
  bool attention_16 = false, experts_quantised = false;
  for_each_op(b200.shapes, PhaseQuery{Phase::decode, 1, 1, 1000, AttentionImpl::flash, DType::bf16}, [&](const Op& op) {
    if (op.name == "attn.q_proj") attention_16 = op.unit == OpUnit::gemm16;
    if (op.name == "moe.expert.up") experts_quantised = op.unit == OpUnit::gemm;
  });
  CHECK(attention_16);
  CHECK(experts_quantised);
}

TEST_CASE("a prefill reads every key its new tokens attend, whatever the window") {
  // Llama 4 Scout, one prompt of 8,193 tokens: a chunked layer's queries attend chunks
  // [1, 8192] and [8193]: 8,193 distinct keys (K and V: 4,096 B each at TP 1), not the newest
  // token's single key.
  const Setup s("llama-4-scout", "h100-sxm", "bf16");
  double chunked_read = 0;
  for_each_op(s.shapes, PhaseQuery{Phase::prefill, 1, 8193, 8193, AttentionImpl::flash, DType::bf16},
              [&](const Op& op) {
                if (op.name == "attention" && op.layers == "chunked")
                  chunked_read = op.bytes_read - 8193.0 * 40 * 128 * 2;
              });
  CHECK(chunked_read == doctest::Approx(8193.0 * 4096));
  LayerGroup sliding;
  sliding.attention = AttentionKind::sliding;
  sliding.window = 128;
  CHECK(sliding.span(1000, 1000) == 1000);  // a prompt touches every key
  CHECK(sliding.span(1, 1000) == 128);      // a decode step only its window
  CHECK(sliding.span(10, 1000) == 137);     // 10 new tokens: their windows overlap
  LayerGroup chunked;
  chunked.attention = AttentionKind::chunked;
  chunked.window = 100;
  CHECK(chunked.span(30, 250) == 50);   // new tokens 221..250 sit in chunk 201..300
  CHECK(chunked.span(60, 250) == 150);  // 191..250 start in chunk 101..200
}

TEST_CASE("TPOT over many small chunks equals the per-step loop") {
  // Llama 4 Scout with 64-token chunks: 2,000 decode steps cross 31 chunk boundaries; the
  // closed form evaluates a handful of contexts, the loop every one.
  ModelSpec m = resolve_model("llama-4-scout");
  for (LayerSpec& l : m.layer_specs)
    if (l.attention == AttentionKind::chunked) l.window = 64;
  const ModelShapes shapes = compile_shapes(m, *weight_format("bf16"), 1);
  const Ceilings ceilings = ceilings_for(resolve_gpu("h100-sxm"), shapes);
  ServiceQuery q;
  q.batch = 64;
  q.prompt = 1000;
  q.gen = 2001;
  q.kv_dtype = DType::bf16;
  const ServiceEstimate e = estimate_service(shapes, ceilings, q);
  double loop = 0;
  for (std::int64_t c = q.prompt + 1; c <= q.prompt + q.gen - 1; ++c)
    loop += phase_totals(phase_ops(shapes, PhaseQuery{Phase::decode, q.batch, 1, c, AttentionImpl::flash, DType::bf16}),
                         ceilings)
                .time.value;
  CHECK(e.tpot.value == doctest::Approx(loop / (q.gen - 1)).epsilon(1e-9));
}

TEST_CASE("MLA decode attention (DeepSeek-V3): scores and values over the cached latent, by hand") {
  // Absorbed MLA decode: each of the 128 heads scores its query against the 576-wide cached
  // latent (kv_lora_rank 512 + rope 64) of every key and sums 512-wide latent values:
  // 2 x 128 heads x keys x (576 + 512) FLOP. The cache is read once per sequence for all heads
  // (keys x 576 x 2 B in bf16), plus the queries 128 x 576 x 2 B; out: 128 x 512 x 2 B.
  const ModelSpec m = resolve_model("deepseek-v3");
  const ModelShapes s = compile_shapes(m, *weight_format("bf16"), 1);
  const auto ops = phase_ops(s, PhaseQuery{Phase::decode, 1, 1, 4096, AttentionImpl::flash, DType::bf16});
  const Op* mla = nullptr;
  std::int64_t layers = 0;  // dense and MoE layers are two groups, each with its own operator
  for (const Op& op : ops)
    if (op.name == "attention_mla") {
      if (!mla) mla = &op;
      layers += op.count;
    }
  REQUIRE(mla);
  const double keys = 4096;  // one new token at context 4,096 attends all of them
  CHECK(mla->flops == doctest::Approx(2.0 * 128 * keys * (576 + 512)));
  CHECK(mla->bytes_read == doctest::Approx(keys * 576 * 2 + 128 * 576 * 2));
  CHECK(mla->bytes_written == doctest::Approx(128 * 512 * 2));
  // Per layer and per token of cache, MLA reads 576 x 2 = 1,152 B where MHA with 128 KV heads of
  // 192 + 128 dims would read 128 x 320 x 2 = 81,920 B: 71x less.
  CHECK(layers == 61);
}

TEST_CASE("expert parallelism: the slowest GPU's share of uniform top-k routing, against a Monte Carlo") {
  // 8,192 choices over 8 GPUs: mean 1,024, sd sqrt(8192 x 1/8 x 7/8) = 29.93, Blom's expected
  // maximum of 8 standard normals Φ⁻¹(7.625 / 8.25) = 1.4338: 1 + 1.4338 x 29.93 / 1024 = 1.0419.
  CHECK(expert_load_imbalance(8192, 8) == doctest::Approx(1 + 1.4338 * 29.93 / 1024).epsilon(1e-3));
  CHECK(expert_load_imbalance(100, 1) == 1);
  CHECK(expert_load_imbalance(1, 64) <= 64);
  // Monte Carlo: throw the choices uniformly, take the fullest GPU, average over trials.
  std::uint64_t x = 12345;
  auto next = [&] {  // splitmix64
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (const auto& [choices, ranks] : {std::pair{8192, 8}, {2048, 16}, {512, 32}}) {
    double sum = 0;
    const int trials = 400;
    for (int t = 0; t < trials; ++t) {
      std::vector<int> load(static_cast<std::size_t>(ranks), 0);
      for (int c = 0; c < choices; ++c) ++load[next() % static_cast<std::uint64_t>(ranks)];
      sum += *std::max_element(load.begin(), load.end());
    }
    const double measured = sum / trials / (static_cast<double>(choices) / ranks);
    CHECK(expert_load_imbalance(choices, ranks) == doctest::Approx(measured).epsilon(0.02));
  }
}

TEST_CASE("expert parallelism across attention groups: two all-to-alls per MoE layer, none when EP = TP") {
  const ModelSpec m = resolve_model("deepseek-v3");
  const GpuSpec g = resolve_gpu("h200");
  const WeightFormat f = *weight_format("fp8-block128");
  const ModelShapes grouped = compile_shapes(m, f, 1, 8), tp_only = compile_shapes(m, f, 8, 8);
  CHECK(grouped.attention_groups == 8);
  CHECK(tp_only.attention_groups == 1);
  auto names = [](const std::vector<CommOp>& ops) {
    std::vector<std::string> out;
    for (const CommOp& op : ops) out.emplace_back(op.name);
    return out;
  };
  const auto a = comm_ops(grouped, topology_for(g, 1, 1, 0, TimeBasis::bound, 8), Phase::decode, 16, 16);
  REQUIRE(a.size() == 2);
  CHECK(names(a) == std::vector<std::string>{"ep.dispatch", "ep.combine"});
  CHECK(a[0].count == 58);  // the MoE layers
  // Each GPU sends its 16 tokens x 8 experts x 7,168 x 2 B.
  CHECK(a[0].bytes == doctest::Approx(16.0 * 8 * 7168 * 2));
  const auto b = comm_ops(tp_only, topology_for(g, 8, 1, 0, TimeBasis::bound, 8), Phase::decode, 16, 16);
  for (const std::string& n : names(b)) CHECK(n.rfind("ep.", 0) != 0);
}
