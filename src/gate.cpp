#include "gate.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "format.hpp"
#include "loaders.hpp"
#include "ops.hpp"
#include "parallel.hpp"
#include "query.hpp"
#include "roofline.hpp"

namespace ridge {
namespace {

/// Gathers the findings of one file, with the file's severity overrides applied.
class Collector {
 public:
  explicit Collector(const DeploymentFile& d) : d_(d) {}

  /// Records `rule` at the first of `fields` the file gives; dropped when the file turns the
  /// rule off. `measured` and `limit` are in `unit`.
  void add(std::string_view rule, std::initializer_list<std::string_view> fields, bool passed, std::string message,
           std::optional<double> measured = {}, std::optional<double> limit = {}, std::string unit = {}) {
    Severity severity = Severity::error;
    for (const auto& r : check_rules())
      if (r.id == rule) severity = r.default_severity;
    if (auto o = d_.severity.find(std::string(rule)); o != d_.severity.end()) {
      if (!o->second) return;  // "off"
      severity = *o->second;
    }
    Finding f;
    f.deployment = d_.source;
    f.where = d_.locate(fields);
    for (auto name : fields) {
      if (d_.where.count(std::string(name))) {
        f.field = std::string(name);
        break;
      }
    }
    f.rule = std::string(rule);
    f.severity = severity;
    f.passed = passed;
    f.message = std::move(message);
    f.measured = measured;
    f.limit = limit;
    f.unit = std::move(unit);
    out_.push_back(std::move(f));
  }

  std::vector<Finding> take() { return std::move(out_); }

