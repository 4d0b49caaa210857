//! Bindings for `crate::lzw` (zip2zip hypertokens). Ids cross as Python lists of ints; the GIL is
//! released around every encode/decode, and batches run in parallel on rayon.

use crate::lzw::{self, CodesWithCodebook, LzwConfig};
use crate::py::errors::to_py;
use pyo3::prelude::*;

fn config(base_vocab_size: u32, codebook_size: u32, max_subtokens: usize, disabled_ids: Vec<u32>) -> PyResult<LzwConfig> {
    LzwConfig::new(base_vocab_size, codebook_size, max_subtokens, &disabled_ids).map_err(to_py)
}

/// Encode one id sequence into LZW codes.
#[pyfunction]
#[pyo3(signature = (ids, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_encode(py: Python<'_>, ids: Vec<u32>, base_vocab_size: u32, codebook_size: u32, max_subtokens: usize,
              disabled_ids: Vec<u32>) -> PyResult<Vec<u32>> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::encode(&ids, &cfg)).map_err(to_py)
}

/// Encode one id sequence; return (codes, codebook) where codebook[k] lists the base ids of V0 + k.
#[pyfunction]
#[pyo3(signature = (ids, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_encode_with_codebook(py: Python<'_>, ids: Vec<u32>, base_vocab_size: u32, codebook_size: u32,
                            max_subtokens: usize, disabled_ids: Vec<u32>) -> PyResult<(Vec<u32>, Vec<Vec<u32>>)> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::encode_with_codebook(&ids, &cfg)).map_err(to_py)
}

/// Decode LZW codes back to base ids (the codebook is rebuilt from the codes alone).
#[pyfunction]
#[pyo3(signature = (codes, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_decode(py: Python<'_>, codes: Vec<u32>, base_vocab_size: u32, codebook_size: u32, max_subtokens: usize,
              disabled_ids: Vec<u32>) -> PyResult<Vec<u32>> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::decode(&codes, &cfg)).map_err(to_py)
}

/// Decode and return (ids, rebuilt codebook).
#[pyfunction]
#[pyo3(signature = (codes, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_decode_with_codebook(py: Python<'_>, codes: Vec<u32>, base_vocab_size: u32, codebook_size: u32,
                            max_subtokens: usize, disabled_ids: Vec<u32>) -> PyResult<(Vec<u32>, Vec<Vec<u32>>)> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::decode_with_codebook(&codes, &cfg)).map_err(to_py)
}

/// Encode many sequences in parallel.
#[pyfunction]
#[pyo3(signature = (seqs, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_encode_batch(py: Python<'_>, seqs: Vec<Vec<u32>>, base_vocab_size: u32, codebook_size: u32,
                    max_subtokens: usize, disabled_ids: Vec<u32>) -> PyResult<Vec<Vec<u32>>> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::encode_batch(&seqs, &cfg)).map_err(to_py)
}

/// Encode many sequences in parallel, each with its codebook.
#[pyfunction]
#[pyo3(signature = (seqs, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_encode_batch_with_codebook(py: Python<'_>, seqs: Vec<Vec<u32>>, base_vocab_size: u32, codebook_size: u32,
                                  max_subtokens: usize, disabled_ids: Vec<u32>)
                                  -> PyResult<Vec<CodesWithCodebook>> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::encode_batch_with_codebook(&seqs, &cfg)).map_err(to_py)
}

/// Decode many code streams in parallel.
#[pyfunction]
#[pyo3(signature = (seqs, base_vocab_size, codebook_size, max_subtokens, disabled_ids = Vec::new()))]
fn lzw_decode_batch(py: Python<'_>, seqs: Vec<Vec<u32>>, base_vocab_size: u32, codebook_size: u32,
                    max_subtokens: usize, disabled_ids: Vec<u32>) -> PyResult<Vec<Vec<u32>>> {
    let cfg = config(base_vocab_size, codebook_size, max_subtokens, disabled_ids)?;
    py.allow_threads(|| lzw::decode_batch(&seqs, &cfg)).map_err(to_py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lzw_encode, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_encode_with_codebook, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_decode, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_decode_with_codebook, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_encode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_encode_batch_with_codebook, m)?)?;
    m.add_function(wrap_pyfunction!(lzw_decode_batch, m)?)?;
    Ok(())
}
