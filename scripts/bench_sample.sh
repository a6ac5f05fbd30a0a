#!/usr/bin/env bash
# `stance sample` on a large archive: peak memory and throughput, against
# `stance score` on the same archive in the same run (the baseline: sampling
# scores every paragraph too, then keeps a bounded pool of candidates).
#
# Usage: scripts/bench_sample.sh [--input FILE.jsonl] [--mb 200] [--n 400]
#            [--strategy margin] [--threads N] [--no-build]
#
# Without --input, an archive of --mb MiB (default 200 MiB) is made once,
# deterministically, by scripts/news_corpus.py from training_data/train.jsonl
# (articles of 3-12 corpus paragraphs, so wire-style copies abound) and kept
# in target/bench-data/sample. Each run is one process timed by
# /usr/bin/time -v: wall clock and peak RSS (Maximum resident set size).
# Bar: peak RSS of `stance sample` under 100 MB. Exit 0 when it holds, 1 when not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INPUT=""
MB=200
N=400
STRATEGY=margin
THREADS="$(nproc)"
BUILD=1
WORK="$ROOT/target/bench-data/sample"
while [ $# -gt 0 ]; do
  case "$1" in
    --input) INPUT="$2"; shift 2 ;;
    --mb) MB="$2"; shift 2 ;;
    --n) N="$2"; shift 2 ;;
    --strategy) STRATEGY="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }
if [ "$BUILD" = 1 ]; then cargo build --release --quiet; fi
BIN="$ROOT/target/release/stance"
mkdir -p "$WORK"
if [ -z "$INPUT" ]; then
  INPUT="$WORK/archive-${MB}mib.jsonl"
  key="$( { sha256sum < training_data/train.jsonl; sha256sum < scripts/news_corpus.py; echo "$MB"; } | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$INPUT" ] || [ "$(cat "$INPUT.key" 2>/dev/null)" != "$key" ]; then
    echo "making a $MB MiB archive at $INPUT" >&2
    python3 scripts/news_corpus.py archive --mb "$MB" --out "$INPUT" training_data/train.jsonl
    echo "$key" > "$INPUT.key"
  fi
fi
BYTES="$(stat -c %s "$INPUT")"
echo "input: $INPUT ($BYTES bytes), threads $THREADS, n $N, strategy $STRATEGY" >&2

measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" 2> "$WORK/$label.time" >/dev/null || { cat "$WORK/$label.time" >&2; exit 2; }
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/$label.time")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/$label.time")"
  echo "$label $wall $rss"
}
S="$(measure sample "$BIN" sample --input "$INPUT" -n "$N" --strategy "$STRATEGY" -j "$THREADS" --format jsonl --output "$WORK/tasks.jsonl" --force)"
B="$(measure score "$BIN" score --input "$INPUT" -j "$THREADS" --no-progress --output "$WORK/scored.jsonl")"
grep '^summary' "$WORK/sample.time" >&2 || true
rm -f "$WORK/scored.jsonl"
PICKED="$(grep -c . "$WORK/tasks.jsonl")"
echo
echo "| run | wall s | MB/s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for r in "$S" "$B"; do
  read -r label wall rss <<< "$r"
  printf "| stance %s | %.2f | %.1f | %s |\n" "$label" "$wall" "$(echo "$BYTES / 1000000 / $wall" | bc -l)" "$rss"
done
read -r _ _ SRSS <<< "$S"
echo
echo "picked $PICKED paragraphs; bar: sample peak RSS $SRSS MB < 100 MB"
awk -v r="$SRSS" 'BEGIN { exit !(r < 100) }'
