// Which time a command computes. Shared by the roofline (operators) and the collective model.
#pragma once

namespace ridge {

class ExpectedTimes;  // efficiency.hpp: a GPU's fitted efficiency model

/// The datasheet roofline (a lower bound no kernel beats), or the calibrated estimate where the
/// GPU has a calibration (efficiency.hpp; operators it does not cover keep their bound, and the
/// totals say how much of the time that is).
enum class TimeBasis { bound, expected };

}  // namespace ridge
