//! Bindings for the BPE variants with their own engine: Picky BPE (`train::picky`, `model::picky`).
//! The GIL is released around training and encoding. Events cross the boundary as tuples:
//! `("merge", left, right)` and `("split", token, [pieces...])`, all `bytes`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::io::Write;
use std::sync::Arc;

use crate::model::bpe::{IdsWithOffsets, Splitter};
use crate::model::picky::PickyModel;
use crate::normalize::Normalizer;
use crate::pretokenize::Pretokenizer;
use crate::py::errors::to_py;
use crate::py::pretok::PyWordCounts;
use crate::train::bpe::{BpeTrainerConfig, Progress};
use crate::train::picky::{PickyEvent, PickyTrainer, PickyTrainerConfig};

/// A progress reporter on stderr: `bar` (one rewritten line), `json` (an object per 1%), `none`.
fn reporter(mode: &str) -> PyResult<Box<dyn FnMut(Progress) + Send>> {
    let step = |p: &Progress| (p.merges_total / 100).max(1);
    match mode {
        "none" => Ok(Box::new(|_| {})),
        "bar" => Ok(Box::new(move |p: Progress| {
            if p.merges_done.is_multiple_of(step(&p)) || p.merges_done == p.merges_total {
                eprint!("\rpicky: {}/{} merges (last count {})", p.merges_done, p.merges_total, p.last_count);
                let _ = std::io::stderr().flush();
            }
        })),
        "json" => Ok(Box::new(move |p: Progress| {
            if p.merges_done.is_multiple_of(step(&p)) {
                eprintln!(r#"{{"merges_done": {}, "merges_total": {}, "last_count": {}}}"#, p.merges_done, p.merges_total, p.last_count);
            }
        })),
        other => Err(to_py(crate::error::CoreError::Config(format!("progress={other:?}; use bar, json or none")))),
    }
}

fn events_to_py<'py>(py: Python<'py>, events: &[PickyEvent]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for e in events {
        let item = match e {
            PickyEvent::Merge(l, r) => PyTuple::new(py, [PyString::new(py, "merge").into_any(), PyBytes::new(py, l).into_any(), PyBytes::new(py, r).into_any()])?,
            PickyEvent::Split(t, pieces) => {
                let ps = PyList::new(py, pieces.iter().map(|p| PyBytes::new(py, p)))?;
                PyTuple::new(py, [PyString::new(py, "split").into_any(), PyBytes::new(py, t).into_any(), ps.into_any()])?
            }
        };
        list.append(item)?;
    }
    Ok(list)
}

fn events_from_py(events: &Bound<'_, PyAny>) -> PyResult<Vec<PickyEvent>> {
    let mut out = Vec::new();
    for item in events.try_iter()? {
        let item = item?;
        let kind: String = item.get_item(0)?.extract()?;
        let first: Vec<u8> = item.get_item(1)?.extract()?;
        match kind.as_str() {
            "merge" => out.push(PickyEvent::Merge(first, item.get_item(2)?.extract()?)),
            "split" => out.push(PickyEvent::Split(first, item.get_item(2)?.extract()?)),
            other => return Err(PyTypeError::new_err(format!("unknown Picky event kind {other:?}; use 'merge' or 'split'"))),
        }
    }
    Ok(out)
}

/// Train Picky BPE on word counts: returns `(vocab: list[bytes], events: list[tuple])`.
#[pyfunction]
#[pyo3(signature = (counts, *, vocab_size, threshold=0.9, min_frequency=2, max_token_length=None,
                    special_tokens=Vec::new(), progress="none", max_events=None))]
#[allow(clippy::too_many_arguments)]
fn train_picky<'py>(py: Python<'py>, counts: &Bound<'py, PyWordCounts>, vocab_size: usize, threshold: f64,
                    min_frequency: u64, max_token_length: Option<usize>, special_tokens: Vec<String>,
                    progress: &str, max_events: Option<usize>) -> PyResult<(Vec<Bound<'py, PyBytes>>, Bound<'py, PyList>)> {
    let bpe = BpeTrainerConfig { vocab_size, min_frequency, max_token_length, special_tokens, ..Default::default() };
    let trainer = PickyTrainer::new(PickyTrainerConfig { bpe, threshold, max_events }).map_err(to_py)?;
    let mut report = reporter(progress)?;
    let guard = counts.borrow();
    let inner = &guard.inner;
    let data = py.allow_threads(move || trainer.train_words(inner.iter(), &mut *report)).map_err(to_py)?;
    if progress == "bar" {
        eprintln!();
    }
    let vocab = data.vocab.iter().map(|t| PyBytes::new(py, t)).collect();
    Ok((vocab, events_to_py(py, &data.events)?))
}

