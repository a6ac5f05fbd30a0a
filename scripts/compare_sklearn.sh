#!/usr/bin/env bash
# Parity with scikit-learn: trains our model and scikit-learn's
# TfidfVectorizer + LogisticRegression with the same hyper-parameters on the
# same split, feeding scikit-learn our analyzer's tokens (`stance tokenize`),
# and prints macro-F1, train time and peak memory for both.
#
# Usage: scripts/compare_sklearn.sh [--sets training,shared,bench] [--n 100000]
#            [--c 10] [--ngrams 1..2] [--min-df 2] [--max-df 1.0] [--max-features N]
#            [--class-weight none|balanced] [--max-iter 1000] [--sk-tol matched|NUMBER]
#            [--sk-blas-threads 1] [--repeat 1] [--work DIR] [--no-build]
#            [--bench-source FILE] [--negation-scope N]
#
# Sets:
#   training  training_data/train.jsonl -> training_data/test.jsonl (skipped if absent)
#   shared    ../shared/datasets/usvsthem_immigration.jsonl (or $STANCE_SHARED_DATASET),
#             its own split: train+valid -> test (skipped if ../shared is absent)
#   bench     speed: --n paragraphs (default 100,000) from scripts/make_bench_corpus,
#             built from --bench-source (default training_data/train.jsonl; give
#             training_data/v1/train.jsonl to compare with runs before corpus
#             v2) (or, until that exists, from
#             training_data/parts/*.train.jsonl); tested on training_data/test.jsonl
#             (or parts/*.test.jsonl)
#   parts     training_data/parts/*.train.jsonl -> parts/*.test.jsonl (development
#             stand-in for `training` while train.jsonl is being written; not default)
#
# Ours is timed with /usr/bin/time -v around the whole `stance train --cv 0`
# process (read file, analyze, vectorize, fit, write model): wall seconds and
# peak RSS. scikit-learn is timed in-process around vectorize + fit on
# pre-computed tokens (so it does not pay for tokenizing); its peak RSS is
# the process's (VmHWM) right after fit. scikit-learn's stopping tolerance is
# by default our rule translated to its scale (--sk-tol matched), and its
# OpenBLAS runs one thread (--sk-blas-threads 1): on this 2-core machine
# OpenBLAS threads only add overhead to L-BFGS's vector operations (its fit on
# the shared set was 3x slower with 2), so one thread is scikit-learn's faster setting; its
# OpenMP loss loops keep their default threads. Exit status: 0 when every bar
# checked passes, 1 when one fails, 2 on usage or set-up errors. With
# --repeat R both sides are run R times alternately and the table shows
# median times and peaks (the machine is shared; single runs vary up to 2x).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SETS="training,shared,bench"
N=100000
C=10
NGRAMS="1..2"
MIN_DF=2
MAX_DF=1.0
MAX_FEATURES=""
CLASS_WEIGHT="none"
MAX_ITER=1000
SK_TOL="matched"
SK_BLAS_THREADS=1
REPEAT=1
WORK="$ROOT/target/compare-sklearn"
BUILD=1
VENV="$ROOT/target/bench-venv"
REQ="$ROOT/scripts/requirements-bench.txt"
SHARED="${STANCE_SHARED_DATASET:-$ROOT/../shared/datasets/usvsthem_immigration.jsonl}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "compare_sklearn: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --sets) SETS="$2"; shift 2 ;;
    --n) N="$2"; shift 2 ;;
    --c) C="$2"; shift 2 ;;
    --ngrams) NGRAMS="$2"; shift 2 ;;
    --min-df) MIN_DF="$2"; shift 2 ;;
    --max-df) MAX_DF="$2"; shift 2 ;;
    --max-features) MAX_FEATURES="$2"; shift 2 ;;
    --class-weight) CLASS_WEIGHT="$2"; shift 2 ;;
    --max-iter) MAX_ITER="$2"; shift 2 ;;
    --sk-tol) SK_TOL="$2"; shift 2 ;;
    --sk-blas-threads) SK_BLAS_THREADS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --bench-source) BENCH_SOURCE="$2"; shift 2 ;;
    --negation-scope) NEGATION="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case "$REPEAT" in ''|*[!0-9]*|0) die "--repeat needs a positive integer" ;; esac
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "compare_sklearn: installing GNU time (/usr/bin/time)" >&2
  apt-get update -qq && apt-get install -y -qq time > /dev/null || true
