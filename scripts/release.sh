#!/usr/bin/env bash
# Builds the release artefacts into dist/ from a clean checkout:
#   dist/ridge-VERSION-linux-x86_64   the portable binary (RIDGE_PORTABLE: yaml-cpp, the C++
#                                     runtime and the CUDA runtime static; needs only glibc)
#   dist/ridge_VERSION_amd64.deb      the Debian package of that binary (Depends: libc6 only),
#                                     with completions and man page
#   dist/SHA256SUMS
# VERSION is project(VERSION) in CMakeLists.txt. Refuses a tree with uncommitted changes (the
# binary would say "-dirty"); RIDGE_RELEASE_ALLOW_DIRTY=1 builds anyway, for trying this script.
# RIDGE_RELEASE_BUILD sets the build directory (default build-release).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${RIDGE_RELEASE_BUILD:-build-release}"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && [ -z "${RIDGE_RELEASE_ALLOW_DIRTY:-}" ]; then
  echo "release: uncommitted changes; commit them (or RIDGE_RELEASE_ALLOW_DIRTY=1)" >&2
  exit 1
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRIDGE_PORTABLE=ON -DRIDGE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
[ -n "$version" ] || { echo "release: no project version in $build/CMakeCache.txt" >&2; exit 1; }

mkdir -p dist
rm -f "dist/ridge-$version-linux-x86_64" "dist/ridge_${version}_amd64.deb" dist/SHA256SUMS
strip -o "dist/ridge-$version-linux-x86_64" "$build/ridge"
cpack --config "$build/CPackConfig.cmake" -B "$build/package" >/dev/null
cp "$build/package/ridge_${version}_amd64.deb" dist/
(cd dist && sha256sum "ridge-$version-linux-x86_64" "ridge_${version}_amd64.deb" >SHA256SUMS)

# What the artefacts need at run time, for the release notes.
echo "== dist/ridge-$version-linux-x86_64: $("dist/ridge-$version-linux-x86_64" --version)"
ldd "dist/ridge-$version-linux-x86_64"
echo "== dist/ridge_${version}_amd64.deb: Depends: $(dpkg-deb --field "dist/ridge_${version}_amd64.deb" Depends)"
ls -l dist