/// The Picky BPE encoder: `PickyModel(vocab, events, pattern, normalization, special_tokens)`.
#[pyclass(name = "PickyModel", module = "tokensmith._core", frozen)]
struct PyPickyModel {
    inner: PickyModel,
    specials: Vec<(String, u32)>,
}

impl PyPickyModel {
    /// `allowed_special`: `"all"`, or an iterable of special token strings (None: none allowed).
    fn allowed(&self, allowed: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u32>> {
        let Some(allowed) = allowed else { return Ok(Vec::new()) };
        if let Ok(s) = allowed.extract::<String>() {
            if s == "all" {
                return Ok(self.specials.iter().map(|s| s.1).collect());
            }
            return Err(PyTypeError::new_err("allowed_special must be 'all' or a set of special token strings"));
        }
        let mut ids = Vec::new();
        for item in allowed.try_iter()? {
            let name: String = item?.extract()?;
            if let Some((_, id)) = self.specials.iter().find(|(s, _)| *s == name) {
                ids.push(*id);
            }
        }
        Ok(ids)
    }
}

#[pymethods]
impl PyPickyModel {
    #[new]
    #[pyo3(signature = (vocab, events, pattern=None, normalization="none", special_tokens=None))]
    fn new(vocab: Vec<Vec<u8>>, events: &Bound<'_, PyAny>, pattern: Option<&str>, normalization: &str,
           special_tokens: Option<std::collections::HashMap<String, u32>>) -> PyResult<Self> {
        let events = events_from_py(events)?;
        let splitter: Option<Arc<dyn Splitter>> = match pattern {
            None | Some("none") | Some("") => None,
            Some(p) => Some(Arc::new(Pretokenizer::new(p).map_err(to_py)?)),
        };
        let normalizer = Normalizer::new(normalization).map_err(to_py)?;
        let mut specials: Vec<(String, u32)> = special_tokens.unwrap_or_default().into_iter().collect();
        specials.sort_by_key(|s| s.1);
        let inner = PickyModel::new(vocab, &events, splitter, normalizer, specials.clone()).map_err(to_py)?;
        Ok(PyPickyModel { inner, specials })
    }

    #[pyo3(signature = (text, allowed_special=None))]
    fn encode(&self, py: Python<'_>, text: &str, allowed_special: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u32>> {
        let allowed = self.allowed(allowed_special)?;
        py.allow_threads(|| self.inner.encode(text, &allowed)).map_err(to_py)
    }

    #[pyo3(signature = (text, allowed_special=None))]
    fn encode_with_offsets(&self, py: Python<'_>, text: &str, allowed_special: Option<&Bound<'_, PyAny>>)
                           -> PyResult<IdsWithOffsets> {
        let allowed = self.allowed(allowed_special)?;
        py.allow_threads(|| self.inner.encode_with_offsets(text, &allowed)).map_err(to_py)
    }

    #[pyo3(signature = (texts, num_threads=0, allowed_special=None))]
    fn encode_batch(&self, py: Python<'_>, texts: Vec<String>, num_threads: usize,
                    allowed_special: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Vec<u32>>> {
        let allowed = self.allowed(allowed_special)?;
        py.allow_threads(|| self.inner.encode_batch(&texts, &allowed, num_threads)).map_err(to_py)
    }

    /// The pieces the log replay gives one pretokenized piece (bytes), as token bytes.
    fn replay_piece<'py>(&self, py: Python<'py>, piece: &[u8]) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let mut ids = Vec::new();
        self.inner.encode_piece(piece, &mut ids).map_err(to_py)?;
        ids.iter().map(|&i| Ok(PyBytes::new(py, self.inner.token_bytes(i).map_err(to_py)?))).collect()
    }

    fn decode_bytes<'py>(&self, py: Python<'py>, ids: Vec<u32>) -> PyResult<Bound<'py, PyBytes>> {
        let out = self.inner.decode(&ids).map_err(to_py)?;
        Ok(PyBytes::new(py, &out))
    }

    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, self.inner.token_bytes(id).map_err(to_py)?))
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train_picky, m)?)?;
    m.add_class::<PyPickyModel>()?;
    Ok(())
}
