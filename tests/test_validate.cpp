// `ridge validate` host logic against hand computations: case lists, predictions (the planner's
// own functions on the exact kernel shapes), statistics, comparison, calibration round trip,
// report contract; and, only where a CUDA device is present, the kernels' correctness checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "calibrate.hpp"
#include "efficiency.hpp"
#include "loaders.hpp"
#include "predict.hpp"
#include "report/validate_report.hpp"
#include "validate/cases.hpp"
#include "validate/clocks.hpp"
#include "validate/device.hpp"
#include "validate/run.hpp"
#include "validate/stats.hpp"
#include "validate/timing.hpp"

using namespace ridge;
using namespace ridge::validate;

namespace {

const ModelSpec& llama8b() {
  static const ModelSpec m = resolve_model("llama-3.1-8b");
  return m;
}
const GpuSpec& h100() {
  static const GpuSpec g = resolve_gpu("h100-sxm");
  return g;
}
GemmShape shape_of(const char* name, double n, double k) { return GemmShape{name, n, k, 0}; }

const Case* find_case(const std::vector<Case>& cases, const std::string& name) {
  for (const Case& c : cases)
    if (c.name == name) return &c;
  return nullptr;
}

/// A device that returns fixed times and a passing check: drives the orchestrator on the CPU.
class FakeDevice : public Device {
 public:
  DeviceInfo i;
  double time_s = 1e-3;
  bool fail_checks = false;
  int calls = 0;
  int lose_context_at_call = 0;
  bool vary_policy =
      false;  ///< every second case reports "other policy"  ///< 1-based call that reports a sticky CUDA error; 0: never
  FakeDevice() {
    i.name = "Fake GPU";
    i.cc_major = 9;
    i.sm_count = 132;
    i.l2_bytes = 50ull << 20;
    i.memory_bytes = i.free_memory_bytes = 80ull << 30;
    i.driver_version = i.runtime_version = 13000;
    i.cublas_version = 130002;
  }
  const DeviceInfo& info() const override { return i; }
  Measurement timed() {
    ++calls;
    Measurement m;
    m.samples_s = std::vector<double>(10, time_s);
    m.check = Check{fail_checks ? 0.5 : 1e-3, 1e-2, 100, 0, "fake"};
    m.cache_policy = "fake policy";
    if (calls % 2 == 0 && vary_policy) m.cache_policy = "other policy";
    if (calls == lose_context_at_call) {
      m.status = Status::failed;
      m.note = "fake.cu:1: cudaStreamSynchronize: an illegal memory access was encountered";
      m.context_lost = "an illegal memory access was encountered (cudaErrorIllegalAddress)";
    }
    return m;
  }
  Measurement stream(const StreamShape&, const RunConfig&) override { return timed(); }
  Measurement gemm(const GemmProblem&, const RunConfig&) override { return timed(); }
  Measurement attention(const AttentionProblem&, const RunConfig&) override { return timed(); }
  Measurement decode(const DecodeProblem&, const RunConfig&) override { return timed(); }
  MemoryMeasurement memory(const MemoryProblem&) override {
    ++calls;
    MemoryMeasurement m;
    m.kv_cache_bytes = 1ull << 30;
    return m;
  }
};

}  // namespace

TEST_CASE("statistics: median and spread of a known sample list") {
  // Sorted: 1..10. Median between the 5th and 6th = 5.5; p10 at rank 0.1·9 = 0.9 -> 1 + 0.9 = 1.9;
  // p90 at rank 8.1 -> 9 + 0.1 = 9.1; spread (9.1 − 1.9) / 5.5.
  const Summary s = summarize({5, 1, 4, 2, 3, 10, 6, 8, 7, 9});
  CHECK(s.n == 10);
  CHECK(s.median == doctest::Approx(5.5));
  CHECK(s.min == 1);
  CHECK(s.max == 10);
  CHECK(s.p10 == doctest::Approx(1.9));
  CHECK(s.p90 == doctest::Approx(9.1));
  CHECK(s.mean == doctest::Approx(5.5));
  CHECK(s.spread() == doctest::Approx(7.2 / 5.5));
  // Odd count: the middle element.
  CHECK(summarize({3, 1, 2}).median == 2);
  CHECK(summarize({}).n == 0);
}

TEST_CASE("warm-up runs at least the launch count and at least the time") {
  CHECK(warmup_remaining(0, 0.0, 3, 0.025) == 3);    // nothing run yet: one round of the minimum count
  CHECK(warmup_remaining(0, 0.0, 0, 0.025) == 1);    // at least one launch to learn its time
  CHECK(warmup_remaining(3, 0.030, 3, 0.025) == 0);  // 3 launches, 30 ms: both met
  CHECK(warmup_remaining(1, 0.500, 3, 0.025) == 2);  // long kernel: only the count is missing
  // 4 launches in 62.5 ms -> 15.625 ms each; (250 − 62.5) / 15.625 = 12 more to reach 250 ms.
  CHECK(warmup_remaining(4, 0.0625, 3, 0.25) == 12);
  // 1 ns per launch would ask for 25e6 more: capped at one round of 10,000.
  CHECK(warmup_remaining(1, 1e-9, 3, 0.025) == 10000);
  CHECK(warmup_remaining(100, 0.0, 3, 0.025) == 10000);   // a timer reading 0: rounds of the cap ...
  CHECK(warmup_remaining(95000, 0.0, 3, 0.025) == 5000);  // ... up to the total cap of 100,000 ...
  CHECK(warmup_remaining(100000, 0.0, 3, 0.025) == 0);    // ... then it stops
}

