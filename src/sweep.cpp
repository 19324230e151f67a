#include "sweep.hpp"

#include "error.hpp"
#include "quantity.hpp"

namespace ridge {
namespace {

std::int64_t list_int(const std::string& text, const std::string& option) {
  try {
    return parse_integer(text);
  } catch (const QuantityError& e) {
    throw InputError({}, option, std::string(e.what()) + " in the list");
  }
}

}  // namespace

std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& option, std::int64_t min,
                                         std::int64_t max, std::size_t max_values) {
  std::vector<std::int64_t> values;
  auto add = [&](std::int64_t v) {
    if (v < min || v > max)
      throw InputError(
          {}, option,
          std::to_string(v) + " is out of range; expected " + std::to_string(min) + " to " + std::to_string(max));
    if (values.size() >= max_values)
      throw InputError({}, option, "more than " + std::to_string(max_values) + " values");
    values.push_back(v);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw InputError({}, option, "empty item in \"" + text + "\"");
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) {
      add(list_int(item, option));
    } else {
      const std::size_t colon = item.find(':', dots);
      const std::int64_t lo = list_int(item.substr(0, dots), option);
      const std::int64_t hi =
          list_int(item.substr(dots + 2, colon == std::string::npos ? std::string::npos : colon - dots - 2), option);
      if (hi < lo) throw InputError({}, option, "range \"" + item + "\" runs backwards");
      std::string step = colon == std::string::npos ? "+1" : item.substr(colon + 1);
      if (step.size() < 2 || (step[0] != 'x' && step[0] != '+'))
        throw InputError({}, option, "range step \"" + step + "\" must be +N (add) or xN (multiply), e.g. 1..256:x2");
      const std::int64_t by = list_int(step.substr(1), option);
      if (step[0] == 'x' ? by < 2 : by < 1)
        throw InputError({}, option, "range step \"" + step + "\" would never reach the end");
      if (step[0] == 'x' && lo < 1) throw InputError({}, option, "a geometric range must start at 1 or more");
      for (std::int64_t v = lo; v <= hi;) {
        add(v);
        if (step[0] == 'x') {
          if (v > hi / by) break;
          v *= by;
        } else {
          if (v > hi - by) break;
          v += by;
        }
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

SweepEvaluator::SweepEvaluator(const ModelSpec& m, const GpuSpec& g, const MemoryQuery& base,
                               const std::vector<WeightFormat>& formats, std::int64_t gen, double inter_node_bandwidth,
                               TimeBasis basis)
    : model_(m),
      budget_(memory_budget(g, base.memory_utilization)),
      gen_(gen),
      topology_(topology_for(g, base.tp, base.pp, inter_node_bandwidth, basis)) {
  for (const WeightFormat& f : formats) {
    PerFormat p;
    p.query = base;
    p.query.weights = f;
    p.shapes = compile_shapes(m, f, base.tp);
    p.ceilings = ceilings_for(g, p.shapes, basis);
    p.stage_weights = stage_weights(m, f, base.tp, base.pp);
    per_format_.push_back(std::move(p));
  }
}

SweepRow SweepEvaluator::evaluate(std::size_t format, std::int64_t batch, std::int64_t context) const {
  const PerFormat& p = per_format_[format];
  SweepRow row;
  row.precision = p.query.weights.name;
  row.kv_dtype = to_string(p.query.kv_dtype);
  row.batch = batch;
  row.context = context;
  row.gen = gen_;
  const ServiceEstimate e = estimate_service(
      p.shapes, p.ceilings, ServiceQuery{batch, context, gen_, p.query.attention, p.query.kv_dtype, topology_, 0});
  row.ttft_s = e.ttft.value;
  row.tpot_s = e.tpot.value;
  row.e2e_s = e.e2e.value;
  row.throughput_tokens_per_s = e.throughput_tokens_per_s;
  row.prefill_intensity = e.prefill.intensity();
  row.decode_intensity = e.decode_step.intensity();
  row.prefill_compute_bound = e.prefill.compute_bound();
  row.decode_compute_bound = e.decode_step.compute_bound();

  MemoryQuery q = p.query;
  q.batch = batch;
  q.context = context + gen_;  // the cache holds prompt and generated tokens at the end
  try {
    const std::vector<StageMemory> stages = stage_memory(model_, q, p.stage_weights);
    const StageMemory* worst = &stages.front();
    row.fits = true;
    for (const auto& s : stages) {
      if (s.total() > worst->total()) worst = &s;
      row.fits = row.fits && s.total() <= budget_;
    }
    row.weights_bytes = worst->weights.value;
    row.kv_cache_bytes = worst->kv_cache.value;
    row.activation_bytes = worst->activations.value;
    row.per_gpu_bytes = worst->total().value;
  } catch (const OverflowError&) {
    row.fits = false;  // beyond 64-bit byte counts: certainly does not fit
  }
  return row;
}

}  // namespace ridge
