// open_device() for builds without CUDA: there is never a device.
#include "validate/device.hpp"

namespace ridge::validate {

DeviceProbe open_device() { return {nullptr, "ridge was built without CUDA"}; }

}  // namespace ridge::validate