TEST_CASE("small kernels: launches per sample and rotated input sets") {
  constexpr std::uint64_t MiB = 1ull << 20, l2 = 50 * MiB, free = 80ull << 30;
  // 60 us is not small: one flushed launch per sample, no reason given.
  BatchPlan p = plan_batch(60e-6, 32 * MiB, l2, free);
  CHECK(p.flush);
  CHECK(p.launches == 1);
  CHECK(p.copies == 1);
  CHECK(p.reason.empty());
  // Decode GEMM, W 32 MiB: copies = floor(100 / 32) + 1 = 4 (128 MiB > 2 x 50 MiB);
  // R = ceil(100 us / 8 us) = 13, rounded up to a multiple of 4 = 16.
  p = plan_batch(8e-6, 32 * MiB, l2, free);
  CHECK_FALSE(p.flush);
  CHECK(p.copies == 4);
  CHECK(p.launches == 16);
  // Decode attention, K+V 4 MiB: copies = 100 / 4 + 1 = 26; R = ceil(100 / 3) = 34 -> 52 (2 rotations).
  p = plan_batch(3e-6, 4 * MiB, l2, free);
  CHECK(p.copies == 26);
  CHECK(p.launches == 52);
  // Inputs alone over 2 x L2: one set suffices; R = ceil(100 / 30) = 4.
  p = plan_batch(30e-6, 128 * MiB, l2, free);
  CHECK(p.copies == 1);
  CHECK(p.launches == 4);
  // 1 MiB inputs at 50 ns: copies = 101, R = 2000 -> 2020, over the cap of 1000 -> 9 x 101 = 909.
  p = plan_batch(0.05e-6, 1 * MiB, l2, free);
  CHECK(p.copies == 101);
  CHECK(p.launches == 909);
  // A pilot that read 0: the cap, 1000 = 250 rotations of 4.
  p = plan_batch(0.0, 32 * MiB, l2, free);
  CHECK(p.launches == 1000);
}

TEST_CASE("small kernels fall back to flushing, with the reason") {
  constexpr std::uint64_t MiB = 1ull << 20, l2 = 50 * MiB;
  BatchPlan p = plan_batch(5e-6, 0, l2, 80ull << 30);
  CHECK(p.flush);
  CHECK(p.reason == "this case cannot rotate its inputs");
  // 64 KiB inputs: 100 MiB / 64 KiB + 1 = 1601 sets, more than 1000 launches could cover.
  p = plan_batch(5e-6, 64 * 1024, l2, 80ull << 30);
  CHECK(p.flush);
  CHECK(p.reason == "1601 input sets would be needed, over the cap of 1000 launches");
  // 8 MiB inputs: 13 sets, 12 extra = 96 MiB, over 25% of 100 MiB free.
  p = plan_batch(5e-6, 8 * MiB, l2, 100 * MiB);
  CHECK(p.flush);
  CHECK(p.launches == 1);
  CHECK(p.reason == "13 rotated input sets need 96.0 MiB more, over 25% of free memory (25.0 MiB)");
}

TEST_CASE("cache policy text says what was done") {
  constexpr std::uint64_t MiB = 1ull << 20;
  BatchPlan flushed;
  CHECK(batch_policy_text(flushed, 80e-6, 0, 100 * MiB, "") == "L2 flushed before each sample (100 MiB read)");
  flushed.reason = "this case cannot rotate its inputs";
  CHECK(batch_policy_text(flushed, 12e-6, 0, 100 * MiB, "") ==
        "L2 flushed before each sample (100 MiB read); pilot 12.0 us, not batched: this case cannot rotate its inputs");
  BatchPlan batched;
  batched.flush = false;
  batched.launches = 16;
  batched.copies = 4;
  CHECK(batch_policy_text(batched, 8e-6, 32 * MiB, 100 * MiB, "CUDA graph") ==
        "R=16 launches per sample over 4 rotated input sets (4 x 32.0 MiB >= 2x L2), CUDA graph, no flush");
}

TEST_CASE("GEMM prediction: decode M=1, N=K=4096, bf16 on H100 SXM is memory-bound") {
  const Prediction p = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("attn.q_proj", 4096, 4096), 1);
  REQUIRE(p.ops.size() == 1);
  // FLOPs 2·1·4096·4096 = 33,554,432; bytes: W 4096·4096·2 = 33,554,432 + x 4096·2 + y 4096·2.
  const double flops = 2.0 * 4096 * 4096, bytes = 4096.0 * 4096 * 2 + 4096 * 2 + 4096 * 2;
  CHECK(p.totals.flops == doctest::Approx(flops));
  CHECK(p.totals.bytes == doctest::Approx(bytes));
  // max(33,554,432 / 989.4e12 = 33.9 ns, 33,570,816 / 3.35e12 = 10.02 us) = 10.02 us.
  CHECK(p.totals.time.value == doctest::Approx(std::max(flops / 989.4e12, bytes / 3.35e12)));
  CHECK(p.totals.time.value == doctest::Approx(10.021e-6).epsilon(1e-3));
  CHECK_FALSE(p.totals.compute_bound());
}

TEST_CASE("GEMM prediction: prefill M=4096 of mlp.gate (14336 x 4096) bf16 is compute-bound") {
  const Prediction p = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("mlp.gate", 14336, 4096), 4096);
  const double flops = 2.0 * 4096 * 14336 * 4096;                                    // 481.0 GFLOP
  const double bytes = 14336.0 * 4096 * 2 + 4096.0 * 4096 * 2 + 4096.0 * 14336 * 2;  // 268,435,456
  CHECK(p.totals.flops == doctest::Approx(flops));
  CHECK(p.totals.bytes == doctest::Approx(bytes));
  // 481.0e9 / 989.4e12 = 486.3 us against 268.4e6 / 3.35e12 = 80.1 us.
  CHECK(p.totals.time.value == doctest::Approx(flops / 989.4e12));
  CHECK(p.totals.compute_bound());
}

