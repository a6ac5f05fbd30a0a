#!/usr/bin/env bash
# Learning curve of adaptation to a new domain (Us-vs-Them immigration
# comments): labels picked by `stance sample` (margin, entropy, random) added
# to our corpus at several corpus weights, macro-F1 on the test split, mean
# over seeds. See scripts/bench_adapt.py for the protocol.
#
# Usage: scripts/bench_adapt.sh [--no-build] [bench_adapt.py options: --sizes
#            50,100,200,400 --strategies margin,entropy,random --weights 0.1,0.3,1
#            --seeds 5 --svg docs/bench_adapt.svg]
# Needs ../shared/datasets/usvsthem_immigration.jsonl; installs matplotlib
# (scripts/requirements-plot.txt) into target/plot-venv for the SVG plot.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD=1
if [ "${1:-}" = "--no-build" ]; then BUILD=0; shift; fi
DATA="../shared/datasets/usvsthem_immigration.jsonl"
[ -f "$DATA" ] || { echo "bench_adapt: $DATA is missing (../shared beside the repository)" >&2; exit 2; }
VENV="$ROOT/target/plot-venv"
want="$(sha256sum < scripts/requirements-plot.txt | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-plot.txt \
    || { echo "bench_adapt: pip install of matplotlib failed" >&2; exit 2; }
  echo "$want" > "$VENV/.requirements.sha256"
fi
if [ "$BUILD" = 1 ]; then cargo build --release --quiet; fi
mkdir -p target/bench-data/adapt
# A private copy: target/release/stance may be rebuilt during the run.
cp target/release/stance target/bench-data/adapt/stance
exec "$VENV/bin/python" scripts/bench_adapt.py --bin target/bench-data/adapt/stance --data "$DATA" "$@"
