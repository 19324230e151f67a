#include "report/memory_report.hpp"

#include <fmt/format.h>

#include "format.hpp"

namespace ridge {
namespace {

const char* attention_name(AttentionImpl a) { return a == AttentionImpl::flash ? "flash" : "naive"; }

std::int64_t i64(Bytes b) { return static_cast<std::int64_t>(b.value); }

std::string gpu_count_phrase(const MemoryView& v) {
  const std::int64_t per_replica = replica_gpus(v.query.tp, v.query.pp, v.query.ep);
  std::string s = fmt::format("TP {} x PP {}", v.query.tp, v.query.pp);
  if (v.query.ep > 1)
    s += fmt::format(", EP {} ({} attention group{} of TP {})", v.query.ep, attention_groups(v.query.ep, v.query.tp),
                     attention_groups(v.query.ep, v.query.tp) == 1 ? "" : "s", v.query.tp);
  if (v.replicas > 1) s += fmt::format(" x {} replicas", v.replicas);
  const std::int64_t n = per_replica * v.replicas;
  return s + fmt::format(" = {} GPU{}", n, n == 1 ? "" : "s");
}

/// The scalar fields shared by JSON and CSV, in order.
nlohmann::ordered_json flat_fields(const MemoryView& v) {
  const auto& e = v.estimate;
  const auto& q = v.query;
  const auto& per_gpu = e.per_gpu();
  nlohmann::ordered_json j;
  j["model"] = v.model.name;
  j["gpu"] = v.gpu.name;
  j["precision"] = q.weights.name;
  j["weight_scheme"] = q.weights.scheme();
  j["kv_dtype"] = std::string(to_string(q.kv_dtype));
  j["batch"] = q.batch;
  j["context_tokens"] = q.context;
  j["tp"] = q.tp;
  j["ep"] = q.ep;
  j["pp"] = q.pp;
  j["replicas"] = v.replicas;
  j["gpus"] = q.tp * q.pp * v.replicas;
  j["attention"] = attention_name(q.attention);
  j["prefill_chunk_tokens"] = q.prefill_chunk;
  j["memory_utilization"] = q.memory_utilization;
  j["params"] = e.params.total;
  j["active_params"] = e.params.active;
  j["vision_params"] = e.params.vision;
  j["mtp_params"] = e.params.mtp;
  // Scopes differ by nature: weights are the model's (one copy), the KV cache one replica's
  // batch; activations and overhead exist per GPU. The per_gpu_* fields are the tightest
  // GPU's breakdown and sum to per_gpu_bytes.
  j["weights_bytes"] = i64(e.weights);
  j["kv_bytes_per_token"] = i64(e.kv_per_token);
  j["kv_cache_bytes"] = i64(e.kv_cache);
  j["activation_bytes"] = i64(per_gpu.activations);
  j["overhead_bytes"] = i64(per_gpu.overhead);
  j["per_gpu_weights_bytes"] = i64(per_gpu.weights);
  j["per_gpu_kv_cache_bytes"] = i64(per_gpu.kv_cache);
  j["per_gpu_activation_bytes"] = i64(per_gpu.activations);
  j["per_gpu_overhead_bytes"] = i64(per_gpu.overhead);
  j["per_gpu_bytes"] = i64(per_gpu.total());
  j["total_bytes"] = i64(e.total * static_cast<std::uint64_t>(v.replicas));
  j["budget_per_gpu_bytes"] = i64(e.budget_per_gpu);
  j["fits"] = e.fits;
  j["kv_pool_per_gpu_bytes"] = i64(e.kv_pool_per_gpu);
  j["kv_block_tokens"] = q.block_size;
  j["kv_capacity_blocks"] = e.kv_capacity_blocks;
  j["kv_capacity_tokens"] = e.kv_capacity_tokens;  // of one pool: a replica's, or an attention group's
  j["kv_pools_per_replica"] = attention_groups(q.ep, q.tp);
  j["kv_groups"] = e.kv_groups;
  j["kv_group_size"] = e.kv_group_size;
  j["vllm_max_concurrency"] = e.max_concurrency;
  j["vllm_max_model_len_limit"] = e.max_model_len_limit;
  j["max_batch"] = e.max_batch;
  j["max_context"] = e.max_context;
  j["max_context_limited_by"] = e.max_context_model_limited ? "model" : "memory";
  return j;
}

nlohmann::ordered_json stage_json(const StageMemory& s, std::size_t index, Bytes budget) {
  nlohmann::ordered_json j;
  j["stage"] = index;
  j["first_layer"] = s.first_layer;
  j["layers"] = s.layers;
  j["weights_bytes"] = i64(s.weights);
  j["kv_cache_bytes"] = i64(s.kv_cache);
  j["activation_bytes"] = i64(s.activations);
  j["overhead_bytes"] = i64(s.overhead);
  j["total_bytes"] = i64(s.total());
  j["fits"] = s.total() <= budget;
  return j;
}

Table breakdown_table(const MemoryView& v) {
  const auto& e = v.estimate;
  const auto& s = e.per_gpu();
  const auto total = s.total();
  auto row = [&](const std::string& name, Bytes b) {
    const double share = total.value ? 100.0 * b.as_double() / total.as_double() : 0.0;
    return std::vector<std::string>{name, with_commas(b.value), gib(b), fmt::format("{:.1f}%", share)};
  };
  Table t;
  t.headers = {"per GPU", "bytes", "GiB", "share"};
  t.right_aligned = {false, true, true, true};
  t.rows.push_back(row("weights (" + v.query.weights.name + ")", s.weights));
  t.rows.push_back(row(fmt::format("KV cache ({}, {} x {} tokens)", to_string(v.query.kv_dtype), v.query.batch,
                                   with_commas(v.query.context)),
                       s.kv_cache));
  t.rows.push_back(row(fmt::format("activations ({} prefill peak, {} tokens/pass)", attention_name(v.query.attention),
                                   with_commas(tokens_per_pass(v.query.batch, v.query.context, v.query.prefill_chunk))),
                       s.activations));
  t.rows.push_back(row("runtime overhead", s.overhead));
  t.rows.push_back(row("total", total));
  return t;
}

}  // namespace

nlohmann::ordered_json memory_json(const MemoryView& v) {
  const auto& e = v.estimate;
  nlohmann::ordered_json j;
  j["schema"] = "ridge.memory/v1";
  j["model"] = {{"name", v.model.name},
                {"display_name", v.model.display_name},
                {"source", v.model.source},
                {"params", e.params.total},
                {"active_params", e.params.active}};
  j["gpu"] = {{"name", v.gpu.name},
              {"display_name", v.gpu.display_name},
              {"source", v.gpu.source},
              {"memory_bytes", i64(v.gpu.memory)}};
  const nlohmann::ordered_json flat = flat_fields(v);  // named: items() of a temporary dangles
  for (const auto& [key, value] : flat.items())
    if (key != "model" && key != "gpu") j[key] = value;
  const auto& s = e.per_gpu();
  j["per_gpu"] = stage_json(s, e.worst_stage, e.budget_per_gpu);
  j["stages"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < e.stages.size(); ++i) j["stages"].push_back(stage_json(e.stages[i], i, e.budget_per_gpu));
  return j;
}

std::string memory_csv(const MemoryView& v) {
  Table t;
  const nlohmann::ordered_json flat = flat_fields(v);
  for (const auto& [key, value] : flat.items()) {
    t.headers.push_back(key);
    if (t.rows.empty()) t.rows.emplace_back();
    t.rows[0].push_back(value.is_string() ? value.get<std::string>() : value.dump());
  }
  return t.csv();
}

std::string memory_text(const MemoryView& v) {
  const auto& e = v.estimate;
  const auto& q = v.query;
  const auto& s = e.per_gpu();
  std::string out;
  out += fmt::format("{} on {}\n", v.model.display_name, v.gpu.display_name);
  out += fmt::format("  weights {} ({}), KV cache {}, batch {} x {} tokens{}, {}, {} attention\n", q.weights.name,
                     q.weights.scheme(), to_string(q.kv_dtype), with_commas(q.batch), with_commas(q.context),
                     v.replicas > 1 ? " per replica" : "", gpu_count_phrase(v), attention_name(q.attention));
  out += fmt::format("  {} parameters", with_commas(e.params.total));
  if (e.params.active != e.params.total) out += fmt::format(" ({} active per token)", with_commas(e.params.active));
  if (e.params.vision > 0) out += fmt::format(" + {} in the vision tower", with_commas(e.params.vision));
  out += fmt::format("; weights {} ({:.2f} GB){}; KV cache {} B per token\n", human_bytes(e.weights),
                     e.weights.as_double() / kGB, e.params.vision > 0 ? ", vision tower included" : "",
                     with_commas(e.kv_per_token.value));
  out += fmt::format("  layers: {}\n", describe_layout(v.model));
  if (e.params.mtp > 0)
    out += fmt::format(
        "  MTP module: {} more parameters in the checkpoint ({} layer{}), loaded only for MTP "
        "speculative decoding: not counted\n",
        with_commas(e.params.mtp), v.model.mtp_layers, v.model.mtp_layers == 1 ? "" : "s");
  out += "\n";

  const std::string stage_note = e.stages.size() > 1
                                     ? fmt::format(" (tightest: stage {} of {}, layers {}-{})", e.worst_stage + 1,
                                                   e.stages.size(), s.first_layer, s.first_layer + s.layers - 1)
                                     : "";
  out += breakdown_table(v).text("  ");
  out += fmt::format("  budget: {:.2f} x {} usable = {} GiB{}\n", q.memory_utilization, human_bytes(v.gpu.memory),
                     gib(e.budget_per_gpu), stage_note);
  if (e.fits) {
    out += fmt::format("  fits: yes, {} GiB to spare on the tightest GPU\n",
                       gib(saturating_sub(e.budget_per_gpu, s.total())));
  } else {
    out += fmt::format("  fits: NO, {} GiB over budget on the tightest GPU\n",
                       gib(saturating_sub(s.total(), e.budget_per_gpu)));
  }
  // A serving engine never prefills a whole large batch in one pass (vLLM chunks at
  // max_num_batched_tokens); say so when that assumption is what dominates the total.
  if (q.prefill_chunk == 0 && q.batch > 1 && s.activations.as_double() > 0.25 * s.total().as_double())
    out += fmt::format(
        "  note: activations assume all {} prompts prefilled in one pass (--prefill-chunk 0); an engine\n"
        "        that prefills in chunks needs far less (default: {} tokens per pass)\n",
        q.batch, with_commas(kDefaultPrefillChunk));
  const std::int64_t gpus = replica_gpus(q.tp, q.pp, q.ep) * v.replicas;
  out += fmt::format("\n  all {} GPU{} together: {} GiB\n", gpus, gpus == 1 ? "" : "s",
                     gib(e.total * static_cast<std::uint64_t>(v.replicas)));
  const std::string pool_stage =
      e.stages.size() > 1 ? fmt::format(" (stage {} of {}, the fewest blocks)", e.kv_pool_stage + 1, e.stages.size())
                          : "";
  if (e.kv_groups > 1) {
    // vLLM's hybrid pool: a block serves one group of layers; its token count assumes every
    // layer global, so the per-request sizing is the figure that says what one request takes.
    out += fmt::format(
        "  KV pool per GPU{}: {} GiB = {} blocks of {} tokens, shared by {} layer groups of {} "
        "(vLLM reports {} tokens)\n",
        pool_stage, gib(e.kv_pool_per_gpu), with_commas(e.kv_capacity_blocks), q.block_size, e.kv_groups,
        e.kv_group_size, with_commas(e.kv_capacity_tokens));
  } else {
    out += fmt::format("  KV pool per GPU{}: {} GiB = {} blocks of {} tokens = {} tokens {}\n", pool_stage,
                       gib(e.kv_pool_per_gpu), with_commas(e.kv_capacity_blocks), q.block_size,
                       with_commas(e.kv_capacity_tokens), kv_pool_owner(q.tp, q.ep));
  }
  // Under expert parallelism each attention group is its own vLLM engine and logs its own figure.
  const std::int64_t groups = attention_groups(q.ep, q.tp);
  out += fmt::format(
      "  vLLM max concurrency at {} tokens per request: {:.2f}x{}; largest max_model_len it starts "
      "with: {}\n",
      with_commas(q.context), e.max_concurrency,
      groups > 1
          ? fmt::format(" per replica ({:.2f}x per attention group)", e.max_concurrency / static_cast<double>(groups))
          : "",
      with_commas(e.max_model_len_limit));
  out += fmt::format("  max batch at {} tokens: {}\n", with_commas(q.context), with_commas(e.max_batch));
  out += fmt::format("  max context at batch {}: {}{}\n", q.batch, with_commas(e.max_context),
                     e.max_context_model_limited ? " (the model's max_position)" : "");
  return out;
}

std::string memory_markdown(const MemoryView& v) {
  const auto& e = v.estimate;
  const auto& q = v.query;
  std::string out = fmt::format("### {} on {}\n\n", v.model.display_name, v.gpu.display_name);
  out += fmt::format("weights {} ({}), KV cache {}, batch {} x {} tokens{}, {}, {} attention\n\n", q.weights.name,
                     q.weights.scheme(), to_string(q.kv_dtype), q.batch, with_commas(q.context),
                     v.replicas > 1 ? " per replica" : "", gpu_count_phrase(v), attention_name(q.attention));
  out += breakdown_table(v).markdown();
  out += fmt::format(
      "\n**Fits:** {} (budget {} GiB per GPU). KV pool per GPU: {} GiB = {} blocks of {} tokens = {} "
      "tokens {}. Max batch at {} tokens: {}. Max context at batch {}: {}.\n",
      e.fits ? "yes" : "no", gib(e.budget_per_gpu), gib(e.kv_pool_per_gpu), with_commas(e.kv_capacity_blocks),
      q.block_size, with_commas(e.kv_capacity_tokens), kv_pool_owner(q.tp, q.ep), with_commas(q.context),
      with_commas(e.max_batch), q.batch, with_commas(e.max_context));
  return out;
}

Table memory_comparison(const std::vector<MemoryView>& views) {
  SideBySide<MemoryView> t(views, [](const MemoryView& v) { return v.gpu.name; });
  t.row("GPUs (TP x PP x replicas)", [](const MemoryView& v) {
    const MemoryQuery& q = v.query;
    if (q.ep > 1)
      return fmt::format("{} (EP {} x {} x {})", replica_gpus(q.tp, q.pp, q.ep) * v.replicas, q.ep, q.pp, v.replicas);
    return fmt::format("{} ({} x {} x {})", q.tp * q.pp * v.replicas, q.tp, q.pp, v.replicas);
  });
  t.row("weights per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.per_gpu().weights); });
  t.row("KV cache per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.per_gpu().kv_cache); });
  t.row("activations per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.per_gpu().activations); });
  t.row("overhead per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.per_gpu().overhead); });
  t.row("total per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.per_gpu().total()); });
  t.row("budget per GPU, GiB", [](const MemoryView& v) { return gib(v.estimate.budget_per_gpu); });
  t.row("fits", [](const MemoryView& v) { return std::string(v.estimate.fits ? "yes" : "NO"); });
  const MemoryQuery& q0 = views.front().query;
  t.row(attention_groups(q0.ep, q0.tp) > 1 ? "KV pool, tokens per attention group" : "KV pool, tokens per replica",
        [](const MemoryView& v) { return with_commas(v.estimate.kv_capacity_tokens); });
  t.row("max batch at this context", [](const MemoryView& v) { return with_commas(v.estimate.max_batch); });
  t.row("max context at this batch", [](const MemoryView& v) { return with_commas(v.estimate.max_context); });
  return t.table;
}

nlohmann::ordered_json memory_comparison_json(const std::vector<MemoryView>& views) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.memory.comparison/v1";
  j["reports"] = nlohmann::ordered_json::array();
  for (const auto& v : views) j["reports"].push_back(memory_json(v));
  return j;
}

std::string memory_comparison_csv(const std::vector<MemoryView>& views) {
  std::string out;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const std::string one = memory_csv(views[i]);
    out += i == 0 ? one : one.substr(one.find('\n') + 1);  // the header once
  }
  return out;
}

}  // namespace ridge
