//! Texts handed in from Python: any iterable of `str` (list, tuple, numpy
//! array of str, pandas Series...), borrowed without copying
//! ([`PyBackedStr`]) so scoring can run with the GIL released. A lone `str`
//! is refused (it would be scored character by character, the classic
//! scikit-learn slip), and so is anything not a `str` at some index.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;

use crate::errors::input_error;

/// The texts of `texts`, or an `InputError` naming the first bad index.
pub fn extract(texts: &Bound<'_, PyAny>) -> PyResult<Vec<PyBackedStr>> {
    if texts.is_instance_of::<PyString>() {
        return Err(input_error(
            "texts must be an iterable of str, not a single str (wrap it in a list)",
        ));
    }
    let iter = texts.try_iter().map_err(|_| {
        input_error(format!(
            "texts must be an iterable of str, not {}",
            type_name(texts)
        ))
    })?;
    let mut out = Vec::with_capacity(texts.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        match item.extract::<PyBackedStr>() {
            Ok(s) => out.push(s),
            Err(_) => {
                return Err(input_error(format!(
                    "texts[{i}]: expected str, got {}",
                    type_name(&item)
                )))
            }
        }
    }
    Ok(out)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".to_string())
}
