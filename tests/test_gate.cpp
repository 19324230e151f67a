// `ridge check` rules against hand computations, and the report formats' escaping.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "gate.hpp"
#include "query.hpp"
#include "text.hpp"
#include "loaders.hpp"
#include "report/check_report.hpp"
#include "roofline.hpp"

using namespace ridge;

namespace {
const std::string kSource = std::string(RIDGE_SOURCE_DIR) + "/";

std::vector<Finding> check(const std::string& yaml, std::optional<Severity> fail_on = {},
                           TimeBasis basis = TimeBasis::expected) {
  return check_file("d.yaml", fail_on, &yaml, true, basis);
}

const Finding* find(const std::vector<Finding>& fs, const std::string& rule) {
  for (const auto& f : fs)
    if (f.rule == rule) return &f;
  return nullptr;
}

// Per-GPU budget on an H100 SXM at the default utilization: floor(0.9 x 81,559 MiB)
// = floor(0.9 x 85,520,809,984 B) = floor(76,968,728,985.6) = 76,968,728,985 B.
constexpr double kH100Budget = 76'968'728'985.0;
// Llama-3.1-70B KV cache per token on one of 2 TP ranks, bf16: 2 (K, V) x 80 layers x 8/2 KV
// heads x 128 dims x 2 B = 163,840 B.
constexpr double kKv70bTp2 = 163'840.0;
}  // namespace

TEST_CASE("memory.fits: Llama-3.1-70B at batch 64 x 32,768 tokens on 2 H100s does not fit") {
  const auto fs = check(
      "model: llama-3.1-70b\ngpu: h100-sxm\ngpus: 2\ntp: 2\n"
      "workload: {prompt_tokens: 30720, gen_tokens: 2048, batch: 64}\n");
  const Finding* f = find(fs, "memory.fits");
  REQUIRE(f);
  CHECK_FALSE(f->passed);
  CHECK(f->failing);
  CHECK(*f->limit == kH100Budget);
  // KV per GPU: 64 x 32,768 x 163,840 B = 343,597,383,680 B = exactly 320 GiB.
  CHECK(f->message.find("KV cache 320.00 GiB") != std::string::npos);
  CHECK(*f->measured > 64 * 32768 * kKv70bTp2);
  // Points at `gpus` (line 3, column 1).
  CHECK(f->where.line == 3);
  CHECK(f->where.column == 1);
  CHECK(f->field == "gpus");
}

TEST_CASE("memory.fits: one more sequence adds exactly its KV cache per GPU") {
  // With a fixed prefill chunk the transformer activations do not depend on the batch, so the
  // per-GPU total grows by one sequence's KV cache, (2,048 + 256) tokens x 163,840 B =
  // 377,487,360 B, plus its fp32 logits row on this TP rank, 128,256 / 2 x 4 B = 256,512 B.
  auto used = [](int batch) {
    const auto fs = check(
        "model: llama-3.1-70b\ngpu: h100-sxm\ntp: 2\nprefill_chunk: 2048\n"
        "workload: {prompt_tokens: 2048, gen_tokens: 256, batch: " +
        std::to_string(batch) + "}\nslo: {min_memory_headroom: 0.02}\n");
    const Finding* f = find(fs, "memory.fits");
    REQUIRE(f);
    CHECK(f->passed);
    // Headroom = (budget - used) / budget, from the same two numbers.
    const Finding* h = find(fs, "memory.headroom");
    REQUIRE(h);
    CHECK(*h->measured == doctest::Approx((kH100Budget - *f->measured) / kH100Budget));
    CHECK(h->where.line == 6);
    return *f->measured;
  };
  CHECK(used(4) - used(3) == 2304 * kKv70bTp2 + 64128 * 4);
}

