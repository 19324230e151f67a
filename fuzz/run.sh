#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang 14 (ASan + UBSan) and runs one or all of them.
# Usage: fuzz/run.sh TARGET|all SECONDS [extra libFuzzer flags...]
#   TARGET: model_yaml, gpu_yaml, hf_config, deploy_yaml (or fuzz_<name>).
# Seeds: the bundled models/ and hardware/, tests/data, examples/deploy, the regressions, and
# fuzz/seeds/<target>/ if present; fuzz/<target>.dict holds each schema's keys. The working
# corpus grows in build-fuzz/corpus/<target>/ (ignored by git; delete it to reseed). Crashes land
# in build-fuzz/artifacts/<target>/: copy each into tests/data/fuzz-regressions/<target>/ and fix it.
# Several at once: build once, then RIDGE_FUZZ_NO_BUILD=1 fuzz/run.sh A 600 & fuzz/run.sh B 600.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET|all SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET|all SECONDS}
shift 2
build=build-fuzz
[ -n "${RIDGE_FUZZ_NO_BUILD:-}" ] || cmake -S . -B "$build" -DRIDGE_FUZZ=ON -DRIDGE_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
all=(model_yaml gpu_yaml hf_config deploy_yaml)
if [ "$target" = all ]; then targets=("${all[@]}"); else targets=("${target#fuzz_}"); fi
if [ -z "${RIDGE_FUZZ_NO_BUILD:-}" ]; then  # set it when running several at once
  for t in "${targets[@]}"; do cmake --build "$build" -j2 --target "fuzz_$t" >/dev/null; done
fi

# seeds_for TARGET: directories whose files seed that harness.
seeds_for() {
  case $1 in
    model_yaml) echo models tests/data/bad tests/data/good-model.yaml ;;
    gpu_yaml) echo hardware tests/data/bad tests/data/good-gpu.yaml ;;
    hf_config) echo tests/data/hf tests/data/bad ;;
    deploy_yaml) echo examples/deploy tests/data/deploy tests/data/bad ;;
  esac
}

for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  # Seed the working corpus once (flat copies; libFuzzer reads directories, not trees).
  if [ -z "$(ls -A "$corpus")" ]; then
    for s in $(seeds_for "$t") "fuzz/seeds/$t" "tests/data/fuzz-regressions/$t"; do
      [ -e "$s" ] || continue
      find "$s" -type f \( -name '*.yaml' -o -name '*.json' -o -path '*fuzz*' \) -print0 |
        while IFS= read -r -d '' f; do cp "$f" "$corpus/$(echo "$f" | tr '/' '_')"; done
    done
  fi
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "== fuzz_$t for ${seconds}s (corpus $(ls "$corpus" | wc -l) files)"
  nice -n 10 "$build/fuzz/fuzz_$t" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}" "$@"
done
