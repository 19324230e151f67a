#include "step_cost.hpp"

namespace ridge {

StepCost::StepCost(ModelShapes shapes, Ceilings ceilings, Topology topology, AttentionImpl attention, DType kv_dtype)
    : shapes_(std::move(shapes)),
      ceilings_(std::move(ceilings)),
      topology_(std::move(topology)),
      attention_(attention),
      kv_dtype_(kv_dtype),
      kv_bytes_(bits_of(kv_dtype) / 8.0),
      imbalance_(ridge::stage_imbalance(shapes_, topology_.pp)) {
  for (const LayerGroup& g : shapes_.groups) all_global_ = all_global_ && g.attention == AttentionKind::global;
}

const StepCost::Body& StepCost::body(std::int64_t tokens, std::int64_t sequences) {
  const std::uint64_t key = (static_cast<std::uint64_t>(tokens) << 32) | static_cast<std::uint64_t>(sequences);
  if (auto it = bodies_.find(key); it != bodies_.end()) return it->second;
  Body b;
  PhaseQuery q{Phase::prefill, 1, tokens, tokens, attention_, kv_dtype_};
  q.logit_rows = sequences;
  q.with_attention = false;
  for_each_op(shapes_, q,
              [&](const Op& op) { b.ops += static_cast<double>(op.count) * op_time(op, ceilings_).time().value; });
  const CommTime comm = comm_time(
      comm_ops(shapes_, topology_, Phase::prefill, static_cast<double>(tokens), static_cast<double>(sequences)));
  b.tp_comm = comm.tensor_parallel.value;
  b.pp_send = comm.pipeline.value;
  return bodies_.emplace(key, b).first->second;
}

double StepCost::decode_attention(double decodes, double new_tokens, const double* keys_sum,
                                  const double* pairs_sum) const {
  if (decodes <= 0) return 0;
  double t = 0;
  auto add = [&](const Op& op) { t += static_cast<double>(op.count) * op_time(op, ceilings_).time().value; };
  for (std::size_t g = 0; g < shapes_.groups.size(); ++g)
    group_attention_ops(shapes_, shapes_.groups[g], Phase::decode, decodes, new_tokens, keys_sum[g] / decodes,
                        pairs_sum[g], attention_, kv_bytes_, add);
  return t;
}

StepTime StepCost::uniform_decode(std::int64_t batch, std::int64_t new_tokens, std::int64_t context) {
  std::vector<double> keys(groups()), pairs(groups());
  const auto b = static_cast<double>(batch);
  for (std::size_t g = 0; g < groups(); ++g) {
    keys[g] = b * this->keys(g, new_tokens, context);
    pairs[g] = b * this->pairs(g, new_tokens, context);
  }
  // Logits for every new token (a verification pass checks each draft position).
  return step(batch * new_tokens, batch * new_tokens,
              decode_attention(b, static_cast<double>(new_tokens), keys.data(), pairs.data()));
}

double StepCost::chunk_attention(std::int64_t tokens, std::int64_t context) const {
  double t = 0;
  auto add = [&](const Op& op) { t += static_cast<double>(op.count) * op_time(op, ceilings_).time().value; };
  const auto n = static_cast<double>(tokens), c = static_cast<double>(context);
  for (const LayerGroup& g : shapes_.groups)
    group_attention_ops(shapes_, g, Phase::prefill, 1.0, n, g.span(n, c), g.pairs(n, c), attention_, kv_bytes_, add);
  return t;
}

StepTime StepCost::step(std::int64_t tokens, std::int64_t sequences, double attention_s) {
  const Body& b = body(tokens, sequences);
  const double pass = b.ops + attention_s + b.tp_comm;  // T + C
  const double p = static_cast<double>(topology_.pp);
  return StepTime{p > 1 ? imbalance_ * pass / p : pass, pass + b.pp_send};
}

}  // namespace ridge
