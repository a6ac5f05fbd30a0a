#!/usr/bin/env bash
# Load test of the overload protection (docs/RELIABILITY.md, "Limits and
# overload"). A manual script, not part of `cargo test` or .ci/run: it is
# CPU-heavy and its latency bar depends on the machine.
#
# Starts the release `stance serve` (shipped model, default settings unless
# STANCE_OVERLOAD_SERVE_FLAGS says otherwise) on a free loopback port, then
# runs the load generator (tests/load/overload.rs, a cargo example):
#   1. baseline: 1 connection for 5 s, /healthz probed meanwhile;
#   2. storm: 2,000 concurrent connections sending 20 KB documents to
#      /v1/score (7 in 10), /v1/score/batch, Perspective comments:analyze and
#      KServe infer for 30 s, every client retrying at once (no back-off),
#      /healthz probed every 20 ms on a keep-alive connection and on a fresh
#      connection per probe, the server's RSS and open fds sampled from /proc.
# Prints both reports (JSON) and a summary; exits 0 only when the storm's
# checks pass: only 200 and 503, every 503 with Retry-After and its API's
# JSON error, every /healthz 200 with p99 < 50 ms, server peak RSS < 300 MB.
#
# Usage: scripts/overload.sh [--no-build]
# Environment: STANCE_OVERLOAD_CONNECTIONS (2000), STANCE_OVERLOAD_SECONDS
# (30, at most 120), STANCE_OVERLOAD_DOC_BYTES (20000), STANCE_OVERLOAD_P99_MS
# (50), STANCE_OVERLOAD_RSS_MB (300), STANCE_OVERLOAD_SERVE_FLAGS (extra
# `stance serve` flags, e.g. "--max-in-flight 16"), STANCE_OVERLOAD_LOG
# (RUST_LOG of the server, default warn: one log line per request at info
# would measure the logging), STANCE_OVERLOAD_BIN (the server binary,
# default target/release/stance: for A/B runs of two builds),
# STANCE_OVERLOAD_HEALTH (port: the server runs with --health-bind and
# /healthz is probed on that listener, as an orchestrator would; main:
# /healthz is probed on the main port, which the storm saturates).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CONNS="${STANCE_OVERLOAD_CONNECTIONS:-2000}"
SECS="${STANCE_OVERLOAD_SECONDS:-30}"
DOC_BYTES="${STANCE_OVERLOAD_DOC_BYTES:-20000}"
P99_MS="${STANCE_OVERLOAD_P99_MS:-50}"
RSS_MB="${STANCE_OVERLOAD_RSS_MB:-300}"
LOG="${STANCE_OVERLOAD_LOG:-warn}"
HEALTH="${STANCE_OVERLOAD_HEALTH:-port}"
case "$HEALTH" in port|main) ;; *) echo "overload: STANCE_OVERLOAD_HEALTH must be port or main" >&2; exit 1 ;; esac
read -r -a SERVE_FLAGS <<< "${STANCE_OVERLOAD_SERVE_FLAGS:-}"
WORK="$ROOT/target/overload"

say() { echo "overload: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "${1:-}" != "--no-build" ]; then
  say "building the release binary and the load generator"
  cargo build --release --quiet || die "cargo build --release failed"
  cargo build --release --quiet --example overload || die "cargo build --example overload failed"
fi
BIN="${STANCE_OVERLOAD_BIN:-target/release/stance}"
[ -x "$BIN" ] || die "$BIN is missing"
[ -x target/release/examples/overload ] || die "target/release/examples/overload is missing"
mkdir -p "$WORK"
# Private copies: target/release may be rebuilt during the run.
cp "$BIN" "$WORK/stance"
cp target/release/examples/overload "$WORK/overload"

# Each side holds one fd per connection, plus the probes and the files.
need=$((CONNS + 1024))
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  die "the hard fd limit ($hard) is below the $need this run needs"
fi
ulimit -n "$need"

# Emptied first: the server's shell truncates it only once it is forked,
# and a stale "listening on" line of an earlier run must not be read.
: > "$WORK/server.log"
HEALTH_FLAGS=()
[ "$HEALTH" = port ] && HEALTH_FLAGS=(--health-bind 127.0.0.1:0)
RUST_LOG="$LOG,stance::server::startup=info" \
  "$WORK/stance" serve --bind 127.0.0.1:0 "${HEALTH_FLAGS[@]}" "${SERVE_FLAGS[@]}" 2> "$WORK/server.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
PORT=""
for _ in $(seq 300); do
  PORT="$(grep -o 'listening on [0-9.]*:[0-9]*' "$WORK/server.log" | grep -o '[0-9]*$' || true)"
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "stance serve exited"; }
  sleep 0.1
