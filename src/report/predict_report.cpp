#include "report/predict_report.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "format.hpp"

namespace ridge {

namespace {

/// The input columns of a family, in the measured tables' order.
std::vector<std::string> input_columns(OperatorFamily f) {
  switch (f) {
    case OperatorFamily::gemm:
      return {"dtype", "m", "n", "k"};
    case OperatorFamily::context_attention:
      return {"batch", "prompt_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"};
    case OperatorFamily::generation_attention:
      return {"batch", "kv_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"};
    case OperatorFamily::nccl:
      return {"collective", "dtype", "gpus", "message_bytes"};
  }
  return {};
}

std::vector<std::string> input_values(OperatorFamily f, const OperatorRow& r) {
  auto s = [](std::int64_t v) { return std::to_string(v); };
  switch (f) {
    case OperatorFamily::gemm:
      return {r.dtype, s(r.m), s(r.n), s(r.k)};
    case OperatorFamily::context_attention:
    case OperatorFamily::generation_attention:
      return {s(r.batch),
              s(r.tokens),
              s(r.heads),
              s(r.kv_heads),
              s(r.head_dim),
              s(r.window),
              std::string(to_string(r.kv_dtype))};
    case OperatorFamily::nccl:
      return {r.collective, r.dtype, s(r.gpus), s(static_cast<std::int64_t>(r.message_bytes))};
  }
  return {};
}

std::string us(double seconds) { return fmt::format("{:.4f}", seconds * 1e6); }

std::optional<double> error_of(const OperatorRow& r, const std::optional<Seconds>& predicted) {
  if (!r.latency_us || !predicted) return std::nullopt;
  return (predicted->value * 1e6 - *r.latency_us) / *r.latency_us;
}

std::optional<Seconds> expected_at(const PredictView& v, std::size_t i) {
  return v.expected.empty() ? std::nullopt : v.expected[i];
}

Table rows_table(const PredictView& v, bool with_kernel) {
  Table t;
  const OperatorFamily f = v.table.family;
  const bool expected = v.has_expected();
  t.headers = input_columns(f);
  if (with_kernel) t.headers.push_back("kernel");
  if (v.table.measured) t.headers.push_back("latency_us");
  t.headers.push_back("bound_us");
  if (expected) t.headers.push_back("expected_us");
  if (v.table.measured) t.headers.push_back("bound_error");
  if (v.table.measured && expected) t.headers.push_back("expected_error");
  auto error_text = [](const std::optional<double>& e) { return e ? fmt::format("{:.4f}", *e) : std::string(); };
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    std::vector<std::string> row = input_values(f, r);
    if (with_kernel) row.push_back(r.kernel);
    if (v.table.measured) row.push_back(fmt::format("{:.4f}", *r.latency_us));
    row.push_back(v.bounds[i] ? us(v.bounds[i]->value) : "");
    if (expected) row.push_back(expected_at(v, i) ? us(expected_at(v, i)->value) : "");
    if (v.table.measured) row.push_back(error_text(error_of(r, v.bounds[i])));
    if (v.table.measured && expected) row.push_back(error_text(error_of(r, expected_at(v, i))));
    t.rows.push_back(std::move(row));
  }
  t.right_aligned.assign(t.headers.size(), true);
  return t;
}

}  // namespace

bool PredictView::has_expected() const {
  return std::any_of(expected.begin(), expected.end(), [](const auto& e) { return e.has_value(); });
}

std::vector<PredictSummary> predict_summaries(const PredictView& v) {
  // "all", and for GEMM each dtype, each dtype by M range, and each dtype's weight shapes
  // (N, K >= 256: the accuracy targets; smaller N or K are not weight matrices).
  struct Group {
    std::string name;
    std::vector<double> bound, expected;
  };
  std::vector<Group> groups = {{"all", {}, {}}};
  auto group = [&](const std::string& name) -> Group& {
    for (Group& g : groups)
      if (g.name == name) return g;
    return groups.emplace_back(Group{name, {}, {}});
  };
  if (v.table.family == OperatorFamily::gemm)
    for (const OperatorRow& r : v.table.rows) {
      group(r.dtype);
      group(r.dtype + " N,K>=256");
      for (const char* range : {"1-16", "17-128", "129-1024", ">1024"}) group(r.dtype + " M " + range);
    }
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    const auto b = error_of(r, v.bounds[i]);
    const auto e = error_of(r, expected_at(v, i));
    auto add = [&](Group& g) {
      if (b) g.bound.push_back(*b);
      if (e) g.expected.push_back(*e);
    };
    add(group("all"));
    if (v.table.family == OperatorFamily::gemm) {
      add(group(r.dtype));
      if (r.n >= 256 && r.k >= 256) add(group(r.dtype + " N,K>=256"));
      add(group(r.dtype + " M " + std::string(m_range(r.m))));
    }
  }
  std::vector<PredictSummary> out;
  for (const Group& g : groups)
    if (!g.bound.empty() || !g.expected.empty())
      out.push_back({g.name, summarize_errors(g.bound), summarize_errors(g.expected)});
  return out;
}