 private:
  const DeploymentFile& d_;
  std::vector<Finding> out_;
};

/// A model or GPU named by the file. Problems with the name itself ("no such file", "unknown
/// model") point at the deployment's key; problems inside a model or GPU file keep their own
/// position in that file.
template <class Resolve>
auto resolve_at(const DeploymentFile& d, const char* key, const std::string& arg, Resolve resolve) {
  try {
    return resolve(arg, key);
  } catch (const InputError& e) {
    if (e.where().line > 0) throw;
    const std::string what = e.where().file.empty() ? e.message() : e.where().file + ": " + e.message();
    throw InputError(d.locate_value(key), key, what);
  }
}

std::string plural(std::int64_t n, const char* word) { return with_commas(n) + " " + word + (n == 1 ? "" : "s"); }

/// A limit as people write it: "500 ms", "1.5 s", "40 us".

std::string percent(double fraction) { return trimmed(fraction * 100, 1) + "%"; }

std::string tokens_per_s(double v) {
  return v >= 100 ? with_commas(static_cast<std::int64_t>(std::llround(v))) : trimmed(v, 2);
}

}  // namespace

std::vector<Finding> check_deployment(const DeploymentFile& d, TimeBasis basis) {
  Collector c(d);
  const ModelSpec model =
      resolve_at(d, "model", d.model, [](const std::string& a, const char* k) { return resolve_model(a, k); });
  const GpuSpec gpu =
      resolve_at(d, "gpu", d.gpu, [](const std::string& a, const char* k) { return resolve_gpu(a, k); });

  MemoryQuery q;
  q.weights = d.precision.empty() ? default_weight_format(model) : *weight_format(d.precision);
  q.kv_dtype = d.kv_dtype == "auto" ? auto_kv_dtype(q.weights) : *parse_dtype(d.kv_dtype);
  q.memory_utilization = d.memory_utilization;
  q.overhead = d.overhead.value_or(gpu.runtime_overhead);
  if (q.overhead >= gpu.memory)
    throw InputError(
        d.locate_value("overhead"), "overhead",
        human_bytes(q.overhead) + " is not smaller than " + gpu.name + "'s memory of " + human_bytes(gpu.memory));
  q.attention = d.attention;
  q.prefill_chunk = d.prefill_chunk;
  q.block_size = d.block_size;
  if (d.max_model_len && *d.max_model_len > model.max_position)
    throw InputError(d.locate_value("max_model_len"), "max_model_len",
                     with_commas(*d.max_model_len) + " exceeds " + model.name + "'s max_position of " +
                         with_commas(model.max_position));
  const std::int64_t max_len = d.max_model_len.value_or(model.max_position);
  const std::string max_len_name =
      d.max_model_len ? "max_model_len " + with_commas(max_len)
                      : "max_model_len " + with_commas(max_len) + " (" + model.name + "'s max_position)";

  // --- parallel.divides: the same sharding rules as `ridge memory --tp/--pp/--gpus`.
  const auto layout = parallel_layout(d.gpus, d.tp, d.pp, d.tp_given, d.ep);
  if (!layout) {
    c.add("parallel.divides", {"gpus"}, false,
          d.ep > 1 ? fmt::format("gpus {} is not a multiple of EP {} x PP {} = {}", *d.gpus, d.ep, d.pp, d.ep * d.pp)
                   : fmt::format("gpus {} is not a multiple of TP {} x PP {} = {}", *d.gpus, d.tp, d.pp, d.tp * d.pp));
    return c.take();
  }
  try {
    check_sharding(model, layout->tp, layout->pp, &q.weights, layout->ep);
    if (auto problem = expert_parallel_problem(model, layout->tp, layout->ep))
      throw InputError({}, problem->option, problem->message);
  } catch (const InputError& e) {
    if (e.field() == "--precision")
      c.add("parallel.divides", {"precision", "model"}, false, e.message());
    else if (e.field() == "--pp")
      c.add("parallel.divides", {"pp"}, false, "PP " + e.message());
    else if (e.field() == "--ep")
      c.add("parallel.divides", {"ep"}, false, "EP " + e.message());
    else
      c.add("parallel.divides", {"tp", "gpus"}, false, "TP " + e.message());
    return c.take();
  }
  const std::string split =
      fmt::format("{}'s {} heads, {} KV heads and {} layers", model.name, model.heads, model.kv_heads, model.layers);
  if (layout->ep > 1)
    c.add("parallel.divides", {"ep", "tp", "gpus", "pp", "model"}, true,
          fmt::format("EP {} (TP {} x {} attention groups) x PP {} x {} = {} hold the {} experts whole and split {}",
                      layout->ep, layout->tp, attention_groups(layout->ep, layout->tp), layout->pp,
                      plural(layout->replicas, "replica"), plural(layout->gpus(), "GPU"), model.moe->experts, split));
  else
    c.add("parallel.divides", {"tp", "gpus", "pp", "model"}, true,
          fmt::format("TP {} x PP {} x {} = {} split {}", layout->tp, layout->pp, plural(layout->replicas, "replica"),
                      plural(layout->gpus(), "GPU"), split));

  // --- workload.context: a sequence holds its prompt and all generated tokens.
  const Workload& w = d.workload;
  const std::int64_t context = w.prompt_tokens + w.gen_tokens;
  const bool context_ok = context <= max_len;
  c.add("workload.context", {"workload.prompt_tokens", "workload.gen_tokens"}, context_ok,
        fmt::format("prompt {} + generated {} = {} tokens {} {}", with_commas(w.prompt_tokens),
                    with_commas(w.gen_tokens), with_commas(context), context_ok ? "within" : "exceeds", max_len_name),
        static_cast<double>(context), static_cast<double>(max_len), "tokens");
  if (!context_ok) return c.take();

  // Sequences per replica: `batch` directly, or `concurrency` spread over the replicas (the
  // most loaded replica sets the latency).
  const std::int64_t replicas = layout->replicas;
  const std::int64_t batch = w.concurrency ? (*w.concurrency + replicas - 1) / replicas : w.batch.value_or(1);
  const std::int64_t sequences = w.concurrency ? *w.concurrency : batch * replicas;
  q.batch = batch;
  q.context = context;
  q.tp = layout->tp;
  q.pp = layout->pp;
  q.ep = layout->ep;

  // --- memory: the `ridge memory` engine, per GPU on the tightest pipeline stage.
  const MemoryEstimate mem = estimate_memory(model, gpu, q);
  const StageMemory& stage = mem.per_gpu();
  const Bytes used = stage.total();
  const Bytes budget = mem.budget_per_gpu;
  const std::string budget_text = fmt::format("{} ({} x {} on {})", human_bytes(budget),
                                              trimmed(q.memory_utilization, 3), human_bytes(gpu.memory), gpu.name);
  if (mem.fits) {
    c.add("memory.fits", {"gpus", "tp", "gpu"}, true,
          fmt::format("{} per GPU fits the budget of {}", human_bytes(used), budget_text), used.as_double(),
          budget.as_double(), "bytes");
  } else {
    std::string hint;
    if (stage.weights + stage.overhead > budget)
      hint = fmt::format("the weights alone need {} per GPU", human_bytes(stage.weights));
    else if (mem.max_batch >= 1)
      hint = fmt::format("at {} tokens at most {} fit per replica", with_commas(context),
                         plural(mem.max_batch, "sequence"));
    else
      hint = fmt::format("not one sequence of {} tokens fits", with_commas(context));
    c.add("memory.fits", {"gpus", "tp", "gpu"}, false,
          fmt::format("needs {} per GPU (weights {} + KV cache {} + activations {} + overhead {}), over the budget "
                      "of {}; {}",
                      human_bytes(used), human_bytes(stage.weights), human_bytes(stage.kv_cache),
                      human_bytes(stage.activations), human_bytes(stage.overhead), budget_text, hint),
          used.as_double(), budget.as_double(), "bytes");
  }
  if (d.slo.min_memory_headroom) {
    // Free share of the budget on the tightest GPU; negative when it does not fit.
    const double headroom = budget.value == 0 ? -1.0 : (budget.as_double() - used.as_double()) / budget.as_double();
    const bool ok = headroom >= *d.slo.min_memory_headroom;
    c.add("memory.headroom", {"slo.min_memory_headroom"}, ok,
          fmt::format("{} of the per-GPU budget is free ({} of {}); the minimum is {}", percent(headroom),
                      used <= budget ? human_bytes(saturating_sub(budget, used))
                                     : "-" + human_bytes(saturating_sub(used, budget)),
                      human_bytes(budget), percent(*d.slo.min_memory_headroom)),
          headroom, *d.slo.min_memory_headroom, "fraction");
  }
  if (mem.fits) {
    // vLLM refuses to start when one max_model_len sequence does not fit the KV pool:
    // check_enough_kv_cache_memory in vllm/v1/core/kv_cache_utils.py raises "To serve at least
    // one request with the model's max seq len (...) ... KV cache is needed, which is larger
    // than the available KV cache memory".
    // With sliding or chunked layers a request's blocks are not its tokens: the rule is vLLM's
    // per-request sizing (KvPoolLayout::blocks_per_request), summarised as the largest
    // max_model_len that fits.
    const bool ok = mem.max_model_len_limit >= max_len;
    const std::string refuse =
        ok ? ""
           : fmt::format(": vLLM would refuse to start; set max_model_len <= {}", with_commas(mem.max_model_len_limit));
    const std::string message =
        mem.kv_groups > 1
            // Hybrid pool: its token figure counts every layer as global, so say what decides.
            ? fmt::format(
                  "the KV pool has {} of {} tokens in {} groups of {} layers (vLLM reports {} tokens); one "
                  "request of {} {}{}",
                  with_commas(mem.kv_capacity_blocks) + " blocks", d.block_size, mem.kv_groups, mem.kv_group_size,
                  with_commas(mem.kv_capacity_tokens), max_len_name,
                  ok ? fmt::format("fits (up to {} would)", with_commas(mem.max_model_len_limit)) : "does not fit",
                  refuse)
            : fmt::format("the KV pool holds {} ({} of {}) {} {} {}{}", plural(mem.kv_capacity_tokens, "token"),
                          plural(mem.kv_capacity_blocks, "block"), d.block_size, kv_pool_owner(q.tp, q.ep),
                          ok ? "for" : "but the server admits", max_len_name, refuse);
    c.add("kv.capacity", {"max_model_len", "model"}, ok, message, static_cast<double>(mem.max_model_len_limit),
          static_cast<double>(max_len), "tokens");
  }

  // --- time: the `ridge roofline` engine.
  const ModelShapes shapes = compile_shapes(model, q.weights, q.tp, q.ep);
  const Ceilings ceilings = ceilings_for(gpu, shapes, basis);
  // Native when the GPU lists a peak for the GEMMs' own math type. (A GPU file with only fp16
  // peaks running a bf16 model falls back without a note: say so rather than claim a peak.)
  const bool native = gpu.peak(shapes.gemm_math).has_value() && ceilings.gemm_math == shapes.gemm_math;
  const std::string math(to_string(shapes.gemm_math));
  c.add("precision.supported", {"precision", "model"}, native,
        native ? fmt::format("{} weight GEMMs run on {}'s {} tensor cores ({})", q.weights.name, gpu.name, math,
                             human_flops(ceilings.gemm))
        : ceilings.note.empty()
            ? fmt::format("{} weights: {} lists no {} peak; the roofline uses {} ({})", q.weights.name, gpu.name, math,
                          human_flops(ceilings.gemm), to_string(ceilings.gemm_math))
            : fmt::format("{} weights ({}): {}", q.weights.name, q.weights.scheme(), ceilings.note));

  const ServiceQuery sq{batch,
                        w.prompt_tokens,
                        w.gen_tokens,
                        q.attention,
                        q.kv_dtype,
                        topology_for(gpu, q.tp, q.pp, 0, basis, q.ep),
                        /*micro_batches=*/0};
  const ServiceEstimate s = estimate_service(shapes, ceilings, sq);
  // Datasheet peaks make every time a lower bound (a miss is certain, a pass is not a promise);
  // a calibration (or attainable fractions) makes them estimates of what the kernels take.
  const std::string kind = ceilings.expected     ? "expected, calibrated estimate"
                           : ceilings.attainable ? "estimate"
                                                 : "roofline lower bound";
  auto latency = [&](const char* rule, const char* key, const char* name, Seconds got, Seconds limit) {
    const bool ok = got <= limit;
    c.add(rule, {key}, ok,
          fmt::format("{} {} ({}, static batch of {}) {} the SLO of {}", name, human_seconds(got), kind, batch,
                      ok ? "meets" : "exceeds", exact_seconds(limit)),
          got.value, limit.value, "s");
  };
  if (d.slo.ttft) latency("slo.ttft", "slo.ttft", "TTFT", s.ttft, *d.slo.ttft);
  if (d.slo.tpot) latency("slo.tpot", "slo.tpot", "TPOT", s.tpot, *d.slo.tpot);
  if (d.slo.min_throughput_tokens_per_s) {
    // The engine's per-replica B·G / e2e, scaled from its batch to all sequences in flight.
    const double got = s.throughput_tokens_per_s * static_cast<double>(sequences) / static_cast<double>(batch);
    const double limit = *d.slo.min_throughput_tokens_per_s;
    const bool ok = got >= limit;
    c.add("slo.throughput", {"slo.min_throughput"}, ok,
          fmt::format("{} tokens/s ({} x {} generated tokens in {}, {}{}) {} the minimum of {} tokens/s",
                      tokens_per_s(got), plural(sequences, "sequence"), with_commas(w.gen_tokens), human_seconds(s.e2e),
                      ceilings.expected || ceilings.attainable ? kind : "roofline upper bound",
                      replicas > 1 ? fmt::format(", {} replicas", replicas) : "", ok ? "meets" : "is below",
                      tokens_per_s(limit)),
          got, limit, "tokens/s");
  }
  return c.take();
}

std::vector<Finding> check_file(const std::string& path, std::optional<Severity> fail_on, const std::string* text,
                                bool follow_paths, TimeBasis basis, bool file_rules) {
  std::vector<Finding> out;
  Severity level = fail_on.value_or(Severity::error);
  auto invalid = [&](Location where, std::string field, std::string message) {
    Finding f;
    f.deployment = path;
    f.where = std::move(where);
    if (f.where.file.empty()) f.where.file = path;
    f.rule = "input.valid";
    f.severity = Severity::error;
    f.message = field.empty() ? message : field + ": " + message;
    f.field = std::move(field);
    out.assign(1, std::move(f));
  };
  try {
    DeploymentFile d = text ? deployment_from_yaml(parse_document(*text, path), path) : load_deployment(path);
    std::optional<Finding> ignored;
    if (!file_rules && (d.fail_on || !d.severity.empty())) {
      std::vector<std::string> changes;
      if (d.fail_on) changes.push_back("fail_on: " + std::string(to_string(*d.fail_on)));
      for (const auto& [rule, sev] : d.severity)
        changes.push_back(rule + ": " + (sev ? std::string(to_string(*sev)) : std::string("off")));
      ignored = Finding{};
      ignored->deployment = path;
      ignored->where = d.locate({"rules"});
      ignored->rule = "input.rules";
      ignored->severity = Severity::notice;
      ignored->field = "rules";
      ignored->message = "the file's rules (" + join(changes) + ") are ignored: --no-file-rules";
      d.fail_on.reset();
      d.severity.clear();
    }
    if (!fail_on && d.fail_on) level = *d.fail_on;
    if (follow_paths || (!d.model_is_path && !d.gpu_is_path)) out = check_deployment(d, basis);
    if (ignored) out.push_back(std::move(*ignored));
  } catch (const InputErrors& all) {
    std::vector<Finding> each;
    for (const InputError& e : all.all()) {
      invalid(e.where(), e.field(), e.message());
      each.push_back(std::move(out.front()));
    }
    out = std::move(each);
  } catch (const InputError& e) {
    invalid(e.where(), e.field(), e.message());
  } catch (const OverflowError& e) {
    invalid(Location{path, 0, 0}, "", std::string("the inputs are too large: ") + e.what());
  }
  for (auto& f : out) f.failing = !f.passed && (f.rule == "input.valid" || f.severity >= level);
  return out;
}

CheckReport make_report(std::vector<std::string> files, std::vector<Finding> findings) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.deployment, a.where.file, a.where.line, a.where.column, a.rule) <
           std::tie(b.deployment, b.where.file, b.where.line, b.where.column, b.rule);
  });
  return CheckReport{std::move(files), std::move(findings)};
}

