"""Python-side throughput for scripts/bench_python.sh: one measurement per
process, printed as one JSON line on stdout.

  list     stance Model.predict_proba on a list of str
  arrow    stance Model.score_arrow on a pyarrow Table
  sklearn  scikit-learn predict_proba of the same pipeline shape
           (scripts/reference_service.py), documents scored like
           scripts/reference_score.py, in batches of 1000
  spark    stance.spark.score in Spark local[N] (mapInArrow)
  spark-sklearn  the scikit-learn pipeline in a pandas UDF in Spark local[N]

Documents are the archive's texts; MB are 10^6 bytes of those texts (UTF-8).
Timed: scoring only (the texts already in memory; for Spark, reading the
JSONL, scoring and a noop write, after a warm-up query that starts the workers
and loads the model; with --cached, the JSONL is read into Spark's memory
cache before the clock starts, so the time is scoring and the Arrow transfer
to and from the Python workers). Every run checks it scored every document.
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def read_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def run_local(mode, a):
    import numpy as np

    texts = read_texts(a.input)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    if mode == "sklearn":
        import reference_score
        import reference_service

        scorer = reference_service.Scorer(a.ref_model)
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(texts), 1000):
            n += len(reference_score.document_probs(scorer, texts[i:i + 1000], np))
        secs = time.perf_counter() - t0
    else:
        import pyarrow as pa

        import stance

        model = stance.Model.load(a.model)
        table = pa.table({"text": texts}) if mode == "arrow" else None
        t0 = time.perf_counter()
        if mode == "list":
            n = len(model.predict_proba(texts))
        else:
            out = model.score_arrow(table)
            n = out["error"].null_count  # rows scored without an error
        secs = time.perf_counter() - t0
    assert n == len(texts), f"{mode}: scored {n} of {len(texts)}"
    return {"docs": len(texts), "mb": mb, "seconds": secs}


_SK = {}


def _sklearn_udf_body(ref_model, texts):
    """pandas UDF body: document probabilities (anti, neutral, pro) of a Series of texts."""
    import numpy as np
    import pandas as pd

    import reference_score
    import reference_service

    scorer = _SK.get(ref_model)
    if scorer is None:
        scorer = _SK[ref_model] = reference_service.Scorer(ref_model)
    docs = reference_score.document_probs(scorer, list(texts), np)
    cols = {label: [] for label in ("anti", "neutral", "pro")}
    for i in range(len(texts)):
        row = docs.get(i)
        for label in cols:
            cols[label].append(None if row is None else float(row[scorer.classes.index(label)]))
    return pd.DataFrame(cols)


def run_spark(mode, a):
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import pandas_udf

    spark = (SparkSession.builder.master(f"local[{a.threads}]").appName("stance-bench")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.files.maxPartitionBytes", str(a.partition_mb * 1024 * 1024))
             .config("spark.executorEnv.PYTHONPATH", os.path.dirname(os.path.abspath(__file__)))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.json(a.input).select("id", "text")
    if a.cached:
        df = df.cache()
        df.count()
    if mode == "spark":
        import stance.spark

        def job(d):
            return stance.spark.score(d, model_path=a.model, keep=["id"])
    else:
        ref = a.ref_model

        @pandas_udf("anti double, neutral double, pro double")
        def sk(texts):
            return _sklearn_udf_body(ref, texts)

        def job(d):
            return d.select("id", sk("text").alias("p"))
    job(df.limit(200)).write.format("noop").mode("overwrite").save()  # warm-up
    t0 = time.perf_counter()
    job(df).write.format("noop").mode("overwrite").save()
    secs = time.perf_counter() - t0
    texts = read_texts(a.input)
    n = job(df).count()
    partitions = df.rdd.getNumPartitions()
    spark.stop()
    assert n == len(texts), f"{mode}: {n} rows for {len(texts)} documents"
    return {"docs": len(texts), "mb": sum(len(t.encode()) for t in texts) / 1e6, "seconds": secs,
            "partitions": partitions, "cached": a.cached}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["list", "arrow", "sklearn", "spark", "spark-sklearn"])
    ap.add_argument("--input", required=True)
    ap.add_argument("--model", required=True, help="stance model file")
    ap.add_argument("--ref-model", required=True, help="scikit-learn pipeline (joblib)")
    ap.add_argument("--threads", type=int, default=1, help="Spark local[N]")
    ap.add_argument("--cached", action="store_true",
                    help="Spark: cache the input in memory before timing")
    ap.add_argument("--partition-mb", type=int, default=8)
    a = ap.parse_args()
    res = run_spark(a.mode, a) if a.mode.startswith("spark") else run_local(a.mode, a)
    res["mode"] = a.mode
    res["mb_per_s"] = res["mb"] / res["seconds"]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