TEST_CASE("kv.capacity: 70B on 2 H100s cannot admit a 131,072-token sequence: vLLM refuses, the check fails") {
  const auto fs = check(
      "model: llama-3.1-70b\ngpu: h100-sxm\ntp: 2\n"
      "workload: {prompt_tokens: 1000, gen_tokens: 24}\n");
  const Finding* f = find(fs, "kv.capacity");
  REQUIRE(f);
  CHECK_FALSE(f->passed);
  CHECK(f->severity == Severity::error);
  CHECK(f->failing);  // a server that does not start is not a deployment that passes
  CHECK(*f->limit == 131072);
  // Weights per GPU by hand: per layer q+o 2 x 8192 x 4096, k+v 2 x 512 x 8192, MLP 3 x 14336 x
  // 8192, 2 norms x 8192 = 427,835,392 elements x 80 layers = 34,226,831,360; embedding and
  // untied head 2 x 64,128 x 8192 = 1,050,673,152; final norm 8,192: 35,277,512,704 x 2 B =
  // 70,555,025,408 B. The pool is at most budget - weights - 1 GiB overhead = 5,339,961,753 B
  // = 32,592.5 tokens of 163,840 B, less the activations; whole 16-token blocks.
  CHECK(*f->measured > 0);
  CHECK(*f->measured <= 32592);
  CHECK(static_cast<std::int64_t>(*f->measured) % 16 == 0);
  CHECK(f->message.find("vLLM would refuse to start; set max_model_len <= ") != std::string::npos);
  // The same deployment with a max_model_len the pool holds passes.
  const auto ok = check(
      "model: llama-3.1-70b\ngpu: h100-sxm\ntp: 2\nmax_model_len: 16384\n"
      "workload: {prompt_tokens: 1000, gen_tokens: 24}\n");
  CHECK(find(ok, "kv.capacity")->passed);
  CHECK(find(ok, "kv.capacity")->where.line == 4);
}

TEST_CASE("SLO times are the roofline engine's, unchanged") {
  const std::string yaml =
      "model: llama-3.1-8b\ngpu: h100-sxm\n"
      "workload: {prompt_tokens: 2048, gen_tokens: 256, batch: 8}\n"
      "slo: {ttft: 250 ms, tpot: 1 s}\n";
  const auto fs = check(yaml, {}, TimeBasis::bound);
  const ModelSpec m = resolve_model("llama-3.1-8b");
  const GpuSpec g = resolve_gpu("h100-sxm");
  const ModelShapes shapes = compile_shapes(m, *weight_format("bf16"), 1);
  const ServiceEstimate s =
      estimate_service(shapes, ceilings_for(g, shapes), {8, 2048, 256, AttentionImpl::flash, DType::bf16});
  const Finding* ttft = find(fs, "slo.ttft");
  REQUIRE(ttft);
  CHECK(*ttft->measured == s.ttft.value);
  CHECK(*ttft->limit == doctest::Approx(0.25));
  // By hand, a lower bound: the linear layers alone are 2 x (8,030,261,248 - 525,336,576
  // embedding) parameters x 8 x 2,048 tokens = 2.459e14 FLOPs at 989.4 TFLOP/s = 0.2486 s; the
  // engine adds attention, the LM head and memory-bound operators on top.
  CHECK(*ttft->measured > 0.2486);
  CHECK(*ttft->measured < 0.30);
  CHECK_FALSE(ttft->passed);  // 0.268 s > 250 ms
  CHECK(ttft->message.find("exceeds the SLO of 250 ms") != std::string::npos);
  CHECK(ttft->where.line == 4);
  const Finding* tpot = find(fs, "slo.tpot");
  REQUIRE(tpot);
  CHECK(*tpot->measured == s.tpot.value);
  CHECK(tpot->passed);
  CHECK(ttft->message.find("roofline lower bound") != std::string::npos);

  // By default a calibrated GPU is judged on the expected time, the same engine's with the
  // calibration, never below the bound, and the message says it is an estimate.
  const auto expected = check(yaml);
  ServiceQuery q{8, 2048, 256, AttentionImpl::flash, DType::bf16};
  q.topology = topology_for(g, 1, 1, 0, TimeBasis::expected);
  const ServiceEstimate e = estimate_service(shapes, ceilings_for(g, shapes, TimeBasis::expected), q);
  const Finding* ettft = find(expected, "slo.ttft");
  REQUIRE(ettft);
  CHECK(*ettft->measured == e.ttft.value);
  CHECK(e.ttft.value > s.ttft.value);
  CHECK(e.tpot.value > s.tpot.value);
  CHECK(ettft->message.find("expected, calibrated estimate") != std::string::npos);
}

