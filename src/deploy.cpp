// The deployment schema. Strict like the model and GPU schemas: every key known (with "did you
// mean"), every number decimal and in range, sizes and durations with explicit units.
#include "deploy.hpp"

#include <filesystem>

#include "dtype.hpp"
#include "text.hpp"

namespace ridge {
namespace {

namespace fs = std::filesystem;

bool names_a_file(const std::string& s) {
  return s.find('/') != std::string::npos || s.ends_with(".yaml") || s.ends_with(".yml") || s.ends_with(".json");
}

/// A relative path in a deployment file is relative to that file, so configs can be checked
/// from any working directory (as CI runs them from the repository root).
std::string relative_to(const std::string& deployment, const std::string& path) {
  const fs::path p(path);
  if (p.is_absolute()) return path;
  const fs::path dir = fs::path(deployment).parent_path();
  return dir.empty() ? path : (dir / p).lexically_normal().string();
}

std::vector<std::string> severity_names() { return {"error", "warning", "notice"}; }

Severity severity_of(const std::string& s) {
  return s == "error" ? Severity::error : s == "warning" ? Severity::warning : Severity::notice;
}

std::vector<std::string> rule_ids() {
  std::vector<std::string> ids;
  for (const auto& r : check_rules()) ids.emplace_back(r.id);
  return ids;
}

}  // namespace

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::notice:
      return "notice";
    case Severity::warning:
      return "warning";
    case Severity::error:
      return "error";
  }
  return "error";
}

const std::vector<RuleInfo>& check_rules() {
  static const std::vector<RuleInfo> rules = {
      {"parallel.divides", Severity::error,
       "TP divides the heads and FFN width, PP the layers, and gpus is a multiple of TP x PP"},
      {"workload.context", Severity::error,
       "prompt + generated tokens <= max_model_len (default: the model's max_position)"},
      {"memory.fits", Severity::error, "weights + KV cache + activations + overhead fit the per-GPU budget"},
      {"memory.headroom", Severity::error, "free share of the per-GPU budget >= slo.min_memory_headroom"},
      {"kv.capacity", Severity::error,
       "the paged KV pool holds one max_model_len sequence (else vLLM refuses to start)"},
      {"precision.supported", Severity::warning, "the GPU has tensor cores for the weight format's math"},
      {"slo.ttft", Severity::error, "time to first token <= slo.ttft"},
      {"slo.tpot", Severity::error, "time per output token <= slo.tpot"},
      {"slo.throughput", Severity::error, "generated tokens/s of the deployment >= slo.min_throughput"},
  };
  return rules;
}

Location DeploymentFile::locate(std::initializer_list<std::string_view> fields) const {
  for (auto f : fields) {
    auto it = where.find(std::string(f));
    if (it != where.end()) return it->second;
  }
  return Location{source, 1, 1};
}

Location DeploymentFile::locate_value(std::string_view field) const {
  auto it = value_where.find(std::string(field));
  return it == value_where.end() ? Location{source, 1, 1} : it->second;
}