TEST_CASE("GEMM prediction: fp8 and int8 use their own peaks and the kernel's output type") {
  // fp8: W 4096·4096·1 + 4 B per-tensor scale, x 4096·1, y bf16 4096·2; peak 1978.9 TFLOP/s.
  const Prediction f = predict_gemm(llama8b(), h100(), GemmType::fp8, shape_of("attn.q_proj", 4096, 4096), 1);
  CHECK(f.totals.bytes == doctest::Approx(4096.0 * 4096 + 4 + 4096 + 4096 * 2));
  CHECK(f.ceilings.gemm.value == doctest::Approx(1978.9e12));
  // int8 at M=8192: W 4096·4096 + 4096 fp32 channel scales, x 8192·4096, y int32 8192·4096·4.
  const Prediction i = predict_gemm(llama8b(), h100(), GemmType::int8, shape_of("attn.q_proj", 4096, 4096), 8192);
  CHECK(i.totals.bytes == doctest::Approx(4096.0 * 4096 + 4096 * 4 + 8192.0 * 4096 + 8192.0 * 4096 * 4));
  CHECK(i.ceilings.gemm_math == DType::int8);
  CHECK(i.totals.time.value == doctest::Approx(2.0 * 8192 * 4096 * 4096 / 1978.9e12));
}

TEST_CASE("attention predictions: flash causal and full, naive, decode") {
  // Llama-3.1-8B geometry: 32 query heads, 8 KV heads, d = 128, one sequence of 4,096 tokens.
  AttentionProblem a{AttentionKernel::flash, 1, 4096, 32, 8, 128, true};
  const double pairs = 4096.0 * 4097 / 2;  // 8,390,656 causal pairs
  const double q = 4096.0 * 32 * 128 * 2, kv = 4096.0 * 8 * 256 * 2, o = q;
  Prediction p = predict_attention(h100(), llama8b(), a);
  REQUIRE(p.ops.size() == 1);
  CHECK(p.totals.flops == doctest::Approx(2.0 * 32 * pairs * 256));  // 137.5 GFLOP
  CHECK(p.totals.bytes == doctest::Approx(q + kv + o));
  CHECK(p.totals.time.value == doctest::Approx(2.0 * 32 * pairs * 256 / 989.4e12));
  a.causal = false;
  p = predict_attention(h100(), llama8b(), a);
  CHECK(p.totals.flops == doctest::Approx(2.0 * 32 * 4096.0 * 4096 * 256));

  // Naive causal: QK^T + softmax + PV; the 32 x 4096² bf16 scores go through memory 4 times.
  a = {AttentionKernel::naive, 1, 4096, 32, 8, 128, true};
  p = predict_attention(h100(), llama8b(), a);
  REQUIRE(p.ops.size() == 3);
  const double scores = 32.0 * 4096 * 4096 * 2;  // 1 GiB
  CHECK(p.totals.bytes == doctest::Approx(q + kv + o + 4 * scores));
  // softmax: 5 FLOPs per score on the fp32 vector units (66.9 TFLOP/s) vs 2 GiB moved.
  CHECK(p.ops[1].flops == doctest::Approx(5.0 * 32 * 4096 * 4096));
  CHECK(op_time(p.ops[1], p.ceilings).time().value == doctest::Approx(2 * scores / 3.35e12));
  CHECK(p.totals.time.value ==
        doctest::Approx(op_time(p.ops[0], p.ceilings).time().value + op_time(p.ops[1], p.ceilings).time().value +
                        op_time(p.ops[2], p.ceilings).time().value));

  // Decode, batch 8 over 4,096 cached tokens: one KV read per KV head serves its 4 query heads.
  const DecodeProblem d{8, 4096, 32, 8, 128};
  const Prediction dp = predict_decode(h100(), llama8b(), d);
  const double kv_read = 8.0 * 4096 * 8 * 256 * 2;  // 128 MiB
  CHECK(dp.totals.bytes == doctest::Approx(kv_read + 2 * 8.0 * 32 * 128 * 2));
  CHECK(dp.totals.flops == doctest::Approx(2.0 * 32 * 8 * 4096 * 256));
  CHECK(dp.totals.time.value == doctest::Approx(dp.totals.bytes / 3.35e12));  // ~4 FLOP/B: memory-bound
  CHECK_FALSE(dp.totals.compute_bound());
}

TEST_CASE("streaming and memory predictions") {
  const Prediction copy = predict_stream(h100(), llama8b(), {StreamKind::copy, 1ull << 30});
  CHECK(copy.totals.time.value == doctest::Approx(2.0 * (1ull << 30) / 3.35e12));  // 641 us
  CHECK(predict_stream(h100(), llama8b(), {StreamKind::read, 1ull << 30}).totals.bytes == doctest::Approx(1 << 30));
  CHECK(stream_bytes(50ull << 20, 80ull << 30) == 2ull << 30);     // 64 x 50 MiB = 3.1 GiB, capped at 2 GiB
  CHECK(stream_bytes(4ull << 20, 80ull << 30) == 256ull << 20);    // at least 256 MiB
  CHECK(stream_bytes(50ull << 20, 3ull << 30) == (512ull << 20));  // a sixth of 3 GiB free

  // Llama-3.1-8B, one sequence of 8,192 tokens: KV 131,072 B/token x 8,192 = 1 GiB.
  const MemoryPrediction m = predict_memory(llama8b(), {32, 1, 8192, 4096, 32, 8, 128, 14336, true});
  CHECK(m.kv_cache.value == 1073741824ull);
  // residual 2·8192·4096·2 = 134,217,728; attention Q,K,V,O 8192·2·128·(64+16) = 167,772,160;
  // naive scores+probs 2·32·8192²·2 = 8,589,934,592; MLP 8192·14336·3·2 = 704,643,072.
  CHECK(m.naive_activations.value == 134217728ull + 167772160ull + 8589934592ull);
  // flash: the MLP (704,643,072) outweighs attention + fp32 LSE (167,772,160 + 1,048,576).
  CHECK(m.flash_activations.value == 134217728ull + 704643072ull);
}

