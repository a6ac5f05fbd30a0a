#!/usr/bin/env bash
# Soak of `stance serve` (docs/RELIABILITY.md, "Soak"). A manual script, not
# part of `cargo test` or .ci/run: it runs for minutes.
#
# Starts the release `stance serve` on a free loopback port with an admin
# token, an API keys file and a copy of the shipped model as its model file,
# then runs scripts/soak.py for MINUTES: a mixed load (single, explain,
# batch, Perspective, KServe, 1% malformed) from STANCE_SOAK_CLIENTS
# keep-alive clients (6); every 30 s the model file is replaced, alternately
# by a good model (sanctuary-v2, then a recalibrated copy of it) and a corrupt file
# (truncated, a changed weight, not JSON), and reloaded through
# POST /admin/reload; every 30 s (offset 15 s) the API keys file is rotated
# through SIGHUP (add a key, move clients, retire the old key); RSS and open
# fds are sampled every second. Writes target/soak/report.json and exits 0
# only when every answer was the expected one (every scoring answer's
# probabilities equal a good model's for that text), reloads and rotations
# happened, RSS drift is under 5% and fds did not grow.
#
# Usage: scripts/soak.sh MINUTES [--no-build]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

say() { echo "soak: $*" >&2; }
die() { say "$*"; exit 1; }

MINUTES="${1:-}"
[[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "usage: scripts/soak.sh MINUTES [--no-build]"
if [ "${2:-}" != "--no-build" ]; then
  say "building the release binary"
  cargo build --release --quiet || die "cargo build --release failed"
fi
[ -x target/release/stance ] || die "target/release/stance is missing"

WORK="$ROOT/target/soak"
rm -rf "$WORK"
mkdir -p "$WORK"
# A private copy: target/release may be rebuilt during the run.
cp target/release/stance "$WORK/stance"
cp models/sanctuary-v2.json "$WORK/model.json"
# The second good model: the shipped one with its temperature refitted, so
# its answers (and checksum) differ while its size, and so the service's
# RSS, is the same; RSS drift then compares like with like.
"$WORK/stance" calibrate --model models/sanctuary-v2.json --data training_data/test.jsonl \
  --out "$WORK/good-b.json" --version 2.0.1-soak > /dev/null 2>&1 \
  || die "stance calibrate could not make the second good model"
STABLE_KEY="soak-stable-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
ADMIN_TOKEN="soak-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$STABLE_KEY" > "$WORK/keys.txt"

STANCE_ADMIN_TOKEN="$ADMIN_TOKEN" RUST_LOG="${STANCE_SOAK_LOG:-warn,stance::server::startup=info}" \
  "$WORK/stance" serve --bind 127.0.0.1:0 --model "$WORK/model.json" \
  --api-keys-file "$WORK/keys.txt" > "$WORK/server.out" 2> "$WORK/server.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT

PORT=""
for _ in $(seq 1 100); do
  PORT="$(grep -o '127\.0\.0\.1:[0-9]*' "$WORK/server.log" "$WORK/server.out" 2>/dev/null | head -1 | sed 's/.*://')" || true
  [ -n "$PORT" ] && [ "$PORT" != 0 ] && break
  kill -0 "$PID" 2>/dev/null || die "stance serve exited: $(tail -5 "$WORK/server.log")"
  sleep 0.1
done
[ -n "$PORT" ] && [ "$PORT" != 0 ] || die "stance serve did not report its port"
say "stance serve pid $PID on 127.0.0.1:$PORT; running for $MINUTES min"

python3 scripts/soak.py --port "$PORT" --pid "$PID" \
  --seconds "$(python3 -c "print(float('$MINUTES') * 60)")" \
  --clients "${STANCE_SOAK_CLIENTS:-6}" --reload-every "${STANCE_SOAK_RELOAD_EVERY:-30}" --warmup "${STANCE_SOAK_WARMUP:-120}" \
  --model-path "$WORK/model.json" \
  --good-models "$ROOT/models/sanctuary-v2.json" "$WORK/good-b.json" \
  --stance "$WORK/stance" --work "$WORK" \
  --keys-path "$WORK/keys.txt" --stable-key "$STABLE_KEY" --admin-token "$ADMIN_TOKEN" \
  --report "$WORK/report.json"
