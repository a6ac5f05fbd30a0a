"""scikit-learn side of scripts/compare_sklearn.sh.

Three sub-commands, all run inside the benchmark venv:

  split  Writes a data set's own split (train+valid / test) to two JSONL files.
  fit    Fits scikit-learn's TfidfVectorizer + LogisticRegression on the tokens
         `stance tokenize` wrote for a train split, scores the test split, times
         vectorize + fit, records the process's peak RSS right after the fit,
         and compares the result with our model (vocabulary, idf, objective).
         Writes one JSON result per data set.
  table  Reads the JSON results and prints the comparison table (markdown)
         and the bar checks.

The tokens are our analyzer's unigram tokens (lowercased, stop words removed,
stemmed), joined with single spaces; scikit-learn splits them back with
`str.split` and builds the n-grams itself (`_word_ngrams`), so only the
vectorizer's counting/weighting and the learner differ.
"""

import argparse
import json
import os
import resource
import sys
import time


PEAK_RESET = False


def _status_kib(field):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss():
    """Current RSS in MB, after resetting the kernel's peak-RSS mark to it when
    possible (Linux: writing 5 to /proc/self/clear_refs), so the peak measured
    later covers the timed work on top of the loaded data, not the loading."""
    global PEAK_RESET
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        PEAK_RESET = True
    except OSError:
        PEAK_RESET = False
    try:
        return _status_kib("VmRSS") / 1024.0
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_rss_mb():
    """Peak resident set size of this process in MB (VmHWM; ru_maxrss, KiB on Linux, as fallback)."""
    try:
        return _status_kib("VmHWM") / 1024.0
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_tokens(path):
    """Space-joined token strings and labels from `stance tokenize` JSONL."""
    docs, labels = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            row = json.loads(line)
            toks = row["tokens"]
            for t in toks:
                if not t or any(c.isspace() for c in t):
                    sys.exit(f"sklearn_reference: {path}:{lineno}: token {t!r} is empty or "
                             "contains whitespace; str.split would not give our tokens back")
            docs.append(" ".join(toks))
            labels.append(row["label"])
    return docs, labels


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def split_tokens(doc):
    """The tokenizer handed to TfidfVectorizer: our tokens back from the joined string."""
    return doc.split(" ") if doc else []


def objective(X, y_idx, coef, intercept, c, weights):
    """C * sum_i s_i * (-log softmax(W x_i + b)[y_i]) + 0.5 * ||W||_F^2 (our scale)."""
    import numpy as np
    z = X @ coef.T + intercept
    zmax = z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    loss = lse - z[np.arange(len(y_idx)), y_idx]
    return float(c * np.dot(weights, loss) + 0.5 * np.sum(coef * coef))