TEST_CASE("concurrency spreads over replicas; throughput is the whole deployment's") {
  // 8 GPUs at TP 2 = 4 replicas; 130 sequences -> ceil(130 / 4) = 33 on the busiest replica.
  const auto fs = check(
      "model: qwen2.5-7b\ngpu: l40s\ngpus: 8\ntp: 2\nmax_model_len: 32768\n"
      "workload: {prompt_tokens: 1024, gen_tokens: 256, concurrency: 130}\n"
      "slo: {ttft: 10 s, tpot: 1 s, min_throughput: 100000 tokens/s}\n");
  const Finding* ttft = find(fs, "slo.ttft");
  const Finding* tpot = find(fs, "slo.tpot");
  const Finding* tput = find(fs, "slo.throughput");
  REQUIRE(ttft);
  REQUIRE(tpot);
  REQUIRE(tput);
  CHECK(ttft->message.find("static batch of 33") != std::string::npos);
  // End-to-end = TTFT + (G - 1) x TPOT; all 130 sequences' 256 tokens in that time.
  const double e2e = *ttft->measured + 255 * *tpot->measured;
  CHECK(*tput->measured == doctest::Approx(130.0 * 256 / e2e));
  CHECK_FALSE(tput->passed);
  CHECK(tput->message.find("is below the minimum of 100,000 tokens/s") != std::string::npos);
}

TEST_CASE("parallel.divides and workload.context") {
  const std::string wl = "workload: {prompt_tokens: 1024, gen_tokens: 128}\n";
  auto fs = check("model: llama-3.1-70b\ngpu: h100-sxm\ngpus: 6\ntp: 4\n" + wl);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].message == "gpus 6 is not a multiple of TP 4 x PP 1 = 4");
  CHECK(fs[0].where.line == 3);
  fs = check("model: llama-3.1-70b\ngpu: h100-sxm\npp: 81\n" + wl);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].message == "PP 81 stages for 80 layers of llama-3.1-70b");
  CHECK(fs[0].where.line == 3);
  fs = check("model: llama-3.1-70b\ngpu: h100-sxm\ngpus: 3\n" + wl);  // gpus alone sets TP
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].message == "TP 3 does not divide the 64 attention heads of llama-3.1-70b");
  fs = check("model: llama-3.1-70b\ngpu: h100-sxm\ngpus: 4\n" + wl);
  CHECK(find(fs, "parallel.divides")->message ==
        "TP 4 x PP 1 x 1 replica = 4 GPUs split llama-3.1-70b's 64 heads, 8 KV heads and 80 layers");
  // 130,000 + 2,000 = 132,000 > 131,072: nothing else is evaluated.
  fs = check("model: llama-3.1-8b\ngpu: h100-sxm\nworkload: {prompt_tokens: 130000, gen_tokens: 2000}\n");
  REQUIRE(fs.size() == 2);
  const Finding* c = find(fs, "workload.context");
  REQUIRE(c);
  CHECK_FALSE(c->passed);
  CHECK(*c->measured == 132000);
  CHECK(*c->limit == 131072);
  CHECK(
      c->message ==
      "prompt 130,000 + generated 2,000 = 132,000 tokens exceeds max_model_len 131,072 (llama-3.1-8b's max_position)");
}

