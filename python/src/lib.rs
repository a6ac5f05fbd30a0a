//! `stance._native`: the Python extension module of the `stance` package.
//!
//! A thin binding over the root crate. Every score comes from
//! [`stance::StanceModel::score_document`], the one scoring path of the CLI,
//! the batch scorer and the server; this crate only moves texts in (Python
//! `str`s, Arrow string arrays read in place) and results out (numpy arrays,
//! Arrow record batches, the server's JSON answer as a `dict`), with the GIL
//! released while scoring and batches spread over a rayon pool.
//!
//! The exception classes live in Python (`stance/_errors.py`) so that
//! `InputError` can be both a `StanceError` and a `ValueError`.

use pyo3::prelude::*;

mod arrow;
mod errors;
mod model;
mod scoring;
mod texts;

/// The module `stance._native`; `stance/__init__.py` re-exports its names.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::Model>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
