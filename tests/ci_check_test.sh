#!/usr/bin/env bash
# The GitHub action's script and the pre-commit hook, run locally (ctest: ci_check).
# Usage: ci_check_test.sh RIDGE_BINARY SOURCE_DIR
#   scripts/ci-check.sh on examples/deploy: a passing file exits 0 with no error annotation, a
#   failing one 1 with the annotation on its line; the JUnit file is well-formed XML (xmllint)
#   and the Markdown summary is written; the action's way (inputs as environment variables,
#   globs, $GITHUB_STEP_SUMMARY) gives the same; a glob that matches nothing exits 2.
#   action.yml runs that script and hands it every input; .pre-commit-hooks.yaml's hook selects
#   deployment files and its entry gates them.
set -euo pipefail
trap 'echo "FAIL: ${BASH_SOURCE[0]}:$LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
ridge="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
src="$(cd "$2" && pwd)"
script="$src/scripts/ci-check.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
expect_match() { # LABEL REGEX TEXT
  if ! grep -Eq -- "$2" <<<"$3"; then fail "$1: no line matches /$2/ in:"$'\n'"$3"; fi
}
expect_no_match() { # LABEL REGEX TEXT
  if grep -Eq -- "$2" <<<"$3"; then fail "$1: a line matches /$2/ in:"$'\n'"$3"; fi
}
command -v xmllint >/dev/null || { echo "FAIL: xmllint not found (package libxml2-utils)" >&2; exit 1; }
# Relative paths, as in a CI checkout (the annotations name them).
cd "$src"
unset GITHUB_STEP_SUMMARY RIDGE_FILES RIDGE_BIN RIDGE_VERSION RIDGE_JUNIT RIDGE_SUMMARY RIDGE_ARGS

# --- a passing file ---
rc=0
out="$("$script" --ridge "$ridge" --junit "$tmp/pass.xml" --summary "$tmp/pass.md" \
  examples/deploy/llama-70b-2xh100.yaml 2>"$tmp/err")" || rc=$?
[ "$rc" -eq 0 ] || fail "passing file: exit $rc, expected 0: $out $(cat "$tmp/err")"
expect_no_match "passing file annotations" '^::error ' "$out"
xmllint --noout "$tmp/pass.xml" || fail "passing file: JUnit XML is not well-formed"
expect_match "passing JUnit" '<testsuites name="ridge check" tests="9" failures="0" errors="0">' "$(cat "$tmp/pass.xml")"
expect_match "passing summary" '^\| `examples/deploy/llama-70b-2xh100\.yaml` \| .* pass \| 9 \| 0 \| 0 \| 0 \|$' "$(cat "$tmp/pass.md")"

# --- a failing file: exit 1, the annotation on tp: (line 7), a JUnit failure ---
rc=0
out="$("$script" --ridge "$ridge" --junit "$tmp/fail.xml" --summary "$tmp/fail.md" \
  examples/deploy/llama-70b-tp3.yaml 2>"$tmp/err")" || rc=$?
[ "$rc" -eq 1 ] || fail "failing file: exit $rc, expected 1: $out $(cat "$tmp/err")"
expect_match "failing file annotation" \
  '^::error file=examples/deploy/llama-70b-tp3\.yaml,line=7,col=1,title=ridge check%3A parallel\.divides::TP 3 does not divide the 64 attention heads of llama-3\.1-70b$' "$out"
xmllint --noout "$tmp/fail.xml" || fail "failing file: JUnit XML is not well-formed"
expect_match "failing JUnit" '<failure ' "$(cat "$tmp/fail.xml")"
expect_match "failing summary" '^\| `examples/deploy/llama-70b-tp3\.yaml` \| .* fail \| 1 \| 1 \| 0 \| 0 \|$' "$(cat "$tmp/fail.md")"

# --- as the action runs it: inputs in the environment, globs, $GITHUB_STEP_SUMMARY, default JUnit path ---
mkdir "$tmp/ws"
cp -r examples "$tmp/ws/"
cd "$tmp/ws"
echo "# earlier step" >"$tmp/step.md"
rc=0
out="$(RIDGE_BIN="$ridge" RIDGE_FILES="examples/deploy/*.yaml
  examples/**/llama-70b-tp3.yaml" GITHUB_STEP_SUMMARY="$tmp/step.md" "$script" 2>"$tmp/err")" || rc=$?