TEST_CASE("precision.supported: fp8 on an A100 is a warning; severities and fail-on") {
  const std::string base =
      "model: llama-3.1-8b\ngpu: a100-80gb\nprecision: fp8\nworkload: {prompt_tokens: 100, gen_tokens: 10}\n";
  auto fs = check(base);
  const Finding* p = find(fs, "precision.supported");
  REQUIRE(p);
  CHECK_FALSE(p->passed);
  CHECK(p->severity == Severity::warning);
  CHECK_FALSE(p->failing);
  CHECK(p->where.line == 3);
  CHECK(p->message ==
        "fp8 weights (W8A8): a100-80gb has no fp8 tensor cores: the weights are dequantised to bf16 math (weight-only "
        "kernels)");
  CHECK(find(check(base, Severity::warning), "precision.supported")->failing);               // --fail-on warning
  CHECK(find(check(base + "rules: {fail_on: warning}\n"), "precision.supported")->failing);  // the file's own
  CHECK_FALSE(find(check(base + "rules: {fail_on: warning}\n", Severity::error), "precision.supported")->failing);
  CHECK(find(check(base + "rules: {severity: {precision.supported: error}}\n"), "precision.supported")->failing);
  CHECK(find(check(base + "rules: {severity: {precision.supported: off}}\n"), "precision.supported") == nullptr);
  // On an H100 the same weights run on fp8 tensor cores.
  CHECK(
      find(
          check("model: llama-3.1-8b\ngpu: h100-sxm\nprecision: fp8\nworkload: {prompt_tokens: 100, gen_tokens: 10}\n"),
          "precision.supported")
          ->passed);
}

TEST_CASE("a run: sorted findings, exit codes, invalid files reported beside the others") {
  const std::string ex = kSource + "examples/deploy/";
  const CheckReport r = check_files({ex + "llama-8b-l4-ttft.yaml", kSource + "tests/data/bad/deploy-unit-typo.yaml",
                                     ex + "llama-70b-2xh100.yaml", ex + "llama-70b-tp3.yaml"},
                                    std::nullopt);
  REQUIRE(r.files.size() == 4);
  CHECK(r.files[0] < r.files[1]);
  for (std::size_t i = 1; i < r.findings.size(); ++i) {
    const Finding& a = r.findings[i - 1];
    const Finding& b = r.findings[i];
    CHECK(std::tie(a.deployment, a.where.line, a.where.column, a.rule) <=
          std::tie(b.deployment, b.where.line, b.where.column, b.rule));
  }
  CHECK(r.status_of(ex + "llama-70b-2xh100.yaml") == "pass");
  CHECK(r.status_of(ex + "llama-70b-tp3.yaml") == "fail");
  CHECK(r.status_of(ex + "llama-8b-l4-ttft.yaml") == "fail");
  CHECK(r.status_of(kSource + "tests/data/bad/deploy-unit-typo.yaml") == "invalid");
  CHECK(r.exit_code() == 2);  // an invalid file wins over failing findings
  CHECK(check_files({ex + "llama-70b-tp3.yaml", ex + "llama-70b-2xh100.yaml"}, std::nullopt).exit_code() == 1);
  CHECK(check_files({ex + "llama-70b-2xh100.yaml", ex + "qwen-7b-replicas.yaml"}, std::nullopt).exit_code() == 0);
  CHECK(check_files({ex + "llama-8b-fp8-a100.yaml"}, std::nullopt).exit_code() == 0);
  CHECK(check_files({ex + "llama-8b-fp8-a100.yaml"}, Severity::warning).exit_code() == 1);
  // Same files, same bytes.
  CHECK(check_json(r) == check_json(check_files(r.files, std::nullopt)));
}

TEST_CASE("GitHub workflow-command escaping") {
  CHECK(github_escape_data("50% of a:b,c\r\nnext") == "50%25 of a:b,c%0D%0Anext");
  CHECK(github_escape_property("deploy/a:b,c%.yaml\n") == "deploy/a%3Ab%2Cc%25.yaml%0A");
  CheckReport r = make_report({"x.yaml"}, {});
  Finding f;
  f.deployment = "x.yaml";
  f.where = {"dir,1/x:y.yaml", 3, 7};
  f.rule = "slo.ttft";
  f.severity = Severity::error;
  f.failing = true;
  f.message = "TTFT 1 s\nexceeds 50% of it";
  r.findings.push_back(f);
  f.where.line = 4;
  f.rule = "kv.capacity";
  f.severity = Severity::warning;
  f.failing = false;
  f.message = "ok";
  r.findings.push_back(f);
  CHECK(check_github(r) ==
        "::error file=dir%2C1/x%3Ay.yaml,line=3,col=7,title=ridge check%3A slo.ttft::TTFT 1 s%0Aexceeds 50%25 of it\n"
        "::warning file=dir%2C1/x%3Ay.yaml,line=4,col=7,title=ridge check%3A kv.capacity::ok\n");
}

