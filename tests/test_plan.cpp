// The planner against hand computations and against the memory and roofline engines.
#include <doctest/doctest.h>

#include <algorithm>

#include "gate.hpp"
#include "loaders.hpp"
#include "plan.hpp"
#include "report/plan_report.hpp"
#include "roofline.hpp"
#include "serve.hpp"
#include "workload.hpp"

using namespace ridge;

namespace {
PlanRequest request(std::initializer_list<const char*> gpus) {
  PlanRequest r;
  for (const char* g : gpus) r.gpus.push_back(resolve_gpu(g));
  return r;
}

std::int64_t fewest_gpus(const PlanResult& r) {
  std::int64_t n = 1 << 30;
  for (const Plan& p : r.plans) n = std::min(n, p.gpus());
  return n;
}
}  // namespace

TEST_CASE("Llama-3.1-70B at 32,768 tokens x 16 in bf16 does not fit on 4 x A100 80GB; 8-bit fits on fewer") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  // Hand computation: weights 70,553,706,496 x 2 B = 141.1 GB; KV 327,680 B per token x 32,768 x 16
  // = 171.8 GB; 312.9 GB in all, against 4 x 0.9 x 80 GiB = 309.2 GB of budget before any
  // activation or runtime overhead.
  // The engine's figures against that hand computation (the parameter count is Meta's).
  const double weights = weight_bytes(m, *weight_format("bf16")).as_double();
  const double kv = static_cast<double>(kv_bytes_per_token(m, DType::bf16).value) * 32'768 * 16;
  CHECK(weights == 70'553'706'496.0 * 2);
  CHECK(kv == 327'680.0 * 32'768 * 16);
  CHECK(weights + kv > 4 * 0.9 * 80 * 1073741824.0);

  PlanRequest r = request({"a100-80gb"});
  r.prompt = 32'512;
  r.gen = 256;
  r.batch = 16;
  r.prefill_chunk = 8192;
  r.weight_formats = {*weight_format("bf16")};
  r.kv_dtypes = {DType::bf16};
  r.max_gpus = 4;
  const PlanResult four = make_plan(m, r);
  CHECK(four.plans.empty());
  REQUIRE_FALSE(four.rejected.empty());
  for (const RejectedFamily& f : four.rejected) CHECK(f.reason == Rejection::does_not_fit);

  // With room to grow: 312.9 GB over 77.3 GB budgets less overhead and activations needs 5 GPUs,
  // which only a 5-stage pipeline (TP cannot be 5: 64 heads) provides.
  r.max_gpus = 64;
  const PlanResult bf16 = make_plan(m, r);
  REQUIRE_FALSE(bf16.plans.empty());
  CHECK(fewest_gpus(bf16) == 5);
  for (const Plan& p : bf16.plans)
    if (p.gpus() == 5) CHECK((p.tp == 1 && p.pp == 5));

  // 8-bit weights (int8: no fp8 on A100) halve the 141 GB; an 8-bit KV cache halves the 172 GB:
  // 156.5 GB fits on 3.
  r.weight_formats = {*weight_format("int8")};
  r.kv_dtypes = {DType::fp8, DType::int8};
  const PlanResult eight = make_plan(m, r);
  REQUIRE_FALSE(eight.plans.empty());
  CHECK(fewest_gpus(eight) == 3);
  CHECK(eight.plans.front().gpus() < bf16.plans.front().gpus());
}