def cmd_fit(a):
    import numpy as np
    import scipy
    import sklearn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.utils.class_weight import compute_class_weight

    threadpools = []
    try:
        from threadpoolctl import threadpool_info
        threadpools = [{k: p.get(k) for k in ("internal_api", "num_threads", "architecture", "version")}
                       for p in threadpool_info()]
    except ImportError:
        pass

    train_docs, train_labels = read_tokens(a.train_tokens)
    test_docs, test_labels = read_tokens(a.test_tokens)
    lo, hi = (int(x) for x in a.ngrams.split("..", 1)) if ".." in a.ngrams else (int(a.ngrams),) * 2
    our_report = read_json(a.our_report) if a.our_report else {}
    our_eval = read_json(a.our_eval) if a.our_eval else {}
    our_tol = our_report.get("params", {}).get("logreg", {}).get("tol", 1e-6)

    classes = np.array(sorted(set(train_labels)))
    y = np.searchsorted(classes, np.array(train_labels))
    if a.class_weight == "balanced":
        cw = compute_class_weight("balanced", classes=np.arange(len(classes)), y=y)
        weights = cw[y]
    else:
        weights = np.ones(len(y))
    sw_sum = float(weights.sum())

    vec = TfidfVectorizer(
        tokenizer=split_tokens, preprocessor=None, lowercase=False, token_pattern=None,
        stop_words=None, ngram_range=(lo, hi), min_df=a.min_df, max_df=a.max_df,
        max_features=a.max_features, sublinear_tf=True, smooth_idf=True, use_idf=True,
        norm="l2", dtype=np.float64,
    )
    rss_before = reset_peak_rss()

    # Our stopping rule: max|grad| <= tol * max(1, max|grad at 0|), in our scale
    # (C * sum loss + 0.5||W||^2). scikit-learn's lbfgs minimises our objective
    # divided by C * sw_sum and stops at max|grad| <= gtol, so the same rule is
    # gtol = tol * max(1, g0) / (C * sw_sum). At zero weights the gradient of
    # class k's intercept is C * sum_i s_i (1/K - [y_i = k]) and of feature j is
    # C * sum_i s_i (1/K - [y_i = k]) x_ij. Computing g0 needs X, so the clock
    # is paused between vectorize and fit while it is computed.
    clf = LogisticRegression(C=a.c, solver="lbfgs", max_iter=a.max_iter,
                             class_weight=("balanced" if a.class_weight == "balanced" else None))
    cpu0 = os.times()
    t0 = time.perf_counter()
    X = vec.fit_transform(train_docs)
    t_vec = time.perf_counter() - t0
    cpu1 = os.times()
    K = len(classes)
    R = np.full((len(y), K), 1.0 / K)
    R[np.arange(len(y)), y] -= 1.0
    R *= weights[:, None]
    g0 = a.c * max(float(np.abs(X.T @ R).max()), float(np.abs(R.sum(axis=0)).max()))
    del R
    matched_tol = our_tol * max(1.0, g0) / (a.c * sw_sum)
    sk_tol = matched_tol if a.tol == "matched" else float(a.tol)
    clf.set_params(tol=sk_tol)
    cpu2 = os.times()
    t1 = time.perf_counter()
    clf.fit(X, train_labels)
    t_fit = time.perf_counter() - t1
    cpu3 = os.times()
    cpu_seconds = (cpu1.user - cpu0.user + cpu1.system - cpu0.system
                   + cpu3.user - cpu2.user + cpu3.system - cpu2.system)
    peak_after_fit = peak_rss_mb()

    pred = clf.predict(vec.transform(test_docs))
    labels_present = sorted(set(test_labels) | set(pred))
    sk_f1 = float(f1_score(test_labels, pred, average="macro", labels=labels_present, zero_division=0))
    sk_acc = float(accuracy_score(test_labels, pred))
    n_iter = int(np.max(clf.n_iter_))
    coef = clf.coef_
    # With two classes scikit-learn fits a binary model (one weight row, its
    # own objective); ours is always a softmax over every label, so objectives
    # are only comparable with three or more classes.
    sk_obj = objective(X, y, coef, clf.intercept_, a.c, weights) if len(classes) > 2 else None

    result = {
        "set": a.name,
        "n_train": len(train_docs), "n_test": len(test_docs), "load_1min": a.load,
        "params": {"c": a.c, "ngrams": [lo, hi], "min_df": a.min_df, "max_df": a.max_df,
                   "max_features": a.max_features, "class_weight": a.class_weight,
                   "max_iter": a.max_iter, "our_tol": our_tol, "sklearn_tol": sk_tol,
                   "tol_mode": a.tol},
        "sklearn": {
            "features": int(X.shape[1]), "macro_f1": sk_f1, "accuracy": sk_acc,
            "seconds_vectorize": t_vec, "seconds_fit": t_fit, "seconds": t_vec + t_fit,
            "cpu_seconds": cpu_seconds,
            "peak_rss_mb": peak_after_fit, "rss_before_fit_mb": rss_before,
            "peak_rss_reset_before_fit": PEAK_RESET,
            "n_iter": n_iter, "converged": n_iter < a.max_iter,
            "objective_our_scale": sk_obj, "g0_our_scale": g0,
            "versions": {"python": sys.version.split()[0], "sklearn": sklearn.__version__,
                         "numpy": np.__version__, "scipy": scipy.__version__},
            "threadpools": threadpools,
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        },
        "ours": {
            "features": our_report.get("features"),
            "macro_f1": our_eval.get("macro_f1"), "accuracy": our_eval.get("accuracy"),
            "seconds_in_process": our_report.get("seconds"),
            "seconds_wall": a.our_wall, "cpu_seconds": a.our_cpu, "peak_rss_mb": a.our_rss_mb,
            "fit": our_report.get("fit"),
        },
    }

    if a.our_model:
        result["diagnostics"] = compare_with_our_model(a, vec, X, y, classes, weights, sk_obj, coef, np)

    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(f"sklearn_reference: {a.name}: sklearn {X.shape[1]} features, macro-F1 {sk_f1:.4f}, "
          f"vectorize {t_vec:.2f}s + fit {t_fit:.2f}s ({n_iter} iterations, tol {sk_tol:.3g}), "
          f"peak {peak_after_fit:.0f} MB", file=sys.stderr)