TEST_CASE("case lists hold the shapes the issue names") {
  CHECK(decode_rows() == std::vector<std::int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256});
  CHECK(prefill_rows() == std::vector<std::int64_t>{512, 1024, 2048, 4096, 8192, 16384});
  const ModelShapes s = compile_shapes(llama8b(), *weight_format("bf16"), 1);
  const std::vector<GemmShape> g = distinct_layer_gemms(s);
  // q (4096x4096, o_proj the same), k (1024x4096, v the same), gate (14336x4096, up), down.
  REQUIRE(g.size() == 4);
  CHECK(g[0].name == "attn.q_proj");
  CHECK((g[1].n == 1024 && g[1].k == 4096));
  CHECK((g[2].n == 14336 && g[2].k == 4096));
  CHECK((g[3].n == 4096 && g[3].k == 14336));

  const std::vector<Case> all = make_cases(llama8b(), h100(), PlanOptions{});
  std::set<std::string> names;
  for (const Case& c : all) names.insert(c.name);
  CHECK(names.size() == all.size());  // unique names
  std::size_t gemms = 0;
  for (const Case& c : all) gemms += c.family == Family::gemm;
  CHECK(gemms == 4 * 15 * 4);  // 4 shapes x (9 decode + 6 prefill rows) x bf16/fp16/fp8/int8
  for (const char* n :
       {"gemm.bf16.attn.q_proj.m1", "gemm.bf16.mlp.gate.m256", "gemm.fp8.mlp.down.m16384", "gemm.int8.attn.k_proj.m512",
        "attention.flash.causal.d128.n16384", "attention.flash.full.d64.n512", "attention.naive.causal.d64.n2048",
        "attention.naive.full.d128.n4096", "decode.b1.n32768.d128", "decode.b8.n4096.d64", "stream.read",
        "stream.write", "stream.copy", "memory.b1.n8192"}) {
    CAPTURE(n);
    CHECK(find_case(all, n) != nullptr);
  }
  const Case* gate = find_case(all, "gemm.bf16.mlp.gate.m4096");
  REQUIRE(gate);
  CHECK(gate->shape == "M=4096 N=14336 K=4096");
  CHECK(std::get<GemmProblem>(gate->problem).n == 14336);
  for (const Case& c : all) {
    CAPTURE(c.name);
    CHECK(c.waived.empty());  // H100 80 GB: everything fits and has its tensor type
  }

  PlanOptions quick;
  quick.quick = true;
  const std::vector<Case> q = make_cases(llama8b(), h100(), quick);
  CHECK(q.size() < 40);
  // The quick naive case is the full square: cuBLAS does n² work even under a causal mask,
  // while the prediction (like the planner) counts the causal half.
  CHECK(find_case(q, "attention.naive.full.d128.n2048") != nullptr);
  CHECK(find_case(q, "attention.naive.causal.d128.n2048") == nullptr);
  PlanOptions only;
  only.families = {Family::decode};
  for (const Case& c : make_cases(llama8b(), h100(), only)) CHECK(c.family == Family::decode);
}

TEST_CASE("cases that cannot run here are waived, with the reason") {
  PlanOptions o;
  o.device_fp8 = false;  // an A100
  o.free_bytes = 8ull << 30;
  const std::vector<Case> cases = make_cases(llama8b(), resolve_gpu("a100-80gb"), o);
  const Case* fp8 = find_case(cases, "gemm.fp8.attn.q_proj.m1");
  REQUIRE(fp8);
  CHECK(fp8->waived == "a100-80gb lists no fp8 tensor peak");
  const Case* naive = find_case(cases, "attention.naive.full.d128.n16384");
  REQUIRE(naive);  // 2 x 32 x 16384² x 2 B = 32 GiB of scores
  CHECK(naive->waived.find("of device memory") != std::string::npos);
  CHECK(find_case(cases, "attention.flash.full.d128.n16384")->waived.empty());

  const std::vector<Case> h = make_cases(llama8b(), h100(), o);
  CHECK(find_case(h, "gemm.fp8.attn.q_proj.m1")->waived.find("no fp8 tensor cores") != std::string::npos);
  for (const Case& c : make_cases(resolve_model("deepseek-v3"), h100(), PlanOptions{}))
    if (c.family == Family::attention || c.family == Family::decode || c.family == Family::memory)
      CHECK_FALSE(c.waived.empty());
  // A model with sliding layers: the memory case would allocate every layer in full.
  for (const Case& c : make_cases(resolve_model("gemma-3-27b"), h100(), PlanOptions{}))
    if (c.family == Family::memory) CHECK(c.waived.find("sliding or chunked") != std::string::npos);
}

