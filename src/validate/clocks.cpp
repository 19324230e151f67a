#include "validate/clocks.hpp"

#include <fmt/format.h>

namespace ridge::validate {

std::string throttle_reason_text(std::uint64_t mask) {
  // Bit values from nvml.h (NVML API reference, "ClocksEventReasons").
  static constexpr struct {
    std::uint64_t bit;
    const char* name;
  } kReasons[] = {
      {0x1, "gpu_idle"},
      {0x2, "applications_clocks_setting"},
      {0x4, "sw_power_cap"},
      {0x8, "hw_slowdown"},
      {0x10, "sync_boost"},
      {0x20, "sw_thermal_slowdown"},
      {0x40, "hw_thermal_slowdown"},
      {0x80, "hw_power_brake_slowdown"},
      {0x100, "display_clock_setting"},
  };
  if (mask == 0) return "none";
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  std::uint64_t known = 0;
  for (const auto& r : kReasons) {
    known |= r.bit;
    if (mask & r.bit) add(r.name);
  }
  if (mask & ~known) add(fmt::format("{:#x}", mask & ~known));
  return out;
}

std::string clock_reading_text(const ClockReading& r) {
  if (!r.unavailable.empty()) return "unavailable (" + r.unavailable + ")";
  return fmt::format("SM {:.0f} MHz, memory {:.0f} MHz, throttle reasons: {}", r.sm_clock_hz / 1e6,
                     r.memory_clock_hz / 1e6,
                     r.reasons_unavailable.empty() ? throttle_reason_text(r.throttle_reasons)
                                                   : "unavailable (" + r.reasons_unavailable + ")");
}

}  // namespace ridge::validate
