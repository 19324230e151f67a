// Clock readings as text: NVML's throttle reason bits by name, and one line per reading.
#pragma once

#include <cstdint>
#include <string>

#include "validate/device.hpp"

namespace ridge::validate {

/// NVML's clocks event reasons (nvmlClocksEventReason*, formerly nvmlClocksThrottleReason*) by
/// name, lowest bit first, comma-separated: "sw_power_cap, hw_slowdown"; "none" for 0; unknown
/// bits in hex ("0x400").
std::string throttle_reason_text(std::uint64_t mask);

/// "SM 1980 MHz, memory 2619 MHz, throttle reasons: none", or "unavailable (REASON)".
std::string clock_reading_text(const ClockReading& r);

}  // namespace ridge::validate
