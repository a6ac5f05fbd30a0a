"""Reference batch scorer for scripts/bench_score.sh: scikit-learn's `predict_proba` in batches.

Reads a JSONL archive (`id`, `text`), scores each document like `stance score`
(paragraphs = non-blank lines; length-weighted mean of paragraph probabilities;
label, stance index, low-confidence flag) with the pipeline that
`reference_service.py train` wrote, and writes one JSONL record per input record,
in input order; a record that cannot be scored gets an error record. All
paragraphs of a batch of --batch documents go through one `transform` and one
`predict_proba` call. One process, one Python thread.

Usage:
    python scripts/reference_score.py --model MODEL.joblib --input IN.jsonl --output OUT.jsonl [--batch 1000]

Prints a summary line on stderr: records, errors, seconds, MB/s.
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_service  # noqa: E402  (sibling module; also names the pickled analyzer)


def document_probs(scorer, texts, np):
    """{index: document probabilities (classes in scorer.clf order)} of the
    texts that have paragraphs (None = skip): all their paragraphs through
    one transform and one predict_proba, then length-weighted means."""
    paras, starts, weights, owners = [], [], [], []
    for i, text in enumerate(texts):
        if text is None:
            continue
        ps = scorer.paragraphs(text)
        if not ps:
            continue
        starts.append(len(paras))
        owners.append(i)
        for p in ps:
            paras.append(p[2])
            weights.append(len(p[2]))
    docs = {}
    if paras:
        probs = scorer.clf.predict_proba(scorer.vec.transform(paras))
        w = np.asarray(weights, dtype=np.float64)
        sums = np.add.reduceat(probs * w[:, None], starts, axis=0)
        totals = np.add.reduceat(w, starts)
        for owner, s, t in zip(owners, sums, totals):
            docs[owner] = s / t
    return docs


def score_batch(scorer, batch, out, np):
    """Scores [(id, text-or-error)] and writes the records; returns the error count."""
    docs = document_probs(scorer, [text if err is None else None for _, text, err in batch], np)
    errors = 0
    for i, (rid, text, err) in enumerate(batch):
        if i in docs:
            rec = {"id": rid}
            rec.update(scorer.document(docs[i]))
            rec["model"] = scorer.name
        else:
            errors += 1
            rec = {"id": rid, "error": err or "text has no paragraphs"}
        out.write(json.dumps(rec) + "\n")
    return errors


def parse(line, lineno):
    """(id, text, error) of one input line."""
    try:
        row = json.loads(line)
    except ValueError as e:
        return (f"line {lineno}", None, f"bad JSON: {e}")
    if not isinstance(row, dict):
        return (f"line {lineno}", None, "not a JSON object")
    rid = row.get("id", f"line {lineno}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return (rid, None, "missing or empty text")
    return (rid, text, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--batch", type=int, default=1000, help="documents per predict_proba call")
    a = ap.parse_args()
    if a.batch < 1:
        sys.exit("reference_score: --batch must be at least 1")
    import numpy as np

    t0 = time.perf_counter()
    scorer = reference_service.Scorer(a.model)
    records = errors = 0
    size = os.path.getsize(a.input)
    with open(a.input, encoding="utf-8", errors="replace") as inp, \
            open(a.output, "w", encoding="utf-8") as out:
        batch = []
        for lineno, line in enumerate(inp, 1):
            if not line.strip():
                continue
            batch.append(parse(line, lineno))
            if len(batch) >= a.batch:
                errors += score_batch(scorer, batch, out, np)
                records += len(batch)
                batch = []
        if batch:
            errors += score_batch(scorer, batch, out, np)
            records += len(batch)
    secs = time.perf_counter() - t0
    print(f"reference_score: {records} records, {errors} errors, {secs:.1f} s, "
          f"{size / 1e6 / secs:.2f} MB/s", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