CheckReport check_files(const std::vector<std::string>& paths, std::optional<Severity> fail_on, TimeBasis basis,
                        bool file_rules) {
  std::vector<std::string> files = paths;
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<Finding> all;
  for (const auto& p : files) {
    auto found = check_file(p, fail_on, nullptr, true, basis, file_rules);
    all.insert(all.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }
  return make_report(std::move(files), std::move(all));
}

int CheckReport::count(Severity s) const {
  int n = 0;
  for (const auto& f : findings) n += (!f.passed && f.severity == s) ? 1 : 0;
  return n;
}

int CheckReport::failing() const {
  int n = 0;
  for (const auto& f : findings) n += f.failing ? 1 : 0;
  return n;
}

std::pair<std::vector<Finding>::const_iterator, std::vector<Finding>::const_iterator> CheckReport::findings_of(
    const std::string& file) const {
  struct ByFile {
    bool operator()(const Finding& f, const std::string& s) const { return f.deployment < s; }
    bool operator()(const std::string& s, const Finding& f) const { return s < f.deployment; }
  };
  return std::equal_range(findings.begin(), findings.end(), file, ByFile{});
}

bool CheckReport::invalid(const std::string& file) const {
  const auto [first, last] = findings_of(file);
  return std::any_of(first, last, [](const Finding& f) { return f.rule == "input.valid"; });
}

int CheckReport::invalid_files() const {
  int n = 0;
  for (const auto& file : files) n += invalid(file) ? 1 : 0;
  return n;
}

std::string CheckReport::status_of(const std::string& file) const {
  if (invalid(file)) return "invalid";
  const auto [first, last] = findings_of(file);
  return std::any_of(first, last, [](const Finding& f) { return f.failing; }) ? "fail" : "pass";
}

int CheckReport::exit_code() const { return invalid_files() > 0 ? 2 : failing() > 0 ? 1 : 0; }

}  // namespace ridge