DeploymentFile deployment_from_yaml(const Node& root, const std::string& source) {
  DeploymentFile d;
  d.source = source;
  MapReader r(root, "");
  // Findings point at the key ("ttft:"), as a reader scans for it; errors about a value point
  // at the value.
  auto remember = [&](const MapReader& reader, const char* key) {
    for (const auto& e : reader.node().entries) {
      if (e.key.scalar != key) continue;
      d.where[reader.field(key)] = e.key.where;
      d.value_where[reader.field(key)] = e.value.where;
    }
  };
  auto get = [&](MapReader& reader, const char* key) {
    const Node* n = reader.optional(key);
    if (n) remember(reader, key);
    return n;
  };
  auto need = [&](MapReader& reader, const char* key) -> const Node& {
    const Node& n = reader.required(key);
    remember(reader, key);
    return n;
  };
  auto name_or_path = [&](const char* key, std::string& value, bool& is_path) {
    const Node& n = need(r, key);
    value = as_string(n, key);
    if (value.empty()) fail(n, key, "a value is required");
    is_path = names_a_file(value);
    if (is_path) value = relative_to(source, value);
  };

  // Every error of the file, in line order, as compilers report them: each field is read on its
  // own, a bad one is recorded and the rest still read.
  std::vector<InputError> errors;
  auto attempt = [&](auto&& read) {
    try {
      read();
    } catch (const InputError& e) {
      errors.push_back(e);
    }
  };
  // vLLM's engine arguments where ridge has its own name: answered with ridge's.
  auto vllm_name = [](const std::string& key) -> std::string {
    static const std::pair<const char*, const char*> names[] = {
        {"tensor_parallel_size", "tp"},
        {"pipeline_parallel_size", "pp"},
        {"enable_expert_parallel", "ep (GPUs the experts spread over: TP x data-parallel size)"},
        {"data_parallel_size", "ep / tp with ep (attention groups) or gpus / (tp x pp) (replicas)"},
        {"kv_cache_dtype", "kv_dtype"},
        {"quantization", "precision"},
        {"gpu_memory_utilization", "memory_utilization"},
        {"max_num_seqs", "workload.batch"},
        {"max_num_batched_tokens", "prefill_chunk"},
        {"dtype", "precision"},
        {"model_len", "max_model_len"},
    };
    for (const auto& [vllm, ours] : names)
      if (key == vllm) return std::string("vLLM's ") + vllm + " is ridge's " + ours;
    return {};
  };

  attempt([&] { name_or_path("model", d.model, d.model_is_path); });
  attempt([&] { name_or_path("gpu", d.gpu, d.gpu_is_path); });
  attempt([&] {
    if (const Node* n = get(r, "gpus")) d.gpus = as_int(*n, "gpus", 1, 1'000'000);
  });
  attempt([&] {
    if (const Node* n = get(r, "tp")) {
      d.tp = as_int(*n, "tp", 1, 4096);
      d.tp_given = true;
    }
  });
  attempt([&] {
    if (const Node* n = get(r, "pp")) d.pp = as_int(*n, "pp", 1, 4096);
  });
  attempt([&] {
    if (const Node* n = get(r, "ep")) d.ep = as_int(*n, "ep", 1, 4096);
  });
  attempt([&] {
    if (const Node* n = get(r, "precision")) d.precision = as_enum(*n, "precision", weight_format_names());
  });
  attempt([&] {
    if (const Node* n = get(r, "kv_dtype")) {
      std::vector<std::string> allowed = {"auto"};
      for (const auto& k : kv_dtype_names()) allowed.push_back(k);
      d.kv_dtype = as_enum(*n, "kv_dtype", allowed);
    }
  });
  attempt([&] {
    if (const Node* n = get(r, "memory_utilization")) {
      d.memory_utilization = as_number(*n, "memory_utilization", 0.0, 1.0);
      if (d.memory_utilization <= 0.0) fail(*n, "memory_utilization", "must be in (0, 1], got " + n->scalar);
    }
  });
  attempt([&] {
    if (const Node* n = get(r, "overhead")) d.overhead = Bytes{as_size(*n, "overhead", 0, 64 * kGiB)};
  });
  attempt([&] {
    if (const Node* n = get(r, "attention"))
      d.attention =
          as_enum(*n, "attention", {"flash", "naive"}) == "flash" ? AttentionImpl::flash : AttentionImpl::naive;
  });
  attempt([&] {
    if (const Node* n = get(r, "prefill_chunk")) d.prefill_chunk = as_int(*n, "prefill_chunk", 0, 100'000'000);
  });
  attempt([&] {
    if (const Node* n = get(r, "block_size")) d.block_size = as_int(*n, "block_size", 1, 4096);
  });
  attempt([&] {
    if (const Node* n = get(r, "max_model_len")) d.max_model_len = as_int(*n, "max_model_len", 1, 1'000'000'000);
  });

  attempt([&] {
    MapReader w(need(r, "workload"), "workload");
    attempt([&] {
      d.workload.prompt_tokens = as_int(need(w, "prompt_tokens"), w.field("prompt_tokens"), 1, 1'000'000'000);
    });
    attempt([&] { d.workload.gen_tokens = as_int(need(w, "gen_tokens"), w.field("gen_tokens"), 1, 1'000'000'000); });
    attempt([&] {
      const Node* batch = get(w, "batch");
      const Node* concurrency = get(w, "concurrency");
      if (batch && concurrency)
        fail(*concurrency, w.field("concurrency"),
             "give batch (sequences per replica) or concurrency (sequences across all replicas), not both");
      if (batch) d.workload.batch = as_int(*batch, w.field("batch"), 1, 10'000'000);
      if (concurrency) d.workload.concurrency = as_int(*concurrency, w.field("concurrency"), 1, 10'000'000);
    });
    for (auto& e : w.unknown_keys(vllm_name)) errors.push_back(std::move(e));
  });

  attempt([&] {
    const Node* n = get(r, "slo");
    if (!n) return;
    MapReader s(*n, "slo");
    // 1 ns .. 1 day: any latency target a person would write.
    attempt([&] {
      if (const Node* t = get(s, "ttft"))
        d.slo.ttft = Seconds{as_quantity(*t, s.field("ttft"), QuantityKind::duration, 1e-9, 86400)};
    });
    attempt([&] {
      if (const Node* t = get(s, "tpot"))
        d.slo.tpot = Seconds{as_quantity(*t, s.field("tpot"), QuantityKind::duration, 1e-9, 86400)};
    });
    attempt([&] {
      if (const Node* t = get(s, "min_throughput"))
        d.slo.min_throughput_tokens_per_s =
            as_quantity(*t, s.field("min_throughput"), QuantityKind::token_rate, 1e-6, 1e12);
    });
    attempt([&] {
      if (const Node* t = get(s, "min_memory_headroom"))
        d.slo.min_memory_headroom = as_number(*t, s.field("min_memory_headroom"), 0.0, 0.99);
    });
    for (auto& e : s.unknown_keys()) errors.push_back(std::move(e));
  });

  attempt([&] {
    const Node* n = get(r, "rules");
    if (!n) return;
    MapReader rr(*n, "rules");
    attempt([&] {
      if (const Node* f = get(rr, "fail_on"))
        d.fail_on = severity_of(as_enum(*f, rr.field("fail_on"), severity_names()));
    });
    attempt([&] {
      const Node* sev = get(rr, "severity");
      if (!sev) return;
      if (!sev->is_map()) fail(*sev, rr.field("severity"), "expected a map of rule: error|warning|notice|off");
      const std::vector<std::string> ids = rule_ids();
      for (const auto& entry : sev->entries) {
        const Node& key = entry.key;  // not a structured binding: clang 14 cannot capture one
        const Node& value = entry.value;
        attempt([&] {
          const std::string field = "rules.severity." + key.scalar;
          bool known = false;
          for (const auto& id : ids) known = known || id == key.scalar;
          if (!known) fail(key, field, "unknown rule" + did_you_mean(key.scalar, ids) + "; rules: " + join(ids));
          d.where[field] = key.where;
          const std::string level = as_enum(value, field, {"error", "warning", "notice", "off"});
          d.severity[key.scalar] = level == "off" ? std::nullopt : std::optional<Severity>(severity_of(level));
        });
      }
    });
    for (auto& e : rr.unknown_keys()) errors.push_back(std::move(e));
  });
  for (auto& e : r.unknown_keys(vllm_name)) errors.push_back(std::move(e));

  if (!errors.empty()) {
    std::stable_sort(errors.begin(), errors.end(), [](const InputError& a, const InputError& b) {
      return std::tie(a.where().line, a.where().column) < std::tie(b.where().line, b.where().column);
    });
    if (errors.size() == 1) throw errors.front();
    throw InputErrors(std::move(errors));
  }
  return d;
}

DeploymentFile load_deployment(const std::string& path) { return deployment_from_yaml(load_file(path), path); }

}  // namespace ridge