[ "$rc" -eq 1 ] || fail "action-style run: exit $rc, expected 1 (four example files fail)"
expect_match "action-style stderr" '^ci-check: ridge [0-9.]+ \(commit [0-9a-f-]+(dirty)?\), 8 file\(s\)$' "$(cat "$tmp/err")"
[ "$(grep -c '^::error ' <<<"$out")" -eq 4 ] || fail "action-style run: expected 4 ::error annotations: $out"
[ "$(grep -c '^::warning ' <<<"$out")" -eq 2 ] || fail "action-style run: expected 2 ::warning annotations: $out"
[ -f ridge-check.xml ] || fail "action-style run: no ridge-check.xml in the workspace"
xmllint --noout ridge-check.xml || fail "action-style run: JUnit XML is not well-formed"
[ "$(xmllint --xpath 'count(/testsuites/testsuite)' ridge-check.xml)" = 8 ] ||
  fail "action-style run: expected 8 testsuites (one per file, the duplicate glob match once)"
summary="$(cat "$tmp/step.md")"
expect_match "step summary keeps earlier content" '^# earlier step$' "$summary"
expect_match "step summary" '^8 files checked: 4 passed, 4 failed, 0 invalid' "$summary"
# --args reaches ridge check: with --fail-on warning the two warning-only files fail too.
rc=0
out="$(RIDGE_BIN="$ridge" RIDGE_JUNIT= RIDGE_ARGS="--fail-on warning" "$script" examples/deploy/llama-8b-fp8-a100.yaml 2>&1)" || rc=$?
[ "$rc" -eq 1 ] || fail "--fail-on warning via RIDGE_ARGS: exit $rc, expected 1: $out"
rc=0
out="$("$script" --ridge "$ridge" 'nothing/*.yaml' 2>&1)" || rc=$?
[ "$rc" -eq 2 ] || fail "glob matching nothing: exit $rc, expected 2"
expect_match "glob matching nothing" '^ci-check: no file matches nothing/\*\.yaml$' "$out"
cd "$src"

# --- action.yml: a composite action that runs the one script with every input ---
action="$(cat action.yml)"
expect_match "action.yml" '^  using: composite$' "$action"
expect_match "action.yml" '"\$GITHUB_ACTION_PATH/scripts/ci-check\.sh"$' "$action"
for input in files version ridge junit summary args; do
  expect_match "action.yml input $input" "^  $input:$" "$action"
  expect_match "action.yml passes $input" "^        RIDGE_[A-Z_]+: \\$\\{\\{ inputs\\.$input \\}\\}$" "$action"
done
for var in $(sed -n 's/^        \(RIDGE_[A-Z_]*\): .*/\1/p' action.yml); do
  grep -q "$var" scripts/ci-check.sh || grep -q "\$$var" <<<"$action" ||
    fail "action.yml sets $var, which neither the script nor the step reads"
done

# --- .pre-commit-hooks.yaml: the hook, its files pattern, its entry ---
hooks="$(cat .pre-commit-hooks.yaml)"
expect_match "pre-commit hook id" '^- id: ridge-check$' "$hooks"
expect_match "pre-commit language" '^  language: system$' "$hooks"
pattern="$(sed -n 's/^  files: //p' .pre-commit-hooks.yaml)"
entry="$(sed -n 's/^  entry: //p' .pre-commit-hooks.yaml)"
[ -n "$pattern" ] && [ -n "$entry" ] || fail ".pre-commit-hooks.yaml: no files or entry"
for path in deploy/a.yaml deploy/b.yml infra/deploy/c.json examples/deploy/llama-70b-tp3.yaml; do
  grep -Eq -- "$pattern" <<<"$path" || fail "pre-commit files pattern /$pattern/ misses $path"
done
for path in models/llama.yaml deploy.yaml src/deploy.cpp deploy/README.md mydeploy/x.yaml; do
  ! grep -Eq -- "$pattern" <<<"$path" || fail "pre-commit files pattern /$pattern/ takes $path"
done
# pre-commit runs `entry` with the files appended; ridge on PATH, as `language: system` needs.
read -r -a entry_words <<<"$entry"
mkdir "$tmp/bin"
ln -s "$ridge" "$tmp/bin/ridge"
PATH="$tmp/bin:$PATH" "${entry_words[@]}" examples/deploy/llama-70b-2xh100.yaml examples/deploy/qwen-7b-replicas.yaml >/dev/null ||
  fail "pre-commit entry on passing files: exit $?, expected 0"
rc=0
PATH="$tmp/bin:$PATH" "${entry_words[@]}" examples/deploy/llama-70b-2xh100.yaml examples/deploy/llama-70b-tp3.yaml >/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "pre-commit entry with a failing file: exit $rc, expected 1"

if [ "$fails" -gt 0 ]; then
  echo "ci_check test: $fails failure(s)" >&2
  exit 1
fi
echo "ci_check test: ok"