def compare_with_our_model(a, vec, X, y, classes, weights, sk_obj, sk_coef, np):
    """Vocabulary, idf and objective of our model measured on scikit-learn's matrix."""
    with open(a.our_model, encoding="utf-8") as f:
        model = json.load(f)
    body = model["body"]
    vocab = body["tfidf"]["vocabulary"]
    idf = np.array(body["tfidf"]["idf"])
    labels = body["labels"]
    lr = body["logreg"]
    nf = lr["n_features"]
    W = np.array(lr["weights"]).reshape(len(labels), nf)
    b = np.array(lr["intercepts"])
    sk_vocab = vec.vocabulary_
    ours_set, sk_set = set(vocab), set(sk_vocab)
    only_ours = sorted(ours_set - sk_set)
    only_sk = sorted(sk_set - ours_set)
    diag = {
        "vocabulary_identical": not only_ours and not only_sk,
        "only_ours": len(only_ours), "only_sklearn": len(only_sk),
        "only_ours_sample": only_ours[:20], "only_sklearn_sample": only_sk[:20],
        "our_objective_reported": (lr.get("fit_info") or {}).get("objective"),
        "sklearn_objective_our_scale": sk_obj,
    }
    common = [t for t in vocab if t in sk_vocab]
    if common:
        our_idx = {t: i for i, t in enumerate(vocab)}
        oi = np.array([our_idx[t] for t in common])
        si = np.array([sk_vocab[t] for t in common])
        diag["idf_max_abs_diff"] = float(np.abs(idf[oi] - vec.idf_[si]).max())
    if diag["vocabulary_identical"] and sk_obj is not None and set(classes) == set(labels):
        # Our weights laid out in scikit-learn's column order, evaluated on
        # scikit-learn's TF-IDF matrix: equal to our reported objective iff the
        # TF-IDF values agree; compared with sklearn's objective it says which
        # optimiser got lower.
        rows = [labels.index(c) for c in classes]
        order = np.empty(nf, dtype=int)
        for t, j in sk_vocab.items():
            order[j] = our_idx[t]
        Wsk = W[rows][:, order]
        ours_on_sk = objective(X, y, Wsk, b[rows], a.c, weights)
        diag["our_weights_objective_on_sklearn_matrix"] = ours_on_sk
        diag["objective_rel_diff_ours_minus_sklearn"] = (ours_on_sk - sk_obj) / abs(sk_obj)
        diag["max_abs_weight_diff"] = float(np.abs(Wsk - sk_coef).max())
        diag["max_abs_weight"] = float(np.abs(sk_coef).max())
    return diag


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def median(values):
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def cmd_table(a):
    groups = {}
    for p in a.results:
        with open(p, encoding="utf-8") as f:
            r = json.load(f)
        groups.setdefault(r["set"], []).append(r)
    lines = [
        "| set | n_train | n_test | features ours / sklearn | macro-F1 ours | macro-F1 sklearn | "
        "diff (points) | train s ours: wall (in-process) | train s sklearn | speed-up: wall (in-process) | "
        "peak MB ours / sklearn | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = []
    detail = []
    for name, runs in groups.items():
        r = runs[0]
        o, s = r["ours"], r["sklearn"]
        f1_ours = {x["ours"]["macro_f1"] for x in runs}
        f1_sk = {round(x["sklearn"]["macro_f1"], 12) for x in runs}
        wall = median(x["ours"]["seconds_wall"] for x in runs)
        inproc = median(x["ours"]["seconds_in_process"] for x in runs)
        sk_s = median(x["sklearn"]["seconds"] for x in runs)
        rss_o = median(x["ours"]["peak_rss_mb"] for x in runs)
        rss_s = median(x["sklearn"]["peak_rss_mb"] for x in runs)
        diff = None if o["macro_f1"] is None else 100.0 * (o["macro_f1"] - s["macro_f1"])
        ratio_wall = sk_s / wall if wall else None
        ratio_in = sk_s / inproc if inproc else None
        lines.append(
            f"| {name} | {r['n_train']} | {r['n_test']} | {fmt(o['features'], 'd')} / {s['features']} | "
            f"{fmt(o['macro_f1'], '.4f')} | {s['macro_f1']:.4f} | {fmt(diff, '+.2f')} | "
            f"{fmt(wall, '.2f')} ({fmt(inproc, '.2f')}) | {sk_s:.2f} | "
            f"{fmt(ratio_wall, '.2f')}x ({fmt(ratio_in, '.2f')}x) | "
            f"{fmt(rss_o, '.0f')} / {fmt(rss_s, '.0f')} | {len(runs)} |")
        if len(f1_ours) > 1 or len(f1_sk) > 1:
            checks.append(f"NOTE {name}: macro-F1 differed between runs: ours {sorted(f1_ours)}, "
                          f"sklearn {sorted(f1_sk)}")
        if name != "bench" and diff is not None:
            ok = abs(diff) <= 1.0
            checks.append(f"{'PASS' if ok else 'FAIL'} {name}: macro-F1 within 1.0 point "
                          f"(ours - sklearn = {diff:+.2f} points)")
        if name == "bench" and ratio_wall is not None:
            ok = ratio_wall >= 3.0
            checks.append(f"{'PASS' if ok else 'FAIL'} bench: ours at least 3x faster "
                          f"(sklearn / ours = {ratio_wall:.2f}x wall, {fmt(ratio_in, '.2f')}x in-process)")
        for x in runs:
            o, s, d = x["ours"], x["sklearn"], x.get("diagnostics", {})
            fit = o.get("fit") or {}
            detail.append(
                f"- {name} (load {fmt(x.get('load_1min'), '.2f')}): ours {fmt(o['seconds_wall'], '.2f')} s wall "
                f"({fmt(o.get('cpu_seconds'), '.2f')} s CPU), "
                f"{fit.get('iterations')} iterations (converged {fit.get('converged')}), "
                f"objective {fmt(fit.get('objective'), '.8g')}; sklearn vectorize {s['seconds_vectorize']:.2f} s "
                f"+ fit {s['seconds_fit']:.2f} s ({fmt(s.get('cpu_seconds'), '.2f')} s CPU), {s['n_iter']} iterations "
                f"(tol {x['params']['sklearn_tol']:.3g}, {x['params']['tol_mode']}), objective "
                f"{fmt(s['objective_our_scale'], '.8g')}"
                + (f"; our weights on sklearn's matrix: objective "
                   f"{d['our_weights_objective_on_sklearn_matrix']:.8g} (ours - sklearn, relative: "
                   f"{d['objective_rel_diff_ours_minus_sklearn']:+.1e}), max |weight diff| "
                   f"{d['max_abs_weight_diff']:.1e} of max |weight| {d['max_abs_weight']:.2f}"
                   if "our_weights_objective_on_sklearn_matrix" in d else "")
                + (f"; vocabulary identical: {d.get('vocabulary_identical')} (only ours {d.get('only_ours')}, "
                   f"only sklearn {d.get('only_sklearn')}), idf max |diff| {fmt(d.get('idf_max_abs_diff'), '.1e')}"
                   if d else ""))
    lines += ["", "Per run (objective = C * sum of log-losses + 0.5 * ||W||^2, our scale):", ""] + detail
    print("\n".join(lines))
    print()
    print("\n".join(checks))
    return 0 if all(not c.startswith("FAIL") for c in checks) else 1


def cmd_split(a):
    """Write the rows of a data set's own split: train+valid -> --train, test -> --test."""
    train_splits = set(a.train_splits.split(","))
    counts = {"train": 0, "test": 0, "other": 0}
    with open(a.data, encoding="utf-8") as src, \
            open(a.train, "w", encoding="utf-8") as tr, open(a.test, "w", encoding="utf-8") as te:
        for lineno, line in enumerate(src, 1):
            if not line.strip():
                continue
            split = json.loads(line).get("split")
            if split in train_splits:
                tr.write(line if line.endswith("\n") else line + "\n")
                counts["train"] += 1
            elif split == a.test_split:
                te.write(line if line.endswith("\n") else line + "\n")
                counts["test"] += 1
            else:
                counts["other"] += 1
    if not counts["train"] or not counts["test"]:
        sys.exit(f"sklearn_reference: {a.data}: empty split {counts}")
    print(f"sklearn_reference: split {a.data}: {counts}", file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--name", required=True)
    f.add_argument("--train-tokens", required=True)
    f.add_argument("--test-tokens", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--c", type=float, required=True)
    f.add_argument("--ngrams", required=True)
    f.add_argument("--min-df", type=int, required=True)
    f.add_argument("--max-df", type=float, required=True)
    f.add_argument("--max-features", type=lambda v: int(v) if v else None, default=None)
    f.add_argument("--class-weight", choices=["none", "balanced"], required=True)
    f.add_argument("--max-iter", type=int, required=True)
    f.add_argument("--tol", default="matched",
                   help="'matched' (our stopping rule translated to sklearn's scale) or a number")
    f.add_argument("--our-model")
    f.add_argument("--our-report")
    f.add_argument("--our-eval")
    f.add_argument("--our-wall", type=float)
    f.add_argument("--our-rss-mb", type=float)
    f.add_argument("--our-cpu", type=float, help="user + system CPU seconds of our train process")
    f.add_argument("--load", type=float, help="1-minute load average when this run started")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    sp = sub.add_parser("split")
    sp.add_argument("data")
    sp.add_argument("--train", required=True)
    sp.add_argument("--test", required=True)
    sp.add_argument("--train-splits", default="train,valid")
    sp.add_argument("--test-split", default="test")
    a = ap.parse_args()
    if a.cmd == "split":
        return cmd_split(a)
    if a.cmd == "fit":
        cmd_fit(a)
        return 0
    return cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
