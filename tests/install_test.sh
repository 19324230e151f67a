#!/usr/bin/env bash
# Install and package test (ctest: install). Usage: install_test.sh BUILD_DIR VERSION PORTABLE(0|1)
#   1. `cmake --install` into a scratch prefix; the installed ridge runs from another directory
#      (and after the prefix is moved): memory, --version, completions, man page.
#   2. cpack builds ridge_VERSION_amd64.deb; dpkg-deb shows the files where Debian wants them and
#      a Depends line naming the package of every library the binary links (only libc6 when
#      PORTABLE is 1).
#   3. As root: dpkg -i, /usr/bin/ridge from /, dpkg -r. Skipped, with the reason, when not root
#      or when a ridge is already installed on this machine (never replaced).
# Registered only for builds without sanitizers (CMakeLists.txt): installing an instrumented
# binary tells nothing about the shipped one.
set -euo pipefail
trap 'echo "FAIL: ${BASH_SOURCE[0]}:$LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
build="$(cd "$1" && pwd)"
version="$2"
portable="$3"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
# expect_match LABEL REGEX TEXT: TEXT has a line matching the extended REGEX.
expect_match() {
  if ! grep -Eq -- "$2" <<<"$3"; then fail "$1: no line matches /$2/ in:"$'\n'"$3"; fi
}
for tool in cpack dpkg-deb dpkg-shlibdeps file readelf; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (packages: cmake dpkg-dev file binutils)" >&2; exit 1; }
done

# --- 1. cmake --install into a scratch prefix --------------------------------------------------
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; echo "FAIL: cmake --install (is the build complete?)" >&2; exit 1; }
for f in bin/ridge share/bash-completion/completions/ridge share/zsh/vendor-completions/_ridge \
  share/fish/vendor_completions.d/ridge.fish share/man/man1/ridge.1; do
  [ -s "$prefix/$f" ] || fail "cmake --install did not install $f"
done
[ -x "$prefix/bin/ridge" ] || fail "bin/ridge is not executable"

# From elsewhere, with a bare environment and the prefix moved: nothing points back at the
# build or source tree.
mv "$prefix" "$tmp/moved"
prefix="$tmp/moved"
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
out="$(env -i PATH=/usr/bin:/bin "$prefix/bin/ridge" memory -m llama-3.1-8b -g h100-sxm 2>&1)" ||
  fail "installed ridge memory exited $?: $out"
expect_match "installed ridge memory" '^Llama 3\.1 8B on NVIDIA H100 SXM5 80GB$' "$out"
expect_match "installed ridge memory" '^  fits: yes' "$out"
out="$("$prefix/bin/ridge" --version)" || fail "ridge --version exited $?"
expect_match "installed ridge --version" "^ridge ${version//./\\.} \(commit [0-9a-f]{12}(-dirty)?\)$" "$out"
# Completions: the files the build generated from the binary are what the binary prints.
diff <("$prefix/bin/ridge" completion bash) "$prefix/share/bash-completion/completions/ridge" >/dev/null ||
  fail "installed bash completion differs from \`ridge completion bash\`"
diff <("$prefix/bin/ridge" completion zsh) "$prefix/share/zsh/vendor-completions/_ridge" >/dev/null ||
  fail "installed zsh completion differs from \`ridge completion zsh\`"
diff <("$prefix/bin/ridge" completion fish) "$prefix/share/fish/vendor_completions.d/ridge.fish" >/dev/null ||
  fail "installed fish completion differs from \`ridge completion fish\`"
out="$(bash -c 'source "$1" && complete -p ridge' _ "$prefix/share/bash-completion/completions/ridge" 2>&1)" ||
  fail "sourcing the bash completion failed: $out"
expect_match "bash completion" '^complete .*-F _ridge ridge$' "$out"
expect_match "man page" "^\.TH RIDGE 1 \"\" \"ridge ${version//./\\.}\"" "$(cat "$prefix/share/man/man1/ridge.1")"

# --- 2. cpack: the Debian package --------------------------------------------------------------
deb="$tmp/pkg/ridge_${version}_amd64.deb"
cpack --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; echo "FAIL: cpack" >&2; exit 1; }
[ -f "$deb" ] || { ls -R "$tmp/pkg" >&2; echo "FAIL: cpack did not write $(basename "$deb")" >&2; exit 1; }
info="$(dpkg-deb --info "$deb")"
expect_match "deb info" '^ Package: ridge$' "$info"
expect_match "deb info" "^ Version: ${version//./\\.}$" "$info"
expect_match "deb info" '^ Architecture: amd64$' "$info"
contents="$(dpkg-deb --contents "$deb")"
for f in ./usr/bin/ridge ./usr/share/bash-completion/completions/ridge \
  ./usr/share/zsh/vendor-completions/_ridge ./usr/share/fish/vendor_completions.d/ridge.fish \
  ./usr/share/man/man1/ridge.1; do
  expect_match "deb contents" " ${f//./\\.}$" "$contents"
