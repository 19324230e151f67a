#!/usr/bin/env bash
# Gates deployment files with `ridge check`: GitHub annotations on stdout (--format github), a
# JUnit report, and the Markdown summary appended to $GITHUB_STEP_SUMMARY (or --summary FILE).
# The GitHub action (action.yml) runs exactly this script; run it locally the same way:
#
#   scripts/ci-check.sh [--ridge BIN | --version auto|build|X.Y.Z] [--junit FILE] [--summary FILE]
#                       [--args "EXTRA ARGS"] FILE|GLOB...
#
# FILE|GLOB: deployment files, or bash globs (`**` recurses) that this script expands; a glob
# that matches nothing is an error. Each option may instead come from the environment, which is
# how action.yml passes its inputs (never spliced into shell text): RIDGE_FILES (separated by
# spaces or newlines), RIDGE_BIN, RIDGE_VERSION, RIDGE_JUNIT, RIDGE_SUMMARY, RIDGE_ARGS.
#
# Which ridge: --ridge BIN; else --version: `build` builds it from this script's source tree
# (Debian/Ubuntu packages installed when missing), `X.Y.Z` downloads the portable binary of
# release vX.Y.Z (scripts/release.sh's ridge-X.Y.Z-linux-x86_64) from RIDGE_REPOSITORY
# (OWNER/ridge; the action passes its own), `auto` (default) is `ridge` on PATH, else the release
# of the action's tag when RIDGE_ACTION_REF is one (vX.Y.Z), else `build`.
#
# Exit status: ridge check's (0 every file passes, 1 a failing finding, 2 bad input or no file
# matched, 3 internal error); 2 also for a bad option here.
set -euo pipefail
shopt -s nullglob globstar

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ridge="${RIDGE_BIN:-}"
version="${RIDGE_VERSION:-auto}"
junit="${RIDGE_JUNIT-ridge-check.xml}"
summary="${RIDGE_SUMMARY-${GITHUB_STEP_SUMMARY:-}}"
extra="${RIDGE_ARGS:-}"
patterns=()
read -r -d '' -a patterns <<<"${RIDGE_FILES:-}" || true

die() {
  echo "ci-check: $*" >&2
  exit 2
}

from_cli=()
value() { # value OPTION ARGS...: the option's argument, which may be empty but must be there
  [ $# -ge 2 ] || die "$1 needs a value (see --help)"
  printf '%s' "$2"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --ridge) ridge="$(value "$@")"; shift 2 ;;
    --version) version="$(value "$@")"; shift 2 ;;
    --junit) junit="$(value "$@")"; shift 2 ;;      # empty: no JUnit report
    --summary) summary="$(value "$@")"; shift 2 ;;  # empty: no summary
    --args) extra="$(value "$@")"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; from_cli+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) from_cli+=("$1"); shift ;;
  esac
done
[ ${#from_cli[@]} -gt 0 ] && patterns=("${from_cli[@]}")
[ ${#patterns[@]} -gt 0 ] || die "no deployment files given (arguments or RIDGE_FILES)"

# Expand the globs here, so that the action's `files: deploy/**/*.yaml` works without a shell.
files=()
declare -A seen=()
for p in "${patterns[@]}"; do
  if [[ "$p" == *[\*\?\[]* ]]; then
    matched=($p)
    [ ${#matched[@]} -gt 0 ] || die "no file matches $p"
  else
    matched=("$p")   # a plain path: ridge check reports it if it is missing
  fi
  for f in "${matched[@]}"; do   # each file once, in the order given
    [ -n "${seen[$f]:-}" ] || files+=("$f")
    seen[$f]=1
  done
done

build_ridge() {
  local need=(cmake g++ make libcli11-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev) missing=() p sudo=""
  for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
  fi
  local dir="${RIDGE_BUILD_DIR:-$src/build-ci-check}"
  cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRIDGE_BUILD_TESTS=OFF -DRIDGE_CUDA=OFF >&2
  cmake --build "$dir" -j"$(nproc)" --target ridge >&2
  ridge="$dir/ridge"
}

download_ridge() {
  local v="${1#v}" repo="${RIDGE_REPOSITORY:-${RIDGE_ACTION_REPOSITORY:-}}"
  [ -n "$repo" ] || die "--version $v: set RIDGE_REPOSITORY=OWNER/ridge to download from"
  local dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/ridge-$v"
  mkdir -p "$dir"
  curl -fsSL --retry 3 -o "$dir/ridge" \
    "https://github.com/$repo/releases/download/v$v/ridge-$v-linux-x86_64" ||
    die "could not download ridge $v from github.com/$repo (a release asset ridge-$v-linux-x86_64)"
  chmod +x "$dir/ridge"
  ridge="$dir/ridge"
}

if [ -z "$ridge" ]; then
  case "$version" in
    build) build_ridge ;;
    auto)
      if command -v ridge >/dev/null 2>&1; then
        ridge="$(command -v ridge)"
      elif [[ "${RIDGE_ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        download_ridge "$RIDGE_ACTION_REF"
      else
        build_ridge
      fi
      ;;
    v[0-9]* | [0-9]*) download_ridge "$version" ;;
    *) die "--version $version: expected auto, build or a release X.Y.Z" ;;
  esac
fi
[ -x "$ridge" ] || die "$ridge is not an executable ridge"
echo "ci-check: $("$ridge" --version), ${#files[@]} file(s)" >&2

read -r -a extra_args <<<"$extra" || true
junit_args=()
[ -z "$junit" ] || junit_args=(--junit "$junit")

# The gate: annotations on stdout, where the runner reads workflow commands.
rc=0
"$ridge" check --format github "${junit_args[@]}" "${extra_args[@]}" -- "${files[@]}" || rc=$?

# The summary: the same check as Markdown (its exit status is the gate's, already known).
if [ -n "$summary" ]; then
  "$ridge" check --format markdown "${extra_args[@]}" -- "${files[@]}" >>"$summary" || true
fi
exit "$rc"