nlohmann::ordered_json predict_json(const PredictView& v) {
  nlohmann::ordered_json j;
  j["schema"] = "ridge.predict/v1";
  j["gpu"] = v.gpu.name;
  j["family"] = std::string(to_string(v.table.family));
  j["bound"] =
      "datasheet roofline of the kernel replayed alone: a lower bound (bytes beyond the L2 size at HBM bandwidth)";
  j["expected"] = v.has_expected() ? nlohmann::ordered_json("calibrated estimate: " + v.gpu.calibration->source)
                                   : nlohmann::ordered_json(nullptr);
  j["rows"] = nlohmann::ordered_json::array();
  const std::vector<std::string> columns = input_columns(v.table.family);
  for (std::size_t i = 0; i < v.table.rows.size(); ++i) {
    const OperatorRow& r = v.table.rows[i];
    nlohmann::ordered_json row;
    const std::vector<std::string> values = input_values(v.table.family, r);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const bool text = columns[c] == "dtype" || columns[c] == "kv_dtype" || columns[c] == "collective";
      if (text)
        row[columns[c]] = values[c];
      else
        row[columns[c]] = std::stoll(values[c]);
    }
    if (!r.kernel.empty()) row["kernel"] = r.kernel;
    if (r.latency_us) row["latency_s"] = *r.latency_us * 1e-6;
    row["bound_s"] = v.bounds[i] ? nlohmann::ordered_json(v.bounds[i]->value) : nlohmann::ordered_json(nullptr);
    if (v.has_expected())
      row["expected_s"] =
          expected_at(v, i) ? nlohmann::ordered_json(expected_at(v, i)->value) : nlohmann::ordered_json(nullptr);
    if (const auto e = error_of(r, v.bounds[i])) row["bound_error"] = *e;
    if (const auto e = error_of(r, expected_at(v, i))) row["expected_error"] = *e;
    j["rows"].push_back(std::move(row));
  }
  j["summary"] = nlohmann::ordered_json::array();
  auto summary_json = [](const ErrorSummary& s) {
    return nlohmann::ordered_json{{"count", s.rows},
                                  {"median_abs_error", s.median_abs},
                                  {"p90_abs_error", s.p90_abs},
                                  {"worst_error", s.worst},
                                  {"measured_at_or_above", s.at_or_above_bound}};
  };
  for (const PredictSummary& s : predict_summaries(v)) {
    nlohmann::ordered_json one{{"rows", s.rows}, {"bound", summary_json(s.bound)}};
    if (s.expected.rows > 0) one["expected"] = summary_json(s.expected);
    j["summary"].push_back(std::move(one));
  }
  return j;
}

std::string predict_csv(const PredictView& v) { return rows_table(v, v.table.has_kernel).csv(); }

std::string predict_text(const PredictView& v) {
  std::string out = fmt::format(
      "{} operators on {}: bound = datasheet roofline of the kernel replayed alone (a lower bound; bytes beyond the L2 "
      "size at HBM bandwidth)",
      to_string(v.table.family), v.gpu.display_name);
  if (v.has_expected())
    out += fmt::format("; expected = calibrated estimate ({}, fitted {})", v.gpu.calibration->framework,
                       v.gpu.calibration->date);
  else
    out +=
        v.gpu.calibration ? "; no calibration for this family" : "; this GPU has no calibration (expected time: none)";
  out += "\n\n" + rows_table(v, false).text("  ");
  const auto summaries = predict_summaries(v);
  if (!summaries.empty()) {
    Table t;
    const bool expected = v.has_expected();
    t.headers = {"rows", "count", "bound median", "bound p90", "measured >= bound"};
    if (expected) t.headers.insert(t.headers.end(), {"expected median", "expected p90", "expected worst"});
    for (const PredictSummary& s : summaries) {
      std::vector<std::string> row = {s.rows, std::to_string(std::max(s.bound.rows, s.expected.rows)),
                                      fmt::format("{:.1f}%", 100 * s.bound.median_abs),
                                      fmt::format("{:.1f}%", 100 * s.bound.p90_abs),
                                      fmt::format("{:.1f}%", 100 * s.bound.at_or_above_bound)};
      if (expected)
        row.insert(row.end(),
                   {fmt::format("{:.1f}%", 100 * s.expected.median_abs),
                    fmt::format("{:.1f}%", 100 * s.expected.p90_abs), fmt::format("{:+.1f}%", 100 * s.expected.worst)});
      t.rows.push_back(std::move(row));
    }
    t.right_aligned.assign(t.headers.size(), true);
    t.right_aligned[0] = false;
    out += "\n  |error| against the measured latency, (predicted - measured) / measured:\n";
    out += t.text("  ");
  }
  return out;
}

}  // namespace ridge