TEST_CASE("a recommended plan passes ridge memory and ridge roofline for the same settings") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  PlanRequest r = request({"h100-sxm", "a100-80gb", "l40s"});
  r.prompt = 2048;
  r.gen = 512;
  r.concurrency = 64;
  r.max_ttft = Seconds{2.0};
  r.max_tpot = Seconds{0.05};
  r.prefill_chunk = 8192;
  const PlanResult result = make_plan(m, r);
  REQUIRE_FALSE(result.plans.empty());
  for (std::size_t i = 0; i < std::min<std::size_t>(5, result.plans.size()); ++i) {
    const Plan& p = result.plans[i];
    const GpuSpec& g = r.gpus[p.gpu];
    MemoryQuery q;
    q.weights = p.weights;
    q.kv_dtype = p.kv_dtype;
    q.batch = p.batch;
    q.context = r.prompt + r.gen;
    q.tp = p.tp;
    q.pp = p.pp;
    q.memory_utilization = r.memory_utilization;
    q.overhead = g.runtime_overhead;
    q.prefill_chunk = r.prefill_chunk;
    const MemoryEstimate mem = estimate_memory(m, g, q);
    CHECK(mem.fits);
    CHECK(mem.per_gpu().total().value == p.per_gpu_memory.value);
    const ModelShapes shapes = compile_shapes(m, p.weights, p.tp);
    // The planner judges a calibrated GPU on expected times, as roofline prints them.
    const ServiceEstimate e = estimate_service(shapes, ceilings_for(g, shapes, r.basis),
                                               ServiceQuery{p.batch, r.prompt, r.gen, AttentionImpl::flash, p.kv_dtype,
                                                            topology_for(g, p.tp, p.pp, 0, r.basis), 0});
    CHECK(e.ttft.value == doctest::Approx(p.ttft.value));
    CHECK(e.tpot.value == doctest::Approx(p.tpot.value));
    CHECK(e.ttft.value <= 2.0);
    CHECK(e.tpot.value <= 0.05);
    CHECK(p.batch * p.replicas >= 64);
    // GPU-hours per million tokens by hand: GPUs / (tokens/s) x 1e6 / 3600.
    CHECK(p.gpu_hours_per_mtok ==
          doctest::Approx(static_cast<double>(p.gpus()) / (e.throughput_tokens_per_s * p.replicas) * 1e6 / 3600));
  }
}

TEST_CASE("a recommended plan, written as a deployment file, passes ridge check") {
  // plan -> deploy.yaml -> check is how a team uses the two; with every default shared (prefill
  // chunk, utilization, overhead) a plan the planner calls feasible must not fail the gate.
  const ModelSpec m = resolve_model("llama-3.1-70b");
  PlanRequest r = request({"h100-sxm"});
  r.prompt = 2048;
  r.gen = 512;
  r.concurrency = 64;
  r.max_ttft = Seconds{2.0};
  r.max_tpot = Seconds{0.05};
  const PlanResult result = make_plan(m, r);
  REQUIRE(result.plans.size() >= 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const Plan& p = result.plans[i];
    const std::string yaml = "model: llama-3.1-70b\ngpu: h100-sxm\ngpus: " + std::to_string(p.gpus()) +
                             "\ntp: " + std::to_string(p.tp) + "\npp: " + std::to_string(p.pp) +
                             "\nprecision: " + p.weights.name + "\nkv_dtype: " + std::string(to_string(p.kv_dtype)) +
                             "\nmax_model_len: 2560\nworkload: {prompt_tokens: 2048, gen_tokens: 512, concurrency: 64}"
                             "\nslo: {ttft: 2 s, tpot: 50 ms}\n";
    CAPTURE(yaml);
    const auto findings = check_file("plan.yaml", std::nullopt, &yaml);
    CHECK_FALSE(findings.empty());
    for (const Finding& f : findings) {
      CAPTURE(f.rule);
      CAPTURE(f.message);
      CHECK_FALSE(f.failing);
    }
  }
}

TEST_CASE("quality risk is stated and preferred within the cost tolerance") {
  CHECK(quality_risk(*weight_format("bf16"), DType::bf16) == QualityRisk::baseline);
  CHECK(quality_risk(*weight_format("bf16"), DType::fp8) == QualityRisk::kv8);
  CHECK(quality_risk(*weight_format("fp8"), DType::bf16) == QualityRisk::weights8);
  CHECK(quality_risk(*weight_format("int8"), DType::fp8) == QualityRisk::weights8_kv8);
  CHECK(quality_risk(*weight_format("int4"), DType::bf16) == QualityRisk::int4);
  CHECK(std::string(quality_note(QualityRisk::int4)).find("8.7%") != std::string::npos);

  // Llama-3.1-8B at batch 1 on an H100 is memory-bound: fp8 weights read half the bytes, so they
  // cost about half. With no tolerance the cheapest (8-bit) wins; with 100% the 16-bit baseline.
  const ModelSpec m = resolve_model("llama-3.1-8b");
  PlanRequest r = request({"h100-sxm"});
  r.batch = 1;
  r.max_gpus = 1;
  r.cost_tolerance = 0;
  const QualityRisk cheapest = make_plan(m, r).plans.front().risk;
  CHECK((cheapest == QualityRisk::weights8 || cheapest == QualityRisk::weights8_kv8));
  r.cost_tolerance = 1.0;
  const PlanResult tolerant = make_plan(m, r);
  CHECK(tolerant.plans.front().risk == QualityRisk::baseline);
  CHECK(recommendation_text(r, tolerant).find("lower quality risk") != std::string::npos);
}

