// One serving-engine step: any mix of prefill chunks and decodes, timed by the one operator
// engine. Everything but attention depends only on the step's token and sequence counts
// (cached); attention is per sequence, at its own context, through group_attention_ops.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ops.hpp"
#include "parallel.hpp"
#include "roofline.hpp"

namespace ridge {

/// A step's cost on one replica (seconds).
struct StepTime {
  /// How long the step holds the slowest pipeline stage: u · (T + C) / p, when the next step may
  /// start (T + C without PP: steps run back to back).
  double busy = 0;
  /// From its start to its tokens: T + C + S (operators, TP collectives, stage-to-stage sends).
  double latency = 0;
};

class StepCost {
 public:
  StepCost(ModelShapes shapes, Ceilings ceilings, Topology topology, AttentionImpl attention, DType kv_dtype);

  /// Layer groups with their own attention span (global, sliding W, chunked C).
  std::size_t groups() const { return shapes_.groups.size(); }
  /// True when every layer attends all its context (a decode's keys = its context).
  bool all_global() const { return all_global_; }
  /// Keys a decoding sequence at `context` tokens attends in group `group`'s layers.
  double decode_keys(std::size_t group, std::int64_t context) const {
    return shapes_.groups[group].span(1, static_cast<double>(context));
  }

  /// Operators outside attention at `tokens` new tokens of `sequences` sequences (each gets
  /// logits and a sampled token), and the collectives around them. Cached per (tokens, sequences).
  struct Body {
    double ops = 0;      ///< operator time on one rank
    double tp_comm = 0;  ///< TP collectives, all stages
    double pp_send = 0;  ///< stage-to-stage sends
  };
  const Body& body(std::int64_t tokens, std::int64_t sequences);

  /// Attention of `decodes` sequences taking one token each; keys_sum[g]: Σ over them of the
  /// keys group g's layers attend. One kernel per layer over all of them, at their mean keys.
  double decode_attention(double decodes, const double* keys_sum) const {
    return decode_attention(decodes, 1.0, keys_sum, keys_sum);
  }
  /// The same with `new_tokens` per sequence (speculative verification: K + 1), pairs_sum[g]
  /// their query–key pairs in all.
  double decode_attention(double decodes, double new_tokens, const double* keys_sum, const double* pairs_sum) const;
  /// Query–key pairs of `new_tokens` tokens ending at `context` in group `group`'s layers.
  double pairs(std::size_t group, std::int64_t new_tokens, std::int64_t context) const {
    return shapes_.groups[group].pairs(static_cast<double>(new_tokens), static_cast<double>(context));
  }
  /// Keys the last of `new_tokens` tokens ending at `context` attends in group `group`.
  double keys(std::size_t group, std::int64_t new_tokens, std::int64_t context) const {
    return shapes_.groups[group].span(static_cast<double>(new_tokens), static_cast<double>(context));
  }
  /// One decode pass of `batch` sequences each taking `new_tokens` tokens ending at `context`
  /// (all at the same context): the whole step, for estimates outside a simulation.
  StepTime uniform_decode(std::int64_t batch, std::int64_t new_tokens, std::int64_t context);
  /// Attention of one prefill chunk: `tokens` new tokens of one sequence, the last attending
  /// `context` (tokens cached before the chunk + the chunk).
  double chunk_attention(std::int64_t tokens, std::int64_t context) const;

  /// The whole step, given its attention time.
  StepTime step(std::int64_t tokens, std::int64_t sequences, double attention_s);

  double stage_imbalance() const { return imbalance_; }
  std::int64_t pipeline_stages() const { return topology_.pp; }

 private:
  ModelShapes shapes_;
  Ceilings ceilings_;
  Topology topology_;
  AttentionImpl attention_;
  DType kv_dtype_;
  double kv_bytes_ = 2;
  double imbalance_ = 1;
  bool all_global_ = true;
  std::unordered_map<std::uint64_t, Body> bodies_;
};

}  // namespace ridge
