// Each subcommand registers its options and returns the runner main calls once parsing is done.
// A runner returns -1 when its subcommand was not the one given.
#pragma once

#include "cli/common.hpp"

namespace ridge::cli {

Runner register_models(CLI::App& app);
Runner register_gpus(CLI::App& app);
Runner register_memory(CLI::App& app);
Runner register_roofline(CLI::App& app);
Runner register_sweep(CLI::App& app);
Runner register_plan(CLI::App& app);
Runner register_serve(CLI::App& app);
Runner register_validate(CLI::App& app);
Runner register_check(CLI::App& app);
Runner register_predict(CLI::App& app);
Runner register_calibrate(CLI::App& app);
Runner register_completion(CLI::App& app);
Runner register_report(CLI::App& app);

}  // namespace ridge::cli
