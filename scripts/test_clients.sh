#!/usr/bin/env bash
# Drives `stance serve` with real client libraries from PyPI:
# google-api-python-client (Perspective's documented Python client, pointed at
# our discovery document) and tritonclient[http] (Open Inference Protocol).
#
#   scripts/test_clients.sh [--model PATH]
#
# 1. creates target/clients-venv and installs scripts/requirements-clients.txt
#    (pinned); reused while the requirements file is unchanged;
# 2. starts `stance serve` on a free loopback port with the shipped model (or
#    --model PATH) and a temporary API keys file, so keys are exercised too;
# 3. runs scripts/clients_check.py against it and exits with its status.
#
# Exit 0: all checks passed, or SKIP (printed) when the package registry
# cannot be reached. Exit 1: a check failed or the setup broke.
# Env: STANCE_BIN (a built `stance`; default: cargo build --release, the
#      profile the README's commands use),
#      PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="$ROOT/models/sanctuary-v2.json"
PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/clients-venv"
REQS="$ROOT/scripts/requirements-clients.txt"

die() { echo "test_clients: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) [[ $# -ge 2 ]] || die "--model needs a path"; MODEL="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ -f "$MODEL" ]] || die "model file $MODEL not found"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: the client checks need Python 3"

# --- venv with the pinned clients --------------------------------------------
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed"
  echo "installing pinned clients into $VENV ..."
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS" >"$VENV/install.log" 2>&1; then
    # Tell "registry unreachable" (skip) from "install broke" (fail).
    if ! timeout 60 "$VENV/bin/pip" download --quiet --no-deps --dest "$(mktemp -d)" uritemplate==4.2.0 >/dev/null 2>&1; then
      rm -rf "$VENV"
      skip "the Python package registry cannot be reached; client library tests not run"
    fi
    cat "$VENV/install.log" >&2
    rm -rf "$VENV"
    die "pip install -r $REQS failed (see above)"
  fi
  echo "$want" >"$stamp"
fi

# --- the server ---------------------------------------------------------------
if [[ -z "${STANCE_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build --release --quiet --bin stance) || die "cargo build failed"
  STANCE_BIN="$TARGET/release/stance"
fi
[[ -x "$STANCE_BIN" ]] || die "stance binary $STANCE_BIN not found"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

key="clients-check-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '# temporary key for scripts/test_clients.sh\n%s\n' "$key" >"$work/keys.txt"
port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"

# info: one log line per request, so the key-not-logged check below means something.
STANCE_API_KEYS_FILE="$work/keys.txt" RUST_LOG="${RUST_LOG:-info}" \
  "$STANCE_BIN" serve --model "$MODEL" --bind "127.0.0.1:$port" --workers 2 >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen('$url/readyz', timeout=1)" 2>/dev/null; then
    ready=1; break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  cat "$work/server.log" >&2
  die "stance serve did not become ready on $url"
fi
echo "stance serve ready on $url (model $MODEL)"

# --- the checks ---------------------------------------------------------------
status=0
NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
  "$VENV/bin/python" "$ROOT/scripts/clients_check.py" --url "$url" --key "$key" || status=$?
if grep -q "$key" "$work/server.log"; then
  echo "FAIL the API key appears in the server log"
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "--- server log ---" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
