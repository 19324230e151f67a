// `ridge sweep`: precision x batch x context, one row per point, streamed as CSV or JSON.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "error.hpp"
#include "format.hpp"
#include "sweep.hpp"
#include "text.hpp"

namespace ridge::cli {
namespace {

/// Buffered writer to stdout: rows are formatted into one buffer and flushed in large writes.
class Out {
 public:
  ~Out() { flush(); }
  fmt::memory_buffer& buffer() { return buffer_; }
  void maybe_flush() {
    if (buffer_.size() > (1 << 20)) flush();
  }
  void flush() {
    // A short write (full disk, closed pipe) leaves stdout's error flag set: main reports it.
    std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    buffer_.clear();
  }

 private:
  fmt::memory_buffer buffer_;
};

/// Numbers in base units at full precision (shortest text that reads back the same double).
void csv_row(fmt::memory_buffer& b, const std::string& model, const std::string& gpu, const SweepRow& r,
             const char* basis) {
  // No decode step with one generated token: no TPOT (an empty cell, null in JSON).
  const bool decode = r.gen > 1;
  const std::string tpot = decode ? fmt::format("{}", r.tpot_s) : std::string();
  const std::string decode_intensity = decode ? fmt::format("{}", r.decode_intensity) : std::string();
  fmt::format_to(std::back_inserter(b), "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", model, gpu,
                 r.precision, r.kv_dtype, r.batch, r.context, r.gen, r.ttft_s, tpot, r.e2e_s, r.throughput_tokens_per_s,
                 r.prefill_intensity, r.prefill_compute_bound ? "compute" : "memory", decode_intensity,
                 !decode                  ? ""
                 : r.decode_compute_bound ? "compute"
                                          : "memory",
                 r.weights_bytes, r.kv_cache_bytes, r.activation_bytes, r.per_gpu_bytes, r.fits ? "true" : "false",
                 basis);
}

void json_row(fmt::memory_buffer& b, const SweepRow& r, bool first) {
  const bool decode = r.gen > 1;
  const std::string tpot = decode ? fmt::format("{}", r.tpot_s) : std::string("null");
  const std::string decode_intensity = decode ? fmt::format("{}", r.decode_intensity) : std::string("null");
  const std::string decode_bound = !decode ? "null" : r.decode_compute_bound ? "\"compute\"" : "\"memory\"";
  fmt::format_to(
      std::back_inserter(b),
      "{}\n    {{\"precision\": \"{}\", \"kv_dtype\": \"{}\", \"batch\": {}, \"prompt_tokens\": {}, \"gen_tokens\": "
      "{}, "
      "\"ttft_s\": {}, \"tpot_s\": {}, \"e2e_s\": {}, \"throughput_tokens_per_s\": {}, "
      "\"prefill_intensity\": {}, \"prefill_bound\": \"{}\", \"decode_intensity\": {}, \"decode_bound\": {}, "
      "\"per_gpu_weights_bytes\": {}, \"per_gpu_kv_cache_bytes\": {}, \"per_gpu_activation_bytes\": {}, "
      "\"per_gpu_bytes\": {}, \"fits\": {}}}",
      first ? "" : ",", r.precision, r.kv_dtype, r.batch, r.context, r.gen, r.ttft_s, tpot, r.e2e_s,
      r.throughput_tokens_per_s, r.prefill_intensity, r.prefill_compute_bound ? "compute" : "memory", decode_intensity,
      decode_bound, r.weights_bytes, r.kv_cache_bytes, r.activation_bytes, r.per_gpu_bytes, r.fits ? "true" : "false");
}

}  // namespace

Runner register_sweep(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "evaluate a grid of precisions x batches x contexts, one row per point");
  struct Options {
    DeploymentOptions deployment;
    std::string batches = "1,8,32";
    std::string prompts = "1024,4096";
    std::string precisions;
    std::int64_t gen = 256;
    std::string format = "csv";
  };
  auto o = std::make_shared<Options>();
  DeploymentOptions& d = o->deployment;
  cmd->add_option("-m,--model", d.model, "bundled model name, model YAML, HF config.json or its directory")->required();
  cmd->add_option("-g,--gpu", d.gpu, "bundled GPU name or GPU YAML")->required();
  cmd->add_option("-b,--batch", o->batches, "batch list: 1,8,32 or ranges 1..256:x2, 8..64:+8 (default 1,8,32)");
  cmd->add_option("-p,--prompt", o->prompts, "prompt-length list, same syntax (default 1024,4096)");
  refuse_context(*cmd, "--prompt LIST and --gen G");
  cmd->add_option("--precision", o->precisions, "weight formats, comma-separated (default: the checkpoint's)");
  cmd->add_option("-n,--gen", o->gen, "generated tokens per sequence (default 256)");
  cmd->add_option("--kv-dtype", d.kv_dtype, "KV cache type (default auto)");
  cmd->add_option("--tp", d.tp, "tensor-parallel GPUs (default 1)");
  cmd->add_option("--pp", d.pp, "pipeline stages (default 1)");
  cmd->add_option("--memory-utilization", d.memory_utilization, "fraction of device memory usable (default 0.9)");
  cmd->add_option("--overhead", d.overhead, "non-model memory per GPU (default: the GPU file's)");
  cmd->add_option("--attention", d.attention, "flash or naive (default flash)");
  cmd->add_option("--prefill-chunk", d.prefill_chunk,
                  "max tokens per prefill pass for the memory columns (default 8192; 0: the whole batch)");
  cmd->add_option("--inter-node-bandwidth", d.inter_node_bandwidth,
                  "network per GPU between nodes (default: the GPU file's, else 50 GB/s)");
  cmd->add_option("-f,--format", o->format, "csv or json (default csv)");
  cmd->add_flag(
      "--bound", d.bound,
      "datasheet roofline times (lower bounds) instead of the calibrated estimate (column time_basis says which)");
  return [cmd, o]() {
    if (!cmd->parsed()) return -1;
    if (o->format != "csv" && o->format != "json")
      throw InputError({}, "--format",
                       "\"" + o->format + "\" is not one of csv, json" + did_you_mean(o->format, {"csv", "json"}));
    require_range("--gen", o->gen, 1, 100'000'000);
    // Validate the model, GPU and parallel layout once, at the first precision.
    const std::vector<std::string> names =
        o->precisions.empty() ? std::vector<std::string>{} : split_commas({o->precisions});
    DeploymentOptions first = o->deployment;
    first.precision = names.empty() ? "" : names.front();
    first.context = 1;
    const Deployment dep = build_deployment(first);
    const std::int64_t max_prompt = dep.model.max_position - o->gen;
    if (max_prompt < 1)
      throw InputError({}, "--gen",
                       std::to_string(o->gen) + " tokens leave no room for a prompt within max_position " +
                           std::to_string(dep.model.max_position));
    const auto batches = parse_int_list(o->batches, "--batch", 1, 10'000'000);
    const auto prompts = parse_int_list(o->prompts, "--prompt", 1, max_prompt);
    std::vector<WeightFormat> formats;
    if (names.empty()) formats.push_back(dep.query.weights);
    for (const auto& name : names) formats.push_back(parse_weight_format("--precision", name));
    const SweepEvaluator eval(dep.model, dep.gpu, dep.query, formats, o->gen, dep.inter_node_bandwidth, dep.basis);
    const char* basis = eval.expected() ? "expected" : "bound";

    Out out;
    auto& b = out.buffer();
    const bool csv = o->format == "csv";
    const std::string model_cell = csv_field(dep.model.name), gpu_cell = csv_field(dep.gpu.name);
    if (csv) {
      fmt::format_to(
          std::back_inserter(b),
          "model,gpu,precision,kv_dtype,batch,prompt_tokens,gen_tokens,ttft_s,tpot_s,e2e_s,throughput_tokens_per_s,"
          "prefill_intensity,prefill_bound,decode_intensity,decode_bound,per_gpu_weights_bytes,"
          "per_gpu_kv_cache_bytes,per_gpu_activation_bytes,per_gpu_bytes,fits,time_basis\n");
    } else {
      fmt::format_to(
          std::back_inserter(b),
          "{{\n  \"schema\": \"ridge.sweep/v1\",\n  \"model\": {},\n  \"gpu\": {},\n  \"tp\": {},\n  \"pp\": {},\n"
          "  \"time_basis\": \"{}\",\n  \"rows\": [",
          double_quoted(dep.model.name), double_quoted(dep.gpu.name), dep.query.tp, dep.query.pp, basis);
    }
    bool first_row = true;
    for (std::size_t f = 0; f < eval.formats(); ++f) {
      for (const std::int64_t batch : batches) {
        for (const std::int64_t prompt : prompts) {
          const SweepRow row = eval.evaluate(f, batch, prompt);
          if (csv)
            csv_row(b, model_cell, gpu_cell, row, basis);
          else
            json_row(b, row, first_row);
          first_row = false;
          out.maybe_flush();
        }
      }
    }
    if (!csv) fmt::format_to(std::back_inserter(b), "\n  ]\n}}\n");
    return 0;
  };
}

}  // namespace ridge::cli