TEST_CASE("int4 only as the way to fit, or when allowed; fp8 only on GPUs with fp8 tensor cores") {
  const ModelSpec m = resolve_model("llama-3.1-405b");
  // 16 x L4: 16 x 0.9 x 22.5 GiB ≈ 348 GB. 405B parameters in int8 ≈ 406 GB: no; int4 g128 at
  // 4.156 bits ≈ 212 GB: yes.
  PlanRequest r = request({"l4"});
  r.batch = 1;
  r.prompt = 512;
  r.gen = 64;
  r.max_gpus = 16;
  const PlanResult forced = make_plan(m, r);
  CHECK(forced.int4_fallback);
  REQUIRE_FALSE(forced.plans.empty());
  CHECK(forced.plans.front().risk == QualityRisk::int4);
  CHECK(recommendation_text(r, forced).find("int4 only because") != std::string::npos);

  const ModelSpec small = resolve_model("llama-3.1-8b");
  PlanRequest a = request({"a100-80gb"});
  a.batch = 8;
  a.max_gpus = 2;
  const PlanResult ampere = make_plan(small, a);
  CHECK_FALSE(ampere.int4_fallback);
  for (const Plan& p : ampere.plans) {
    CHECK(p.weights.name != "fp8");
    CHECK(p.risk != QualityRisk::int4);
  }
  a.allow_int4 = true;
  bool saw_int4 = false;
  for (const Plan& p : make_plan(small, a).plans) saw_int4 = saw_int4 || p.risk == QualityRisk::int4;
  CHECK(saw_int4);
}

TEST_CASE("rejected families say why, with the value and the limit") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  PlanRequest r = request({"h100-sxm"});
  r.batch = 1;
  r.max_gpus = 8;
  r.max_tpot = Seconds{0.001};  // 1 ms: even TP 8 reads 141 GB / 8 at 3.35 TB/s = 5.3 ms per token
  const PlanResult result = make_plan(m, r);
  CHECK(result.plans.empty());
  bool tpot = false;
  for (const RejectedFamily& f : result.rejected) {
    if (f.reason != Rejection::misses_tpot) continue;
    tpot = true;
    // The engine returns figures; the report words them.
    CHECK(f.detail.what == RejectionDetail::What::tpot);
    CHECK(f.detail.limit == 0.001);
    CHECK(f.detail.measured > 0.001);
    CHECK(rejection_text(f.detail).find("> 1.0 ms") != std::string::npos);
  }
  CHECK(tpot);
  // Wording by hand: 85,899,345,920 B = 80.00 GiB at batch 64 against 76,968,728,985 B = 71.68 GiB.
  RejectionDetail memory;
  memory.what = RejectionDetail::What::memory;
  memory.measured = 85'899'345'920.0;
  memory.limit = 76'968'728'985.0;
  memory.batch = 64;
  CHECK(rejection_text(memory) == "needs 80.00 GiB per GPU at batch 64, budget 71.68 GiB");
  // GPT-2 has 12 heads and 12 layers: TP 8 is refused with the reason, PP never exceeds 12.
  PlanRequest g = request({"l4"});
  g.batch = 1;
  g.max_gpus = 64;
  const PlanResult gpt2 = make_plan(resolve_model("gpt2"), g);
  bool tp8 = false;
  for (const RejectedFamily& f : gpt2.rejected)
    if (f.tp == 8) {
      tp8 = true;
      CHECK(f.reason == Rejection::sharding);
      CHECK(rejection_text(f.detail) == "8 does not divide the 12 attention heads of gpt2");
    }
  CHECK(tp8);
  for (const Plan& p : gpt2.plans) CHECK(p.pp <= 12);
}

TEST_CASE("throughput targets add replicas, not speed") {
  const ModelSpec m = resolve_model("llama-3.1-8b");
  PlanRequest r = request({"h100-sxm"});
  r.batch = 8;
  r.weight_formats = {*weight_format("bf16")};
  r.kv_dtypes = {DType::bf16};
  r.max_gpus = 64;
  const PlanResult one = make_plan(m, r);
  const Plan base = one.plans.front();
  r.min_throughput = base.throughput_tokens_per_s * 3.5;  // needs 4 replicas of the same layout
  const PlanResult four = make_plan(m, r);
  bool found = false;
  for (const Plan& p : four.plans) {
    if (p.tp != base.tp || p.pp != base.pp) continue;
    found = true;
    CHECK(p.replicas == 4);
    CHECK(p.tpot.value == doctest::Approx(base.tpot.value));
    CHECK(p.throughput_tokens_per_s == doctest::Approx(4 * base.throughput_tokens_per_s));
  }
  CHECK(found);
}

