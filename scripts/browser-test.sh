#!/usr/bin/env bash
# End-to-end browser test of `view` and `report --format html`, in Debian's Chromium.
#
# Generates a log, starts `view --no-open` on it, loads the dashboard headless and checks
# its numbers and charts against `report --format json`, then stops the server.
# Needs: /usr/bin/chromium (apt-get install -y chromium) and Node.js with npm; installs
# playwright-core (no browser download) into tests/browser/node_modules from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "browser-test: ${CHROMIUM:-/usr/bin/chromium} not found (apt-get install -y chromium)" >&2; exit 1; }

cargo build --quiet -p specfact-telemetry-cli --bin specfact-telemetry
cargo build --quiet -p specfact-telemetry-sample --example generate_log
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
bin="$target_dir/debug/specfact-telemetry"
generate="$target_dir/debug/examples/generate_log"

[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home"
mkdir -p "$HOME/.specfact"
log="$HOME/.specfact/telemetry.log"
# 5,000 events over twelve weeks; the first 40 as the Python tool wrote them.
"$generate" 5000 "$log" 7 40
"$bin" report --format json > "$work/report.json"
"$bin" report --format html --output "$work/report.html" 2>/dev/null

"$bin" view --no-open --port 0 --stop-after 600 > "$work/view.out" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/view.out" | head -n 1 || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/view.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "browser-test: view printed no address" >&2; cat "$work/view.out" >&2; exit 1; }
echo "browser-test: dashboard at $url"

cd tests/browser
DASHBOARD_URL="$url" REPORT_JSON="$work/report.json" REPORT_HTML="$work/report.html" LOG_PATH="$log" \
  SCREENSHOT_DIR="${SCREENSHOT_DIR:-$target_dir/browser}" node --test dashboard.test.mjs
