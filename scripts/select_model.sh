#!/usr/bin/env bash
# Model selection with real text in the criterion: for each candidate setting
# of `stance train`, prints one Markdown table row with
#   - 5-fold cross-validated macro-F1 on the training files (seed 42),
#   - macro-F1 and accuracy on the real development set
#     (../shared/datasets/seeds_sanctuary.jsonl, 78 paragraphs),
#   - macro-F1 on the Us-vs-Them proxy (the test split of
#     ../shared/datasets/usvsthem_immigration.jsonl, 778 reader comments,
#     scored by the model trained on our corpus).
# The synthetic test file is never read here.
#
# Usage: scripts/select_model.sh [-d DATA_SPEC]... [-- 'FLAGS' 'FLAGS' ...]
#   DATA_SPEC: FILE[:WEIGHT] as `stance train --data` takes it (default
#   training_data/train.jsonl). Each FLAGS string is one candidate's extra
#   `stance train` flags (default: a grid over C, min_df and negation scope).
set -euo pipefail
cd "$(dirname "$0")/.."
data=()
while [ $# -gt 0 ]; do
  case "$1" in
    -d) data+=(--data "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-d FILE[:WEIGHT]]... [-- 'FLAGS'...]" >&2; exit 2 ;;
  esac
done
[ ${#data[@]} -gt 0 ] || data=(--data training_data/train.jsonl)
candidates=("$@")
if [ ${#candidates[@]} -eq 0 ]; then
  for neg in 0 3; do
    for min_df in 1 2; do
      for c in 1 3 10 30; do
        candidates+=("--c $c --min-df $min_df --negation-scope $neg")
      done
    done
  done
fi
shared=../shared/datasets
dev=$shared/seeds_sanctuary.jsonl
uvt=$shared/usvsthem_immigration.jsonl
for f in "$dev" "$uvt"; do
  [ -f "$f" ] || { echo "select_model: SKIPPED: $f not found (../shared is not beside the checkout)" >&2; exit 1; }
done
cargo build --release --quiet
bin=target/release/stance
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -c '
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as o:
    for line in f:
        r = json.loads(line)
        if r["split"] == "test":
            o.write(json.dumps({"id": r["id"], "text": r["text"], "label": r["label"]}) + "\n")
' "$uvt" "$tmp/uvt_test.jsonl"
metric() { python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.3f %.3f" % (r["macro_f1"], r["accuracy"]))'; }
echo "data: ${data[*]}"
echo "| candidate | CV macro-F1 | dev macro-F1 | dev accuracy | Us-vs-Them macro-F1 |"
echo "|---|---:|---:|---:|---:|"
for flags in "${candidates[@]}"; do
  # shellcheck disable=SC2086
  cv=$("$bin" train "${data[@]}" --out "$tmp/m.json" --force --cv 5 --seed 42 $flags 2>/dev/null \
    | sed -nE 's/.*cross-validation: macro-F1 ([0-9.]+) ± ([0-9.]+).*/\1 ± \2/p')
  read -r dev_f1 dev_acc < <("$bin" eval --model "$tmp/m.json" --data "$dev" --json | metric)
  read -r uvt_f1 _ < <("$bin" eval --model "$tmp/m.json" --data "$tmp/uvt_test.jsonl" --json | metric)
  echo "| \`$flags\` | $cv | $dev_f1 | $dev_acc | $uvt_f1 |"
done
