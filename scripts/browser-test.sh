#!/usr/bin/env bash
# End-to-end browser test of `view` and `report --format html`, in Debian's Chromium.
# Then the same for the server's public community page (see tests/browser/community.test.mjs).
#
# Generates a log, starts `view --no-open` on it, loads the dashboard headless and checks
# its numbers and charts against `report --format json`, and the layout of both pages at
# 1400 and 420 px; does the same for a log with nothing in it; then stops the servers.
# Screenshots go to $SCREENSHOT_DIR (default: target/browser/), for CI to keep.
# Needs: /usr/bin/chromium (apt-get install -y chromium) and Node.js with npm; installs
# playwright-core (no browser download) into tests/browser/node_modules from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "browser-test: ${CHROMIUM:-/usr/bin/chromium} not found (apt-get install -y chromium)" >&2; exit 1; }

cargo build --quiet -p specfact-telemetry-cli --bin specfact-telemetry
cargo build --quiet -p specfact-telemetry-sample --example generate_log
cargo build --quiet -p specfact-telemetry-server --bin specfact-telemetry-server
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
bin="$target_dir/debug/specfact-telemetry"
generate="$target_dir/debug/examples/generate_log"

[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
server_pid=""
empty_pid=""
community_pid=""
cleanup() {
  for pid in $server_pid $empty_pid $community_pid; do
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `view` in the background; leaves its address in $served_url.
# Usage: serve OUTPUT_FILE [view options]; its pid is left in $served_pid.
serve() {
  local out=$1; shift
  "$bin" view --no-open --port 0 --stop-after 600 "$@" > "$out" 2>&1 &
  served_pid=$!
  local address=""
  for _ in $(seq 1 100); do
    address=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$out" | head -n 1 || true)
    [ -n "$address" ] && break
    kill -0 "$served_pid" 2>/dev/null || { cat "$out" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$address" ] || { echo "browser-test: view printed no address" >&2; cat "$out" >&2; exit 1; }
  served_url=$address
}

export HOME="$work/home"
mkdir -p "$HOME/.specfact"
log="$HOME/.specfact/telemetry.log"
# 5,000 events over twelve weeks; the first 40 as the Python tool wrote them.
"$generate" 5000 "$log" 7 40
"$bin" report --format json > "$work/report.json"
"$bin" report --format html --output "$work/report.html" 2>/dev/null

serve "$work/view.out"
server_pid=$served_pid
url=$served_url
echo "browser-test: dashboard at $url"

# Nothing recorded yet: a log that does not exist, for the dashboard and the report.
empty_log="$work/empty/telemetry.log"
mkdir -p "$work/empty"
"$bin" report --format html --log "$empty_log" --output "$work/empty.html" 2>/dev/null
serve "$work/view-empty.out" --log "$empty_log"
empty_pid=$served_pid
empty_url=$served_url
echo "browser-test: empty dashboard at $empty_url"

shots="${SCREENSHOT_DIR:-$target_dir/browser}"
cd tests/browser
DASHBOARD_URL="$url" REPORT_JSON="$work/report.json" REPORT_HTML="$work/report.html" LOG_PATH="$log" \
  EMPTY_DASHBOARD_URL="$empty_url" EMPTY_LOG_PATH="$empty_log" EMPTY_REPORT_HTML="$work/empty.html" \
  SCREENSHOT_DIR="$shots" node --test dashboard.test.mjs
echo "browser-test: screenshots at 1400 and 420 px in $shots"

# The server's public community page: the same log exported to a specfact-telemetry-server,
# its page checked against its /api/community.json, and the static copy `publish` writes.
cd "$root"
server_bin="$target_dir/debug/specfact-telemetry-server"
store="sqlite:$work/community/telemetry.sqlite3"
"$server_bin" --listen 127.0.0.1:0 --store "$store" --community-cutoff now --community-refresh 1s \
  > "$work/community.out" 2>&1 &
community_pid=$!
community_url=""
for _ in $(seq 1 100); do
  community_url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/community.out" | head -n 1 || true)
  [ -n "$community_url" ] && break
  kill -0 "$community_pid" 2>/dev/null || { cat "$work/community.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$community_url" ] || { echo "browser-test: the server printed no address" >&2; exit 1; }
SPECFACT_TELEMETRY_OPT_IN=true SPECFACT_TELEMETRY_ENDPOINT="$community_url/v1/traces" "$bin" export --all > /dev/null
"$server_bin" publish --out "$work/public" --store "$store" --community-cutoff now > /dev/null
echo "browser-test: community page at $community_url/"
cd tests/browser
COMMUNITY_URL="$community_url/" PUBLIC_DIR="$work/public" SCREENSHOT_DIR="$shots" node --test community.test.mjs
echo "browser-test: community page screenshots in $shots"
