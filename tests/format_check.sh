#!/usr/bin/env bash
# The sources follow .clang-format: exit 1 naming the files that do not, 77 (skipped) without
# clang-format 14 (other versions lay some constructs out differently).
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || true)
if [ -z "$cf" ] && command -v clang-format >/dev/null && clang-format --version | grep -q "version 14\."; then cf=clang-format; fi
if [ -z "$cf" ]; then echo "format check skipped: clang-format 14 not found"; exit 77; fi
if ! command -v git >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then echo "format check skipped: not a git checkout"; exit 77; fi
bad=()
while IFS= read -r f; do
  "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh')
if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted (clang-format-14 -i FILE): ${bad[*]}"
  exit 1
fi
echo "format: every source follows .clang-format"
