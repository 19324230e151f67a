#!/usr/bin/env bash
# The HTML report as a reader sees it: `ridge report` pages loaded in headless Chromium
# (tests/browser_test.mjs). Usage: browser_test.sh RIDGE OUT_DIR; the screenshots go to
# OUT_DIR/report-desktop.png and OUT_DIR/report-phone.png. Exits 77 (CTest: skipped, never
# passed) when chromium or node is missing.
set -u
ridge=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
chromium=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then echo "SKIPPED: chromium not found (apt-get install chromium)"; exit 77; fi
if ! command -v node >/dev/null 2>&1; then echo "SKIPPED: node not found (apt-get install nodejs)"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

"$ridge" report -m llama-3.1-8b -g h100-sxm --batch 8 --prompt 1024 --gen 256 --ttft-ms 500 --tpot-ms 30 \
  -o "$tmp/report.html" || { echo "FAIL: ridge report exited $?"; exit 1; }
# A model whose display name tries to leave the JSON and the page's markup.
hostile='Evil </script><img src=x onerror=alert(1)> & <!-- name'
sed "s|^display_name: .*|display_name: \"${hostile//&/\\&}\"|" "$here/../models/llama-3.1-8b.yaml" >"$tmp/evil.yaml"
"$ridge" report -m "$tmp/evil.yaml" -g h100-sxm --rate 1,2 --requests 50 -o "$tmp/evil.html" ||
  { echo "FAIL: ridge report of the hostile model exited $?"; exit 1; }
node "$here/browser_test.mjs" "$chromium" "$out" "$tmp/report.html" "$tmp/evil.html" "$hostile"
