"""stance.spark.score on pyspark in local[2]: a few thousand records over
several partitions, compared with `stance score` row by row (by id, so the
order Spark returns rows in does not matter); error rows never fail the job."""

import os
import sys

import pytest

import stance
from conftest import cli_row, cli_scores, corpus

pyspark = pytest.importorskip("pyspark")
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql.types import StringType, StructField, StructType  # noqa: E402

import stance.spark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("stance-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


SCHEMA = StructType([
    StructField("id", StringType(), False),
    StructField("outlet", StringType(), True),
    StructField("text", StringType(), True),
])


def test_spark_scores_equal_stance_score_across_partitions(spark, stance_bin, tmp_path):
    records = corpus(3000)
    cli = cli_scores(stance_bin, records, tmp_path)
    rows = [(r["id"], f"outlet-{i % 7}", r["text"]) for i, r in enumerate(records)]
    rows += [("null-1", "x", None), ("blank-1", "y", "   "), ("empty-1", "z", "")]
    df = spark.createDataFrame(rows, SCHEMA).repartition(5)
    assert df.rdd.getNumPartitions() == 5

    out = stance.spark.score(df, keep=["id", "outlet"])
    assert out.columns == ["id", "outlet", "label", "anti", "neutral", "pro",
                           "stance_index", "low_confidence", "error"]
    got = {row["id"]: row for row in out.collect()}
    assert len(got) == len(rows)

    labels = stance.Model.load().labels
    mismatched = [
        r["id"] for r in records
        if [got[r["id"]][label] for label in labels] != cli_row(cli[r["id"]], labels)
        or got[r["id"]]["label"] != cli[r["id"]]["label"]
        or got[r["id"]]["error"] is not None
    ]
    assert not mismatched, f"{len(mismatched)} rows differ from stance score, e.g. {mismatched[:5]}"
    assert got["r7"]["outlet"] == "outlet-0"
    assert got["null-1"]["error"] == "text is missing (null)"
    assert got["blank-1"]["error"] == got["empty-1"]["error"] == "text is empty"
    assert got["blank-1"]["pro"] is None and got["blank-1"]["label"] is None


def test_bad_columns_fail_before_any_job(spark):
    df = spark.createDataFrame([("a", "t")], ["id", "text"])
    with pytest.raises(stance.InputError, match="no column 'body'"):
        stance.spark.score(df, text_col="body")
    with pytest.raises(stance.InputError, match="expected string"):
        stance.spark.score(spark.createDataFrame([(1,)], ["text"]))
    with pytest.raises(stance.InputError, match="clash with score columns: label"):
        stance.spark.score(spark.createDataFrame([("a", "b")], ["label", "text"]), keep=["label"])


def test_a_model_path_loads_once_per_worker(spark):
    from conftest import ROOT

    path = str(ROOT / "models" / "sanctuary-v2.json")
    df = spark.createDataFrame([(str(i), "The council voted.") for i in range(40)], ["id", "text"])
    out = stance.spark.score(df.repartition(4), model_path=path, keep=["id"]).collect()
    assert {row["label"] for row in out} == set(stance.Model.load(path).predict(["The council voted."]))

    # The worker's cache: one model per path, the same object on every call.
    assert stance.spark.cached_model(path) is stance.spark.cached_model(path)
    assert stance.spark.cached_model(None) is not stance.spark.cached_model(path)
