#!/usr/bin/env bash
# Property-based contract test of the real `stance serve` against the
# OpenAPI document it serves (GET /openapi.json), with schemathesis:
# `--checks all`, the examples, coverage, fuzzing and stateful phases.
# Exits non-zero on any failure, on any 5xx the server logged, or when
# schemathesis cannot be installed. See docs/RELIABILITY.md.
#
# The document depends on how the service is started, so two servers:
#   1. no admin token (what `stance serve` does by default), two runs:
#      a. every operation but KServe inference, all checks;
#      b. KServe inference, all checks but positive_data_acceptance: the
#         protocol requires as many texts in `data` as the first dimension of
#         `shape`, and JSON Schema cannot relate an array's length to another
#         field's value, so schema-valid generated requests almost never
#         match and the server rightly refuses them with 400.
#         tests/integration/contract.rs checks that rule; every other check,
#         negative_data_rejection included, runs;
#   2. an admin token: POST /admin/reload alone, which then requires
#      `Authorization: Bearer` (schemathesis sends the right token; its auth
#      checks send none or a wrong one). Without a token the route is
#      documented and answered as 404 only, which run 1a covers.
# API keys stay off: the integration tests cover keys, and schemathesis's
# generated keys would all be refused.
#
# Environment: STANCE_SCHEMATHESIS_MAX_EXAMPLES (default 100);
# STANCE_SCHEMATHESIS_SEED (default a fixed seed so CI is reproducible;
# "random" for a new one each run).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="4.32.5"
VENV="target/schemathesis-venv"
MAX_EXAMPLES="${STANCE_SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${STANCE_SCHEMATHESIS_SEED:-20261206}"
BIN="target/release/stance"
MODEL="models/sanctuary-v2.json"
WORK="target/schemathesis"
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $VERSION\$"; then
  echo "== installing schemathesis==$VERSION into $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" || ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"; then
    echo "!! FAILED: could not install schemathesis==$VERSION from PyPI into $VENV" >&2
    echo "!! The API contract test did not run. Check python3 (with venv) and access to PyPI." >&2
    exit 1
  fi
fi
ST="$PWD/$VENV/bin/schemathesis"
SCRIPTS="$PWD/scripts"

if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml Cargo.lock build.rs models -newer "$BIN" -print -quit 2>/dev/null)" ]; then
  echo "== cargo build --release"
  cargo build --release --quiet
fi

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# Starts `stance serve` on a free loopback port (port 0; the port is read
# from its start-up log line) and waits for /healthz. Sets PORT.
start_server() {
  local log="$1"
  shift
  : >"$log"
  env -u STANCE_CONFIG -u STANCE_API_KEYS_FILE STANCE_LOG_FORMAT=json RUST_LOG=info "$@" "$BIN" serve \
    --model "$MODEL" --bind 127.0.0.1:0 --workers 2 >"$log" 2>&1 &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "!! FAILED: stance serve exited at start-up:" >&2
      cat "$log" >&2
      exit 1
    fi
    PORT="$(grep -ao '"port":[0-9]*' "$log" | head -n1 | cut -d: -f2 || true)"
    if [ -n "$PORT" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "!! FAILED: stance serve did not answer /healthz within 30 s" >&2
  cat "$log" >&2
  exit 1
}

# Runs schemathesis against the server on $PORT with extra arguments, and
# fails on any failure or any 5xx answer (logged by the server).
run_schemathesis() {
  local name="$1" log="$2"
  shift 2
  local seed_args=(--seed "$SEED")
  [ "$SEED" = "random" ] && seed_args=()
  local cmd=("$ST" run
    "http://127.0.0.1:$PORT/openapi.json"
    --checks all
    --phases examples,coverage,fuzzing,stateful
    --max-examples "$MAX_EXAMPLES"
    --workers 2
    --request-timeout 30
    --generation-database none
    --no-color
    "${seed_args[@]}"
    "$@")
  local shown="${*}"
  [ -n "${TOKEN:-}" ] && shown="${shown//$TOKEN/<token>}"
  echo "== [$name] schemathesis run http://127.0.0.1:$PORT/openapi.json --checks all --max-examples $MAX_EXAMPLES $shown"
  local start=$SECONDS status=0
  # From $WORK, where schemathesis keeps its crash cache (.schemathesis/).
  (cd "$WORK" && PYTHONPATH="$SCRIPTS${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "${cmd[@]}") >"$WORK/$name.txt" 2>&1 || status=$?
  sed -n '/^=* SUMMARY =*$/,$p' "$WORK/$name.txt"
  echo "   [$name] schemathesis exit $status in $((SECONDS - start)) s (full output: $WORK/$name.txt)"
  local errors
  errors="$(grep -ac '"status":5[0-9][0-9]' "$log" || true)"
  if [ "$status" -ne 0 ]; then
    cat "$WORK/$name.txt"
    echo "!! FAILED: schemathesis found contract failures ($name)" >&2
    exit 1
  fi
  if [ "$errors" -ne 0 ]; then
    grep -a '"status":5[0-9][0-9]' "$log" | head -n 20 >&2
    echo "!! FAILED: the server answered $errors requests with 5xx ($name)" >&2
    exit 1
  fi
}

start_server "$WORK/server-admin-off.log"
run_schemathesis admin-off "$WORK/server-admin-off.log" \
  --exclude-path-regex '/infer$'
run_schemathesis kserve-infer "$WORK/server-admin-off.log" \
  --include-path-regex '/infer$' --exclude-checks positive_data_acceptance
stop_server

TOKEN="schemathesis-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
start_server "$WORK/server-admin-on.log" STANCE_ADMIN_TOKEN="$TOKEN"
run_schemathesis admin-on "$WORK/server-admin-on.log" \
  --include-path /admin/reload -H "Authorization: Bearer $TOKEN"
stop_server

echo "schemathesis: no contract failures, no 5xx"
