// libFuzzer harness: deployment files end to end. Loads the file, evaluates every rule with
// the memory and roofline engines when it names bundled models and GPUs (a hostile input never
// makes the harness open a file it names), and renders every output format: the report layer
// escapes whatever bytes a file carries into messages.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gate.hpp"
#include "report/check_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // check_file turns InputError and OverflowError into an input.valid finding; anything else
  // escaping from here is a finding for the fuzzer.
  auto findings = ridge::check_file("fuzz/deploy.yaml", std::nullopt, &text, /*follow_paths=*/false);
  const ridge::CheckReport report = ridge::make_report({"fuzz/deploy.yaml"}, std::move(findings));
  (void)ridge::check_text(report, true);
  (void)ridge::check_json(report);
  (void)ridge::check_github(report);
  (void)ridge::check_markdown(report, true);
  (void)ridge::check_junit(report);
  return 0;
}
