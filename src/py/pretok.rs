//! Bindings for `crate::normalize`, `crate::pretokenize` and `crate::count`. The GIL is released
//! around every split, normalization and count.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyList, PyType};

use crate::count::{PieceList, WordCounts};
use crate::normalize::Normalizer;
use crate::pretokenize::Pretokenizer;
use crate::py::errors::to_py;

/// A compiled pretokenizer: a pattern name (`gpt2`, `cl100k`, `o200k`, `llama3`, `superbpe_stage1`,
/// `superbpe_stage2`, `whitespace`, `none`) or a regex.
#[pyclass(name = "Pretokenizer", module = "tokensmith._core", frozen)]
pub(crate) struct PyPretokenizer {
    pub(crate) inner: Pretokenizer,
}

#[pymethods]
impl PyPretokenizer {
    #[new]
    fn new(pattern: &str) -> PyResult<Self> {
        Ok(PyPretokenizer { inner: Pretokenizer::new(pattern).map_err(to_py)? })
    }

    /// Always the regex engine (fancy-regex), even for the text of a named pattern.
    #[classmethod]
    fn from_regex(_cls: &Bound<'_, PyType>, regex: &str) -> PyResult<Self> {
        Ok(PyPretokenizer { inner: Pretokenizer::from_regex(regex).map_err(to_py)? })
    }

    /// The name or regex this was built from.
    #[getter]
    fn pattern(&self) -> String {
        self.inner.pattern().to_string()
    }

    /// The pieces of `text`, in order.
    fn split<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
        let spans = py.allow_threads(|| self.inner.split(text));
        PyList::new(py, spans.iter().map(|&(s, e)| &text[s..e]))
    }

    /// `(start, end)` of each piece in characters (code points), so `text[start:end]` is the piece.
    fn spans(&self, py: Python<'_>, text: &str) -> Vec<(usize, usize)> {
        py.allow_threads(|| char_spans(text, &self.inner.split(text)))
    }

    /// `(start, end)` of each piece in UTF-8 bytes.
    fn byte_spans(&self, py: Python<'_>, text: &str) -> Vec<(usize, usize)> {
        py.allow_threads(|| self.inner.split(text))
    }

    /// The byte offset of the first piece where `other` splits `text` differently (None: same pieces).
    fn first_difference(&self, py: Python<'_>, other: &Bound<'_, PyPretokenizer>, text: &str) -> Option<usize> {
        let other = &other.get().inner;
        py.allow_threads(|| {
            let (mine, theirs) = (self.inner.split(text), other.split(text));
            let at = mine.iter().zip(theirs.iter()).position(|(a, b)| a != b);
            match at {
                Some(i) => Some(mine[i].0.min(theirs[i].0)),
                None if mine.len() != theirs.len() => {
                    let i = mine.len().min(theirs.len());
                    Some(mine.get(i).or(theirs.get(i)).map_or(0, |s| s.0))
                }
                None => None,
            }
        })
    }

    fn __repr__(&self) -> String {
        format!("Pretokenizer({:?})", self.inner.pattern())
    }
}

/// Byte spans → code-point spans (spans are in order and do not overlap).
fn char_spans(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(spans.len());
    let (mut byte_pos, mut char_pos) = (0usize, 0usize);
    let advance = |to: usize, byte_pos: &mut usize, char_pos: &mut usize| {
        *char_pos += bytes[*byte_pos..to].iter().filter(|&&b| (b as i8) >= -0x40).count();
        *byte_pos = to;
    };
    for &(start, end) in spans {
        advance(start, &mut byte_pos, &mut char_pos);
        let first = char_pos;
        advance(end, &mut byte_pos, &mut char_pos);
        out.push((first, char_pos));
    }
    out
}

/// The named patterns and the regex each one equals (`none` maps to None).
#[pyfunction]
fn named_patterns() -> Vec<(String, Option<String>)> {
    crate::pretokenize::NAMED_PATTERNS
        .iter()
        .map(|name| (name.to_string(), crate::pretokenize::pattern_regex(name).map(str::to_string)))
        .collect()
}

/// `text` normalized with `name` (none, nfc, nfkc, lowercase, nfkc_lowercase).
#[pyfunction]
fn normalize(py: Python<'_>, name: &str, text: &str) -> PyResult<String> {
    let normalizer = Normalizer::new(name).map_err(to_py)?;
    Ok(py.allow_threads(|| normalizer.normalize(text).into_owned()))
}

/// Piece counts (UTF-8 bytes → 64-bit count) of a pretokenized corpus.
#[pyclass(name = "WordCounts", module = "tokensmith._core")]
#[derive(Default)]
pub(crate) struct PyWordCounts {
    pub(crate) inner: WordCounts,
}

/// `f` with the named pretokenizer and normalizer, the GIL released (bad names are a Python error).
fn with_pipeline<T: Send>(py: Python<'_>, pattern: &str, normalization: &str,
                          f: impl FnOnce(&Pretokenizer, &Normalizer) -> T + Send) -> PyResult<T> {
    let pretokenizer = Pretokenizer::new(pattern).map_err(to_py)?;
    let normalizer = Normalizer::new(normalization).map_err(to_py)?;
    Ok(py.allow_threads(|| f(&pretokenizer, &normalizer)))
}

fn piece_bytes(piece: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = piece.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = piece.extract::<String>() {
        return Ok(s.into_bytes());
    }
    Err(PyTypeError::new_err("a piece must be bytes or str"))
}

#[pymethods]
impl PyWordCounts {
    /// An empty table.
    #[new]
    fn new() -> Self {
        PyWordCounts::default()
    }

