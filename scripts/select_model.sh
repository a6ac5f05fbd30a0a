#!/usr/bin/env bash
# Model selection with real text in the criterion: for each candidate setting
# of `stance train`, prints one Markdown table row with
#   - 5-fold cross-validated macro-F1 on the training files (seed 42),
#   - macro-F1 and accuracy on the real development set
#     (../shared/datasets/seeds_sanctuary.jsonl, 78 paragraphs),
#   - macro-F1 on the Us-vs-Them proxy (the test split of
#     ../shared/datasets/usvsthem_immigration.jsonl, 778 reader comments,
#     scored by the model trained on our corpus),
#   - the mean of the three macro-F1 figures (the selection criterion,
#     README "Defaults and how they were chosen").
# The synthetic test file is never read here. A failing `stance train` or
# `stance eval` stops the script with its message and exit status.
#
# Usage: scripts/select_model.sh [-d DATA_SPEC]... [-- 'FLAGS' 'FLAGS' ...]
#   DATA_SPEC: FILE[:WEIGHT] as `stance train --data` takes it (default
#   training_data/train.jsonl). Each FLAGS string is one candidate's extra
#   `stance train` flags (default: README's grid, C 1, 3, 10 x min_df 2, 3,
#   5 x negation scope 0, 3: 18 candidates, each a 5-fold training run).
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
    for min_df in 2 3 5; do
      for c in 1 3 10; do
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
# One table row from the training report and the two evaluations.
row() {
  python3 - "$@" <<'PY'
import json, sys
flags, report, dev, uvt = sys.argv[1:]
cv = json.load(open(report))["cv"]
dev = json.load(open(dev))
uvt = json.load(open(uvt))
f1s = [cv["macro_f1_mean"], dev["macro_f1"], uvt["macro_f1"]]
print("| `%s` | %.3f ± %.3f | %.3f | %.3f | %.3f | %.3f |" % (
    flags, cv["macro_f1_mean"], cv["macro_f1_std"], dev["macro_f1"],
    dev["accuracy"], uvt["macro_f1"], sum(f1s) / 3))
PY
}
echo "data: ${data[*]}"
echo "| candidate | CV macro-F1 | dev macro-F1 | dev accuracy | Us-vs-Them macro-F1 | mean |"
echo "|---|---:|---:|---:|---:|---:|"
for flags in "${candidates[@]}"; do
  # Progress goes to a file; on failure it is shown with the error.
  # shellcheck disable=SC2086
  if ! "$bin" train "${data[@]}" --out "$tmp/m.json" --force --cv 5 --seed 42 $flags \
      >"$tmp/train.out" 2>"$tmp/train.err"; then
    echo "select_model: stance train failed for candidate '$flags':" >&2
    cat "$tmp/train.err" >&2
    exit 1
  fi
  if grep -q '^warning' "$tmp/train.err"; then
    grep '^warning' "$tmp/train.err" | sed "s|^|[$flags] |" >&2
  fi
  "$bin" eval --model "$tmp/m.json" --data "$dev" --json >"$tmp/dev.json"
  "$bin" eval --model "$tmp/m.json" --data "$tmp/uvt_test.jsonl" --json >"$tmp/uvt.json"
  row "$flags" "$tmp/m.report.json" "$tmp/dev.json" "$tmp/uvt.json"
done
