#include "validate/cases.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "format.hpp"

namespace ridge::validate {

std::string_view to_string(Family f) {
  switch (f) {
    case Family::stream:
      return "stream";
    case Family::gemm:
      return "gemm";
    case Family::attention:
      return "attention";
    case Family::decode:
      return "decode";
    case Family::memory:
      return "memory";
  }
  return "?";
}

std::vector<std::string> family_names() { return {"stream", "gemm", "attention", "decode", "memory"}; }

std::optional<Family> parse_family(std::string_view name) {
  for (Family f : {Family::stream, Family::gemm, Family::attention, Family::decode, Family::memory})
    if (to_string(f) == name) return f;
  return std::nullopt;
}

std::string_view to_string(GemmType t) {
  switch (t) {
    case GemmType::bf16:
      return "bf16";
    case GemmType::fp16:
      return "fp16";
    case GemmType::fp8:
      return "fp8";
    case GemmType::int8:
      return "int8";
  }
  return "?";
}

std::string_view to_string(StreamKind k) {
  switch (k) {
    case StreamKind::read:
      return "read";
    case StreamKind::write:
      return "write";
    case StreamKind::copy:
      return "copy";
  }
  return "?";
}

std::string_view to_string(AttentionKernel k) { return k == AttentionKernel::naive ? "naive" : "flash"; }

Prediction predict(std::vector<Op> ops, const Ceilings& c) {
  Prediction p;
  p.ceilings = c;
  p.totals = phase_totals(ops, c);
  for (const Op& op : ops) {
    const OpTime t = op_time(op, c);
    const double n = static_cast<double>(op.count);
    p.compute.value += n * t.compute.value;
    p.memory.value += n * t.memory.value;
  }
  p.ops = std::move(ops);
  return p;
}

std::vector<std::int64_t> decode_rows() { return {1, 2, 4, 8, 16, 32, 64, 128, 256}; }
std::vector<std::int64_t> prefill_rows() { return {512, 1024, 2048, 4096, 8192, 16384}; }

std::vector<GemmShape> distinct_layer_gemms(const ModelShapes& s) {
  std::vector<GemmShape> out;
  auto add = [&](const GemmShape& g) {
    if (g.n <= 0 || g.k <= 0) return;
    for (const GemmShape& seen : out)
      if (seen.n == g.n && seen.k == g.k) return;
    out.push_back(g);
  };
  for (const LayerGroup& g : s.groups) {
    for (const GemmShape& x : g.attention_in) add(x);
    add(g.attention_out);
    for (const GemmShape& x : g.mlp) add(x);
    for (const GemmShape& x : g.expert) add(x);
  }
  return out;
}

std::string_view weight_format_name(GemmType t) { return to_string(t); }

double gemm_output_bytes(GemmType t) {
  // cuBLASLt: fp8 e4m3 inputs write bf16 here; int8 IMMA accumulates and writes int32.
  return t == GemmType::int8 ? 4.0 : 2.0;
}

namespace {

ModelShapes shapes_for(const ModelSpec& model, std::string_view format) {
  return compile_shapes(model, *weight_format(format), 1);
}

/// The model with another attention geometry (head-dim variants keep the model's heads).
AttentionShape attention_shape(std::int64_t q_heads, std::int64_t kv_heads, std::int64_t head_dim) {
  AttentionShape at;
  at.q_heads = static_cast<double>(q_heads);
  at.kv_heads = static_cast<double>(kv_heads);
  at.qk_dim = at.v_dim = static_cast<double>(head_dim);
  return at;
}

}  // namespace

Prediction predict_gemm(const ModelSpec& model, const GpuSpec& gpu, GemmType type, const GemmShape& w, std::int64_t m) {
  const ModelShapes s = shapes_for(model, weight_format_name(type));
  // The same weight matrix as the memory engine stores it in this format (scales included).
  GemmShape shape = w;
  for (const GemmShape& g : distinct_layer_gemms(s))
    if (g.n == w.n && g.k == w.k) shape = g;
  const Phase phase = m <= 256 ? Phase::decode : Phase::prefill;
  std::vector<Op> ops = {
      gemm_op(shape, phase, OpUnit::gemm, 1, static_cast<double>(m), s.gemm_input_bytes, gemm_output_bytes(type))};
  return predict(std::move(ops), ceilings_for(gpu, s));
}

Prediction predict_attention(const GpuSpec& gpu, const ModelSpec& model, const AttentionProblem& p) {
  const AttentionShape at = attention_shape(p.q_heads, p.kv_heads, p.head_dim);
  const double B = static_cast<double>(p.batch), n = static_cast<double>(p.seq);
  const double a = 2.0;  // bf16 activations and cache
  const double pairs = p.causal ? B * causal_pairs(n, n, 0) : B * n * n;
  const AttentionPass pass{B, n, n, pairs, attention_kv_read_bytes(at, B, n, a, a)};
  std::vector<Op> ops;
  const AttentionImpl impl = p.kernel == AttentionKernel::naive ? AttentionImpl::naive : AttentionImpl::flash;
  attention_ops(at, Phase::prefill, 1, pass, impl, a, [&](const Op& op) { ops.push_back(op); });
  return predict(std::move(ops), ceilings_for(gpu, shapes_for(model, "bf16")));
}

Prediction predict_decode(const GpuSpec& gpu, const ModelSpec& model, const DecodeProblem& p) {
  const AttentionShape at = attention_shape(p.q_heads, p.kv_heads, p.head_dim);
  const double B = static_cast<double>(p.batch), n = static_cast<double>(p.context);
  const double a = 2.0;
  const AttentionPass pass{B, 1, n, B * causal_pairs(1, n, 0), attention_kv_read_bytes(at, B, n, a, a)};
  std::vector<Op> ops;
  attention_ops(at, Phase::decode, 1, pass, AttentionImpl::flash, a, [&](const Op& op) { ops.push_back(op); });
  return predict(std::move(ops), ceilings_for(gpu, shapes_for(model, "bf16")));
}

Prediction predict_stream(const GpuSpec& gpu, const ModelSpec& model, const StreamShape& s) {
  Op op;
  op.name = s.kind == StreamKind::read ? "stream.read" : s.kind == StreamKind::write ? "stream.write" : "stream.copy";
  op.unit = OpUnit::vector;
  const double n = static_cast<double>(s.bytes);
  op.bytes_read = s.kind == StreamKind::write ? 0.0 : n;
  op.bytes_written = s.kind == StreamKind::read ? 0.0 : n;
  return predict({op}, ceilings_for(gpu, shapes_for(model, "bf16")));
}

MemoryPrediction predict_memory(const ModelSpec& model, const MemoryProblem& p) {
  MemoryPrediction r;
  r.kv_cache = kv_cache_bytes(model, DType::bf16, p.context, p.batch, 1, 0, model.layers);
  ActivationQuery q;
  q.batch = p.batch;
  q.context = p.context;
  q.attention = AttentionImpl::naive;
  r.naive_activations = layer_activation_bytes(model, 0, q);
  q.attention = AttentionImpl::flash;
  r.flash_activations = layer_activation_bytes(model, 0, q);
  return r;
}

std::uint64_t stream_bytes(std::uint64_t l2_bytes, std::uint64_t free_bytes) {
  const std::uint64_t lo = 256ull << 20, hi = 2ull << 30;
  std::uint64_t b = std::clamp<std::uint64_t>(64 * l2_bytes, lo, hi);
  b = std::min<std::uint64_t>(b, free_bytes / 6);
  return b / 4096 * 4096;  // whole 16-byte vectors, page-aligned
}

namespace {

bool wanted(const PlanOptions& o, Family f) {
  return o.families.empty() || std::find(o.families.begin(), o.families.end(), f) != o.families.end();
}

std::string gib_text(double bytes) { return fmt::format("{:.2f} GiB", bytes / static_cast<double>(kGiB)); }

/// Waives a case whose buffers would not fit in 70% of the free device memory.
void waive_if_too_big(Case& c, double bytes, const PlanOptions& o) {
  if (c.waived.empty() && bytes > 0.7 * static_cast<double>(o.free_bytes))
    c.waived =
        "needs " + gib_text(bytes) + " of device memory, " + gib_text(static_cast<double>(o.free_bytes)) + " free";
}

void add_stream_cases(std::vector<Case>& out, const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o) {
  const std::uint64_t bytes = stream_bytes(o.l2_bytes, o.free_bytes);
  for (StreamKind k : {StreamKind::read, StreamKind::write, StreamKind::copy}) {
    Case c;
    c.family = Family::stream;
    c.name = "stream." + std::string(to_string(k));
    c.shape = gib_text(static_cast<double>(bytes)) +
              (k == StreamKind::copy ? " -> " + gib_text(static_cast<double>(bytes)) : "");
    c.dtype = "u32x4";
    const StreamShape s{k, bytes};
    c.problem = s;
    c.prediction = predict_stream(gpu, model, s);
    out.push_back(std::move(c));
  }
}

void add_gemm_cases(std::vector<Case>& out, const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o) {
  const std::vector<GemmShape> all = distinct_layer_gemms(shapes_for(model, "bf16"));
  std::vector<GemmShape> shapes = all;
  std::vector<std::int64_t> rows = decode_rows();
  for (std::int64_t r : prefill_rows()) rows.push_back(r);
  std::vector<GemmType> types = {GemmType::bf16, GemmType::fp16, GemmType::fp8, GemmType::int8};
  if (o.quick) {
    // The first projection and the largest matrix; rows across the ridge point.
    shapes = {all.front()};
    auto largest = std::max_element(all.begin(), all.end(),
                                    [](const GemmShape& a, const GemmShape& b) { return a.n * a.k < b.n * b.k; });
    if (largest->n != all.front().n || largest->k != all.front().k) shapes.push_back(*largest);
    rows = {1, 16, 256, 2048, 8192};
    types = {GemmType::bf16, GemmType::fp8};
  }
  for (GemmType t : types) {
    for (const GemmShape& w : shapes) {
      for (std::int64_t m : rows) {
        Case c;
        c.family = Family::gemm;
        c.name = fmt::format("gemm.{}.{}.m{}", to_string(t), w.name, m);
        c.shape = fmt::format("M={} N={} K={}", m, w.n, w.k);
        c.dtype = std::string(to_string(t));
        const GemmProblem p{t, m, static_cast<std::int64_t>(w.n), static_cast<std::int64_t>(w.k)};
        c.problem = p;
        const DType math = t == GemmType::bf16   ? DType::bf16
                           : t == GemmType::fp16 ? DType::fp16
                           : t == GemmType::fp8  ? DType::fp8
                                                 : DType::int8;
        if (!gpu.peak(math)) {
          c.waived = gpu.name + " lists no " + c.dtype + " tensor peak";
        } else {
          c.prediction = predict_gemm(model, gpu, t, w, m);
        }
        if (c.waived.empty() && t == GemmType::fp8 && !o.device_fp8)
          c.waived = "the device has no fp8 tensor cores (needs compute capability 8.9 or 9.0+)";
        const double in = t == GemmType::fp8 || t == GemmType::int8 ? 1.0 : 2.0;
        const double elems_out = static_cast<double>(m) * w.n;
        waive_if_too_big(c, (m * w.k + w.n * w.k) * in + elems_out * (gemm_output_bytes(t) + 4.0), o);
        out.push_back(std::move(c));
      }
    }
  }
}

/// The model's head geometry, or why its attention is not one these kernels run.
std::string attention_waiver(const ModelSpec& m) {
  if (m.mla) return m.name + " uses MLA; the validate kernels run MHA/GQA attention";
  const std::int64_t g = m.heads / m.kv_heads;
  if (g != 1 && g != 2 && g != 4 && g != 8 && g != 16)
    return "query group of " + std::to_string(g) + " heads per KV head (kernels take 1, 2, 4, 8, 16)";
  return "";
}

void add_attention_cases(std::vector<Case>& out, const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o) {
  const std::string waiver = attention_waiver(model);
  const std::int64_t own_d = model.head_dim;
  // The model's head size, and the other of the two the fused kernel supports.
  std::vector<std::int64_t> dims = {own_d == 64 ? 64 : 128, own_d == 64 ? 128 : 64};
  struct Pick {
    AttentionKernel k;
    std::int64_t d;
    bool causal;
    std::int64_t n;
  };
  std::vector<Pick> picks;
  if (o.quick) {
    picks = {{AttentionKernel::flash, dims[0], true, 4096},
             {AttentionKernel::flash, dims[1], false, 2048},
             // Naive non-causal: cuBLAS computes the whole n x n square either way, while
             // every ridge FLOP count (planner included) counts the causal half.
             {AttentionKernel::naive, dims[0], false, 2048}};
  } else {
    for (AttentionKernel k : {AttentionKernel::naive, AttentionKernel::flash})
      for (std::int64_t d : dims)
        for (bool causal : {true, false})
          for (std::int64_t n : prefill_rows()) picks.push_back({k, d, causal, n});
  }
  for (const Pick& p : picks) {
    Case c;
    c.family = Family::attention;
    const AttentionProblem a{p.k, 1, p.n, model.heads, model.mla ? model.heads : model.kv_heads, p.d, p.causal};
    c.name = fmt::format("attention.{}.{}.d{}.n{}", to_string(p.k), p.causal ? "causal" : "full", p.d, p.n);
    c.shape = fmt::format("B=1 n={} H={}/{} d={}{}", p.n, a.q_heads, a.kv_heads, p.d, p.causal ? " causal" : "");
    c.dtype = "bf16";
    c.problem = a;
    c.waived = waiver;
    if (c.waived.empty()) c.prediction = predict_attention(gpu, model, a);
    const double n = static_cast<double>(p.n);
    const double qkvo = n * static_cast<double>((2 * a.q_heads + 2 * a.kv_heads) * p.d) * 2.0;
    const double scores = p.k == AttentionKernel::naive ? 2.0 * static_cast<double>(a.q_heads) * n * n * 2.0 : 0.0;
    waive_if_too_big(c, qkvo + scores + n * static_cast<double>(a.q_heads * p.d) * 4.0, o);
    out.push_back(std::move(c));
  }
}

void add_decode_cases(std::vector<Case>& out, const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o) {
  const std::string waiver = attention_waiver(model);
  struct Pick {
    std::int64_t b, n, d;
  };
  std::vector<Pick> picks;
  const std::int64_t d = model.head_dim == 64 ? 64 : 128;
  if (o.quick) {
    picks = {{1, 4096, d}, {32, 4096, d}};
  } else {
    for (std::int64_t b : {1, 8, 32, 128})
      for (std::int64_t n : {1024, 4096, 16384, 32768}) picks.push_back({b, n, d});
    picks.push_back({8, 4096, d == 64 ? 128 : 64});
  }
  for (const Pick& p : picks) {
    Case c;
    c.family = Family::decode;
    const DecodeProblem dp{p.b, p.n, model.heads, model.mla ? model.heads : model.kv_heads, p.d};
    c.name = fmt::format("decode.b{}.n{}.d{}", p.b, p.n, p.d);
    c.shape = fmt::format("B={} ctx={} H={}/{} d={}", p.b, p.n, dp.q_heads, dp.kv_heads, p.d);
    c.dtype = "bf16";
    c.problem = dp;
    c.waived = waiver;
    if (c.waived.empty()) c.prediction = predict_decode(gpu, model, dp);
    const double kv = 2.0 * static_cast<double>(p.b * dp.kv_heads * p.n * p.d) * 2.0;
    waive_if_too_big(c, kv, o);
    out.push_back(std::move(c));
  }
}

void add_memory_cases(std::vector<Case>& out, const ModelSpec& model, const PlanOptions& o) {
  Case c;
  c.family = Family::memory;
  const std::int64_t context = std::min<std::int64_t>(o.quick ? 4096 : 8192, model.max_position);
  const MemoryProblem p{
      model.layers,   1, context, model.hidden_size, model.heads, model.kv_heads, model.head_dim, model.ffn_size,
      model.gated_mlp};
  c.name = fmt::format("memory.b1.n{}", context);
  c.shape = fmt::format("{} B=1 ctx={}", model.name, context);
  c.dtype = "bf16";
  c.problem = p;
  if (model.mla || model.moe)
    c.waived = "the memory case allocates dense MHA/GQA layers";
  else if (model.has_local_attention())
    c.waived =
        "the memory case allocates every layer's cache in full; this model's sliding or chunked layers keep less";
  if (c.waived.empty()) {
    c.memory = predict_memory(model, p);
    waive_if_too_big(c, c.memory.kv_cache.as_double() + c.memory.naive_activations.as_double(), o);
  }
  out.push_back(std::move(c));
}

}  // namespace

std::vector<Case> make_cases(const ModelSpec& model, const GpuSpec& gpu, const PlanOptions& o) {
  std::vector<Case> out;
  if (wanted(o, Family::stream)) add_stream_cases(out, model, gpu, o);
  if (wanted(o, Family::gemm)) add_gemm_cases(out, model, gpu, o);
  if (wanted(o, Family::attention)) add_attention_cases(out, model, gpu, o);
  if (wanted(o, Family::decode)) add_decode_cases(out, model, gpu, o);
  if (wanted(o, Family::memory)) add_memory_cases(out, model, o);
  return out;
}

}  // namespace ridge::validate
