"""Scoring Spark DataFrames with the stance model, through mapInArrow.

Each Python worker loads the model once (a module-level cache, keyed by the
model path) and scores the Arrow batches Spark hands it with
Model.score_arrow: the same scorer, and the same probabilities, as
`stance score`. Rows whose text is null or blank get an `error` and nulls
in the score columns; they never fail the job.

Output columns: the `keep` columns as they are, then
label string, anti double, neutral double, pro double, stance_index double,
low_confidence boolean, error string (see docs/SPARK.md).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator, Sequence

from stance._errors import InputError
from stance._native import Model

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

#: Output score columns and their Spark SQL types, in order.
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "string"),
    ("anti", "double"),
    ("neutral", "double"),
    ("pro", "double"),
    ("stance_index", "double"),
    ("low_confidence", "boolean"),
    ("error", "string"),
)

_MODELS: dict[str | None, Model] = {}


def cached_model(model_path: str | None = None) -> Model:
    """The model at model_path (None: the shipped model), loaded once per process."""
    model = _MODELS.get(model_path)
    if model is None:
        model = Model.load(model_path)
        _MODELS[model_path] = model
    return model


def score(
    df: "DataFrame",
    text_col: str = "text",
    model_path: str | os.PathLike[str] | None = None,
    keep: Sequence[str] = (),
) -> "DataFrame":
    """Scores df[text_col]; returns the keep columns followed by the score columns.

    model_path must be readable at the same path on every executor (None: the
    model built into the wheel). Raises InputError (before any job runs) when
    a column is missing, the text column is not a string, or a kept column's
    name clashes with a score column.
    """
    from pyspark.sql.types import StringType, StructField, StructType, _parse_datatype_string

    keep = list(keep)
    fields = {f.name: f for f in df.schema.fields}
    for name in [text_col, *keep]:
        if name not in fields:
            raise InputError(f"no column {name!r} in the DataFrame (columns: {', '.join(fields)})")
    if not isinstance(fields[text_col].dataType, StringType):
        raise InputError(
            f"column {text_col!r} is {fields[text_col].dataType.simpleString()}, expected string"
        )
    clash = sorted(set(keep) & {name for name, _ in SCORE_COLUMNS})
    if clash:
        raise InputError(f"kept columns clash with score columns: {', '.join(clash)}")

    schema = StructType(
        [fields[k] for k in keep]
        + [StructField(name, _parse_datatype_string(t), True) for name, t in SCORE_COLUMNS]
    )
    path = None if model_path is None else os.fspath(model_path)
    columns = list(dict.fromkeys([*keep, text_col]))

    def score_batches(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        import pyarrow as pa

        model = cached_model(path)
        for batch in batches:
            scores = model.score_arrow(batch, text_column=text_col)
            arrays = [batch.column(k) for k in keep] + scores.columns
            yield pa.RecordBatch.from_arrays(arrays, names=[f.name for f in schema.fields])

    return df.select(*columns).mapInArrow(score_batches, schema)
