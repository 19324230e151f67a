// Deployment files (README "Gating deployments in CI"): which model runs on which GPUs, how it
// is split and quantised, under what load, and the limits it must meet. Read by the same strict
// reader as model and GPU files; every value keeps its position so that `ridge check` can point
// at the key that broke.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "memory.hpp"
#include "units.hpp"
#include "yaml_io.hpp"

namespace ridge {

/// How much a finding matters; ordered, so "fail on warning" means severity >= warning.
enum class Severity { notice, warning, error };
std::string_view to_string(Severity s);

/// A rule `ridge check` evaluates, with the severity it has unless a file overrides it.
struct RuleInfo {
  std::string_view id;
  Severity default_severity;
  std::string_view summary;
};
/// Every rule, in a fixed order. `input.valid` (the file could not be read or used) is not
/// listed: it is always an error and cannot be turned off.
const std::vector<RuleInfo>& check_rules();

struct Workload {
  std::int64_t prompt_tokens = 0;  ///< P: prompt tokens per sequence
  std::int64_t gen_tokens = 0;     ///< G: generated tokens per sequence
  /// Sequences in flight: per replica (`batch`) or for the whole deployment (`concurrency`,
  /// spread over replicas); neither given means batch 1.
  std::optional<std::int64_t> batch;
  std::optional<std::int64_t> concurrency;
};

/// Service-level objectives; each is checked only when given.
struct Slo {
  std::optional<Seconds> ttft;                        ///< time to first token, upper limit
  std::optional<Seconds> tpot;                        ///< time per output token, upper limit
  std::optional<double> min_throughput_tokens_per_s;  ///< generated tokens/s, whole deployment
  std::optional<double> min_memory_headroom;          ///< free fraction of the per-GPU budget
};

struct DeploymentFile {
  std::string source;  ///< the file, as named on the command line
  std::string model;   ///< bundled name, or a path resolved against the file's folder
  bool model_is_path = false;
  std::string gpu;  ///< same for the GPU
  bool gpu_is_path = false;
  std::optional<std::int64_t> gpus;
  std::int64_t tp = 1;
  bool tp_given = false;  ///< `tp:` written (even `tp: 1`: with `gpus: 8`, 8 replicas of one GPU)
  std::int64_t pp = 1;
  /// Expert parallelism: routed experts spread over `ep` GPUs per stage (vLLM's EP = TP x DP);
  /// 1: experts split by TP like the rest.
  std::int64_t ep = 1;
  std::string precision;  ///< empty: the checkpoint's format
  std::string kv_dtype = "auto";
  double memory_utilization = 0.9;
  std::optional<Bytes> overhead;  ///< empty: the GPU file's runtime_overhead
  AttentionImpl attention = AttentionImpl::flash;
  std::int64_t prefill_chunk = kDefaultPrefillChunk;  ///< 0: whole batch in one pass
  std::int64_t block_size = 16;
  /// Longest sequence the server admits (vLLM --max-model-len); empty: the model's max_position.
  std::optional<std::int64_t> max_model_len;
  Workload workload;
  Slo slo;
  std::optional<Severity> fail_on;
  /// Per-rule severity overrides; nullopt turns the rule off.
  std::map<std::string, std::optional<Severity>> severity;
  /// Where each field's key was given ("slo.ttft" -> file:line:col): findings point there.
  std::map<std::string, Location> where;
  /// Where each field's value was given: errors about a value point there.
  std::map<std::string, Location> value_where;

  /// Position of the first of `fields` present in the file, else line 1 of the file.
  Location locate(std::initializer_list<std::string_view> fields) const;
  /// Position of `field`'s value, else line 1 of the file.
  Location locate_value(std::string_view field) const;
};

/// Validates a parsed deployment file. Pure: names no other file, reads nothing.
DeploymentFile deployment_from_yaml(const Node& root, const std::string& source);

/// Reads and validates a deployment file.
DeploymentFile load_deployment(const std::string& path);

}  // namespace ridge
