#include "predict.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "memory.hpp"
#include "ops.hpp"
#include "parallel.hpp"
#include "roofline.hpp"
#include "text.hpp"

namespace ridge {

std::string_view to_string(OperatorFamily f) {
  switch (f) {
    case OperatorFamily::gemm:
      return "gemm";
    case OperatorFamily::context_attention:
      return "context_attention";
    case OperatorFamily::generation_attention:
      return "generation_attention";
    case OperatorFamily::nccl:
      return "nccl";
  }
  return "?";
}

namespace {

struct Schema {
  OperatorFamily family;
  std::vector<std::string> required;
};

const std::vector<Schema>& schemas() {
  static const std::vector<Schema> all = {
      {OperatorFamily::gemm, {"dtype", "m", "n", "k"}},
      {OperatorFamily::context_attention,
       {"batch", "prompt_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"}},
      {OperatorFamily::generation_attention,
       {"batch", "kv_tokens", "heads", "kv_heads", "head_dim", "window", "kv_dtype"}},
      {OperatorFamily::nccl, {"collective", "dtype", "gpus", "message_bytes"}},
  };
  return all;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

/// Reads one table, field by field, with positions for errors.
class TableReader {
 public:
  explicit TableReader(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(int line, int column, const std::string& field, const std::string& message) const {
    throw InputError(Location{file_, line, column}, field, message);
  }

  std::int64_t integer(std::string_view text, int line, int column, const std::string& field, std::int64_t min,
                       std::int64_t max) const {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
      fail(line, column, field, "expected an integer, found \"" + std::string(text) + "\"");
    if (v < min || v > max)
      fail(line, column, field,
           std::to_string(v) + " is out of range; expected " + std::to_string(min) + " to " + std::to_string(max));
    return v;
  }

  double positive(std::string_view text, int line, int column, const std::string& field) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
      fail(line, column, field, "expected a number, found \"" + std::string(text) + "\"");
    if (v <= 0) fail(line, column, field, "must be positive, found " + std::string(text));
    return v;
  }

  std::string one_of(std::string_view text, int line, int column, const std::string& field,
                     const std::vector<std::string>& allowed) const {
    const std::string s(text);
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      fail(line, column, field, "\"" + s + "\" is not one of " + join(allowed) + did_you_mean(s, allowed));
    return s;
  }

 private:
  std::string file_;
};

}  // namespace

OperatorTable read_operator_table(std::string_view text, const std::string& file) {
  TableReader r(file);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty() || lines.front().empty()) r.fail(1, 1, "header", "empty file: expected a CSV header");

  // Header: a known column set decides the family.
  const std::vector<std::string_view> header = split(lines.front());
  std::map<std::string, std::size_t> at;  // column name -> index
  std::vector<int> header_columns;        // 1-based column of each header cell
  int col = 1;
  for (std::size_t i = 0; i < header.size(); ++i) {
    header_columns.push_back(col);
    const std::string name(header[i]);
    if (at.count(name)) r.fail(1, col, name, "repeated column");
    at[name] = i;
    col += static_cast<int>(header[i].size()) + 1;
  }
  const Schema* schema = nullptr;
  for (const Schema& s : schemas())
    if (std::all_of(s.required.begin(), s.required.end(), [&](const std::string& c) { return at.count(c) > 0; }))
      schema = &s;
  if (!schema)
    r.fail(1, 1, "header",
           "not a measured table's header: expected the columns of gemm (dtype,m,n,k), context_attention "
           "(batch,prompt_tokens,heads,kv_heads,head_dim,window,kv_dtype), generation_attention "
           "(batch,kv_tokens,...) or nccl (collective,dtype,gpus,message_bytes), each with optional kernel "
           "and latency_us");
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name(header[i]);
    const bool known = name == "kernel" || name == "latency_us" ||
                       std::find(schema->required.begin(), schema->required.end(), name) != schema->required.end();
    if (!known) {
      std::vector<std::string> allowed = schema->required;
      allowed.push_back("kernel");
      allowed.push_back("latency_us");
      r.fail(1, header_columns[i], name,
             "unknown column for a " + std::string(to_string(schema->family)) + " table" + did_you_mean(name, allowed));
    }
  }