TEST_CASE("comparison: ratio, utilizations, observed bound") {
  const Prediction p = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("attn.q_proj", 4096, 4096), 1);
  // Measured 12.5 us against the 10.02 us bound: ratio 1.2475, 80% of the bandwidth ceiling.
  const Comparison c = compare(p, 12.5e-6);
  CHECK(c.ratio == doctest::Approx(12.5e-6 / p.totals.time.value));
  CHECK(c.memory_utilization == doctest::Approx(p.memory.value / 12.5e-6));
  CHECK(c.memory_utilization == doctest::Approx(0.8017).epsilon(1e-3));
  CHECK_FALSE(c.observed_compute_bound);
  CHECK(c.achieved_bytes.value == doctest::Approx(p.totals.bytes / 12.5e-6));
  CHECK(c.achieved_flops.value == doctest::Approx(2.0 * 4096 * 4096 / 12.5e-6));
  // A large GEMM at 700 TFLOP/s: compute share 0.71, memory share tiny -> compute.
  const Prediction big = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("mlp.gate", 14336, 4096), 8192);
  const Comparison b = compare(big, big.totals.flops / 700e12);
  CHECK(b.observed_compute_bound);
  CHECK(b.compute_utilization == doctest::Approx(700 / 989.4));
}

TEST_CASE("orchestration on a fake device: checks gate the timing, waived cases do not run") {
  FakeDevice dev;
  PlanOptions o;
  o.quick = true;
  o.device_fp8 = false;
  std::vector<Case> cases = make_cases(llama8b(), h100(), o);
  const std::size_t n = cases.size();
  std::size_t waived = 0;
  for (const Case& c : cases) waived += !c.waived.empty();
  CHECK(waived > 0);  // fp8 GEMMs
  std::vector<CaseResult> r = run_cases(dev, cases, RunConfig{});
  CHECK(r.size() == n);
  CHECK(static_cast<std::size_t>(dev.calls) == n - waived);
  for (const CaseResult& x : r) {
    CAPTURE(x.c.name);
    if (!x.c.waived.empty()) {
      CHECK(x.status() == Status::waived);
      CHECK_FALSE(x.comparison);
    } else if (x.c.family != Family::memory) {
      REQUIRE(x.comparison);
      CHECK(x.comparison->measured.value == doctest::Approx(1e-3));
      CHECK(x.comparison->ratio == doctest::Approx(1e-3 / x.c.prediction.totals.time.value));
    }
  }
  FakeDevice bad;
  bad.fail_checks = true;
  r = run_cases(bad, cases, RunConfig{});
  for (const CaseResult& x : r)
    if (x.c.waived.empty() && x.c.family != Family::memory) {
      CHECK(x.status() == Status::failed);
      CHECK_FALSE(x.comparison);  // no time counts when the output is wrong
    }
  CHECK(measured_ceilings(r).empty());
}

TEST_CASE("a lost CUDA context fails every later case without running it, naming the case") {
  PlanOptions o;
  o.quick = true;
  o.device_fp8 = false;
  const std::vector<Case> cases = make_cases(llama8b(), h100(), o);
  FakeDevice dev;
  dev.lose_context_at_call = 2;
  const std::vector<CaseResult> r = run_cases(dev, cases, RunConfig{});
  CHECK(dev.calls == 2);  // nothing after the case that lost the context reaches the device
  int ran = 0;
  std::string broken;
  for (const CaseResult& x : r) {
    CAPTURE(x.c.name);
    if (!x.c.waived.empty()) {
      CHECK(x.status() == Status::waived);  // waived stays waived: it never needed the device
      continue;
    }
    ++ran;
    if (ran == 1) {
      CHECK(x.status() == Status::ok);
    } else if (ran == 2) {
      CHECK(x.status() == Status::failed);
      CHECK(x.note() == "fake.cu:1: cudaStreamSynchronize: an illegal memory access was encountered");
      broken = x.c.name;
    } else {
      CHECK(x.status() == Status::failed);
      CHECK_FALSE(x.comparison);
      CHECK(x.note() == "not run: the CUDA context was lost in case " + broken +
                            ": an illegal memory access was encountered (cudaErrorIllegalAddress)");
    }
  }
  CHECK(ran > 3);
}

