#!/usr/bin/env bash
# Chooses `stance train`'s defaults by 5-fold cross-validation on the training
# set: trains one model per grid point (C x min_df x n-gram range) and prints
# the cross-validated macro-F1 (mean ± std) of each, best last.
# Usage: scripts/tune.sh [TRAIN_FILE]   (default training_data/train.jsonl)
# The test set is never read here.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-training_data/train.jsonl}
cargo build --release --quiet
bin=target/release/stance
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=()
for ngrams in 1..1 1..2 1..3; do
  for min_df in 1 2 3; do
    for c in 1 3 10 30 100; do
      out=$("$bin" train --data "$data" --out "$tmp/m.json" --force --cv 5 --seed 42 \
        --c "$c" --min-df "$min_df" --ngrams "$ngrams" 2>/dev/null | grep 'cross-validation')
      score=$(sed -E 's/.*macro-F1 ([0-9.]+) ± ([0-9.]+).*/\1 \2/' <<<"$out")
      results+=("$score ngrams=$ngrams min_df=$min_df C=$c")
      echo "ngrams=$ngrams min_df=$min_df C=$c: macro-F1 ${score% *} ± ${score#* }" >&2
    done
  done
done
echo "== sorted by mean cross-validated macro-F1 (mean std params)"
printf '%s\n' "${results[@]}" | sort -n