done
[ -n "$PORT" ] || die "stance serve did not start within 30 s"
ADDR="127.0.0.1:$PORT"
HEALTH_ARGS=()
if [ "$HEALTH" = port ]; then
  HPORT="$(grep -o 'also on [0-9.]*:[0-9]*' "$WORK/server.log" | grep -o '[0-9]*$' || true)"
  [ -n "$HPORT" ] || die "stance serve did not report its health listener"
  HEALTH_ARGS=(--health-addr "127.0.0.1:$HPORT")
  say "health listener on 127.0.0.1:$HPORT: /healthz is probed there"
else
  say "no health listener: /healthz is probed on the main port"
fi
say "stance serve (pid $PID) on $ADDR, flags: ${SERVE_FLAGS[*]:-(defaults)}; $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

gen() {
  timeout $((SECS + 60)) "$WORK/overload" --addr "$ADDR" "${HEALTH_ARGS[@]}" --pid "$PID" \
    --doc-bytes "$DOC_BYTES" --p99-ms "$P99_MS" --rss-mb "$RSS_MB" "$@"
}

say "baseline: 1 connection, 5 s"
gen --connections 1 --seconds 5 > "$WORK/baseline.json" || true
say "storm: $CONNS connections, ${SECS} s, ${DOC_BYTES}-byte documents"
status=0
gen --connections "$CONNS" --seconds "$SECS" > "$WORK/storm.json" || status=$?
curl -fsS "http://$ADDR/metrics" > "$WORK/metrics.txt" || die "the server no longer answers /metrics"
kill -0 "$PID" 2>/dev/null || die "stance serve died during the storm"
LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== baseline (1 connection)"
cat "$WORK/baseline.json"
echo "== storm ($CONNS connections)"
cat "$WORK/storm.json"
echo "== server metrics after the storm"
grep -E '^stance_(requests_shed_total|in_flight|documents_scored_total)' "$WORK/metrics.txt"
echo "== answers other than 200 and 503 counted by the server (none expected)"
grep -E '^stance_http_requests_total' "$WORK/metrics.txt" | grep -vE 'status="(200|503)"' || echo "none"
python3 - "$WORK/baseline.json" "$WORK/storm.json" "$LOADAVG" <<'PY'
import json, sys
b, s = (json.load(open(p)) for p in sys.argv[1:3])
hk, hf = s["healthz_keepalive"], s["healthz_fresh_connection"]
print("== summary")
print(f"statuses: {s['by_status']}  transport errors: {s['transport_errors'] or 'none'}")
print(f"answers/s: {s['answers_per_s']:.0f}  connections opened: {s['connections_opened']}")
print(f"/healthz keep-alive   p50 {hk['p50_ms']} ms  p99 {hk['p99_ms']} ms  max {hk['max_ms']} ms  (n={hk['n']}; baseline p50 {b['healthz_keepalive']['p50_ms']} p99 {b['healthz_keepalive']['p99_ms']})")
print(f"/healthz fresh conn.  p50 {hf['p50_ms']} ms  p99 {hf['p99_ms']} ms  max {hf['max_ms']} ms  (n={hf['n']}; baseline p50 {b['healthz_fresh_connection']['p50_ms']} p99 {b['healthz_fresh_connection']['p99_ms']})")
print(f"server peak RSS {s['server_peak_rss_mb']} MB (bound {s['bars']['rss_mb']} MB), peak fds {s['server_peak_fds']}")
print(f"load average after: {sys.argv[3]}")
for k, ok in s["checks"].items():
    print(f"  [{'PASS' if ok else 'FAIL'}] {k}")
PY
exit "$status"