TEST_CASE("calibration: the YAML reads back and scales the roofline by the measured fractions") {
  FakeDevice dev;
  PlanOptions o;
  o.families = {Family::stream, Family::gemm};
  o.quick = true;
  std::vector<Case> cases = make_cases(llama8b(), h100(), o);
  std::vector<CaseResult> r = run_cases(dev, cases, RunConfig{});
  // Pretend: the copy reached 3.015 TB/s (0.9 of 3.35) and the best bf16 GEMM 791.52 TFLOP/s
  // (0.8 of 989.4), the best fp8 GEMM 1385.23 TFLOP/s (0.7 of 1978.9).
  for (CaseResult& x : r) {
    if (!x.comparison) continue;
    const Prediction& p = x.c.prediction;
    double t = 1.0;
    if (x.c.name == "stream.copy")
      t = p.totals.bytes / 3.015e12;
    else if (x.c.name == "gemm.bf16.mlp.gate.m8192")
      t = p.totals.flops / 791.52e12;
    else if (x.c.name == "gemm.fp8.mlp.gate.m8192")
      t = p.totals.flops / 1385.23e12;
    x.comparison = compare(p, t);
  }
  const MeasuredCeilings cal = measured_ceilings(r);
  REQUIRE(cal.memory);
  CHECK(cal.memory->value == doctest::Approx(3.015e12));
  CHECK(cal.memory_case == "stream.copy");
  CHECK(cal.compute.at(DType::bf16).value == doctest::Approx(791.52e12));
  CHECK(cal.compute_case.at(DType::fp8) == "gemm.fp8.mlp.gate.m8192");

  const std::string yaml = calibrated_gpu_yaml(h100(), cal, "h100-mine", "test provenance");
  const GpuSpec g = gpu_from_yaml(parse_document(yaml, "h100-mine.yaml"), "h100-mine.yaml");
  CHECK(g.name == "h100-mine");
  CHECK(g.memory == h100().memory);
  CHECK(g.memory_bandwidth.value == doctest::Approx(3.35e12));
  CHECK(g.peak(DType::bf16)->value == doctest::Approx(989.4e12));
  CHECK(g.l2_cache == h100().l2_cache);
  CHECK(g.runtime_overhead == h100().runtime_overhead);
  CHECK(g.interconnect.bandwidth.value == doctest::Approx(450e9));
  REQUIRE(g.attainable_memory);
  CHECK(*g.attainable_memory == doctest::Approx(0.9));
  CHECK(g.attainable_fraction(DType::bf16) == doctest::Approx(0.8));
  CHECK(g.attainable_fraction(DType::fp8) == doctest::Approx(0.7));
  CHECK(g.attainable_fraction(DType::fp32) == 1.0);  // not measured: stays at the datasheet
  CHECK(g.attainable_source == "test provenance");

  // The roofline uses them: 0.9 x 3.35 TB/s, 0.8 x 989.4 TFLOP/s, 0.7 x 1978.9 for fp8.
  const ModelShapes s16 = compile_shapes(llama8b(), *weight_format("bf16"), 1);
  const Ceilings c = ceilings_for(g, s16);
  CHECK(c.attainable);
  CHECK(c.memory.value == doctest::Approx(3.015e12));
  CHECK(c.gemm.value == doctest::Approx(791.52e12));
  CHECK(ceilings_for(g, compile_shapes(llama8b(), *weight_format("fp8"), 1)).gemm.value == doctest::Approx(1385.23e12));
  // A memory-bound decode GEMM takes 1/0.9 of its bound; a compute-bound one 1/0.8.
  const Prediction before = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("attn.q_proj", 4096, 4096), 1);
  const Prediction after = predict_gemm(llama8b(), g, GemmType::bf16, shape_of("attn.q_proj", 4096, 4096), 1);
  CHECK(after.totals.time.value == doctest::Approx(before.totals.time.value / 0.9));
  const Prediction big0 = predict_gemm(llama8b(), h100(), GemmType::bf16, shape_of("mlp.gate", 14336, 4096), 8192);
  const Prediction big1 = predict_gemm(llama8b(), g, GemmType::bf16, shape_of("mlp.gate", 14336, 4096), 8192);
  CHECK(big1.totals.time.value == doctest::Approx(big0.totals.time.value / 0.8));

  // Fractions above the datasheet are capped at 1 (the loader's range).
  CHECK(attainable_fraction(4e12, 3.35e12) == 1.0);
}

