//! The Python exceptions the binding raises, and the conversions from the
//! library's errors to them. The classes are defined in `stance/_errors.py`
//! (`StanceError`, `ModelError`, `InputError(StanceError, ValueError)`);
//! messages are the library's own.

use pyo3::PyErr;

pyo3::import_exception!(stance._errors, ModelError);
pyo3::import_exception!(stance._errors, InputError);

/// A model file that cannot be loaded: the library's message with its causes.
pub fn model_error(e: &(dyn std::error::Error + 'static)) -> PyErr {
    ModelError::new_err(chain(e))
}

/// Bad input from the caller.
pub fn input_error(message: impl Into<String>) -> PyErr {
    InputError::new_err(message.into())
}

/// `error: cause: cause...`, skipping a cause whose text the error already shows.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
