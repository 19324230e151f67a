// How the CUDA harness takes its samples, decided on the host so it can be tested without a
// GPU: how long warm-up lasts, and whether a kernel too short for one launch per pair of CUDA
// events is timed as R back-to-back launches over rotated copies of its inputs.
#pragma once

#include <cstdint>
#include <string>

namespace ridge::validate {

/// Launches still to run in warm-up after `done` launches that took `done_s` of device time.
/// Warm-up lasts at least `min_launches` launches and at least `min_s` seconds (long enough for
/// the clocks to ramp up and for lazy module loading and first-touch costs to fall outside the
/// samples). 0 when both are met, or after `max_total` launches (a timer that reads 0 must not
/// loop forever); otherwise at least 1 and at most `max_round` (one round, timed as a whole).
int warmup_remaining(int done, double done_s, int min_launches, double min_s, int max_round = 10000,
                     int max_total = 100000);

/// When a kernel counts as small and how a batched sample is built.
struct BatchLimits {
  /// A launch shorter than this is dominated by launch and event overhead (a few µs each).
  double small_s = 50e-6;
  /// A batched sample lasts at least this long, so that overhead is a few percent of it.
  double target_s = 100e-6;
  int max_launches = 1000;
  /// Rotated input sets together exceed this many L2 caches: a set is evicted before its reuse.
  double l2_multiple = 2.0;
  /// Extra copies may take at most this share of free device memory.
  double memory_fraction = 0.25;
};

/// How each sample of a case is taken.
struct BatchPlan {
  int launches = 1;    ///< R: back-to-back launches per sample; the sample is their total / R
  int copies = 1;      ///< input sets rotated over, the case's own included (launch i uses i mod copies)
  bool flush = true;   ///< one launch per sample after an L2 flush (then launches = copies = 1)
  std::string reason;  ///< why a small kernel still gets one flushed launch per sample; else empty
};

/// The sampling plan for a kernel whose pilot launch took `pilot_s`, whose read-only inputs
/// (one set) take `input_bytes` (0: the case cannot rotate them), on a device with `l2_bytes`
/// of L2 and `free_bytes` of free memory.
///  - pilot ≥ small_s: one flushed launch per sample.
///  - else copies = ⌊l2_multiple·L2 / input_bytes⌋ + 1 (the smallest count whose total strictly
///    exceeds l2_multiple·L2), R = ⌈target_s / pilot⌉ raised to at least `copies` and rounded up
///    to a multiple of it (every sample then covers whole rotations, so each set is reused only
///    after all the others, also across samples), capped at max_launches rounded down to a
///    multiple of `copies`.
///  - falls back to flushing, with the reason, when the case cannot rotate, the copies − 1 extra
///    sets would exceed memory_fraction of free memory, or copies > max_launches.
BatchPlan plan_batch(double pilot_s, std::uint64_t input_bytes, std::uint64_t l2_bytes, std::uint64_t free_bytes,
                     const BatchLimits& limits = {});

/// The cache_policy text for a plan: "L2 flushed before each sample (100 MiB read)", with
/// "; pilot 12.0 us, not batched: REASON" when a small kernel could not be batched, or
/// "R=64 launches per sample over 6 rotated input sets (6 x 32.0 MiB >= 2x L2), CUDA graph, no flush".
/// `how` says how the R launches were issued ("CUDA graph", "plain launches (...)").
std::string batch_policy_text(const BatchPlan& p, double pilot_s, std::uint64_t input_bytes, std::uint64_t flush_bytes,
                              const std::string& how, const BatchLimits& limits = {});

}  // namespace ridge::validate
