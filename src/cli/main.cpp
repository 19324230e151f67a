// ridge: a thin CLI over the library. Errors are caught here once and mapped to exit codes:
// 0 ok, 1 a gate or fit failed, 2 bad input or usage, 3 internal error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "error.hpp"
#include "text.hpp"
#include "units.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ridge: LLM deployment memory and roofline estimates", "ridge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ridge 0.1.0");
  std::vector<ridge::cli::Runner> runners = {
      ridge::cli::register_models(app),
      ridge::cli::register_gpus(app),
      ridge::cli::register_memory(app),
      ridge::cli::register_roofline(app),
      ridge::cli::register_sweep(app),
      ridge::cli::register_plan(app),
      ridge::cli::register_validate(app),
      ridge::cli::register_check(app),
      ridge::cli::register_predict(app),
      ridge::cli::register_calibrate(app),
  };
  // CLI11 reports an unknown first word as "A subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::cerr << "ridge: error: unknown command \"" << argv[1] << "\"" << ridge::did_you_mean(argv[1], names)
                << "; commands: " << ridge::join(names) << " (see ridge --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ridge: error: " << e.what() << " (see ridge --help)\n";
    return 2;
  }
  try {
    for (const auto& run : runners) {
      const int code = run();
      if (code >= 0) return code;
    }
    std::cerr << "ridge: error: no subcommand given (see ridge --help)\n";
    return 2;
  } catch (const ridge::InputError& e) {
    std::cerr << "ridge: error: " << e.what() << "\n";
    return 2;
  } catch (const ridge::OverflowError& e) {
    std::cerr << "ridge: error: the inputs are too large: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ridge: internal error: " << e.what() << "\n";
    return 3;
  }
}
