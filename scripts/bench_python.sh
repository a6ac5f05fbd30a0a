#!/usr/bin/env bash
# Python-side scoring speed, in one run on one archive: stance's
# Model.predict_proba on a list of str and Model.score_arrow on an Arrow
# table (1 thread and every core), stance.spark.score in Spark local[N], and
# against them scikit-learn's predict_proba of the same model shape
# (scripts/reference_service.py, trained on the same data) in one Python
# thread and in a pandas UDF in Spark local[N]. Prints a markdown table with
# MB/s, MB/s per core and the per-core ratio to scikit-learn (bar: >= 5x with
# the texts in memory; Spark also end to end, JSON read included).
#
# Usage: scripts/bench_python.sh [--mb 200] [--threads N] [--c 10] [--work DIR] [--no-build]
#
# The archive (--mb MiB of news-like JSONL, scripts/news_corpus.py, the same
# generator as scripts/bench_score.sh) is made once in --work. MB are 10^6
# bytes of document text. Each measurement is its own process
# (scripts/bench_python.py); times exclude loading (see that file).
# Exit status: 0 when the bar passes, 1 when it fails, 2 on set-up errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1
export PIP_CACHE_DIR="$ROOT/target/pip-cache"
MB=200
THREADS="$(nproc)"
C=10
WORK="$ROOT/target/bench-data/python"
BUILD=1
VENV="$ROOT/target/python-bench-venv"
# scikit-learn, the reference's stemmer (requirements-serve.txt), the package's own.
REQS=("$ROOT/scripts/requirements-bench.txt" "$ROOT/scripts/requirements-serve.txt"
      "$ROOT/scripts/requirements-python.txt")

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench_python: $*" >&2; exit 2; }
say() { echo "bench_python: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --c) C="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ "$MB" =~ ^[1-9][0-9]*$ ]] || die "--mb must be a positive whole number"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive whole number"

# Venv (both requirement files), binary, both models trained on the same data.
# shellcheck source=scripts/bench_common.sh
source "$ROOT/scripts/bench_common.sh"
bench_setup
if [ "$BUILD" = 1 ]; then
  rm -rf "$WORK/wheels"
  "$VENV/bin/maturin" build --release --quiet -m python/Cargo.toml -i "$PY" --out "$WORK/wheels" \
    || die "maturin build failed"
fi
shopt -s nullglob
wheels=("$WORK"/wheels/stance-*.whl "$ROOT"/target/wheels/stance-*.whl)
shopt -u nullglob
[ ${#wheels[@]} -gt 0 ] || die "no wheel (drop --no-build)"
"$VENV/bin/pip" install --quiet --force-reinstall --no-deps "${wheels[0]}" || die "cannot install ${wheels[0]}"

INPUT="$WORK/archive-${MB}mib.jsonl"
key="$( { sha256sum < "$WORK/train.jsonl"; sha256sum < "$ROOT/scripts/news_corpus.py"; echo "$MB"; } | sha256sum | cut -d' ' -f1)"
if [ ! -f "$INPUT" ] || [ "$(cat "$INPUT.key" 2>/dev/null)" != "$key" ]; then
  say "making a $MB MiB archive at $INPUT"
  python3 "$ROOT/scripts/news_corpus.py" archive --mb "$MB" --out "$INPUT" "$WORK/train.jsonl" \
    || die "cannot make the archive"
  echo "$key" > "$INPUT.key"
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
ARGS=(--input "$INPUT" --model "$WORK/stance-model.json" --ref-model "$WORK/ref-model.joblib")
: > "$WORK/results.jsonl"
measure() { # LABEL CORES ENV... -- MODE [ARGS]
  local label="$1" cores="$2"; shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  say "run $label"
  local line
  line="$(env "${envs[@]}" PYSPARK_PYTHON="$PY" PYSPARK_DRIVER_PYTHON="$PY" \
    "$PY" "$ROOT/scripts/bench_python.py" "$@" "${ARGS[@]}" 2> "$WORK/$label.err")" \
    || { tail -20 "$WORK/$label.err" >&2; die "$label failed"; }
  echo "$line" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["label"]=sys.argv[1]; r["cores"]=int(sys.argv[2]); print(json.dumps(r))' \
    "$label" "$cores" >> "$WORK/results.jsonl"
}
ONE=(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)
measure "sklearn predict_proba (1 thread)" 1 "${ONE[@]}" -- sklearn
measure "stance predict_proba, list (1 thread)" 1 RAYON_NUM_THREADS=1 -- list
measure "stance predict_proba, list ($THREADS threads)" "$THREADS" RAYON_NUM_THREADS="$THREADS" -- list
measure "stance score_arrow, Table (1 thread)" 1 RAYON_NUM_THREADS=1 -- arrow
measure "stance score_arrow, Table ($THREADS threads)" "$THREADS" RAYON_NUM_THREADS="$THREADS" -- arrow
measure "Spark local[$THREADS] job, pandas UDF + sklearn" "$THREADS" "${ONE[@]}" -- spark-sklearn --threads "$THREADS"
measure "Spark local[$THREADS] job, stance.spark.score" "$THREADS" -- spark --threads "$THREADS"
measure "Spark local[$THREADS], input cached, pandas UDF + sklearn" "$THREADS" "${ONE[@]}" -- spark-sklearn --threads "$THREADS" --cached
measure "Spark local[$THREADS], input cached, stance.spark.score" "$THREADS" -- spark --threads "$THREADS" --cached
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

CPU="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
{
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($CPU); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "Command: scripts/bench_python.sh --mb $MB --threads $THREADS --c $C"
  "$PY" - "$WORK/results.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
r0 = rows[0]
print(f"Input: {r0['docs']} documents, {r0['mb']:.1f} MB of text; both models trained on the same data")
print()
print("| run | MB/s | cores | MB/s per core | per core vs scikit-learn |")
print("|---|---:|---:|---:|---:|")
spark_ref = {x.get("cached", False): x for x in rows if x["mode"] == "spark-sklearn"}


def ratio(r):
    """Per-core speed over scikit-learn's on the same footing (Spark vs Spark,
    cached vs cached)."""
    ref = spark_ref[r.get("cached", False)] if r["mode"].startswith("spark") else r0
    return (r["mb_per_s"] / r["cores"]) / (ref["mb_per_s"] / ref["cores"])


for r in rows:
    print(f"| {r['label']} | {r['mb_per_s']:.2f} | {r['cores']} | {r['mb_per_s'] / r['cores']:.2f} | {ratio(r):.1f}x |")
# The bar compares scoring with the texts in memory (every row but the
# end-to-end Spark job, whose JSON read costs the same for both libraries
# and is reported above for the whole-job view).
worst = min(ratio(r) for r in rows
            if r["mode"] in ("list", "arrow") or (r["mode"] == "spark" and r.get("cached")))
e2e = [ratio(r) for r in rows if r["mode"] == "spark" and not r.get("cached")]
print()
print(f"Bar: every stance path, texts in memory, >= 5x scikit-learn per core: worst {worst:.1f}x: {'PASS' if worst >= 5 else 'FAIL'}")
print(f"Whole Spark job (JSON read included): {e2e[0]:.1f}x")
sys.exit(0 if worst >= 5 else 1)
PYEOF
} | tee "$WORK/table.md"
