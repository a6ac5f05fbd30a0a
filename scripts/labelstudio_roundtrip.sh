#!/usr/bin/env bash
# Real Label Studio round trip for `stance sample --format labelstudio` and
# `stance labels import --from labelstudio`.
#
#   scripts/labelstudio_roundtrip.sh [--keep]
#
# 1. creates target/labelstudio-venv and installs
#    scripts/requirements-labelstudio.txt (pinned label-studio 1.23.x);
#    reused while the requirements file's sha256 is unchanged;
# 2. starts Label Studio on a free 127.0.0.1 port with SQLite in a throwaway
#    data directory, no browser, no version check or analytics, and a user
#    created non-interactively (random password);
# 3. runs scripts/labelstudio_roundtrip.py against it: sample -> project ->
#    import -> annotate (two annotators) -> export JSON and JSON_MIN ->
#    stance labels import -> check every record;
# 4. stops Label Studio (its whole process group) on exit.
#
# Prints "LABEL STUDIO ROUND TRIP: PASSED" and exits 0, or exits 1. A failed
# install fails too (no skip): CI must not pass without the round trip.
# --keep: keep the work directory (archive, tasks, exports, labeled files) and
#         the server log, and print where they are.
# Env: STANCE_BIN (default: target/release/stance, built if missing),
#      PYTHON (default python3), LS_START_TIMEOUT (seconds, default 300).
set -euo pipefail

t0=$(date +%s)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/labelstudio-venv"
REQS="$ROOT/scripts/requirements-labelstudio.txt"
KEEP=""

die() {
  echo "labelstudio_roundtrip: $*" >&2
  echo "LABEL STUDIO ROUND TRIP: FAILED" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: Label Studio needs Python 3"

# --- venv with the pinned Label Studio ------------------------------------------
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/label-studio" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed"
  echo "installing pinned Label Studio into $VENV (a few minutes) ..."
  ti=$(date +%s)
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS" >"$VENV/install.log" 2>&1; then
    tail -n 40 "$VENV/install.log" >&2
    rm -rf "$VENV"
    die "pip install -r $REQS failed (see above); the Label Studio round trip did not run"
  fi
  echo "$want" >"$stamp"
  echo "installed in $(( $(date +%s) - ti ))s"
fi
"$VENV/bin/python" -c 'import requests' 2>/dev/null || die "the venv $VENV has no requests module"

# --- stance ------------------------------------------------------------------------
if [[ -z "${STANCE_BIN:-}" ]]; then
  STANCE_BIN="$TARGET/release/stance"
  if [[ ! -x "$STANCE_BIN" ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin stance) || die "cargo build failed"
  fi
fi
[[ -x "$STANCE_BIN" ]] || die "stance binary $STANCE_BIN not found"

# --- Label Studio ------------------------------------------------------------------
work="$(mktemp -d -t ls-roundtrip.XXXXXX)"
data_dir="$work/label-studio-data"
mkdir -p "$data_dir"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # setsid made the server the leader of its own process group: stop all of it.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -n "$KEEP" ]]; then
    echo "kept $work (server log: $work/label-studio.log)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
email="stance-roundtrip@example.com"
password="rt-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

echo "starting Label Studio $("$VENV/bin/pip" show label-studio 2>/dev/null | sed -n 's/^Version: //p') on $url (data in $data_dir) ..."
ts=$(date +%s)
setsid env \
  LABEL_STUDIO_BASE_DATA_DIR="$data_dir" \
  DJANGO_DB=sqlite \
  LABEL_STUDIO_USERNAME="$email" \
  LABEL_STUDIO_PASSWORD="$password" \
  LATEST_VERSION_CHECK=false \
  COLLECT_ANALYTICS=false \
  SENTRY_DSN= FRONTEND_SENTRY_DSN= \
  "$VENV/bin/label-studio" start \
    --data-dir "$data_dir" \
    --internal-host 127.0.0.1 --port "$port" --host "$url" \
    --no-browser </dev/null >"$work/label-studio.log" 2>&1 &
server_pid=$!

ready=""
deadline=$(( $(date +%s) + ${LS_START_TIMEOUT:-300} ))
while [[ $(date +%s) -lt $deadline ]]; do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$url/health', timeout=2)" 2>/dev/null; then
    ready=1; break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 1
done
if [[ -z "$ready" ]]; then
  tail -n 60 "$work/label-studio.log" >&2
  die "Label Studio did not answer $url/health (see its log above)"
fi
echo "Label Studio ready in $(( $(date +%s) - ts ))s"

# --- the round trip --------------------------------------------------------------
status=0
"$VENV/bin/python" "$ROOT/scripts/labelstudio_roundtrip.py" \
  --url "$url" --email "$email" --password "$password" \
  --stance "$STANCE_BIN" --workdir "$work/files" || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- Label Studio log (last 40 lines) ---" >&2
  tail -n 40 "$work/label-studio.log" >&2
  die "the round trip failed (exit $status)"
fi
echo "round trip took $(( $(date +%s) - t0 ))s in all"
echo "LABEL STUDIO ROUND TRIP: PASSED"
