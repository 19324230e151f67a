// ridge: a thin CLI over the library. Errors are caught here once and mapped to exit codes:
// 0 ok, 1 a gate or fit failed, 2 bad input or usage, 3 internal error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "ridge_version.hpp"
#include "error.hpp"
#include "text.hpp"
#include "units.hpp"

namespace {

/// Token counts accept the model-card suffix k (32k = 32,768 tokens).
bool counts_tokens(const std::string& long_name) {
  for (const char* n : {"context", "prompt", "gen", "prefill-chunk", "max-model-len", "max-num-batched-tokens"})
    if (long_name == n) return true;
  return false;
}

/// One reading of integers on the command line, the same as in files: decimal digits only (no
/// octal 010, no hex 0x10, which CLI11 would otherwise accept), with an optional k for tokens;
/// a sign only where the option's type has one (an unsigned -1 would wrap to 2^64 - 1).
CLI::Validator decimal_integer(bool tokens, bool is_signed) {
  return CLI::Validator(
      [tokens, is_signed](std::string& value) -> std::string {
        std::string digits = value;
        std::int64_t scale = 1;
        if (tokens && !digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
          digits.pop_back();
          scale = 1024;
        }
        const bool sign = !digits.empty() && digits[0] == '-';
        if (sign && !is_signed) return "\"" + value + "\" is negative; expected a count of at least 0";
        const std::string body = sign ? digits.substr(1) : digits;
        const bool plain =
            !body.empty() && std::all_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!plain)
          return "\"" + value + "\" is not a whole number" +
                 (tokens ? std::string(" of tokens (e.g. 4096 or 32k = 32,768)") : std::string());
        if (body.size() > 1 && body[0] == '0')
          return "\"" + value + "\": write whole numbers without a leading zero (010 is not read as octal here)";
        if (body.size() > 15) return "\"" + value + "\" is too large";
        value = (sign ? "-" : "") + std::to_string(std::stoll(body) * scale);
        return {};
      },
      tokens ? "TOKENS" : "INT");
}

void harden_integer_options(CLI::App& app) {
  for (CLI::Option* o : app.get_options()) {
    const std::string type = o->get_type_name();
    if (type != "INT" && type != "UINT") continue;
    const auto& names = o->get_lnames();
    o->transform(decimal_integer(std::any_of(names.begin(), names.end(), counts_tokens), type == "INT"));
  }
  for (CLI::App* sub : app.get_subcommands({})) harden_integer_options(*sub);
}

/// The long names of a command's options, for did-you-mean on a mistyped flag.
std::vector<std::string> flag_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ridge: LLM deployment memory and roofline estimates", "ridge"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", "ridge " RIDGE_VERSION " (commit " RIDGE_COMMIT ")");
  std::vector<ridge::cli::Runner> runners = {
      ridge::cli::register_models(app),   ridge::cli::register_gpus(app),      ridge::cli::register_memory(app),
      ridge::cli::register_roofline(app), ridge::cli::register_sweep(app),     ridge::cli::register_plan(app),
      ridge::cli::register_serve(app),    ridge::cli::register_validate(app),  ridge::cli::register_check(app),
      ridge::cli::register_predict(app),  ridge::cli::register_calibrate(app), ridge::cli::register_completion(app),
      ridge::cli::register_report(app),
  };
  harden_integer_options(app);
  // `ridge --completion bash` as some tools spell it: the completion subcommand.
  std::vector<char*> args(argv, argv + argc);
  if (argc > 1 && std::string(argv[1]) == "--completion") args[1] = const_cast<char*>("completion");
  argv = args.data();
  // CLI11 reports an unknown first word as "A subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::cerr << "ridge: error: unknown command \"" << ridge::one_line(argv[1]) << "\""
                << ridge::one_line(ridge::did_you_mean(argv[1], names)) << "; commands: " << ridge::join(names)
                << " (see ridge --help)\n";
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
  } catch (const ridge::InputError& e) {  // an option's own check, during parsing
    std::cerr << "ridge: error: " << ridge::one_line(e.what()) << "\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    // Point to the subcommand's help, and suggest the flag that was probably meant.
    const CLI::App* sub = nullptr;
    if (argc > 1)
      for (const CLI::App* s : app.get_subcommands({}))
        if (s->get_name() == argv[1]) sub = s;
    std::string hint;
    const std::string what = e.what();
    if (sub && what.find("not expected") != std::string::npos)
      for (int i = 2; i < argc && hint.empty(); ++i)
        if (argv[i][0] == '-' && argv[i][1] == '-' && what.find(argv[i]) != std::string::npos)
          hint = ridge::did_you_mean(std::string(argv[i]).substr(0, std::string(argv[i]).find('=')), flag_names(*sub));
    std::cerr << "ridge: error: " << ridge::one_line(what) << ridge::one_line(hint) << " (see ridge "
              << (sub ? sub->get_name() + " " : "") << "--help)\n";
    return 2;
  }
  try {
    for (const auto& run : runners) {
      const int code = run();
      if (code < 0) continue;
      // A report nobody received is not a success (a full disk, a closed pipe).
      if (!(std::cout << std::flush) || std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::cerr << "ridge: error: cannot write the output to standard output (disk full or closed)\n";
        return 3;
      }
      return code;
    }
    std::cerr << "ridge: error: no subcommand given (see ridge --help)\n";
    return 2;
  } catch (const ridge::InputError& e) {
    std::cerr << "ridge: error: " << ridge::one_line(e.what()) << "\n";
    return 2;
  } catch (const ridge::OverflowError& e) {
    std::cerr << "ridge: error: the inputs are too large: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ridge: internal error: " << ridge::one_line(e.what()) << "\n";
    return 3;
  }
}
