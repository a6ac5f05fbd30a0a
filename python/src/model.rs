//! `stance.Model`: a loaded model and the scikit-learn style calls on it
//! (`predict_proba`, `predict`), the server's answer for one document
//! (`score`) and Arrow in / Arrow out (`score_arrow`, in [`crate::arrow`]).
//! Probability columns are in [`Label::ALL`] order, the model's class order,
//! which `Model.labels` states.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3_arrow::input::AnyRecordBatch;
use stance::server::routes::score::ScoreResponse;
use stance::{DocumentOptions, DocumentScore, Label, StanceModel};

use crate::errors::{input_error, model_error};
use crate::scoring::{score_all, score_one};
use crate::texts;

/// A stance model: the shipped one (built into the package) or one loaded
/// from a model file written by `stance train`.
#[pyclass(frozen, module = "stance")]
pub struct Model {
    inner: Arc<StanceModel>,
}

#[pymethods]
impl Model {
    /// Loads the model at `path`, or the shipped model when `path` is None.
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn load(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Self> {
        let loaded = py.detach(|| stance::artifact::load_or_embedded(path.as_deref()));
        match loaded {
            Ok(m) => Ok(Self { inner: Arc::new(m) }),
            Err(e) => Err(model_error(&e)),
        }
    }

    /// Model name, e.g. `sanctuary`.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.meta().name
    }

    /// Model version, e.g. `2.0.0`.
    #[getter]
    fn version(&self) -> &str {
        &self.inner.meta().version
    }

    /// `sha256:<hex>` of the model body, as every answer of the server names it.
    #[getter]
    fn checksum(&self) -> &str {
        self.inner.checksum()
    }

    /// Label names in column order of `predict_proba` and `score_arrow`.
    #[getter]
    fn labels(&self) -> Vec<&'static str> {
        Label::ALL.iter().map(|l| l.as_str()).collect()
    }

    /// Document probabilities of each text, shape `(n, 3)`, columns in
    /// `labels` order; exactly those of `stance score`.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let docs = self.score_texts(py, texts)?;
        let flat: Vec<f64> = docs
            .iter()
            .flat_map(|d| d.probabilities.to_class_order())
            .collect();
        let array = Array2::from_shape_vec((docs.len(), Label::ALL.len()), flat)
            .map_err(|e| input_error(e.to_string()))?;
        Ok(array.into_pyarray(py))
    }

    /// The document label of each text (`pro`, `anti` or `neutral`), as a
    /// list of str.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let docs = self.score_texts(py, texts)?;
        PyList::new(py, docs.iter().map(|d| d.label.as_str()))
    }

    /// One document scored as `POST /v1/score` answers it: the same JSON,
    /// as a dict. `paragraphs=False` leaves out the per-paragraph scores
    /// (`explain > 0` keeps them, as in `stance predict`).
    #[pyo3(signature = (text, paragraphs=true, explain=0))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        paragraphs: bool,
        explain: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = DocumentOptions {
            explain,
            ..DocumentOptions::default()
        };
        let model = &self.inner;
        let json = py
            .detach(|| {
                let doc = score_one(model, text, &opts)?;
                serde_json::to_string(&ScoreResponse::new(model, &doc)).map_err(|e| e.to_string())
            })
            .map_err(input_error)?;
        let dict = py
            .import("json")?
            .call_method1("loads", (json,))?
            .cast_into::<PyDict>()?;
        if !paragraphs && explain == 0 {
            dict.del_item("paragraphs")?;
        }
        Ok(dict)
    }

    /// Scores the string column `text_column` of a pyarrow RecordBatch or
    /// Table (anything with `__arrow_c_array__` or `__arrow_c_stream__`),
    /// read in place. One output row per input row, in order: `label`,
    /// `anti`, `neutral`, `pro`, `stance_index`, `low_confidence`, `error`.
    /// A null or blank text gets nulls and an `error` message, not an exception.
    #[pyo3(signature = (data, text_column="text"))]
    fn score_arrow<'py>(
        &self,
        py: Python<'py>,
        data: AnyRecordBatch,
        text_column: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::arrow::score_arrow(py, &self.inner, data, text_column)
    }

    fn __repr__(&self) -> String {
        format!(
            "stance.Model({:?}, checksum={:?})",
            self.inner.id(),
            self.inner.checksum()
        )
    }
}

impl Model {
    /// Scores a Python iterable of texts without the GIL; the first text
    /// that cannot be scored is an `InputError` naming its index.
    fn score_texts(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<DocumentScore>> {
        let owned = texts::extract(texts)?;
        let model = &self.inner;
        let results = py.detach(|| {
            let borrowed: Vec<Option<&str>> = owned.iter().map(|s| Some(&**s)).collect();
            score_all(model, &borrowed)
        });
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map_err(|e| input_error(format!("texts[{i}]: {e}"))))
            .collect()
    }
}