  OperatorTable t;
  t.family = schema->family;
  t.measured = at.count("latency_us") > 0;
  t.has_kernel = at.count("kernel") > 0;
  for (std::size_t li = 1; li < lines.size(); ++li) {
    const int line = static_cast<int>(li) + 1;
    if (lines[li].empty()) continue;
    const std::vector<std::string_view> cells = split(lines[li]);
    if (cells.size() != header.size())
      r.fail(line, 1, "row",
             "has " + std::to_string(cells.size()) + " fields; the header has " + std::to_string(header.size()));
    std::vector<int> columns;  // 1-based column where each cell starts
    int c = 1;
    for (const auto& cell : cells) {
      columns.push_back(c);
      c += static_cast<int>(cell.size()) + 1;
    }
    auto cell = [&](const char* name) { return cells[at.at(name)]; };
    auto column = [&](const char* name) { return columns[at.at(name)]; };
    auto count = [&](const char* name, std::int64_t min, std::int64_t max) {
      return r.integer(cell(name), line, column(name), name, min, max);
    };
    OperatorRow row;
    row.line = line;
    switch (t.family) {
      case OperatorFamily::gemm:
        row.dtype =
            r.one_of(cell("dtype"), line, column("dtype"), "dtype", {"bf16", "fp16", "fp8", "fp8-block128", "nvfp4"});
        row.m = count("m", 1, 1'000'000'000);
        row.n = count("n", 1, 1'000'000'000);
        row.k = count("k", 1, 1'000'000'000);
        break;
      case OperatorFamily::context_attention:
      case OperatorFamily::generation_attention: {
        const char* tokens = t.family == OperatorFamily::context_attention ? "prompt_tokens" : "kv_tokens";
        row.batch = count("batch", 1, 1'000'000);
        row.tokens = count(tokens, 1, 1'000'000'000);
        row.heads = count("heads", 1, 100'000);
        row.kv_heads = count("kv_heads", 1, 100'000);
        if (row.heads % row.kv_heads != 0)
          r.fail(line, column("kv_heads"), "kv_heads",
                 std::to_string(row.kv_heads) + " does not divide heads (" + std::to_string(row.heads) + ")");
        row.head_dim = count("head_dim", 1, 100'000);
        row.window = count("window", 0, 1'000'000'000);
        row.kv_dtype =
            *parse_dtype(r.one_of(cell("kv_dtype"), line, column("kv_dtype"), "kv_dtype", {"bf16", "fp16", "fp8"}));
        break;
      }
      case OperatorFamily::nccl:
        row.collective = r.one_of(cell("collective"), line, column("collective"), "collective",
                                  {"all_reduce", "all_gather", "reduce_scatter", "alltoall"});
        row.dtype = r.one_of(cell("dtype"), line, column("dtype"), "dtype", {"fp16", "bf16", "fp32", "fp8", "int8"});
        row.gpus = count("gpus", 2, 4096);
        row.message_bytes = static_cast<double>(count("message_bytes", 1, 1'000'000'000'000));
        break;
    }
    if (at.count("kernel")) row.kernel = std::string(cell("kernel"));
    if (t.measured) row.latency_us = r.positive(cell("latency_us"), line, column("latency_us"), "latency_us");
    t.rows.push_back(std::move(row));
  }
  return t;
}

Ceilings format_ceilings(const GpuSpec& g, const WeightFormat& f) {
  ModelShapes s;
  s.gemm_math = f.compute;
  s.attention_math = f.unquantised;
  s.fp4_weights = f.fp4_weights;
  return ceilings_for(g, s);
}

namespace {

Seconds time_of(const std::vector<Op>& ops, const Ceilings& c) { return phase_totals(ops, c).time; }

/// The measured rows replay one kernel on the same buffers (CUDA graph, measured/README.md), so
/// up to an L2's worth of its data can be served from L2 instead of HBM. No vendor publishes an
/// L2 bandwidth that a bound could rely on, so a bound that must hold counts only the bytes that
/// cannot be in L2, max(0, bytes - L2 size), at HBM bandwidth. Without this, L40S's 96 MB L2
/// makes 14 % of its bf16 GEMM rows beat an HBM-only "bound". A model's layers each bring
/// their own weights, which is why commands keep every byte at HBM bandwidth.
std::vector<Op> replayed_on_warm_l2(std::vector<Op> ops, Bytes l2) {
  double total = 0;
  for (const Op& op : ops) total += op.bytes();
  if (total <= 0) return ops;
  const double from_hbm = std::max(0.0, total - l2.as_double()) / total;
  for (Op& op : ops) {
    op.bytes_read *= from_hbm;
    op.bytes_written *= from_hbm;
  }
  return ops;
}

}  // namespace

std::optional<Seconds> operator_bound(const GpuSpec& g, OperatorFamily family, const OperatorRow& r) {
  switch (family) {
    case OperatorFamily::gemm: {
      // The weight as the memory engine stores it in this format (scales included); bf16
      // activations in (fp8 formats: quantised to 1 byte first), bf16 out.
      const WeightFormat f = *weight_format(r.dtype == "fp16" ? "fp16" : r.dtype);
      const WeightTensor w{"w", r.n, r.k, true};
      const GemmShape shape{"gemm", static_cast<double>(r.n), static_cast<double>(r.k), tensor_bytes(w, f).as_double()};
      const double input_bytes = f.activations_quantised ? bits_of(f.compute) / 8.0 : 2.0;
      const Op op = gemm_op(shape, Phase::prefill, OpUnit::gemm, 1, static_cast<double>(r.m), input_bytes, 2.0);
      return time_of(replayed_on_warm_l2({op}, g.l2_cache), format_ceilings(g, f));
    }
    case OperatorFamily::context_attention:
    case OperatorFamily::generation_attention: {
      AttentionShape at;
      at.q_heads = static_cast<double>(r.heads);
      at.kv_heads = static_cast<double>(r.kv_heads);
      at.qk_dim = at.v_dim = static_cast<double>(r.head_dim);
      const bool prefill = family == OperatorFamily::context_attention;
      const double B = static_cast<double>(r.batch), n = static_cast<double>(r.tokens);
      const double w = static_cast<double>(r.window);
      const double new_tokens = prefill ? n : 1;
      // A prompt from an empty cache reads every key once; a decode step its window.
      const double keys = prefill || w <= 0 ? n : std::min(n, w);
      const double kv_bytes = bits_of(r.kv_dtype) / 8.0;
      const AttentionPass pass{B, new_tokens, keys, B * causal_pairs(new_tokens, n, w),
                               attention_kv_read_bytes(at, B, keys, 2.0, kv_bytes)};
      std::vector<Op> ops;
      attention_ops(at, prefill ? Phase::prefill : Phase::decode, 1, pass, AttentionImpl::flash, 2.0,
                    [&](const Op& op) { ops.push_back(op); });
      return time_of(replayed_on_warm_l2(std::move(ops), g.l2_cache), format_ceilings(g, *weight_format("bf16")));
    }
    case OperatorFamily::nccl: {
      const CollectiveGroup group = topology_for(g, r.gpus, 1).tp_group;
      if (r.collective == "all_reduce") return all_reduce_cost(r.message_bytes, group).time;
      if (r.collective == "all_gather") return all_gather_cost(r.message_bytes, group).time;
      if (r.collective == "reduce_scatter") return reduce_scatter_cost(r.message_bytes, group).time;
      if (r.collective == "alltoall") return all_to_all_cost(r.message_bytes, group).time;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

ErrorSummary summarize_errors(const std::vector<double>& errors) {
  ErrorSummary s;
  s.rows = errors.size();
  if (errors.empty()) return s;
  std::vector<double> abs;
  abs.reserve(errors.size());
  std::size_t below_measured = 0;
  for (double e : errors) {
    abs.push_back(std::abs(e));
    if (std::abs(e) > std::abs(s.worst)) s.worst = e;
    if (e <= 0) ++below_measured;  // prediction at or below the measurement
  }
  std::sort(abs.begin(), abs.end());
  auto rank = [&](double q) {  // nearest rank
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(abs.size())));
    return abs[std::min(abs.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.median_abs = rank(0.5);
  s.p90_abs = rank(0.9);
  s.at_or_above_bound = static_cast<double>(below_measured) / static_cast<double>(errors.size());
  return s;
}

std::string_view m_range(std::int64_t m) {
  return m <= 16 ? "1-16" : m <= 128 ? "17-128" : m <= 1024 ? "129-1024" : ">1024";
}

}  // namespace ridge
