#!/usr/bin/env python3
"""Simulated adaptation to a new domain: how many labels, picked how, and
with what weight on our corpus, lift macro-F1 on the Us-vs-Them data.

The Us-vs-Them immigration comments (../shared/datasets/usvsthem_immigration.jsonl)
are a domain the shipped model does not know. For each seed, a seeded 80% of
the train split is the "archive"; `stance sample` (the shipped model, one
round) picks 50/100/200/400 of its records by margin, entropy and random;
their labels come from the file (standing in for an annotator);
`stance train --data CORPUS:W --data picked.jsonl --cv 0` retrains with the
corpus weighted W; `stance eval --json` scores the test split. Newlines in
the comments are folded to spaces so that one record is one paragraph and
its file label is the label of what was picked.

Writes results.json, a Markdown table (stdout) and an SVG learning curve
(matplotlib). Standard library apart from matplotlib.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/stance")
    ap.add_argument("--data", default="../shared/datasets/usvsthem_immigration.jsonl")
    ap.add_argument("--corpus", default="training_data/train.jsonl")
    ap.add_argument("--sizes", default="50,100,200,400")
    ap.add_argument("--strategies", default="margin,entropy,random")
    ap.add_argument("--weights", default="0.1,0.3,1")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--pool-fraction", type=float, default=0.8)
    ap.add_argument("--diversity", default="0.8")
    ap.add_argument("--out", default="target/bench-data/adapt")
    ap.add_argument("--svg", default="docs/bench_adapt.svg")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    strategies = a.strategies.split(",")
    weights = [float(x) for x in a.weights.split(",")]
    os.makedirs(a.out, exist_ok=True)
    rows = [json.loads(l) for l in open(a.data, encoding="utf-8")]
    fold = lambda t: " ".join(t.split())
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    work = tempfile.mkdtemp(prefix="bench-adapt-")
    test_path = os.path.join(work, "test.jsonl")
    with open(test_path, "w", encoding="utf-8") as f:
        for r in test:
            f.write(json.dumps({"text": r["text"], "label": r["label"]}) + "\n")

    def evaluate(model):
        out = run([a.bin, "eval", "--data", test_path, "--json"] + (["--model", model] if model else []))
        return json.loads(out)["macro_f1"]

    started = time.time()
    baseline = evaluate(None)
    print(f"shipped model on the test split ({len(test)} records): macro-F1 {baseline:.4f}", file=sys.stderr)
    results = []  # one dict per (seed, strategy, size, weight)
    for seed in range(a.seeds):
        rng = random.Random(seed)
        pool = [r for r in train if rng.random() < a.pool_fraction]
        by_id = {r["id"]: r for r in pool}
        pool_path = os.path.join(work, f"pool-{seed}.jsonl")
        with open(pool_path, "w", encoding="utf-8") as f:
            for r in pool:
                f.write(json.dumps({"id": r["id"], "text": fold(r["text"])}) + "\n")
        for strategy in strategies:
            tasks_path = os.path.join(work, f"tasks-{seed}-{strategy}.jsonl")
            run([a.bin, "sample", "--input", pool_path, "-n", str(max(sizes)), "--strategy", strategy,
                 "--seed", str(seed), "--diversity", a.diversity, "--min-chars", "1",
                 "--format", "jsonl", "--output", tasks_path, "--force"])
            tasks = [json.loads(l) for l in open(tasks_path, encoding="utf-8")]
            if len(tasks) < max(sizes):
                sys.exit(f"sample picked only {len(tasks)} of {max(sizes)} (seed {seed}, {strategy})")
            for n in sizes:
                picked_path = os.path.join(work, f"picked-{seed}-{strategy}-{n}.jsonl")
                with open(picked_path, "w", encoding="utf-8") as f:
                    for t in tasks[:n]:
                        f.write(json.dumps({"text": t["text"], "label": by_id[t["doc_id"]]["label"]}) + "\n")
                for w in weights:
                    model = os.path.join(work, "model.json")
                    run([a.bin, "train", "--data", f"{a.corpus}:{w}", "--data", picked_path,
                         "--cv", "0", "--out", model, "--force"])
                    f1 = evaluate(model)
                    results.append({"seed": seed, "strategy": strategy, "n": n, "weight": w, "macro_f1": f1})
                    print(f"seed {seed} {strategy:7} n={n:3} corpus weight {w}: {f1:.4f}", file=sys.stderr)
    seconds = time.time() - started
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"baseline": baseline, "results": results, "seconds": seconds, "args": vars(a)}, f, indent=1)

    def cell(strategy, n, w):
        v = [r["macro_f1"] for r in results if (r["strategy"], r["n"], r["weight"]) == (strategy, n, w)]
        return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)

    print(f"Shipped model, no labels: macro-F1 **{baseline:.3f}** on the {len(test)} test records.\n")
    print("| strategy | corpus weight | " + " | ".join(f"{n} labels" for n in sizes) + " |")
    print("|---|---:|" + "---:|" * len(sizes))
    for s in strategies:
        for w in weights:
            cells = [cell(s, n, w) for n in sizes]
            print(f"| {s} | {w:g} | " + " | ".join(f"{m:.3f} ± {sd:.3f}" for m, sd in cells) + " |")
    best_w = max(weights, key=lambda w: statistics.mean(cell(s, n, w)[0] for s in strategies for n in sizes))
    m200 = cell("margin", 200, best_w)[0] if "margin" in strategies and 200 in sizes else None
    r400 = cell("random", 400, best_w)[0] if "random" in strategies and 400 in sizes else None
    print(f"\nMean ± sd over {a.seeds} seeds; {seconds:.0f} s for {len(results)} retrains.")
    if m200 is not None and r400 is not None:
        verdict = "reaches" if m200 >= r400 else f"falls short of ({(r400 - m200) * 100:.1f} points below)"
        print(f"At corpus weight {best_w:g}: margin with 200 labels {m200:.3f} {verdict} random with 400 labels {r400:.3f}.")

    try:
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("matplotlib is needed for the plot (scripts/bench_adapt.sh installs it)")
    fig, axes = plt.subplots(1, len(weights), figsize=(4 * len(weights), 3.4), sharey=True)
    axes = axes if len(weights) > 1 else [axes]
    for ax, w in zip(axes, weights):
        for s, marker in zip(strategies, "osd^v"):
            ms = [cell(s, n, w) for n in sizes]
            ax.errorbar(sizes, [m for m, _ in ms], yerr=[sd for _, sd in ms], marker=marker, capsize=3, label=s)
        ax.axhline(baseline, color="grey", linestyle=":", label="no labels")
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.set_title(f"corpus weight {w:g}")
        ax.set_xlabel("labels added")
    axes[0].set_ylabel("macro-F1, Us-vs-Them test")
    axes[-1].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(a.svg, metadata={"Date": None})
    print(f"\nplot: {a.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
