"""score_arrow's contract beyond parity: error rows, schema, bad columns."""

import pyarrow as pa
import pytest

import stance


def test_null_and_blank_texts_get_an_error_and_null_scores(model):
    batch = pa.record_batch({"text": pa.array(["The council voted.", None, "  \n", "ICE out."])})
    out = model.score_arrow(batch)
    assert out.num_rows == 4
    assert out["error"].to_pylist() == [None, "text is missing (null)", "text is empty", None]
    for col in ("label", *model.labels, "stance_index", "low_confidence"):
        assert out[col].is_null().to_pylist() == [False, True, True, False], col
    assert out["label"][0].as_py() == model.predict(["The council voted."])[0]


def test_output_schema_is_documented_order_and_types(model):
    out = model.score_arrow(pa.record_batch({"text": ["a b c"]}))
    assert out.schema.names == ["label", "anti", "neutral", "pro", "stance_index",
                                "low_confidence", "error"]
    assert [str(t) for t in out.schema.types] == ["string", "double", "double", "double",
                                                 "double", "bool", "string"]


def test_an_all_null_column_scores_as_errors(model):
    out = model.score_arrow(pa.table({"text": pa.nulls(3)}))
    assert out["error"].to_pylist() == ["text is missing (null)"] * 3


def test_an_empty_table_gives_an_empty_batch(model):
    out = model.score_arrow(pa.table({"text": pa.array([], pa.string())}))
    assert out.num_rows == 0 and out.schema.names[0] == "label"


@pytest.mark.parametrize(
    "data, column, pattern",
    [
        (pa.table({"body": ["x"]}), "text", r'no column "text" in the input \(columns: body\)'),
        (pa.table({"text": [1, 2]}), "text", r'column "text" is Int64, expected a string column'),
    ],
)
def test_bad_columns_are_input_errors(model, data, column, pattern):
    with pytest.raises(stance.InputError, match=pattern):
        model.score_arrow(data, text_column=column)


def test_non_arrow_input_is_refused_by_name(model):
    with pytest.raises(ValueError, match="__arrow_c_array__ or __arrow_c_stream__"):
        model.score_arrow({"text": ["x"]})