fi
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get update && apt-get install -y time"

# --- Python venv with pinned scikit-learn (reused while the pins are unchanged)
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "compare_sklearn: creating $VENV with $(basename "$REQ")" >&2
  python3 -m venv "$VENV" || die "python3 -m venv failed"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ" || die "pip install failed"
  echo "$want" > "$STAMP"
fi
PY="$VENV/bin/python"

# --- Release build
if [ "$BUILD" = 1 ]; then
  cargo build --release --quiet || die "cargo build --release failed"
fi
BUILT="$ROOT/target/release/stance"
[ -x "$BUILT" ] || die "$BUILT is missing (drop --no-build)"

mkdir -p "$WORK"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/compare-sklearn.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# A private copy: the target dir is shared, and a rebuild by someone else
# must not swap the binary between runs.
STANCE="$TMP/stance"
cp "$BUILT" "$STANCE"
STANCE_SHA="$(sha256sum "$STANCE" | cut -c1-12)"
STANCE_BUILT="$(date -u -r "$BUILT" '+%Y-%m-%d %H:%M:%S UTC')"
RESULTS=()

# Field from /usr/bin/time -v output: wall seconds or peak RSS in MB.
wall_seconds() {
  awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
cpu_seconds() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }
peak_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$1"; }

# run_set NAME TRAIN TEST: ours (timed) then scikit-learn on the same split,
# REPEAT times alternately (the table reports medians).
run_set() {
  local name="$1" train="$2" test="$3" dir="$WORK/$1" r load
  rm -rf "$dir"
  mkdir -p "$dir"
  local model="$dir/model.json"
  local args=(--data "$train" --out "$model" --force --cv 0 --c "$C" --ngrams "$NGRAMS"
    ${NEGATION:+--negation-scope "$NEGATION"}
    --min-df "$MIN_DF" --max-df "$MAX_DF" --class-weight "$CLASS_WEIGHT" --max-iter "$MAX_ITER")
  [ -n "$MAX_FEATURES" ] && args+=(--max-features "$MAX_FEATURES")
  for r in $(seq 1 "$REPEAT"); do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    echo "compare_sklearn: [$name] run $r/$REPEAT: stance train on $(wc -l < "$train") examples" >&2
    /usr/bin/time -v -o "$dir/time.$r.txt" "$STANCE" train "${args[@]}" > "$dir/train.out" 2> "$dir/train.err" \
      || { cat "$dir/train.err" >&2; die "[$name] stance train failed"; }
    cp "$dir/model.report.json" "$dir/model.report.$r.json"
    if [ "$r" = 1 ]; then
      "$STANCE" eval --model "$model" --data "$test" --json > "$dir/eval.json" 2> "$dir/eval.err" \
        || { cat "$dir/eval.err" >&2; die "[$name] stance eval failed"; }
      "$STANCE" tokenize --data "$train" --model "$model" > "$TMP/$name.train.tok.jsonl" 2> "$dir/tok.err" \
        || { cat "$dir/tok.err" >&2; die "[$name] stance tokenize failed"; }
      "$STANCE" tokenize --data "$test" --model "$model" > "$TMP/$name.test.tok.jsonl" 2>> "$dir/tok.err" \
        || { cat "$dir/tok.err" >&2; die "[$name] stance tokenize failed"; }
    fi
    echo "compare_sklearn: [$name] run $r/$REPEAT: scikit-learn" >&2
    OPENBLAS_NUM_THREADS="$SK_BLAS_THREADS" \
      "$PY" "$ROOT/scripts/sklearn_reference.py" fit --name "$name" \
      --train-tokens "$TMP/$name.train.tok.jsonl" --test-tokens "$TMP/$name.test.tok.jsonl" \
      --out "$dir/result.$r.json" --c "$C" --ngrams "$NGRAMS" --min-df "$MIN_DF" --max-df "$MAX_DF" \
      --max-features "$MAX_FEATURES" --class-weight "$CLASS_WEIGHT" --max-iter "$MAX_ITER" \
      --tol "$SK_TOL" --our-model "$model" --our-report "$dir/model.report.$r.json" \
      --our-eval "$dir/eval.json" --our-wall "$(wall_seconds "$dir/time.$r.txt")" \
      --our-rss-mb "$(peak_mb "$dir/time.$r.txt")" --our-cpu "$(cpu_seconds "$dir/time.$r.txt")" --load "$load" \
      || die "[$name] scikit-learn run failed"
    RESULTS+=("$dir/result.$r.json")
  done
}

