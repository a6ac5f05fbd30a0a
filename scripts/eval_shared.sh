#!/usr/bin/env bash
# Scores on the shared Us-vs-Them benchmark (../shared/datasets), its own split:
#  1. the shipped model (trained on training_data/) on the test split: a
#     cross-task check (comments about immigrants, not sanctuary news);
#  2. the same pipeline and defaults trained on train+valid, on test, with and
#     without balanced class weights (the data set is 12% pro).
# Skips cleanly when ../shared is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
src=../shared/datasets/usvsthem_immigration.jsonl
if [ ! -f "$src" ]; then
  echo "SKIP: $src not found"
  exit 0
fi
cargo build --release --quiet
bin=target/release/stance
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$src" "$tmp" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
with open(f"{out}/train.jsonl", "w") as tr, open(f"{out}/test.jsonl", "w") as te:
    for line in open(src, encoding="utf-8"):
        o = json.loads(line)
        row = json.dumps({"id": o["id"], "text": o["text"], "label": o["label"]})
        (te if o["split"] == "test" else tr).write(row + "\n")
PY
f1() {
  "$bin" eval --model "$1" --data "$tmp/test.jsonl" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("macro-F1 %.3f  accuracy %.3f  n %d" % (r["macro_f1"], r["accuracy"], r["n"]))'
}
echo "shipped model (models/sanctuary-v2.json) on the test split: $(f1 models/sanctuary-v2.json)"
for cw in none balanced; do
  "$bin" train --data "$tmp/train.jsonl" --out "$tmp/m-$cw.json" --force --cv 0 --class-weight "$cw" >/dev/null 2>&1
  echo "trained on train+valid, class weight $cw, on the test split: $(f1 "$tmp/m-$cw.json")"
done
