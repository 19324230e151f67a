#include "report/predict_report.hpp"

#include <fmt/format.h>

#include "format.hpp"

namespace ridge {

namespace {

/// The input columns of a family, in the measured tables' order.
std::vector<std::string> input_columns(OperatorFamily f) {
  switch (f) {
    case OperatorFamily::gemm: return {"dtype", "m", "n", "k"};
    case OperatorFamily::context_attention:
      return {"batch", "prompt_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"};
    case OperatorFamily::generation_attention:
      return {"batch", "kv_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"};
    case OperatorFamily::nccl: return {"collective", "dtype", "gpus", "message_bytes"};
  }
  return {};
}

std::vector<std::string> input_values(OperatorFamily f, const OperatorRow& r) {
  auto s = [](std::int64_t v) { return std::to_string(v); };
  switch (f) {
    case OperatorFamily::gemm: return {r.dtype, s(r.m), s(r.n), s(r.k)};
    case OperatorFamily::context_attention:
    case OperatorFamily::generation_attention:
      return {s(r.batch), s(r.tokens), s(r.heads), s(r.kv_heads), s(r.head_dim), s(r.window),
              std::string(to_string(r.kv_dtype))};
    case OperatorFamily::nccl:
      return {r.collective, r.dtype, s(r.gpus), s(static_cast<std::int64_t>(r.message_bytes))};
  }
  return {};
}

std::string us(double seconds) { return fmt::format("{:.4f}", seconds * 1e6); }

std::optional<double> error_of(const OperatorRow& r, const std::optional<Seconds>& bound) {
  if (!r.latency_us || !bound) return std::nullopt;
  return (bound->value * 1e6 - *r.latency_us) / *r.latency_us;
}

Table rows_table(const PredictView& v, bool with_kernel) {
  Table t;
  const OperatorFamily f = v.table.family;
  t.headers = input_columns(f);
  if (with_kernel) t.headers.push_back("kernel");
  if (v.table.measured) t.headers.push_back("latency_us");
  t.headers.push_back("bound_us");
  if (v.table.measured) t.headers.push_back("bound_error");
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    std::vector<std::string> row = input_values(f, r);
    if (with_kernel) row.push_back(r.kernel);
    if (v.table.measured) row.push_back(fmt::format("{:.4f}", *r.latency_us));
    row.push_back(v.bounds[i] ? us(v.bounds[i]->value) : "");
    if (v.table.measured) {
      const auto e = error_of(r, v.bounds[i]);
      row.push_back(e ? fmt::format("{:.4f}", *e) : "");
    }
    t.rows.push_back(std::move(row));
  }
  t.right_aligned.assign(t.headers.size(), true);
  return t;
}

}  // namespace

std::vector<std::pair<std::string, ErrorSummary>> predict_summaries(const PredictView& v) {
  // "all", and for GEMM each dtype, then each dtype by M range (the formats differ by far more
  // than the shapes do).
  std::vector<std::pair<std::string, std::vector<double>>> groups = {{"all", {}}};
  auto group = [&](const std::string& name) -> std::vector<double>& {
    for (auto& [n, errors] : groups)
      if (n == name) return errors;
    return groups.emplace_back(name, std::vector<double>{}).second;
  };
  if (v.table.family == OperatorFamily::gemm)
    for (const OperatorRow& r : v.table.rows) {
      group(r.dtype);
      for (const char* range : {"1-16", "17-128", "129-1024", ">1024"}) group(r.dtype + " M " + range);
    }
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    const auto e = error_of(r, v.bounds[i]);
    if (!e) continue;
    group("all").push_back(*e);
    if (v.table.family == OperatorFamily::gemm) {
      group(r.dtype).push_back(*e);
      group(r.dtype + " M " + std::string(m_range(r.m))).push_back(*e);
    }
  }
  std::vector<std::pair<std::string, ErrorSummary>> out;
  for (const auto& [name, errors] : groups)
    if (!errors.empty()) out.emplace_back(name, summarize_errors(errors));
  return out;
}

nlohmann::ordered_json predict_json(const PredictView& v) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.predict/v1";
  j["gpu"] = v.gpu.name;
  j["family"] = std::string(to_string(v.table.family));
  j["time"] = "bound";  // datasheet roofline; no calibrated (expected) time yet
  j["rows"] = nlohmann::ordered_json::array();
  const std::vector<std::string> columns = input_columns(v.table.family);
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    nlohmann::ordered_json row;
    const std::vector<std::string> values = input_values(v.table.family, r);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const bool text = columns[c] == "dtype" || columns[c] == "kv_dtype" || columns[c] == "collective";
      if (text) row[columns[c]] = values[c];
      else row[columns[c]] = std::stoll(values[c]);
    }
    if (!r.kernel.empty()) row["kernel"] = r.kernel;
    if (r.latency_us) row["latency_s"] = *r.latency_us * 1e-6;
    row["bound_s"] = v.bounds[i] ? nlohmann::ordered_json(v.bounds[i]->value) : nlohmann::ordered_json(nullptr);
    if (const auto e = error_of(r, v.bounds[i])) row["bound_error"] = *e;
    j["rows"].push_back(std::move(row));
  }
  j["summary"] = nlohmann::ordered_json::array();
  for (const auto& [name, s] : predict_summaries(v))
    j["summary"].push_back({{"rows", name},
                            {"count", s.rows},
                            {"median_abs_error", s.median_abs},
                            {"p90_abs_error", s.p90_abs},
                            {"worst_error", s.worst},
                            {"measured_at_or_above_bound", s.at_or_above_bound}});
  return j;
}

std::string predict_csv(const PredictView& v) { return rows_table(v, v.table.has_kernel).csv(); }

std::string predict_text(const PredictView& v) {
  std::string out = fmt::format("{} operators on {}: bound = datasheet roofline (a lower bound); no calibrated "
                                "(expected) time yet\n\n",
                                to_string(v.table.family), v.gpu.display_name);
  out += rows_table(v, false).text("  ");
  const auto summaries = predict_summaries(v);
  if (!summaries.empty()) {
    Table t;
    t.headers = {"rows", "count", "median |error|", "p90 |error|", "worst", "measured >= bound"};
    for (const auto& [name, s] : summaries)
      t.rows.push_back({name, std::to_string(s.rows), fmt::format("{:.1f}%", 100 * s.median_abs),
                        fmt::format("{:.1f}%", 100 * s.p90_abs), fmt::format("{:+.1f}%", 100 * s.worst),
                        fmt::format("{:.1f}%", 100 * s.at_or_above_bound)});
    t.right_aligned.assign(t.headers.size(), true);
    t.right_aligned[0] = false;
    out += "\n  error of the bound against the measured latency, (bound - measured) / measured:\n";
    out += t.text("  ");
  }
  return out;
}

}  // namespace ridge
