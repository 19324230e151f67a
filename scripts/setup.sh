#!/usr/bin/env bash
# Installs the Debian packages ridge needs, builds it, and runs `ridge memory` on a bundled
# model and GPU. Run as root on Debian 12 (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
need=(cmake g++ make libcli11-dev libfmt-dev libyaml-cpp-dev doctest-dev nlohmann-json3-dev)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/ridge memory -m llama-3.1-8b -g h100-sxm --context 8192 --batch 8