    /// Count `texts` (a list of str) on `num_threads` workers (0: one per core).
    #[classmethod]
    #[pyo3(signature = (texts, pattern = "gpt2", normalization = "none", num_threads = 0))]
    fn count_texts(_cls: &Bound<'_, PyType>, py: Python<'_>, texts: Vec<PyBackedStr>, pattern: &str,
                   normalization: &str, num_threads: usize) -> PyResult<Self> {
        let inner = with_pipeline(py, pattern, normalization, |pretokenizer, normalizer| {
            WordCounts::count_texts_parallel(&texts, pretokenizer, normalizer, num_threads)
        })?;
        Ok(PyWordCounts { inner })
    }

    /// Count more texts into this table.
    #[pyo3(signature = (texts, pattern = "gpt2", normalization = "none", num_threads = 0))]
    fn add_texts(&mut self, py: Python<'_>, texts: Vec<PyBackedStr>, pattern: &str, normalization: &str,
                 num_threads: usize) -> PyResult<()> {
        let inner = &mut self.inner;
        with_pipeline(py, pattern, normalization, |pretokenizer, normalizer| {
            inner.add_texts_parallel(&texts, pretokenizer, normalizer, num_threads)
        })
    }

    /// Add `count` occurrences of one piece (bytes or str).
    #[pyo3(signature = (piece, count = 1))]
    fn add_piece(&mut self, piece: &Bound<'_, PyAny>, count: u64) -> PyResult<()> {
        self.inner.add_piece(&piece_bytes(piece)?, count);
        Ok(())
    }

    /// Add every count of `other` (left unchanged) to this table.
    fn merge(&mut self, py: Python<'_>, other: &Bound<'_, PyWordCounts>) -> PyResult<()> {
        let copy = other.try_borrow()?.inner.clone();
        py.allow_threads(|| self.inner.merge(copy));
        Ok(())
    }

    /// Write the versioned binary table to `path` (atomically).
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        py.allow_threads(|| self.inner.save(&path)).map_err(to_py)
    }

    /// Read a table written by `save`; a foreign or corrupt file raises FormatError.
    #[classmethod]
    fn load(_cls: &Bound<'_, PyType>, py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let inner = py.allow_threads(|| WordCounts::load(&path)).map_err(to_py)?;
        Ok(PyWordCounts { inner })
    }

    /// The table in the `save` format.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let data = py.allow_threads(|| self.inner.to_bytes());
        PyBytes::new(py, &data)
    }

    /// Parse bytes produced by `to_bytes`.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = py.allow_threads(|| WordCounts::from_bytes(data)).map_err(to_py)?;
        Ok(PyWordCounts { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Sum of all counts.
    fn total(&self) -> u64 {
        self.inner.total()
    }

    /// The count of `piece` (bytes or str); 0 when absent.
    fn get(&self, piece: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.inner.get(&piece_bytes(piece)?))
    }

    fn __getitem__(&self, piece: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.get(piece)
    }

    fn __contains__(&self, piece: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.get(piece)? > 0)
    }

    /// Every (piece bytes, count), most frequent first (ties by bytes).
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        pairs(py, self.inner.sorted_items())
    }

    /// The `n` most frequent (piece bytes, count).
    fn most_common<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyList>> {
        pairs(py, self.inner.most_common(n))
    }

    /// A dict piece bytes → count.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let dict = pyo3::types::PyDict::new(py);
        for (piece, count) in self.inner.iter() {
            dict.set_item(PyBytes::new(py, piece), count)?;
        }
        Ok(dict)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.downcast::<PyWordCounts>() {
            Ok(o) => o.try_borrow().map(|o| o.inner == self.inner).unwrap_or(false),
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        format!("WordCounts(len={}, total={})", self.inner.len(), self.inner.total())
    }

    // pickling: bytes in the `save` format
    fn __getstate__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.to_bytes(py)
    }

    fn __setstate__(&mut self, py: Python<'_>, state: &[u8]) -> PyResult<()> {
        self.inner = py.allow_threads(|| WordCounts::from_bytes(state)).map_err(to_py)?;
        Ok(())
    }
}

/// The pieces of a corpus in order, not counted (SuperBPE's stage-2 lines, nearly all distinct).
#[pyclass(name = "PieceList", module = "tokensmith._core")]
#[derive(Default)]
pub(crate) struct PyPieceList {
    pub(crate) inner: PieceList,
}

#[pymethods]
impl PyPieceList {
    /// An empty list.
    #[new]
    fn new() -> Self {
        PyPieceList::default()
    }

    /// Append the pieces of `texts` (a list of str), normalized and pretokenized, in order.
    #[pyo3(signature = (texts, pattern = "gpt2", normalization = "none", num_threads = 0))]
    fn add_texts(&mut self, py: Python<'_>, texts: Vec<PyBackedStr>, pattern: &str, normalization: &str,
                 num_threads: usize) -> PyResult<()> {
        let inner = &mut self.inner;
        with_pipeline(py, pattern, normalization, |pretokenizer, normalizer| {
            inner.add_texts(&texts, pretokenizer, normalizer, num_threads)
        })?
        .map_err(to_py)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The pieces counted (a `WordCounts`).
    fn to_counts(&self, py: Python<'_>) -> PyWordCounts {
        PyWordCounts { inner: py.allow_threads(|| self.inner.to_counts()) }
    }
}

fn pairs<'py>(py: Python<'py>, items: Vec<(&[u8], u64)>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (piece, count) in items {
        list.append((PyBytes::new(py, piece), count))?;
    }
    Ok(list)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPretokenizer>()?;
    m.add_class::<PyWordCounts>()?;
    m.add_class::<PyPieceList>()?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(named_patterns, m)?)?;
    Ok(())
}
