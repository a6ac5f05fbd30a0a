#!/usr/bin/env bash
# The Python package (python/): builds the wheel with maturin, installs it
# into a venv and runs the pytest suite (python/tests/): the API and its
# errors, parity with the real `stance` binary (CLI and HTTP), Arrow, and
# Spark (pyspark, local[2]); then installs the same wheel into a fresh venv
# and imports it from a directory outside the repository.
#
# Usage: scripts/test_python.sh [--no-build] [-- PYTEST ARGS...]
#
# Venv: target/python-venv, from scripts/requirements-python.txt (pinned),
# remade when that file changes; pip's cache is target/pip-cache. Needs
# python3 (>= 3.10) with venv, Java 17+ for Spark, and PyPI. Fails (exit 1)
# when anything cannot be installed, built or run, and when a test is skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/target/python-venv"
FRESH="$ROOT/target/python-wheel-venv"
REQS="$ROOT/scripts/requirements-python.txt"
WHEELS="$ROOT/target/wheels"
export PIP_CACHE_DIR="$ROOT/target/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONDONTWRITEBYTECODE=1
BUILD=1
PYTEST_ARGS=()

die() { echo "test_python: FAILED: $*" >&2; exit 1; }
say() { echo "test_python: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

start=$SECONDS
command -v python3 >/dev/null || die "python3 is not installed"
command -v java >/dev/null || die "java is not installed (Spark needs Java 17+)"

want="$(sha256sum < "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  say "creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed"
  "$VENV/bin/pip" install --quiet -r "$REQS" || die "pip install -r $REQS failed"
  echo "$want" > "$VENV/.requirements.sha256"
fi
PY="$VENV/bin/python"

if [ "$BUILD" = 1 ]; then
  say "cargo build --release (the stance binary the tests compare with)"
  cargo build --release --quiet --bin stance || die "cargo build --release failed"
  say "maturin build --release"
  rm -rf "$WHEELS"
  "$VENV/bin/maturin" build --release --quiet -m python/Cargo.toml -i "$PY" --out "$WHEELS" \
    || die "maturin build failed"
fi
shopt -s nullglob
wheels=("$WHEELS"/stance-*.whl)
shopt -u nullglob
[ ${#wheels[@]} -eq 1 ] || die "expected one wheel in $WHEELS, found ${#wheels[@]}"
WHEEL="${wheels[0]}"
say "installing $(basename "$WHEEL")"
"$VENV/bin/pip" install --quiet --force-reinstall --no-deps "$WHEEL" || die "pip install of the wheel failed"

say "pytest python/tests"
# From python/tests, so `import stance` is the installed wheel, not python/stance.
(
  cd python/tests
  PYSPARK_PYTHON="$PY" PYSPARK_DRIVER_PYTHON="$PY" STANCE_BIN="$ROOT/target/release/stance" \
    "$PY" -m pytest -q -p no:cacheprovider -rs "${PYTEST_ARGS[@]}" .
) || die "pytest"

say "the wheel alone: fresh venv, run from a directory outside the repository"
rm -rf "$FRESH"
python3 -m venv "$FRESH" || die "python3 -m venv failed"
"$FRESH/bin/pip" install --quiet "$WHEEL" || die "pip install $WHEEL into a fresh venv failed"
outside="$(mktemp -d)"
trap 'rm -rf "$outside"' EXIT
got="$(cd "$outside" && "$FRESH/bin/python" -c \
  "import stance; print(stance.Model.load().predict(['The county should stop honoring ICE detainers.']))")" \
  || die "importing the wheel outside the repository"
echo "$got"
[[ "$got" =~ ^\[\'(pro|anti|neutral)\'\]$ ]] || die "unexpected output from the fresh venv: $got"

say "passed in $((SECONDS - start)) s"
