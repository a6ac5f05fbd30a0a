#!/usr/bin/env bash
# The web page at `/` in a real headless browser: Debian's `chromium`
# (installed with apt-get when missing) driven by a pinned `playwright-core`
# from npm (installed into target/browser-test; Playwright's own browser
# downloads are never used). Starts two `stance serve` on free loopback
# ports, one with API keys on, and runs scripts/browser_test.mjs: paste two
# paragraphs, Score, check the shaded paragraphs and badges against the API,
# open each paragraph (click, Enter) and compare the highlighted words with
# the API's explanation terms and offsets; then the keys-on flow and a 413. Saves
# target/browser-test/page.png (a CI artifact).
#
#   bash scripts/browser_test.sh           # the test
#   bash scripts/browser_test.sh --docs    # also rewrites docs/web-page.png
#
# Exits non-zero on any failure, and prints FAILED when Chromium or
# playwright-core cannot be installed: it never passes without running.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.65.2"
OUT="target/browser-test"
BIN="target/release/stance"
MODEL="models/sanctuary-v2.json"
CHROMIUM="/usr/bin/chromium"
DOCS_SHOT=""
for arg in "$@"; do
  case "$arg" in
    --docs) DOCS_SHOT="$PWD/docs/web-page.png" ;;
    *) echo "usage: $0 [--docs]" >&2; exit 2 ;;
  esac
done
START=$SECONDS

fail() {
  echo "!! FAILED: $*" >&2
  exit 1
}

mkdir -p "$OUT"
rm -rf "$OUT"/profile-*

if [ ! -x "$CHROMIUM" ]; then
  echo "== installing chromium (apt-get)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } ||
    fail "could not install Debian's chromium with apt-get: the browser test did not run"
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is missing: the browser test did not run"
fi
command -v node >/dev/null 2>&1 || fail "node is missing (Debian: apt-get install nodejs npm): the browser test did not run"

PW_PKG="$OUT/node_modules/playwright-core/package.json"
if [ ! -f "$PW_PKG" ] || ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$PW_PKG"; then
  echo "== installing playwright-core@$PLAYWRIGHT_VERSION (npm) into $OUT"
  # playwright-core has no install script and downloads no browser.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$OUT" --no-save --no-audit --no-fund \
    --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null ||
    fail "could not install playwright-core@$PLAYWRIGHT_VERSION from npm: the browser test did not run"
fi
echo "== $("$CHROMIUM" --version 2>/dev/null | head -n1), playwright-core $PLAYWRIGHT_VERSION, node $(node --version)"

if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml Cargo.lock build.rs models -newer "$BIN" -print -quit 2>/dev/null)" ]; then
  echo "== cargo build --release"
  cargo build --release --quiet
fi

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts `stance serve` on a free loopback port (port 0, read from the
# start-up log line) with extra environment, waits for /healthz, and prints
# the base URL.
start_server() {
  local log="$1"
  shift
  env -u STANCE_CONFIG -u STANCE_API_KEYS_FILE STANCE_LOG_FORMAT=json RUST_LOG=info "$@" "$BIN" serve \
    --model "$MODEL" --bind 127.0.0.1:0 --workers 2 >"$log" 2>&1 &
  PIDS+=($!)
  local pid=$! port=""
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "stance serve exited at start-up"; }
    port="$(grep -ao '"port":[0-9]*' "$log" | head -n1 | cut -d: -f2 || true)"
    if [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      URL="http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  cat "$log" >&2
  fail "stance serve did not answer /healthz within 30 s"
}

KEY="browser-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '# browser test\n%s\n' "$KEY" >"$OUT/keys.txt"
start_server "$OUT/server.log"
PLAIN_URL="$URL"
start_server "$OUT/server-keys.log" STANCE_API_KEYS_FILE="$PWD/$OUT/keys.txt" STANCE_MAX_BODY_BYTES=4096
KEYED_URL="$URL"
echo "== servers: $PLAIN_URL (keys off), $KEYED_URL (keys on, 4096-byte body limit)"

status=0
STANCE_URL="$PLAIN_URL" STANCE_KEYED_URL="$KEYED_URL" STANCE_KEY="$KEY" OUT_DIR="$PWD/$OUT" DOCS_SHOT="$DOCS_SHOT" \
  timeout 240 node scripts/browser_test.mjs || status=$?
if grep -aq '"status":5[0-9][0-9]' "$OUT/server.log" "$OUT/server-keys.log"; then
  grep -a '"status":5[0-9][0-9]' "$OUT/server.log" "$OUT/server-keys.log" | head -n 10 >&2
  status=1
fi
[ "$status" -eq 0 ] || fail "the browser test failed (exit $status; servers' logs in $OUT/)"
echo "browser test: passed in $((SECONDS - START)) s (screenshot: $OUT/page.png)"
