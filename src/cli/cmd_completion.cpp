// `ridge completion bash|zsh|fish`: a completion script made from the parser itself (commands,
// each command's flags) and the bundled model and GPU names, so it never goes stale.
#include <iostream>

#include "cli/commands.hpp"
#include "error.hpp"
#include "loaders.hpp"
#include "text.hpp"

namespace ridge::cli {
namespace {

struct Command {
  std::string name;
  std::vector<std::string> flags;  ///< "--model", "-m", ...
};

std::vector<Command> commands_of(const CLI::App& app) {
  std::vector<Command> out;
  for (const CLI::App* sub : app.get_subcommands({})) {
    Command c{sub->get_name(), {}};
    for (const CLI::Option* o : sub->get_options()) {
      if (o->get_group().empty()) continue;  // hidden
      for (const auto& n : o->get_lnames()) c.flags.push_back("--" + n);
      for (const auto& n : o->get_snames()) c.flags.push_back("-" + n);
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string words(const std::vector<std::string>& v) { return join(v, " "); }

std::string bash_script(const std::vector<Command>& cmds) {
  std::vector<std::string> names;
  for (const auto& c : cmds) names.push_back(c.name);
  std::string s =
      "# ridge bash completion: source it, or save as /usr/share/bash-completion/completions/ridge\n"
      "_ridge() {\n"
      "  local cur prev cmd\n"
      "  cur=\"${COMP_WORDS[COMP_CWORD]}\"; prev=\"${COMP_WORDS[COMP_CWORD-1]}\"; cmd=\"${COMP_WORDS[1]}\"\n"
      "  if [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W \"" +
      words(names) +
      " --help --version\" -- \"$cur\")); return; fi\n"
      "  case \"$prev\" in\n"
      "    -m|--model) COMPREPLY=($(compgen -W \"" +
      words(bundled_model_names()) +
      "\" -- \"$cur\") $(compgen -f -- \"$cur\")); return;;\n"
      "    -g|--gpu) COMPREPLY=($(compgen -W \"" +
      words(bundled_gpu_names()) +
      "\" -- \"$cur\") $(compgen -f -- \"$cur\")); return;;\n"
      "  esac\n"
      "  case \"$cmd\" in\n";
  for (const auto& c : cmds)
    s += "    " + c.name + ") COMPREPLY=($(compgen -W \"" + words(c.flags) +
         "\" -- \"$cur\") $(compgen -f -- \"$cur\"));;\n";
  s += "  esac\n}\ncomplete -F _ridge ridge\n";
  return s;
}

std::string zsh_script(const std::vector<Command>& cmds) {
  std::string s =
      "#compdef ridge\n# ridge zsh completion: save as _ridge in a directory of $fpath\n"
      "_ridge() {\n"
      "  local -a commands models gpus\n"
      "  models=(" +
      words(bundled_model_names()) +
      ")\n"
      "  gpus=(" +
      words(bundled_gpu_names()) +
      ")\n"
      "  commands=(";
  for (const auto& c : cmds) s += c.name + " ";
  s += ")\n"
       "  if (( CURRENT == 2 )); then compadd -a commands; return; fi\n"
       "  case ${words[CURRENT-1]} in\n"
       "    -m|--model) compadd -a models; _files; return;;\n"
       "    -g|--gpu) compadd -a gpus; _files; return;;\n"
       "  esac\n"
       "  case ${words[2]} in\n";
  for (const auto& c : cmds) s += "    " + c.name + ") compadd -- " + words(c.flags) + "; _files;;\n";
  s += "  esac\n}\n_ridge \"$@\"\n";
  return s;
}

std::string fish_script(const std::vector<Command>& cmds) {
  std::string s = "# ridge fish completion: save as ~/.config/fish/completions/ridge.fish\ncomplete -c ridge -f\n";
  std::vector<std::string> names;
  for (const auto& c : cmds) names.push_back(c.name);
  s += "complete -c ridge -n '__fish_use_subcommand' -a '" + words(names) + "'\n";
  for (const auto& c : cmds)
    for (const auto& f : c.flags) {
      if (f.rfind("--", 0) == 0)
        s += "complete -c ridge -n '__fish_seen_subcommand_from " + c.name + "' -l " + f.substr(2);
      else
        s += "complete -c ridge -n '__fish_seen_subcommand_from " + c.name + "' -s " + f.substr(1);
      if (f == "--model") s += " -r -a '" + words(bundled_model_names()) + "'";
      if (f == "--gpu") s += " -r -a '" + words(bundled_gpu_names()) + "'";
      s += "\n";
    }
  return s;
}

}  // namespace

Runner register_completion(CLI::App& app) {
  auto* cmd = app.add_subcommand("completion", "print a shell completion script: bash, zsh or fish");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "bash, zsh or fish")->required();
  return [cmd, shell, &app]() {
    if (!cmd->parsed()) return -1;
    const auto cmds = commands_of(app);
    if (*shell == "bash")
      std::cout << bash_script(cmds);
    else if (*shell == "zsh")
      std::cout << zsh_script(cmds);
    else if (*shell == "fish")
      std::cout << fish_script(cmds);
    else
      throw InputError(
          {}, "shell",
          "\"" + *shell + "\" is not one of bash, zsh, fish" + did_you_mean(*shell, {"bash", "zsh", "fish"}));
    return 0;
  };
}

}  // namespace ridge::cli
