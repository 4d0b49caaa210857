//! Map `CoreError` to the typed Python exceptions defined in `tokensmith.errors`.

use crate::error::CoreError;
use pyo3::prelude::*;

fn raise(kind: &str, msg: String) -> PyErr {
    Python::with_gil(|py| {
        let cls = py
            .import("tokensmith.errors")
            .and_then(|m| m.getattr(kind));
        match cls {
            Ok(cls) => match cls.call1((msg.clone(),)) {
                Ok(inst) => PyErr::from_value(inst),
                Err(e) => e,
            },
            Err(_) => pyo3::exceptions::PyValueError::new_err(msg),
        }
    })
}

pub fn to_py(err: CoreError) -> PyErr {
    match err {
        CoreError::Config(m) => raise("ConfigError", m),
        CoreError::Format(m) => raise("FormatError", m),
        CoreError::Corpus(m) => raise("CorpusError", m),
        CoreError::Token(m) => raise("TokenError", m),
        CoreError::Io(e) => raise("CorpusError", e.to_string()),
    }
}