TEST_CASE("XML, JSON and Markdown survive hostile text") {
  CHECK(xml_escaped("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  CHECK(xml_escaped("caf\xC3\xA9") == "caf\xC3\xA9");                            // valid UTF-8 kept
  CHECK(xml_escaped("a\x01z") == "a\xEF\xBF\xBDz");                              // control char
  CHECK(xml_escaped("\xFF") == "\xEF\xBF\xBD");                                  // not UTF-8
  CHECK(xml_escaped("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(xml_escaped("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(xml_escaped("line\nnext") == "line&#10;next");

  CheckReport r = make_report({"bad\xFF.yaml"}, {});
  Finding f;
  f.deployment = "bad\xFF.yaml";
  f.where = {"bad\xFF.yaml", 1, 1};
  f.rule = "input.valid";
  f.failing = true;
  f.message = "model: unknown model \"a|b<c>\xFF\"";
  r.findings.push_back(f);
  const auto j = nlohmann::json::parse(check_json(r));  // no throw on the invalid byte
  CHECK(j["schema"] == "ridge.check/v1");
  CHECK(j["exit_code"] == 2);
  CHECK(check_markdown(r).find("unknown model \"a\\|b&lt;c&gt;\xEF\xBF\xBD\"") != std::string::npos);
  const std::string junit = check_junit(r);
  CHECK(junit.find("<error type=\"error\" message=\"model: unknown model &quot;a|b&lt;c&gt;\xEF\xBF\xBD&quot;\">") !=
        std::string::npos);
  CHECK(junit.find("tests=\"1\" failures=\"0\" errors=\"1\"") != std::string::npos);
}

TEST_CASE("JUnit: one testcase per file and rule; JSON carries numbers in base units") {
  const std::string ex = kSource + "examples/deploy/";
  const CheckReport r = check_files({ex + "llama-70b-tp3.yaml", ex + "llama-70b-2xh100.yaml"}, std::nullopt);
  const std::string junit = check_junit(r);
  // tp3: only parallel.divides (failing); 2xh100: 9 rules, all passing.
  CHECK(junit.find("<testsuites name=\"ridge check\" tests=\"10\" failures=\"1\" errors=\"0\">") != std::string::npos);
  CHECK(junit.find("name=\"parallel.divides\" file=\"" + ex +
                   "llama-70b-tp3.yaml\" line=\"7\">\n      <failure type=\"error\" "
                   "message=\"TP 3 does not divide the 64 attention heads of llama-3.1-70b\">") != std::string::npos);
  const auto j = nlohmann::json::parse(check_json(r));
  CHECK(j["summary"]["files"] == 2);
  CHECK(j["summary"]["failed"] == 1);
  bool saw_bytes = false;
  for (const auto& f : j["findings"]) {
    if (f["rule"] == "memory.fits") {
      CHECK(f["limit_bytes"].is_number_integer());
      CHECK(f["limit_bytes"] == 76968728985);
      saw_bytes = true;
    }
  }
  CHECK(saw_bytes);
}

TEST_CASE("precision.supported on a GPU file without the model's 16-bit peak") {
  // fp16-only-gpu.yaml lists only fp16 (no bf16, no fp32): a bf16 model's GEMMs have no native
  // peak. The gate used to read the missing bf16 peak (an empty optional) and call it native.
  const auto fs = check_file(kSource + "tests/data/deploy/fp16-only.yaml", std::nullopt);
  const Finding* p = find(fs, "precision.supported");
  REQUIRE(p);
  CHECK_FALSE(p->passed);
  CHECK(p->severity == Severity::warning);
  CHECK(p->message.find("fp16-only-gpu has no bf16 tensor cores") != std::string::npos);
}

TEST_CASE("an explicit tp: 1 with gpus: 8 is 8 replicas of one GPU; gpus alone is one TP group") {
  const auto replicas = check(
      "model: llama-3.1-8b\ngpu: h100-sxm\ntp: 1\ngpus: 8\nmax_model_len: 8192\n"
      "workload: {prompt_tokens: 1000, gen_tokens: 24}\n");
  const Finding* r = find(replicas, "parallel.divides");
  REQUIRE(r);
  CHECK(r->passed);
  CHECK(r->message.find("TP 1 x PP 1 x 8 replicas = 8 GPUs") != std::string::npos);
  const auto group = check(
      "model: llama-3.1-8b\ngpu: h100-sxm\ngpus: 8\nmax_model_len: 8192\n"
      "workload: {prompt_tokens: 1000, gen_tokens: 24}\n");
  CHECK(find(group, "parallel.divides")->message.find("TP 8 x PP 1 x 1 replica = 8 GPUs") != std::string::npos);
  CHECK(parallel_layout(8, 1, 1, true)->replicas == 8);
  CHECK(parallel_layout(8, 1, 1, false)->tp == 8);
  CHECK_FALSE(parallel_layout(8, 3, 1, true));
  // Expert parallelism: a replica is EP x PP GPUs whatever its TP.
  CHECK(parallel_layout(16, 1, 1, false, 8)->replicas == 2);
  CHECK(parallel_layout(16, 2, 1, true, 8)->gpus() == 16);
  CHECK(parallel_layout(32, 4, 2, true, 8)->replicas == 2);
  CHECK_FALSE(parallel_layout(16, 1, 1, false, 6));
}

TEST_CASE("ep: in a deployment file: experts over EP GPUs, attention groups with their own KV pools") {
  const std::string wl = "workload: {prompt_tokens: 2000, gen_tokens: 500, batch: 64}\n";
  const auto fs = check("model: deepseek-v3\ngpu: h200\ngpus: 16\ntp: 1\nep: 8\n" + wl);
  const Finding* layout = find(fs, "parallel.divides");
  REQUIRE(layout);
  CHECK(layout->passed);
  CHECK(layout->message ==
        "EP 8 (TP 1 x 8 attention groups) x PP 1 x 2 replicas = 16 GPUs hold the 256 experts whole and split "
        "deepseek-v3's 128 heads, 128 KV heads and 61 layers");
  const Finding* kv = find(fs, "kv.capacity");
  REQUIRE(kv);
  CHECK(kv->message.find("per attention group (8 per replica)") != std::string::npos);
  // Memory per GPU is the memory engine's at the same layout; its KV cache by hand: 64
  // sequences over 8 groups = 8 per GPU, 2,500 tokens in 157 blocks of 16 = 2,512 tokens, MLA's
  // (512 + 64) x 2 B x 61 layers = 70,272 B per token: 8 x 2,512 x 70,272 = 1,412,186,112 B.
  MemoryQuery q;
  q.weights = default_weight_format(resolve_model("deepseek-v3"));
  q.kv_dtype = DType::bf16;
  q.batch = 64;
  q.context = 2500;
  q.ep = 8;
  q.prefill_chunk = kDefaultPrefillChunk;
  q.overhead = resolve_gpu("h200").runtime_overhead;
  const MemoryEstimate mem = estimate_memory(resolve_model("deepseek-v3"), resolve_gpu("h200"), q);
  CHECK(mem.per_gpu().kv_cache.value == 1'412'186'112);
  CHECK(*find(fs, "memory.fits")->measured == mem.per_gpu().total().as_double());

  // Errors point at the ep line.
  auto bad = check("model: llama-3.1-70b\ngpu: h100-sxm\nep: 8\ngpus: 8\n" + wl);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].message == "EP llama-3.1-70b has no routed experts to spread");
  CHECK(bad[0].where.line == 3);
  bad = check("model: deepseek-v3\ngpu: h200\ngpus: 16\nep: 6\n" + wl);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].message == "gpus 16 is not a multiple of EP 6 x PP 1 = 6");
  // vLLM's switch is answered with ridge's name.
  bad = check("model: deepseek-v3\ngpu: h200\nenable_expert_parallel: true\n" + wl);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].rule == "input.valid");
  CHECK(bad[0].message.find("ridge's ep") != std::string::npos);
}
