"""Reference Python scorer for the speed benchmarks: scikit-learn pipeline + FastAPI.

The pipeline has the shape of our model, built from Python parts:
  analyzer    lowercase; words `\\w+('\\w+)*` (a regex stand-in for UAX #29 word
              segmentation, keeping contractions); typographic apostrophes folded,
              possessive 's dropped; our stance-aware stop words (read from
              src/text/stopwords.rs at training time and stored in the model);
              Snowball English stemmer (snowballstemmer on its PyStemmer C backend,
              which keeps a 10,000-word cache; REF_STEMMER=pure picks
              snowballstemmer's pure-Python English stemmer instead, for a side
              measurement only)
  features    TfidfVectorizer: word 1- and 2-grams, min_df 2, sublinear tf,
              smoothed idf, L2 rows
  classifier  LogisticRegression (multinomial, lbfgs), same C and max_iter as ours
and it scores a document the way `stance serve` does: paragraphs are the
non-blank lines (trimmed), all paragraphs of a request are vectorised and
scored in one `predict_proba` call, and the document gets the length-weighted
(chars) mean of paragraph probabilities, its argmax, the stance index
P(pro) - P(anti) and low-confidence flags (top-two margin < 0.2).

Sub-commands (run as a script):
  train --data FILE... --out MODEL.joblib [--c 10] [--max-iter 1000]
  check --model MODEL.joblib TEXT-FILE      score one document, print JSON
Service (uvicorn):
  REF_MODEL=MODEL.joblib uvicorn --app-dir scripts reference_service:app --workers 2
  POST /v1/score {"text": "...", "explain": 0} and GET /healthz.

`explain` is accepted and ignored (the benchmark sends 0).
"""

import json
import os
import re
import sys
import time

LABELS_ORDER = ("pro", "anti", "neutral")
LOW_CONFIDENCE_MARGIN = 0.2
WORD = re.compile(r"\w+(?:'\w+)*")
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
STOPWORDS_RS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "text",
                            "stopwords.rs")


