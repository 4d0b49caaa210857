//! The PyO3 binding layer: `tokensmith._core`. One file per area registers its classes and
//! functions; algorithms stay in the plain-Rust modules. GIL released around all heavy work.

use pyo3::prelude::*;

mod bpe;
pub(crate) mod errors;
mod lzw;
mod methods;
mod morph;
mod pretok;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    pretok::register(m)?;
    bpe::register(m)?;
    methods::register(m)?;
    morph::register(m)?;
    lzw::register(m)?;
    Ok(())
}
