// Deployment-file loader: the schema, defaults, positions kept for findings, and one exact,
// located message for each kind of bad input.
#include <doctest/doctest.h>

#include <string>

#include "deploy.hpp"
#include "dtype.hpp"
#include "text.hpp"
#include "gate.hpp"

using namespace ridge;

namespace {
const std::string kData = std::string(RIDGE_SOURCE_DIR) + "/tests/data/";

DeploymentFile parse(const std::string& yaml, const std::string& path = "deploy/d.yaml") {
  return deployment_from_yaml(parse_document(yaml, path), path);
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("deployment file: every field, units to base units, key positions") {
  const DeploymentFile d = parse(
      "model: llama-3.1-70b\n"
      "gpu: ../hw/my-gpu.yaml\n"
      "gpus: 8\n"
      "tp: 4\n"
      "pp: 2\n"
      "precision: fp8\n"
      "kv_dtype: fp8\n"
      "memory_utilization: 0.85\n"
      "overhead: 1.5 GiB\n"
      "attention: naive\n"
      "prefill_chunk: 8192\n"
      "block_size: 32\n"
      "max_model_len: 32768\n"
      "workload:\n"
      "  prompt_tokens: 4096\n"
      "  gen_tokens: 512\n"
      "  concurrency: 64\n"
      "slo:\n"
      "  ttft: 1.5 s\n"
      "  tpot: 40 ms\n"
      "  min_throughput: 2500 tokens/s\n"
      "  min_memory_headroom: 0.1\n"
      "rules:\n"
      "  fail_on: warning\n"
      "  severity:\n"
      "    kv.capacity: off\n"
      "    precision.supported: error\n");
  CHECK(d.model == "llama-3.1-70b");
  CHECK_FALSE(d.model_is_path);
  // Relative to the deployment file's folder (deploy/), normalised: deploy/../hw -> hw.
  CHECK(d.gpu == "hw/my-gpu.yaml");
  CHECK(d.gpu_is_path);
  CHECK(*d.gpus == 8);
  CHECK(d.tp == 4);
  CHECK(d.pp == 2);
  CHECK(d.precision == "fp8");
  CHECK(d.kv_dtype == "fp8");
  CHECK(d.memory_utilization == 0.85);
  CHECK(d.overhead->value == 1'610'612'736);  // 1.5 x 2^30
  CHECK(d.attention == AttentionImpl::naive);
  CHECK(d.prefill_chunk == 8192);
  CHECK(d.block_size == 32);
  CHECK(*d.max_model_len == 32768);
  CHECK(d.workload.prompt_tokens == 4096);
  CHECK(d.workload.gen_tokens == 512);
  CHECK(*d.workload.concurrency == 64);
  CHECK_FALSE(d.workload.batch.has_value());
  CHECK(d.slo.ttft->value == doctest::Approx(1.5));
  CHECK(d.slo.tpot->value == doctest::Approx(0.040));
  CHECK(*d.slo.min_throughput_tokens_per_s == 2500);
  CHECK(*d.slo.min_memory_headroom == 0.1);
  CHECK(*d.fail_on == Severity::warning);
  CHECK_FALSE(d.severity.at("kv.capacity").has_value());
  CHECK(*d.severity.at("precision.supported") == Severity::error);
  // Findings point at keys: "  ttft:" is line 19, column 3; "gpus:" line 3, column 1.
  CHECK(d.where.at("slo.ttft").line == 19);
  CHECK(d.where.at("slo.ttft").column == 3);
  CHECK(d.where.at("gpus").line == 3);
  CHECK(d.where.at("gpus").column == 1);
  CHECK(d.locate({"tp", "gpus"}).line == 4);
}

TEST_CASE("deployment file: defaults") {
  const DeploymentFile d = parse("model: gpt2\ngpu: l4\nworkload: {prompt_tokens: 100, gen_tokens: 10}\n");
  CHECK_FALSE(d.gpus.has_value());
  CHECK(d.tp == 1);
  CHECK(d.pp == 1);
  CHECK(d.precision.empty());  // the checkpoint's format
  CHECK(d.kv_dtype == "auto");
  CHECK(d.memory_utilization == 0.9);
  CHECK_FALSE(d.overhead.has_value());
  CHECK(d.attention == AttentionImpl::flash);
  CHECK(d.block_size == 16);
  CHECK_FALSE(d.workload.batch.has_value());
  CHECK_FALSE(d.slo.ttft.has_value());
  CHECK_FALSE(d.fail_on.has_value());
  // A field that is absent points at line 1 of the file.
  CHECK(d.locate({"slo.ttft"}).line == 1);
}

TEST_CASE("deployment file: strict scalars") {
  const std::string head = "model: gpt2\ngpu: l4\nworkload: {prompt_tokens: 100, gen_tokens: 10}\n";
  CHECK(error_of(head + "tp: yes\n") == "deploy/d.yaml:4:5: tp: expected an integer, found \"yes\"");
  CHECK(error_of(head + "tp: 0x10\n") == "deploy/d.yaml:4:5: tp: expected an integer, found \"0x10\"");
  CHECK(error_of(head + "memory_utilization: .nan\n") ==
        "deploy/d.yaml:4:21: memory_utilization: expected a decimal number, found \".nan\"");
  CHECK(error_of(head + "memory_utilization: 1.01\n") ==
        "deploy/d.yaml:4:21: memory_utilization: 1.01 is out of range; expected 0 to 1");
  CHECK(error_of(head + "slo: {ttft: 0 s}\n") ==
        "deploy/d.yaml:4:13: slo.ttft: \"0 s\" is out of range (must be positive)");
  CHECK(error_of(head + "slo: {ttft: 5}\n") ==
        "deploy/d.yaml:4:13: slo.ttft: expected a duration with a unit (ns, us, ms, s), found \"5\"");
  CHECK(error_of(head + "model: gpt2\n") == "deploy/d.yaml:4:1: model: duplicate key (first given at line 1)");
  CHECK(error_of(head + "slo: [1, 2]\n") == "deploy/d.yaml:4:6: slo: expected a map of fields");
  CHECK(error_of("model: \"\"\ngpu: l4\nworkload: {prompt_tokens: 1, gen_tokens: 1}\n") ==
        "deploy/d.yaml:1:8: model: a value is required");
  // A quoted number is the number (YAML writers quote freely), in every file alike.
  CHECK(parse(head + "tp: \"2\"\n").tp == 2);
}

TEST_CASE("deployment file: every error of the file, in line order, and vLLM's names answered with ridge's") {
  std::vector<std::string> messages;
  try {
    parse(
        "model: gpt2\ngpu: l4\ntensor_parallel_size: 2\ntp: 0\nworkload:\n  prompt_tokens: 100\n"
        "  gen_tokens: -1\n  max_num_seqs: 8\nslo: {ttft: 500ms}\n");
    FAIL("no error");
  } catch (const InputErrors& e) {
    for (const InputError& one : e.all()) messages.push_back(one.what());
  }
  CHECK(messages ==
        std::vector<std::string>{
            "deploy/d.yaml:3:1: tensor_parallel_size: vLLM's tensor_parallel_size is ridge's tp",
            "deploy/d.yaml:4:5: tp: 0 is out of range; expected 1 to 4096",
            "deploy/d.yaml:7:15: workload.gen_tokens: -1 is out of range; expected 1 to 1000000000",
            "deploy/d.yaml:8:3: workload.max_num_seqs: vLLM's max_num_seqs is ridge's workload.batch",
            "deploy/d.yaml:9:13: slo.ttft: \"500ms\": put one space between number and unit, e.g. \"500 ms\""});
}

TEST_CASE("deployment bad inputs: one located message each") {
  struct Case {
    const char* file;
    std::string message;
  };
  // Loader errors (file:line:col: field: message) and, last, errors found when the file's
  // model, GPU or values are used (reported by `ridge check` as input.valid findings).
  const Case cases[] = {
      {"deploy-unknown-key.yaml", "6:3: workload.bach: unknown field (did you mean \"batch\"?)"},
      {"deploy-unit-typo.yaml", "3:11: overhead: \"1GB\" is ambiguous; write 1 GB (1e9 bytes) or 1 GiB (2^30 bytes)"},
      {"deploy-ttft-no-space.yaml", "7:9: slo.ttft: \"500ms\": put one space between number and unit, e.g. \"500 ms\""},
      {"deploy-tpot-unit.yaml",
       "7:9: slo.tpot: unknown unit \"msec\" for a duration (did you mean \"ms\"?); expected one of ns, us, ms, s"},
      {"deploy-throughput-unit.yaml",
       "7:19: slo.min_throughput: unknown unit \"tok/s\" for a token rate; expected one of tokens/s"},
      {"deploy-ttft-inf.yaml", "7:9: slo.ttft: expected a decimal number, found \".inf\""},
      {"deploy-missing-workload.yaml", "1:1: workload: missing required field"},
      {"deploy-missing-gen.yaml", "4:3: workload.gen_tokens: missing required field"},
      {"deploy-workload-scalar.yaml", "3:11: workload: expected a map of fields"},
      {"deploy-batch-and-concurrency.yaml",
       "7:16: workload.concurrency: give batch (sequences per replica) or concurrency (sequences across all replicas), "
       "not both"},
      {"deploy-fractional-batch.yaml", "6:10: workload.batch: expected an integer, found \"8.5\""},
      {"deploy-bad-precision.yaml",
       "3:12: precision: \"fp9\" is not one of " + join(weight_format_names()) + " (did you mean \"fp8\"?)"},
      {"deploy-unknown-rule.yaml",
       "8:5: rules.severity.slo.ttfb: unknown rule (did you mean \"slo.ttft\"?); rules: parallel.divides, "
       "workload.context, memory.fits, memory.headroom, kv.capacity, precision.supported, slo.ttft, slo.tpot, "
       "slo.throughput"},
      {"deploy-fail-on.yaml",
       "7:12: rules.fail_on: \"warnings\" is not one of error, warning, notice (did you mean \"warning\"?)"},
      {"deploy-utilization-zero.yaml", "3:21: memory_utilization: must be in (0, 1], got 0"},
      {"deploy-headroom-range.yaml", "7:24: slo.min_memory_headroom: 1.5 is out of range; expected 0 to 0.99"},
      {"deploy-duplicate-key.yaml", "4:1: tp: duplicate key (first given at line 3)"},
      {"deploy-anchor.yaml", "1:8: YAML anchors (&name) are not supported; write the value out"},
      {"deploy-negative-tp.yaml", "3:5: tp: -2 is out of range; expected 1 to 4096"},
      {"deploy-octal.yaml", "3:7: gpus: \"010\" has a leading zero; write it without"},
      // 0 is allowed (the whole batch in one pass); below it is not.
      {"deploy-negative-prefill-chunk.yaml", "3:16: prefill_chunk: -8192 is out of range; expected 0 to 100000000"},
      // Found when the file is used:
      {"deploy-unknown-model.yaml",
       "1:8: model: unknown model \"llama-3.1-80b\" (did you mean \"llama-3.1-70b\"?); `ridge models` lists the "
       "bundled ones, or pass a model YAML, a config.json or a directory holding one"},
      {"deploy-max-model-len.yaml", "3:16: max_model_len: 200,000 exceeds llama-3.1-8b's max_position of 131,072"},
      {"deploy-overhead.yaml", "3:11: overhead: 32.00 GiB is not smaller than l4's memory of 22.49 GiB"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    const std::string path = kData + "bad/" + c.file;
    const auto findings = check_file(path, std::nullopt);
    REQUIRE(findings.size() == 1);
    const Finding& f = findings.front();
    CHECK(f.rule == "input.valid");
    CHECK(f.failing);
    const std::string got = std::to_string(f.where.line) + ":" + std::to_string(f.where.column) + ": " + f.message;
    CHECK(f.where.file == path);
    CHECK(got == c.message);
  }
}

TEST_CASE("deployment paths: relative to the file; problems inside a model file keep their position") {
  // A missing file is reported at the deployment's model key, naming the resolved path.
  const std::string missing = kData + "bad/deploy-missing-model-file.yaml";
  const auto f1 = check_file(missing, std::nullopt);
  REQUIRE(f1.size() == 1);
  CHECK(f1[0].message == "model: " + kData + "bad/no-such-model.yaml: no such file");
  CHECK(f1[0].where.line == 1);
  // A bad model file: the finding points into the model file, at its kv_heads value.
  const auto f2 = check_file(kData + "deploy/bad-model-inside.yaml", std::nullopt);
  REQUIRE(f2.size() == 1);
  CHECK(f2[0].deployment == kData + "deploy/bad-model-inside.yaml");
  CHECK(f2[0].where.file == kData + "bad/model-kv-heads.yaml");
  CHECK(f2[0].where.line == 15);
  CHECK(f2[0].message == "kv_heads: 5 does not divide heads (32)");
  // A bad GPU file named by a deployment: same.
  const auto f3 = check_file(kData + "bad/deploy-bad-gpu-file.yaml", std::nullopt);
  REQUIRE(f3.size() == 1);
  CHECK(f3[0].where.file == kData + "bad/gpu-unit-typo.yaml");
  CHECK(f3[0].message == "memory: \"80GB\" is ambiguous; write 80 GB (1e9 bytes) or 80 GiB (2^30 bytes)");
  // Paths relative to the deployment file load whatever the working directory.
  const auto ok = check_file(kData + "deploy/relative-paths.yaml", std::nullopt);
  REQUIRE_FALSE(ok.empty());
  for (const auto& f : ok) CHECK(f.passed);
}
