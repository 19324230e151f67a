// `ridge check FILE...`: the CI gate for deployment files. Evaluates every file (an invalid one
// does not stop the others), prints one report, writes JUnit XML on request, and exits
// 0 all pass, 1 a failing finding, 2 a file could not be read or used.
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "error.hpp"
#include "report/check_report.hpp"
#include "text.hpp"

namespace ridge::cli {

Runner register_check(CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "CI gate: check deployment files against memory, parallelism and SLO rules");
  auto files = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("table");
  auto junit = std::make_shared<std::string>();
  auto fail_on = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto bound = std::make_shared<bool>(false);
  auto no_file_rules = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "deployment YAML files")->required();
  cmd->add_option("-f,--format", *format, "table, json, github or markdown (default table)");
  cmd->add_option("--junit", *junit, "also write a JUnit XML report to this file");
  cmd->add_option("--fail-on", *fail_on,
                  "error or warning: lowest severity that fails (default: each file's rules.fail_on, else error)");
  cmd->add_flag(
      "--no-file-rules", *no_file_rules,
      "ignore each file's rules: block (severity overrides, fail_on): the command line's policy holds, and the "
      "report says what was ignored");
  cmd->add_flag("--all", *all, "table and markdown: list passed rules too");
  cmd->add_flag("--bound", *bound,
                "SLO rules on the datasheet roofline (a lower bound: a miss is certain) instead of the calibrated "
                "estimate of calibrated GPUs");
  return [=]() {
    if (!cmd->parsed()) return -1;
    const std::vector<std::string> formats = {"table", "json", "github", "markdown"};
    bool known = false;
    for (const auto& f : formats) known = known || f == *format;
    if (!known)
      throw InputError({}, "--format",
                       "\"" + *format + "\" is not one of " + join(formats) + did_you_mean(*format, formats));
    if (cmd->count("--junit") && junit->empty()) throw InputError({}, "--junit", "needs a file name");
    std::optional<Severity> level;
    if (!fail_on->empty()) {
      if (*fail_on == "error")
        level = Severity::error;
      else if (*fail_on == "warning")
        level = Severity::warning;
      else
        throw InputError(
            {}, "--fail-on",
            "\"" + *fail_on + "\" is not one of error, warning" + did_you_mean(*fail_on, {"error", "warning"}));
    }
    const CheckReport report =
        check_files(*files, level, *bound ? TimeBasis::bound : TimeBasis::expected, !*no_file_rules);
    // Invalid files get one stderr line each, like every other command's input errors.
    for (const auto& f : report.findings)
      if (f.rule == "input.valid")
        std::cerr << "ridge: error: " << one_line(InputError(f.where, "", f.message).what()) << "\n";
    if (*format == "json")
      std::cout << check_json(report);
    else if (*format == "github")
      std::cout << check_github(report);
    else if (*format == "markdown")
      std::cout << check_markdown(report, *all);
    else
      std::cout << check_text(report, *all);
    std::cout.flush();
    if (!junit->empty()) {  // after the report, so an unwritable path still shows the findings
      std::ofstream out(*junit, std::ios::binary);
      out << check_junit(report);
      if (!out) throw InputError({*junit, 0, 0}, "--junit", "cannot write the file");
    }
    return report.exit_code();
  };
}

}  // namespace ridge::cli