done
expect_match "deb contents: /usr/bin/ridge mode" '^-rwxr-xr-x root/root .* \./usr/bin/ridge$' "$contents"

# Depends names the package of every library the packaged binary links, and nothing else.
depends="$(dpkg-deb --field "$deb" Depends)"
echo "Depends: $depends"
dpkg-deb --extract "$deb" "$tmp/extracted"
mapfile -t needed < <(readelf -d "$tmp/extracted/usr/bin/ridge" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ ${#needed[@]} -gt 0 ] || fail "readelf found no NEEDED libraries in the packaged ridge"
# owner_of PATH: the package that ships PATH. With merged /usr, dpkg knows a library by the path
# its package names (/lib/... or /usr/lib/...), which may be either spelling of PATH.
owner_of() {
  local real c
  real="$(readlink -f "$1")"
  for c in "$1" "$real" "${1#/usr}" "${real#/usr}" "/usr$1" "/usr$real"; do
    dpkg -S "$c" 2>/dev/null | awk -F: 'NR == 1 {print $1}' | grep . && return
  done
  return 0
}
wanted=()
for lib in "${needed[@]}"; do
  # awk reads to the end: an early exit would kill ldconfig with SIGPIPE (pipefail).
  path="$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')"
  [ -n "$path" ] || { fail "$lib (NEEDED) not found by ldconfig"; continue; }
  pkg="$(owner_of "$path")"
  [ -n "$pkg" ] || { fail "no Debian package owns $path ($lib)"; continue; }
  wanted+=("$pkg")
done
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sort -u)
mapfile -t declared < <(tr ',' '\n' <<<"$depends" | sed 's/(.*//; s/ //g' | sed '/^$/d' | sort -u)
[ "${wanted[*]}" = "${declared[*]}" ] ||
  fail "Depends lists [${declared[*]}], the binary links libraries of [${wanted[*]}]"
if [ "$portable" = 1 ]; then
  [ "${declared[*]}" = libc6 ] || fail "portable build: Depends should be libc6 alone, is $depends"
else
  for pkg in libc6 libstdc++6 libyaml-cpp0.7; do
    [[ " ${declared[*]} " == *" $pkg "* ]] || fail "Depends lacks $pkg: $depends"
  done
fi

# --- 3. dpkg -i / dpkg -r, as root --------------------------------------------------------------
dpkg_round_trip() {
  if dpkg-query -W -f='${Status}' ridge 2>/dev/null | grep -q 'ok installed' || [ -e /usr/bin/ridge ]; then
    echo "SKIP dpkg -i: a ridge is already installed on this machine (left as it is)"
    return
  fi
  trap 'dpkg -r ridge >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  # Without the man page, which dpkg-deb --contents showed: its man-db trigger (mandb) is most
  # of an install's time.
  dpkg -i --path-exclude='/usr/share/man/*' "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i $deb"; return; }
  cd /
  out="$(/usr/bin/ridge memory -m llama-3.1-8b -g h100-sxm 2>&1)" || fail "/usr/bin/ridge memory exited $?: $out"
  expect_match "dpkg-installed ridge memory" '^  fits: yes' "$out"
  expect_match "dpkg-installed ridge --version" "^ridge ${version//./\\.} " "$(/usr/bin/ridge --version)"
  [ -s /usr/share/bash-completion/completions/ridge ] || fail "dpkg -i: no bash completion"
  dpkg -r ridge >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -r ridge"; }
  trap 'rm -rf "$tmp"' EXIT
  [ ! -e /usr/bin/ridge ] || fail "dpkg -r left /usr/bin/ridge"
  ! dpkg-query -W -f='${Status}' ridge 2>/dev/null | grep -q 'ok installed' || fail "dpkg -r: ridge still installed"
  echo "dpkg -i, /usr/bin/ridge memory from /, dpkg -r: ok"
}
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP dpkg -i: not root (the package was built and inspected; installing needs root)"
else
  # One install at a time on this machine (another checkout's test run may be here too).
  exec 9>/tmp/ridge-install-test.lock
  flock -w 120 9 || fail "waited 120 s for /tmp/ridge-install-test.lock"
  dpkg_round_trip
fi

if [ "$fails" -gt 0 ]; then
  echo "install test: $fails failure(s)" >&2
  exit 1
fi
echo "install test: ok ($(basename "$deb"), Depends: $depends)"