TEST_CASE("with --concurrency, replicas split the sequences instead of adding new ones") {
  // 64 sequences and a throughput target one replica cannot meet: more replicas each serve
  // fewer sequences (⌈64 / r⌉), never 64 each.
  const ModelSpec m = resolve_model("llama-3.1-8b");
  PlanRequest r = request({"h100-sxm"});
  r.concurrency = 64;
  r.min_throughput = 20'000;
  const PlanResult result = make_plan(m, r);
  REQUIRE_FALSE(result.plans.empty());
  for (const Plan& p : result.plans) {
    CHECK(p.batch == (64 + p.replicas - 1) / p.replicas);
    CHECK(p.throughput_tokens_per_s >= 20'000);
  }
  // --batch 16 with 40 sequences: ⌈40/16⌉ = 3 replicas of 16; with 8 sequences: 1 replica of 8.
  r.min_throughput.reset();
  r.batch = 16;
  r.concurrency = 40;
  r.max_gpus = 8;
  for (const Plan& p : make_plan(m, r).plans) CHECK((p.replicas == 3 && p.batch == 16));
  r.concurrency = 8;
  for (const Plan& p : make_plan(m, r).plans) CHECK((p.replicas == 1 && p.batch == 8));
}

TEST_CASE("plan --rate: the recommended replica count is the fewest whose share meets the SLOs in simulation") {
  const ModelSpec m = resolve_model("llama-3.1-8b");
  PlanRequest r = request({"h100-sxm"});
  r.prompt = 1024;
  r.gen = 256;
  r.rate = 60.0;
  r.max_ttft = Seconds{0.3};
  r.max_tpot = Seconds{0.02};
  r.weight_formats = {*weight_format("bf16")};
  r.kv_dtypes = {DType::bf16};
  const PlanResult res = make_plan(m, r);
  REQUIRE_FALSE(res.plans.empty());
  const Plan& p = res.plans.front();
  CHECK(p.simulated);
  REQUIRE(p.replicas >= 2);
  // The same deployment, built here from the engines, simulated at n and n − 1 replicas: each
  // replica gets every n-th request of one Poisson stream at 60 req/s (round robin, as serve).
  const GpuSpec g = resolve_gpu("h100-sxm");
  MemoryQuery q;
  q.weights = *weight_format("bf16");
  q.kv_dtype = DType::bf16;
  q.context = 1024 + 256;
  q.tp = p.tp;
  q.pp = p.pp;
  q.overhead = g.runtime_overhead;
  // The engine limits the plan chose: vLLM's default budget (8192 on an H100) or a quarter of it.
  CHECK((p.max_num_batched_tokens == 8192 || p.max_num_batched_tokens == 2048));
  CHECK(p.max_num_seqs == 1024);
  q.prefill_chunk = p.max_num_batched_tokens;
  q.max_num_batched_tokens = p.max_num_batched_tokens;
  const MemoryEstimate memory = estimate_memory(m, g, q);
  const ServeEngine engine = serve_engine(m, q, memory, EngineLimits{p.max_num_batched_tokens, p.max_num_seqs});
  const ModelShapes shapes = compile_shapes(m, q.weights, p.tp);
  StepCost cost(shapes, ceilings_for(g, shapes, TimeBasis::expected),
                topology_for(g, p.tp, p.pp, 0, TimeBasis::expected), AttentionImpl::flash, DType::bf16);
  const LengthDistribution prompt = parse_length_distribution("--prompt", "1024");
  const LengthDistribution gen = parse_length_distribution("--gen", "256");
  auto p99_at = [&](std::int64_t n) {
    const RequestLoad all = generate_workload(1000 * n, 60.0, prompt, gen, 0);
    RequestLoad share;
    for (std::size_t i = 0; i < all.requests.size(); i += static_cast<std::size_t>(n))
      share.requests.push_back(all.requests[i]);
    ServeResult sr = simulate(cost, engine, share, 1);
    return summarize(sr, LatencySlo{}, 60.0 / static_cast<double>(n));
  };
  const ServeSummary at_n = p99_at(p.replicas), fewer = p99_at(p.replicas - 1);
  CHECK(at_n.ttft.p99 <= 0.3);
  CHECK(at_n.tpot.p99 <= 0.02);
  CHECK(at_n.ttft.p99 == doctest::Approx(p.ttft.value).epsilon(1e-12));
  CHECK((fewer.ttft.p99 > 0.3 || fewer.tpot.p99 > 0.02 || fewer.saturated));
  // The cost is the GPUs' hours for a million tokens at the offered rate: 60 x 256 tokens/s.
  CHECK(p.gpu_hours_per_mtok == doctest::Approx(static_cast<double>(p.gpus()) * 1e6 / (60.0 * 256) / 3600));
}

TEST_CASE("plan --rate: an SLO a request alone misses rejects the family without simulating it") {
  const ModelSpec m = resolve_model("llama-3.1-70b");
  PlanRequest r = request({"l40s"});
  r.rate = 1.0;
  r.max_tpot = Seconds{0.001};  // 1 ms per token: no 70B deployment decodes that fast
  r.max_gpus = 8;
  const PlanResult res = make_plan(m, r);
  CHECK(res.plans.empty());
  CHECK(res.simulations == 0);
  CHECK(std::any_of(res.rejected.begin(), res.rejected.end(),
                    [](const RejectedFamily& f) { return f.reason == Rejection::misses_tpot; }));
}

TEST_CASE("the planner searches expert parallelism for MoE models, and its EP plans are the engines' figures") {
  PlanRequest r = request({"h200"});
  r.prompt = 2000;
  r.gen = 500;
  r.max_gpus = 8;
  r.max_tpot = Seconds{0.080};
  const ModelSpec ds = resolve_model("deepseek-v3");
  const PlanResult res = make_plan(ds, r);
  const auto ep_plan = std::find_if(res.plans.begin(), res.plans.end(), [](const Plan& p) { return p.ep > 1; });
  REQUIRE(ep_plan != res.plans.end());
  const Plan& p = *ep_plan;
  CHECK(p.gpus() == p.ep * p.replicas);
  CHECK(p.tpot.value <= 0.080);
  // The same layout through the memory and roofline engines directly.
  MemoryQuery q;
  q.weights = p.weights;
  q.kv_dtype = p.kv_dtype;
  q.batch = p.batch;
  q.context = 2500;
  q.tp = p.tp;
  q.ep = p.ep;
  q.prefill_chunk = r.prefill_chunk;
  q.overhead = r.gpus[0].runtime_overhead;
  const MemoryEstimate mem = estimate_memory(ds, r.gpus[0], q);
  CHECK(p.per_gpu_memory == mem.per_gpu().total());
  const ModelShapes shapes = compile_shapes(ds, p.weights, p.tp, p.ep);
  const Ceilings ceilings = ceilings_for(r.gpus[0], shapes, TimeBasis::expected);
  Topology t = topology_for(r.gpus[0], p.tp, 1, 0, TimeBasis::bound, p.ep);
  t.expected = ceilings.expected;
  const ServiceEstimate e =
      estimate_service(shapes, ceilings, ServiceQuery{p.batch, 2000, 500, AttentionImpl::flash, p.kv_dtype, t, 0});
  CHECK(p.tpot.value == doctest::Approx(e.tpot.value).epsilon(1e-12));

  // A dense model has no experts to spread: no EP plan, no EP family rejected.
  const PlanResult dense = make_plan(resolve_model("llama-3.1-8b"), request({"h100-sxm"}));
  CHECK(std::none_of(dense.plans.begin(), dense.plans.end(), [](const Plan& x) { return x.ep > 1; }));
  CHECK(std::none_of(dense.rejected.begin(), dense.rejected.end(), [](const RejectedFamily& x) { return x.ep > 1; }));
}

TEST_CASE(
    "speculative decoding in the planner: the drafter's bytes by hand, its TPOT the engine's, and where it pays") {
  PlanRequest r = request({"h200"});
  r.batch = 1;
  r.max_gpus = 1;
  r.weight_formats = {*weight_format("bf16")};
  r.kv_dtypes = {DType::bf16};
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const PlanResult plain = make_plan(m, r);
  r.speculation = DrafterChoice{SpeculativeConfig{4, 0.7}, resolve_model("llama-3.2-1b")};
  const PlanResult spec = make_plan(m, r);
  REQUIRE(plain.plans.size() == 1);
  REQUIRE(spec.plans.size() == 1);
  const Plan& p = spec.plans.front();
  // Llama 3.2 1B beside it: Meta's 1,235,814,400 parameters x 2 B (tied embedding, held once)
  // = 2,471,628,800 B, and its cache 2 x 16 layers x 8 KV heads x 64 dims x 2 B = 32,768 B per
  // token x 1,280 tokens.
  CHECK(p.per_gpu_memory.value - plain.plans.front().per_gpu_memory.value == 2'471'628'800ull + 32'768ull * 1'280);
  // At batch 1 decoding is memory-bound: 2.77 tokens per step (1 - 0.7^5) / 0.3 pay for the
  // drafts (a 1B model is an eighth of the 8B's bytes, four passes) and the 5-token verification.
  REQUIRE(p.speculative);
  CHECK(p.speculative_speedup > 1.2);
  CHECK(p.tpot.value == doctest::Approx(plain.plans.front().tpot.value / p.speculative_speedup).epsilon(1e-9));
  // The same TPOT through the engine directly.
  const ModelShapes shapes = compile_shapes(m, *weight_format("bf16"), 1);
  const Ceilings ceilings = ceilings_for(r.gpus[0], shapes, TimeBasis::expected);
  Topology t = topology_for(r.gpus[0], 1, 1);
  t.expected = ceilings.expected;
  StepCost target(shapes, ceilings, t, AttentionImpl::flash, DType::bf16);
  const Drafter d =
      make_drafter(*r.speculation, m, shapes, r.gpus[0], TimeBasis::expected, t, AttentionImpl::flash, DType::bf16, 1);
  const ServiceEstimate e =
      estimate_service(shapes, ceilings, ServiceQuery{1, 1024, 256, AttentionImpl::flash, DType::bf16, t, 0});
  const SpeculativeEstimate s = estimate_speculative(target, *d.cost, 1, e.decode_ops_context, d.config);
  CHECK(p.tpot.value == doctest::Approx(s.tpot_s).epsilon(1e-12));
  // From the batch where it stops paying, static plans decode plainly.
  REQUIRE(s.loss_from_batch);
  r.batch = *s.loss_from_batch;
  const PlanResult big = make_plan(m, r);
  for (const Plan& q : big.plans) CHECK_FALSE(q.speculative);
}

TEST_CASE("the planner searches disaggregated pools by load and says whether they beat colocated serving") {
  PlanRequest r = request({"h100-sxm"});
  r.prompt = 2000;
  r.gen = 200;
  r.max_gpus = 8;
  r.max_ttft = Seconds{0.5};
  r.max_tpot = Seconds{0.020};
  r.rate = 20;
  r.sim_requests = 200;
  r.disaggregation = true;
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const PlanResult res = make_plan(m, r);
  REQUIRE(res.best_disaggregated);
  REQUIRE(res.best_colocated);
  CHECK(res.disaggregated_searched >= 1);
  const Plan& d = *res.best_disaggregated;
  REQUIRE(d.disaggregated);
  const DisaggregatedLayout& l = *d.disaggregated;
  CHECK(d.gpus() == l.prefill_replicas * l.prefill_tp + l.decode_replicas * l.decode_tp);
  CHECK(d.ttft.value <= 0.5);
  CHECK(d.tpot.value <= 0.020);
  // The cache trip by hand: 2 x 32 layers x 8 KV heads x 128 dims x (KV bytes) x 2,000 prompt
  // tokens, each prefill GPU sending its share over NVLink's 450 GB/s per direction (the pools
  // fit one node), plus a hop's latency of microseconds.
  const double bytes = 2.0 * 32 * 8 * 128 * (bits_of(d.kv_dtype) / 8.0) * 2000 / static_cast<double>(l.prefill_tp);
  CHECK(d.mean_transfer_s >= bytes / 450e9);
  CHECK(d.mean_transfer_s <= bytes / 450e9 + 20e-6);
  // The verdict says what the costs say.
  PlanView v{m, r, res, 10, "llama-3.1-8b", {"h100-sxm"}};
  const std::string verdict = disaggregation_text(v);
  if (d.gpu_hours_per_mtok < res.best_colocated->gpu_hours_per_mtok)
    CHECK(verdict.rfind("disaggregation beats colocated serving", 0) == 0);
  else
    CHECK(verdict.rfind("disaggregation does not beat colocated serving", 0) == 0);
  // Without --disagg nothing disaggregated is planned.
  r.disaggregation = false;
  const PlanResult plain = make_plan(m, r);
  CHECK(std::none_of(plain.plans.begin(), plain.plans.end(), [](const Plan& p) { return p.disaggregated; }));
}
