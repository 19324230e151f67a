// Current clocks through NVML, opened with dlopen on first use: never a link dependency, so
// ridge runs (and reports "unavailable (...)") where libnvidia-ml is absent. Only reads; no
// clock, power or other GPU setting is changed.
#include <dlfcn.h>

#include <string>

#include "validate/device.hpp"

namespace ridge::validate::cuda {
namespace {

// The few NVML declarations used, so that no nvml.h is needed to build.
using NvmlReturn = int;  // nvmlReturn_t; NVML_SUCCESS = 0
struct NvmlDeviceSt;
using NvmlDevice = NvmlDeviceSt*;
constexpr int kClockSm = 1;   // nvmlClockType_t NVML_CLOCK_SM
constexpr int kClockMem = 2;  // nvmlClockType_t NVML_CLOCK_MEM

struct Nvml {
  std::string error;  ///< empty when loaded and initialised
  NvmlReturn (*init)() = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  NvmlReturn (*handle_by_pci_bus_id)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*clock_info)(NvmlDevice, int, unsigned int*) = nullptr;
  NvmlReturn (*reasons)(NvmlDevice, unsigned long long*) = nullptr;
};

template <class T>
bool resolve(void* lib, const char* name, T& fn) {
  fn = reinterpret_cast<T>(dlsym(lib, name));
  return fn != nullptr;
}

Nvml load() {
  Nvml n;
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    n.error = std::string("libnvidia-ml.so.1 could not be opened: ") + (e ? e : "unknown dlopen error");
    return n;
  }
  // The reasons call was renamed in recent drivers (Clocks "Event" Reasons); older ones have only
  // the Throttle name.
  if (!resolve(lib, "nvmlInit_v2", n.init) || !resolve(lib, "nvmlErrorString", n.error_string) ||
      !resolve(lib, "nvmlDeviceGetHandleByPciBusId_v2", n.handle_by_pci_bus_id) ||
      !resolve(lib, "nvmlDeviceGetClockInfo", n.clock_info) ||
      !(resolve(lib, "nvmlDeviceGetCurrentClocksEventReasons", n.reasons) ||
        resolve(lib, "nvmlDeviceGetCurrentClocksThrottleReasons", n.reasons))) {
    n.error = "libnvidia-ml.so.1 lacks an entry point ridge needs";
    return n;
  }
  if (const NvmlReturn r = n.init(); r != 0) n.error = std::string("nvmlInit_v2: ") + n.error_string(r);
  return n;  // the library stays open and initialised for the life of the process
}

const Nvml& nvml() {
  static const Nvml n = load();
  return n;
}

}  // namespace

/// The current clocks of the GPU at `pci_bus_id` (CUDA's bus id: NVML's device order can
/// differ from CUDA's, and CUDA_VISIBLE_DEVICES renumbers).
ClockReading read_clocks(const std::string& pci_bus_id) {
  ClockReading r;
  const Nvml& n = nvml();
  if (!n.error.empty()) {
    r.unavailable = n.error;
    return r;
  }
  if (pci_bus_id.empty()) {
    r.unavailable = "CUDA reported no PCI bus id to find the device in NVML";
    return r;
  }
  auto failed = [&](const char* call, NvmlReturn e) {
    r.unavailable = std::string(call) + ": " + n.error_string(e);
    return r;
  };
  NvmlDevice dev = nullptr;
  if (const NvmlReturn e = n.handle_by_pci_bus_id(pci_bus_id.c_str(), &dev); e != 0)
    return failed("nvmlDeviceGetHandleByPciBusId_v2", e);
  unsigned int sm_mhz = 0, mem_mhz = 0;
  if (const NvmlReturn e = n.clock_info(dev, kClockSm, &sm_mhz); e != 0) return failed("nvmlDeviceGetClockInfo(SM)", e);
  if (const NvmlReturn e = n.clock_info(dev, kClockMem, &mem_mhz); e != 0)
    return failed("nvmlDeviceGetClockInfo(MEM)", e);
  r.unavailable.clear();
  r.sm_clock_hz = sm_mhz * 1e6;
  r.memory_clock_hz = mem_mhz * 1e6;
  // Some boards or virtualised GPUs refuse the reasons query: keep the clocks read above.
  unsigned long long reasons = 0;
  if (const NvmlReturn e = n.reasons(dev, &reasons); e != 0)
    r.reasons_unavailable = std::string("nvmlDeviceGetCurrentClocksEventReasons: ") + n.error_string(e);
  else
    r.throttle_reasons = reasons;
  return r;
}

}  // namespace ridge::validate::cuda