TRAIN_JSONL="$ROOT/training_data/train.jsonl"
TEST_JSONL="$ROOT/training_data/test.jsonl"

# Test split for the bench set, and the development `parts` set.
parts_split() { # KIND (train|test) -> path of the concatenation
  local out="$TMP/parts.$1.jsonl"
  [ -f "$out" ] || cat "$ROOT"/training_data/parts/*."$1".jsonl > "$out"
  echo "$out"
}

IFS=',' read -r -a WANT <<< "$SETS"
for set in "${WANT[@]}"; do
  case "$set" in
    training)
      if [ -f "$TRAIN_JSONL" ] && [ -f "$TEST_JSONL" ]; then
        run_set training "$TRAIN_JSONL" "$TEST_JSONL"
      else
        echo "compare_sklearn: [training] skipped: training_data/train.jsonl or test.jsonl is absent" >&2
      fi ;;
    parts)
      compgen -G "$ROOT/training_data/parts/*.train.jsonl" > /dev/null \
        || die "[parts] no training_data/parts/*.train.jsonl"
      run_set parts "$(parts_split train)" "$(parts_split test)" ;;
    shared)
      if [ -f "$SHARED" ]; then
        "$PY" "$ROOT/scripts/sklearn_reference.py" split "$SHARED" \
          --train "$TMP/shared.train.jsonl" --test "$TMP/shared.test.jsonl" \
          || die "[shared] cannot split $SHARED"
        run_set shared "$TMP/shared.train.jsonl" "$TMP/shared.test.jsonl"
      else
        echo "compare_sklearn: [shared] skipped: ../shared/datasets is absent" >&2
      fi ;;
    bench)
      if [ -n "${BENCH_SOURCE:-}" ]; then src="$BENCH_SOURCE"; elif [ -f "$TRAIN_JSONL" ]; then src="$TRAIN_JSONL"; else
        echo "compare_sklearn: [bench] training_data/train.jsonl absent: recombining parts/*.train.jsonl" >&2
        src="$(parts_split train)"
      fi
      if [ -f "$TEST_JSONL" ]; then btest="$TEST_JSONL"; else btest="$(parts_split test)"; fi
      "$ROOT/scripts/make_bench_corpus" "$TMP/bench.jsonl" -n "$N" --source "$src"
      run_set bench "$TMP/bench.jsonl" "$btest" ;;
    *) die "unknown set '$set' (training, shared, bench, parts)" ;;
  esac
done

if [ ${#RESULTS[@]} -eq 0 ]; then
  echo "compare_sklearn: every data set asked for was skipped; nothing to compare" >&2
  exit 0
fi
{
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); load: $(uptime | sed 's/.*load average/load average/')"
  echo "# stance binary: sha256 $STANCE_SHA..., built $STANCE_BUILT"
  echo "# command: scripts/compare_sklearn.sh --sets $SETS --n $N --c $C --ngrams $NGRAMS --min-df $MIN_DF --max-df $MAX_DF${MAX_FEATURES:+ --max-features $MAX_FEATURES} --class-weight $CLASS_WEIGHT --max-iter $MAX_ITER --sk-tol $SK_TOL --sk-blas-threads $SK_BLAS_THREADS --repeat $REPEAT${BENCH_SOURCE:+ --bench-source $BENCH_SOURCE}${NEGATION:+ --negation-scope $NEGATION}"
  echo
  "$PY" "$ROOT/scripts/sklearn_reference.py" table "${RESULTS[@]}"
} | tee "$WORK/table.md"
exit "${PIPESTATUS[0]}"
