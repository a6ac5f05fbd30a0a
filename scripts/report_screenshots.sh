#!/usr/bin/env bash
# Regenerates docs/report.png and docs/eval-report.png: the HTML reports of
# `stance report` (on a generated, scored archive) and `stance eval --html`
# (the shipped model on the real development set), rendered by headless
# Chromium (`apt-get install -y chromium`). Run from anywhere; needs
# python3 and ../shared/datasets/seeds_sanctuary.jsonl beside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium" >&2; exit 2; }
cargo build --release --quiet
stance=target/release/stance
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1,800 articles of 2-6 paragraphs from six invented outlets, 2019-2021;
# each outlet draws its paragraphs' labels from its own mix, drifting over time.
python3 - "$work/archive.jsonl" <<'PY'
import json, random, sys
rng = random.Random(20261206)
by_label = {}
with open("training_data/test.jsonl", encoding="utf-8") as f:
    for line in f:
        e = json.loads(line)
        by_label.setdefault(e["label"], []).append(e["text"])
outlets = {  # pro, anti, neutral at the start; drift of pro per year
    "Bayport Ledger": ((0.55, 0.10, 0.35), 0.05),
    "Kessington Gazette": ((0.30, 0.30, 0.40), 0.00),
    "Ridgefield Courier": ((0.15, 0.55, 0.30), -0.04),
    "Valley Public Radio": ((0.35, 0.15, 0.50), 0.02),
    "Metro Daily": ((0.25, 0.35, 0.40), 0.06),
    "The Frontier Post": ((0.10, 0.65, 0.25), -0.02),
}
names = list(outlets)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    for i in range(1800):
        o = names[i % len(names)]
        (p, a, n), drift = outlets[o]
        year = 2019 + rng.randrange(3)
        p = min(max(p + drift * (year - 2019), 0.02), 0.9)
        paras = [rng.choice(by_label[rng.choices(["pro", "anti", "neutral"], [p, a, n])[0]])
                 for _ in range(rng.randint(2, 6))]
        date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        out.write(json.dumps({"id": f"art-{i:05d}", "outlet": o, "date": date,
                              "text": "\n\n".join(paras)}) + "\n")
PY
"$stance" score -i "$work/archive.jsonl" -o "$work/scored.jsonl" --keep-fields outlet,date --no-progress
"$stance" report -i "$work/scored.jsonl" --by outlet --time-field date --period quarter -o "$work/report"
"$stance" eval --data ../shared/datasets/seeds_sanctuary.jsonl --html "$work/eval.html" >/dev/null

shot() { # html png height
    chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$(mktemp -d -p "$work")" \
        --screenshot="$2" --window-size=1200,"$3" "file://$1" 2>/dev/null
    local size
    size=$(stat -c %s "$2")
    echo "$2: $size bytes"
    if [ "$size" -gt 400000 ]; then echo "$2 is over 400 KB: lower the window height" >&2; exit 1; fi
}
shot "$work/report/report.html" docs/report.png 2300
shot "$work/eval.html" docs/eval-report.png 2300