def read_stop_words(path=STOPWORDS_RS):
    """The STANCE_EN list from our Rust source (one quoted string per entry)."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"STANCE_EN:\s*&\[&str\]\s*=\s*&\[(.*?)\];", src, re.S)
    if not m:
        sys.exit(f"reference_service: no STANCE_EN list in {path}")
    words = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
    if len(words) < 20:
        sys.exit(f"reference_service: only {len(words)} stop words found in {path}")
    return frozenset(words)


class Analyzer:
    """Text -> unigram tokens (lowercased input expected: TfidfVectorizer lowercases first).

    Picklable; the stemmer is created lazily in each process."""

    def __init__(self, stop_words):
        self.stop_words = frozenset(stop_words)
        self._stem = None

    def __getstate__(self):
        return {"stop_words": sorted(self.stop_words)}

    def __setstate__(self, state):
        self.stop_words = frozenset(state["stop_words"])
        self._stem = None

    def __call__(self, text):
        if self._stem is None:
            if os.environ.get("REF_STEMMER") == "pure":
                from snowballstemmer.english_stemmer import EnglishStemmer

                self._stem = EnglishStemmer().stemWords
            else:
                import snowballstemmer

                self._stem = snowballstemmer.stemmer("english").stemWords
        out = []
        stop = self.stop_words
        for w in WORD.findall(text.translate(APOSTROPHES)):
            if w.endswith("'s"):
                w = w[:-2]
            w = w.rstrip("'")
            if w and w not in stop:
                out.append(w)
        return self._stem(out)


def build_pipeline(stop_words, c, max_iter):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    vec = TfidfVectorizer(tokenizer=Analyzer(stop_words), token_pattern=None, lowercase=True,
                          ngram_range=(1, 2), min_df=2, sublinear_tf=True, smooth_idf=True,
                          norm="l2")
    clf = LogisticRegression(C=c, max_iter=max_iter)
    return Pipeline([("tfidf", vec), ("logreg", clf)])


def read_labeled(paths):
    texts, labels = [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    texts.append(row["text"])
                    labels.append(row["label"])
                except (ValueError, KeyError, TypeError) as err:
                    sys.exit(f"reference_service: {path}:{lineno}: {err}")
    return texts, labels


def cmd_train(a):
    import joblib

    texts, labels = read_labeled(a.data)
    pipe = build_pipeline(read_stop_words(), a.c, a.max_iter)
    t0 = time.perf_counter()
    pipe.fit(texts, labels)
    secs = time.perf_counter() - t0
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    joblib.dump(pipe, a.out)
    print(f"reference_service: trained on {len(texts)} paragraphs in {secs:.1f} s, "
          f"{len(pipe.named_steps['tfidf'].vocabulary_)} features, "
          f"classes {list(pipe.classes_)} -> {a.out}", file=sys.stderr)


class Scorer:
    """A loaded pipeline that scores documents (paragraphs split on line breaks)."""

    def __init__(self, path):
        import joblib

        self.pipe = joblib.load(path)
        self.vec = self.pipe.named_steps["tfidf"]
        self.clf = self.pipe.named_steps["logreg"]
        self.classes = [str(c) for c in self.clf.classes_]
        self.order = [self.classes.index(l) for l in LABELS_ORDER if l in self.classes]
        self.name = os.path.basename(path)

    @staticmethod
    def paragraphs(text):
        """(start, end, text) of each non-blank line, offsets in chars."""
        out = []
        pos = 0
        for line in text.splitlines(keepends=True):
            stripped = line.strip()
            if stripped:
                start = pos + (len(line) - len(line.lstrip()))
                out.append((start, start + len(stripped), stripped))
            pos += len(line)
        return out

    def _probs(self, row):
        return {self.classes[i]: float(row[i]) for i in self.order}

    def _label_margin(self, row):
        top = sorted(row, reverse=True)
        best = int(row.argmax())
        return self.classes[best], float(top[0] - (top[1] if len(top) > 1 else 0.0))

    def aggregate(self, probs, weights):
        """Length-weighted mean of paragraph probabilities (numpy rows)."""
        total = float(weights.sum())
        return (probs * weights[:, None]).sum(axis=0) / total

    def document(self, doc_probs):
        label, margin = self._label_margin(doc_probs)
        p = self._probs(doc_probs)
        return {
            "label": label,
            "probabilities": p,
            "stance_index": p.get("pro", 0.0) - p.get("anti", 0.0),
            "low_confidence": margin < LOW_CONFIDENCE_MARGIN,
        }

    def score(self, text):
        """Full response for one document (the service's body)."""
        import numpy as np

        paras = self.paragraphs(text)
        if not paras:
            return None
        probs = self.clf.predict_proba(self.vec.transform([p[2] for p in paras]))
        weights = np.array([len(p[2]) for p in paras], dtype=np.float64)
        body = {"model": self.name}
        body.update(self.document(self.aggregate(probs, weights)))
        out_paras = []
        for (start, end, _), row in zip(paras, probs):
            label, margin = self._label_margin(row)
            out_paras.append({"start": start, "end": end, "label": label,
                              "probabilities": self._probs(row),
                              "low_confidence": margin < LOW_CONFIDENCE_MARGIN})
        body["paragraphs"] = out_paras
        return body


def cmd_check(a):
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    print(json.dumps(Scorer(a.model).score(text), indent=2))


def make_app():
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, Field

    path = os.environ.get("REF_MODEL")
    if not path:
        raise RuntimeError("set REF_MODEL to the model written by `reference_service.py train`")
    scorer = Scorer(path)
    app = FastAPI(title="reference stance scorer")

    class ScoreRequest(BaseModel):
        text: str = Field(min_length=1)
        explain: int = 0

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    # `async def`: the work is CPU-bound and short, so running it on the event
    # loop (one request at a time per worker process) beats a threadpool hop.
    @app.post("/v1/score")
    async def score(req: ScoreRequest):
        body = scorer.score(req.text)
        if body is None:
            return JSONResponse(status_code=422, content={
                "error": {"code": "empty_text", "message": "text has no paragraphs"}})
        return body

    return app


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="fit the reference pipeline and save it with joblib")
    t.add_argument("--data", nargs="+", required=True, help="labeled JSONL files (text, label)")
    t.add_argument("--out", required=True)
    t.add_argument("--c", type=float, default=10.0)
    t.add_argument("--max-iter", type=int, default=1000)
    c = sub.add_parser("check", help="score one text file and print the response")
    c.add_argument("--model", required=True)
    c.add_argument("text")
    a = ap.parse_args()
    if a.cmd == "train":
        cmd_train(a)
    else:
        cmd_check(a)


if __name__ == "__main__":
    # Re-import under the module's own name so pickled objects (Analyzer) name
    # `reference_service`, which uvicorn and reference_score.py import.
    sys.dont_write_bytecode = True  # no __pycache__ in scripts/
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference_service

    reference_service.main()
elif os.environ.get("REF_MODEL"):
    app = make_app()
