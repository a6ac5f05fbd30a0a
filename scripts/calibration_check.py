#!/usr/bin/env python3
"""Does calibration help on real text? Leave-one-article-out on the development set.

For each article of ../shared/datasets/seeds_sanctuary.jsonl (the real
development set, one `article` field per paragraph): `stance calibrate` the
model on the other articles' paragraphs, `stance score` the held-out
article's paragraphs with it, and pool the held-out probabilities. Prints
expected calibration error (15 equal-width bins, as `stance eval`), Brier
score and log loss of: the model as it is, the pooled held-out calibrated
scores, and (with --also MODEL...) other models, e.g. one trained with the
cross-validation temperature. Every probability it reports was produced by a
model whose temperature never saw that paragraph's article.

usage: scripts/calibration_check.py [--model M] [--also M2 ...]
(needs target/release/stance: cargo build --release)
"""
import argparse
import collections
import json
import math
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "stance"
DEV = ROOT.parent / "shared" / "datasets" / "seeds_sanctuary.jsonl"
LABELS = ["anti", "neutral", "pro"]
BINS = 15


def metrics(probs, truth):
    bins = [[0, 0.0, 0] for _ in range(BINS)]
    brier = log_loss = 0.0
    for p, t in zip(probs, truth):
        v = [p[l] for l in LABELS]
        top = max(v)
        b = min(int(top * BINS), BINS - 1)
        pred = LABELS[v.index(top)]
        bins[b][0] += 1
        bins[b][1] += top
        bins[b][2] += pred == t
        brier += sum((pi - (1.0 if l == t else 0.0)) ** 2 for pi, l in zip(v, LABELS))
        log_loss -= math.log(max(p[t], 1e-15))
    n = len(probs)
    ece = sum(c / n * abs(r / c - s / c) for c, s, r in bins if c)
    return ece, brier / n, log_loss / n


def score(model, rows, tmp):
    path = pathlib.Path(tmp) / "in.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    args = [str(BIN), "score", "--no-progress", "-i", str(path)]
    if model:
        args[2:2] = ["--model", model]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [json.loads(l)["probabilities"] for l in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="model to check (default: the built-in shipped model)")
    ap.add_argument("--also", nargs="*", default=[], help="other models to report as they are")
    a = ap.parse_args()
    if not DEV.exists():
        print(f"SKIPPED: {DEV} not found (../shared is not beside the checkout)")
        return 1
    rows = [json.loads(l) for l in DEV.open()]
    truth = [r["label"] for r in rows]
    by_article = collections.defaultdict(list)
    for r in rows:
        by_article[r["article"]].append(r)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"development set: {len(rows)} paragraphs, {len(by_article)} articles")
        print("| model | ECE | Brier | log loss |")
        print("|---|---:|---:|---:|")
        for name, model in [("as it is", a.model)] + [(m, m) for m in a.also]:
            e, b, l = metrics(score(model, rows, tmp), truth)
            print(f"| {name} | {e:.4f} | {b:.4f} | {l:.4f} |")
        held_probs, held_truth, temps = [], [], []
        for art, test in sorted(by_article.items()):
            train = [r for r in rows if r["article"] != art]
            data = pathlib.Path(tmp) / "cal.jsonl"
            data.write_text("".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in train))
            out = pathlib.Path(tmp) / "m.json"
            args = [str(BIN), "calibrate", "--data", str(data), "--out", str(out), "--force"]
            if a.model:
                args[2:2] = ["--model", a.model]
            msg = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            temps.append(msg.split("->")[1].split()[0])
            held_probs += score(str(out), test, tmp)
            held_truth += [r["label"] for r in test]
        e, b, l = metrics(held_probs, held_truth)
        print(f"| calibrated on the other articles (leave one article out; temperatures {', '.join(temps)}) | {e:.4f} | {b:.4f} | {l:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
