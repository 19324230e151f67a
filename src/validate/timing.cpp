#include "validate/timing.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace ridge::validate {

int warmup_remaining(int done, double done_s, int min_launches, double min_s, int max_round, int max_total) {
  if (done >= max_total) return 0;
  const bool enough_launches = done >= min_launches, enough_time = done_s >= min_s;
  if (enough_launches && enough_time) return 0;
  double want = std::max(min_launches - done, 1);
  // Per-launch time from what ran so far; with nothing run yet, one round of min_launches.
  if (!enough_time && done > 0) {
    const double per_launch_s = done_s / done;
    want = std::max(want, per_launch_s > 0 ? std::ceil((min_s - done_s) / per_launch_s) : max_round);
  }
  return static_cast<int>(std::clamp(want, 1.0, static_cast<double>(std::min(max_round, max_total - done))));
}

namespace {

BatchPlan flushed(std::string reason) {
  BatchPlan p;
  p.reason = std::move(reason);
  return p;
}

std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / (1 << 20)); }

}  // namespace

BatchPlan plan_batch(double pilot_s, std::uint64_t input_bytes, std::uint64_t l2_bytes, std::uint64_t free_bytes,
                     const BatchLimits& lim) {
  if (pilot_s >= lim.small_s) return {};
  if (input_bytes == 0) return flushed("this case cannot rotate its inputs");
  const double l2_total = lim.l2_multiple * static_cast<double>(l2_bytes);
  const double copies = std::floor(l2_total / static_cast<double>(input_bytes)) + 1;
  if (copies > lim.max_launches)
    return flushed(
        fmt::format("{:.0f} input sets would be needed, over the cap of {} launches", copies, lim.max_launches));
  const double extra_bytes = (copies - 1) * static_cast<double>(input_bytes);
  const double allowed_bytes = lim.memory_fraction * static_cast<double>(free_bytes);
  if (extra_bytes > allowed_bytes)
    return flushed(fmt::format("{:.0f} rotated input sets need {} more, over {:.0f}% of free memory ({})", copies,
                               mib(extra_bytes), 100 * lim.memory_fraction, mib(allowed_bytes)));
  const double wanted = pilot_s > 0 ? std::ceil(lim.target_s / pilot_s) : lim.max_launches;
  double launches = std::ceil(std::max(wanted, copies) / copies) * copies;
  if (launches > lim.max_launches) launches = std::floor(lim.max_launches / copies) * copies;
  BatchPlan p;
  p.flush = false;
  p.copies = static_cast<int>(copies);
  p.launches = static_cast<int>(launches);
  return p;
}

std::string batch_policy_text(const BatchPlan& p, double pilot_s, std::uint64_t input_bytes, std::uint64_t flush_bytes,
                              const std::string& how, const BatchLimits& lim) {
  if (p.flush) {
    std::string s = "L2 flushed before each sample (" + std::to_string(flush_bytes >> 20) + " MiB read)";
    if (!p.reason.empty()) s += fmt::format("; pilot {:.1f} us, not batched: {}", pilot_s * 1e6, p.reason);
    return s;
  }
  return fmt::format("R={} launches per sample over {} rotated input sets ({} x {} >= {:g}x L2), {}, no flush",
                     p.launches, p.copies, p.copies, mib(static_cast<double>(input_bytes)), lim.l2_multiple, how);
}

}  // namespace ridge::validate