TEST_CASE("attainable.peak_flops in a GPU file: only for types the GPU has") {
  const std::string base =
      "name: x\nvendor: nvidia\narchitecture: ampere\nmemory: 40 GiB\nmemory_source: t\n"
      "memory_bandwidth: 1.555 TB/s\nl2_cache: 40 MiB\npeak_flops:\n  bf16: 312 TFLOP/s\n"
      "interconnect:\n  bandwidth: 300 GB/s\nruntime_overhead: 1 GiB\n";
  const GpuSpec ok =
      gpu_from_yaml(parse_document(base + "attainable:\n  peak_flops:\n    bf16: 0.75\n", "x.yaml"), "x.yaml");
  CHECK(ok.attainable_fraction(DType::bf16) == 0.75);
  std::string msg;
  try {
    gpu_from_yaml(parse_document(base + "attainable:\n  peak_flops:\n    fp8: 0.75\n", "x.yaml"), "x.yaml");
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(msg == "x.yaml:15:10: attainable.peak_flops.fp8: the GPU has no peak_flops entry for this type");
}

TEST_CASE("report: JSON contract and the table's rows") {
  FakeDevice dev;
  PlanOptions o;
  o.quick = true;
  const std::vector<CaseResult> r = run_cases(dev, make_cases(llama8b(), h100(), o), RunConfig{});
  const MeasuredCeilings cal = measured_ceilings(r);
  ValidateProvenance prov{"0.1.0", "ridge validate -g h100-sxm --quick", "2026-01-01T00:00:00Z", "llama-3.1-8b", true,
                          {}};
  const ValidateView v{dev.info(), h100(), prov, r, cal};
  const auto j = validate_json(v);
  CHECK(j["schema"] == "ridge.validate/v1");
  CHECK(j["device"]["name"] == "Fake GPU");
  CHECK(j["device"]["driver_version"] == "13.0");
  CHECK(j["device"]["cublas_version"] == "13.0.2");
  CHECK(j["provenance"]["date_utc"] == "2026-01-01T00:00:00Z");
  CHECK(j["gpu"]["estimate_kind"] == "roofline_bound");
  REQUIRE(j["cases"].size() == r.size());
  const auto& first = j["cases"][0];
  CHECK(first["name"] == "stream.read");
  CHECK(first["samples_s"].size() == 10);
  CHECK(first["measured"]["median_s"] == doctest::Approx(1e-3));
  CHECK(first["predicted"].contains("time_s"));
  CHECK(first["check"]["passed"] == true);
  CHECK(j["calibration"].contains("memory_bandwidth_bytes_per_s"));
  const std::string text = validate_text(v);
  CHECK(text.find("ridge validate on Fake GPU (sm_90, 132 SMs") != std::string::npos);
  CHECK(text.find("gemm.bf16.attn.q_proj.m1") != std::string::npos);
  CHECK(text.find("bound pred/obs") != std::string::npos);
  CHECK(text.find("\nstream (fake policy)\n") != std::string::npos);  // one policy: in the header
  CHECK(text.find("warm-up of at least 3 launches and 25 ms") != std::string::npos);
  CHECK(j["provenance"]["warmup_s"] == doctest::Approx(0.025));
}

TEST_CASE("clock readings: throttle reasons by name, unavailable with its reason") {
  CHECK(throttle_reason_text(0) == "none");
  CHECK(throttle_reason_text(0x1) == "gpu_idle");
  CHECK(throttle_reason_text(0x4 | 0x8) == "sw_power_cap, hw_slowdown");
  CHECK(throttle_reason_text(0x20 | 0x40 | 0x80) ==
        "sw_thermal_slowdown, hw_thermal_slowdown, hw_power_brake_slowdown");
  CHECK(throttle_reason_text(0x400 | 0x2) == "applications_clocks_setting, 0x400");  // unknown bits in hex
  ClockReading r;
  CHECK(clock_reading_text(r) == "unavailable (not read)");
  r.unavailable = "libnvidia-ml.so.1 could not be opened: no such file";
  CHECK(clock_reading_text(r) == "unavailable (libnvidia-ml.so.1 could not be opened: no such file)");
  r.unavailable.clear();
  r.sm_clock_hz = 1980e6;
  r.memory_clock_hz = 2619e6;
  r.throttle_reasons = 0x4;
  CHECK(clock_reading_text(r) == "SM 1980 MHz, memory 2619 MHz, throttle reasons: sw_power_cap");
}

TEST_CASE("report: current clocks before and after the run, in the header and the JSON") {
  FakeDevice dev;
  PlanOptions o;
  o.quick = true;
  o.families = {Family::stream};
  const std::vector<CaseResult> r = run_cases(dev, make_cases(llama8b(), h100(), o), RunConfig{});
  const MeasuredCeilings cal = measured_ceilings(r);
  ValidateProvenance prov{"0.1.0", "ridge validate", "2026-01-01T00:00:00Z", "llama-3.1-8b", true, {}};
  prov.clocks_before = dev.clocks();  // the Device default: unavailable
  prov.clocks_after.unavailable.clear();
  prov.clocks_after.sm_clock_hz = 1755e6;
  prov.clocks_after.memory_clock_hz = 2619e6;
  prov.clocks_after.throttle_reasons = 0x4;
  const ValidateView v{dev.info(), h100(), prov, r, cal};
  CHECK(validate_text(v).find("  current clocks (NVML) idle before the cases: unavailable (this device does not report "
                              "clocks); right after the last case: SM 1755 MHz, memory 2619 MHz, throttle reasons: "
                              "sw_power_cap\n") != std::string::npos);
  const auto j = validate_json(v);
  CHECK(j["device"]["current_clocks"]["before"]["available"] == false);
  CHECK(j["device"]["current_clocks"]["before"]["reason"] == "this device does not report clocks");
  CHECK(j["device"]["current_clocks"]["after"]["sm_clock_hz"] == doctest::Approx(1755e6));
  CHECK(j["device"]["current_clocks"]["after"]["throttle_reasons"] == 4);
  CHECK(j["device"]["current_clocks"]["after"]["throttle_reason_names"] == "sw_power_cap");
  // Clocks read but the reasons query refused (some virtualised GPUs): the clocks stay.
  ValidateProvenance partial = prov;
  partial.clocks_after.reasons_unavailable = "nvmlDeviceGetCurrentClocksEventReasons: Not Supported";
  const ValidateView pv{dev.info(), h100(), partial, r, cal};
  CHECK(validate_text(pv).find("SM 1755 MHz, memory 2619 MHz, throttle reasons: unavailable "
                               "(nvmlDeviceGetCurrentClocksEventReasons: Not Supported)") != std::string::npos);
  const auto pj = validate_json(pv);
  CHECK(pj["device"]["current_clocks"]["after"]["sm_clock_hz"] == doctest::Approx(1755e6));
  CHECK(pj["device"]["current_clocks"]["after"]["throttle_reasons"].is_null());
}

TEST_CASE("report: a family whose cases were sampled differently lists the policy per case") {
  FakeDevice dev;
  dev.vary_policy = true;
  PlanOptions o;
  o.quick = true;
  o.families = {Family::gemm};
  const std::vector<CaseResult> r = run_cases(dev, make_cases(llama8b(), h100(), o), RunConfig{});
  const MeasuredCeilings cal = measured_ceilings(r);
  ValidateProvenance prov{"0.1.0", "ridge validate", "2026-01-01T00:00:00Z", "llama-3.1-8b", true, {}};
  const std::string text = validate_text({dev.info(), h100(), prov, r, cal});
  CHECK(text.find("\ngemm\n") != std::string::npos);  // no single policy in the header
  std::size_t listed = 0;
  for (const CaseResult& x : r)
    if (x.c.waived.empty() && text.find("  " + x.c.name + ": " + x.m.cache_policy + "\n") != std::string::npos)
      ++listed;
  CHECK(listed == static_cast<std::size_t>(dev.calls));
}

// ---------------------------------------------------------------------------------------------
// On a machine with a CUDA device: small shapes of every kernel must pass their reference
// checks. Without one (CI, development machines) these skip.

namespace {
/// Decided when the test is registered, so that doctest reports the test as skipped (not
/// passed) on a machine without a device, and says why on stderr.
bool no_cuda_device() {
  static const bool none = [] {
    const DeviceProbe probe = open_device();
    if (!probe.device) std::fprintf(stderr, "GPU kernel test skipped: no CUDA device: %s\n", probe.reason.c_str());
    return !probe.device;
  }();
  return none;
}
}  // namespace

TEST_CASE("GPU kernels match their references (skipped without a CUDA device)" * doctest::skip(no_cuda_device())) {
  DeviceProbe probe = open_device();
  REQUIRE(probe.device);
  Device& d = *probe.device;
  RunConfig cfg;
  cfg.samples = 10;
  cfg.warmup = 1;
  auto expect_ok = [](const Measurement& m, const char* what) {
    CAPTURE(what);
    CAPTURE(m.note);
    CAPTURE(m.check.rel_error);
    CAPTURE(m.check.non_finite);
    CHECK(m.status == Status::ok);
    CHECK(m.check.passed());
    CHECK(m.samples_s.size() == 10);
  };
  for (StreamKind k : {StreamKind::read, StreamKind::write, StreamKind::copy})
    expect_ok(d.stream({k, 64ull << 20}, cfg), "stream");
  for (GemmType t : {GemmType::bf16, GemmType::fp16, GemmType::fp8, GemmType::int8}) {
    if (t == GemmType::fp8 && !d.info().has_fp8()) continue;
    for (const GemmProblem& g : {GemmProblem{t, 1, 1024, 512}, GemmProblem{t, 384, 1536, 1024}}) {
      const Measurement m = d.gemm(g, cfg);
      // cuBLASLt may offer no fp8/int8 kernel for a one-row problem: waived, never wrong.
      if (m.status == Status::waived && (t == GemmType::fp8 || t == GemmType::int8)) continue;
      expect_ok(m, "gemm");
      // A one-row GEMM takes a few microseconds: batched over rotated copies, not flushed.
      if (g.m == 1 && m.status == Status::ok) CHECK(m.cache_policy.rfind("R=", 0) == 0);
    }
  }
  for (AttentionKernel k : {AttentionKernel::naive, AttentionKernel::flash})
    for (std::int64_t dim : {64, 128})
      for (bool causal : {true, false}) {
        expect_ok(d.attention({k, 2, 256, 8, 2, dim, causal}, cfg), "attention");
        expect_ok(d.attention({k, 1, 192, 4, 4, dim, causal}, cfg), "attention MHA");
      }
  expect_ok(d.decode({2, 1000, 8, 2, 128}, cfg), "decode, context not a multiple of the chunk");
  expect_ok(d.decode({3, 4096, 32, 8, 64}, cfg), "decode d=64");
  expect_ok(d.decode({1, 300, 16, 1, 128}, cfg), "decode MQA-like group of 16");
  const MemoryMeasurement m = d.memory({2, 1, 1024, 1024, 8, 2, 128, 2816, true});
  CHECK(m.status == Status::ok);
  CHECK(m.kv_cache_bytes >= m.requested_kv_bytes);
}

namespace {
/// A device whose GEMMs take what a simple physical law says: 4 us fixed, FLOPs at 600 TFLOP/s
/// plus bytes at 2.5 TB/s (no overlap). Attention and decode: 1 ms.
class LawDevice : public FakeDevice {
 public:
  static double law_s(const GemmProblem& g) {
    const double m = static_cast<double>(g.m), n = static_cast<double>(g.n), k = static_cast<double>(g.k);
    return 4e-6 + 2 * m * n * k / 600e12 + 2 * (m * k + n * k + m * n) / 2.5e12;
  }
  Measurement gemm(const GemmProblem& g, const RunConfig& c) override {
    Measurement m = FakeDevice::gemm(g, c);
    m.samples_s.assign(m.samples_s.size(), law_s(g));
    return m;
  }
};
}  // namespace

TEST_CASE("what validate measures is a measured table that ridge calibrate fits (one fitter for both)") {
  LawDevice dev;
  PlanOptions o;
  o.device_fp8 = false;
  const std::vector<CaseResult> results = run_cases(dev, make_cases(llama8b(), h100(), o), RunConfig{});
  const auto tables = measured_tables(results);
  REQUIRE(tables.count("gemm.csv"));
  REQUIRE(tables.count("context_attention.csv"));
  REQUIRE(tables.count("generation_attention.csv"));
  // Every timed bf16/fp16 GEMM case is one row, with its measured median in microseconds.
  std::size_t timed_gemms = 0;
  for (const CaseResult& r : results)
    if (const auto* g = std::get_if<GemmProblem>(&r.c.problem))
      timed_gemms += r.comparison && g->type != GemmType::int8;
  const OperatorTable gemm = read_operator_table(tables.at("gemm.csv"), "gemm.csv");
  CHECK(gemm.family == OperatorFamily::gemm);
  CHECK(gemm.measured);
  CHECK(gemm.rows.size() == timed_gemms);
  REQUIRE_FALSE(gemm.rows.empty());
  const OperatorRow& first = gemm.rows.front();
  CHECK(*first.latency_us ==
        doctest::Approx(1e6 * LawDevice::law_s(GemmProblem{GemmType::bf16, first.m, first.n, first.k})).epsilon(1e-4));
  const OperatorTable ctx = read_operator_table(tables.at("context_attention.csv"), "context_attention.csv");
  CHECK(ctx.family == OperatorFamily::context_attention);
  CHECK(*ctx.rows.front().latency_us == doctest::Approx(1000.0));
  CHECK(read_operator_table(tables.at("generation_attention.csv"), "generation_attention.csv").family ==
        OperatorFamily::generation_attention);

  // The same fitter as for the public tables: the bf16 GEMM family fits the law it was given.
  std::vector<MeasuredRows> rows{{gemm.family, gemm.rows}};
  const Calibration cal = calibrate(h100(), rows, 10);
  REQUIRE(cal.families.count(CalibratedFamily::gemm_bf16));
  const ExpectedTimes fitted([&] {
    GpuSpec g = h100();
    g.calibration = cal;
    return g;
  }());
  std::vector<double> errors;
  for (const OperatorRow& r : gemm.rows)
    if (r.dtype == "bf16")
      errors.push_back(std::abs(fitted.row(OperatorFamily::gemm, r)->value * 1e6 / *r.latency_us - 1));
  std::sort(errors.begin(), errors.end());
  CAPTURE(errors.size());
  CHECK(errors[errors.size() / 2] < 0.10);  // median error of the fit on what it was given
}
