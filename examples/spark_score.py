#!/usr/bin/env python3
"""Re-score a news archive on a Spark cluster with the stance model.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=./env/bin/python \\
      --archives stance-env.tar.gz#env \\
      examples/spark_score.py --input s3://bucket/archive/*.jsonl.gz \\
      --output s3://bucket/scores/ --keep id,outlet,date

The `stance` wheel must be importable on the driver and on every executor:
install it on the nodes (`pip install stance-*.whl`), or ship a packed venv
holding it (`venv-pack`, as above). See docs/SPARK.md. Reads JSONL (or
Parquet with --format parquet) with a string text column and writes Parquet:
the kept columns, then label, anti, neutral, pro, stance_index,
low_confidence and error (set for rows with missing or blank text; such rows
never fail the job).
"""

import argparse

from pyspark.sql import SparkSession

import stance.spark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="input path or glob")
    ap.add_argument("--output", required=True, help="output directory (Parquet)")
    ap.add_argument("--format", default="json", choices=["json", "parquet"], help="input format")
    ap.add_argument("--text-col", default="text")
    ap.add_argument("--keep", default="id", help="comma-separated columns to copy to the output")
    ap.add_argument("--model", default=None, help="model file readable at this path on every executor (default: the shipped model)")
    args = ap.parse_args()

    spark = SparkSession.builder.appName("stance-score").getOrCreate()
    df = spark.read.format(args.format).load(args.input)
    keep = [k for k in args.keep.split(",") if k]
    scored = stance.spark.score(df, text_col=args.text_col, model_path=args.model, keep=keep)
    scored.write.mode("overwrite").parquet(args.output)
    errors = spark.read.parquet(args.output).where("error IS NOT NULL").count()
    print(f"stance: wrote {args.output}; {errors} rows with an error (null or blank text)")
    spark.stop()


if __name__ == "__main__":
    main()
