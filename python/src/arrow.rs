//! `Model.score_arrow`: Arrow in, Arrow out through the Arrow C data
//! interface (pyo3-arrow). The input's string buffers are read in place (no
//! copy of the texts); the output is one record batch with one row per
//! input row, in order, and a per-row `error` instead of an exception.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyRecordBatch;
use stance::{DocumentScore, Label, StanceModel};

use crate::errors::input_error;
use crate::scoring::score_all;

/// The output columns, in order (after `label`, one per label in class order).
pub fn output_schema() -> Schema {
    let mut fields = vec![Field::new("label", DataType::Utf8, true)];
    for l in Label::ALL {
        fields.push(Field::new(l.as_str(), DataType::Float64, true));
    }
    fields.push(Field::new("stance_index", DataType::Float64, true));
    fields.push(Field::new("low_confidence", DataType::Boolean, true));
    fields.push(Field::new("error", DataType::Utf8, true));
    Schema::new(fields)
}

/// Scores `data[text_column]`; returns a `pyarrow.RecordBatch`.
pub fn score_arrow<'py>(
    py: Python<'py>,
    model: &StanceModel,
    data: AnyRecordBatch,
    text_column: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let index = schema.index_of(text_column).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        input_error(format!(
            "no column {text_column:?} in the input (columns: {})",
            names.join(", ")
        ))
    })?;
    let data_type = schema.field(index).data_type();
    if !matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    ) {
        return Err(input_error(format!(
            "column {text_column:?} is {data_type}, expected a string column"
        )));
    }
    // The stream is read with the GIL held: a pyarrow stream may need it.
    let mut columns: Vec<ArrayRef> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| input_error(format!("cannot read the input: {e}")))?;
        columns.push(Arc::clone(batch.column(index)));
    }
    let batch = py.detach(|| {
        let texts = borrow_texts(&columns);
        build_output(&score_all(model, &texts))
    });
    let batch = batch.map_err(|e| input_error(format!("cannot build the output: {e}")))?;
    PyRecordBatch::new(batch).into_pyarrow(py)
}

/// The texts of every chunk, borrowed from the Arrow buffers; null is None.
fn borrow_texts(columns: &[ArrayRef]) -> Vec<Option<&str>> {
    let mut out = Vec::with_capacity(columns.iter().map(|c| c.len()).sum());
    for c in columns {
        match c.data_type() {
            DataType::Utf8 => out.extend(c.as_string::<i32>().iter()),
            DataType::LargeUtf8 => out.extend(c.as_string::<i64>().iter()),
            DataType::Utf8View => out.extend(c.as_string_view().iter()),
            // The column type was checked: only an all-null column is left.
            _ => out.extend(std::iter::repeat_n(None, c.len())),
        }
    }
    out
}

fn build_output(
    results: &[Result<DocumentScore, String>],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = results.len();
    let mut label = StringBuilder::with_capacity(n, n * 7);
    let mut probs: Vec<Float64Builder> = Label::ALL
        .iter()
        .map(|_| Float64Builder::with_capacity(n))
        .collect();
    let mut index = Float64Builder::with_capacity(n);
    let mut low = BooleanBuilder::with_capacity(n);
    let mut error = StringBuilder::new();
    for r in results {
        match r {
            Ok(doc) => {
                label.append_value(doc.label.as_str());
                for (b, p) in probs.iter_mut().zip(doc.probabilities.to_class_order()) {
                    b.append_value(p);
                }
                index.append_value(doc.stance_index);
                low.append_value(doc.low_confidence);
                error.append_null();
            }
            Err(e) => {
                label.append_null();
                for b in probs.iter_mut() {
                    b.append_null();
                }
                index.append_null();
                low.append_null();
                error.append_value(e);
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(label.finish())];
    columns.extend(probs.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(index.finish()));
    columns.push(Arc::new(low.finish()));
    columns.push(Arc::new(error.finish()));
    RecordBatch::try_new(Arc::new(output_schema()), columns)
}
