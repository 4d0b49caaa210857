//! Bindings for MorphBPE's segmenter: Morfessor Baseline (`train::morfessor`) and the cutting of counted
//! pieces at morpheme boundaries. The GIL is released around training, Viterbi and cutting; which
//! non-ASCII characters are letters, and their case folds, come from Python (`letters`), so the cuts
//! equal Python's `re` and `str.casefold` exactly.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use rustc_hash::FxHashMap;
use std::sync::Arc;

use crate::count::WordCounts;
use crate::model::bpe::with_threads;
use crate::py::bpe::{bytes_list, Reporter};
use crate::py::errors::to_py;
use crate::py::pretok::PyWordCounts;
use crate::train::bpe::{BpeTrainer, BpeTrainerConfig};
use crate::train::morfessor::{Morfessor, MorfessorConfig};
use crate::train::morph_cut::{self, LetterTable};

fn config_error(msg: String) -> PyErr {
    to_py(crate::error::CoreError::Config(msg))
}

/// A `WordCounts` as is, or any mapping / iterable of (bytes or str, count) copied into one.
fn with_counts<T>(counts: &Bound<'_, PyAny>, f: impl FnOnce(&WordCounts) -> PyResult<T>) -> PyResult<T> {
    if let Ok(native) = counts.downcast::<PyWordCounts>() {
        return f(&native.borrow().inner);
    }
    let items = if counts.hasattr("items")? { counts.call_method0("items")? } else { counts.clone() };
    let mut table = WordCounts::new();
    for item in items.try_iter()? {
        let (piece, count): (Bound<'_, PyAny>, u64) = item?.extract()?;
        let bytes: Vec<u8> = match piece.extract::<Vec<u8>>() {
            Ok(b) if piece.downcast::<PyBytes>().is_ok() => b,
            _ => piece.extract::<String>().map_err(|_| config_error("counts must map bytes or str to ints".into()))?.into_bytes(),
        };
        table.add_piece(&bytes, count);
    }
    f(&table)
}

fn letter_table(letters: Option<FxHashMap<String, String>>) -> PyResult<LetterTable> {
    let mut table = LetterTable::default();
    for (ch, fold) in letters.unwrap_or_default() {
        let mut chars = ch.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => {
                table.insert(c, fold);
            }
            _ => return Err(config_error(format!("letters keys must be single characters, got {ch:?}"))),
        }
    }
    Ok(table)
}

fn threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    with_threads(n, f).map_err(to_py)
}

/// Distinct non-ASCII characters of the counted pieces, sorted (classify them into `letters`).
#[pyfunction]
#[pyo3(signature = (counts, *, num_threads = 0))]
fn morph_chars(py: Python<'_>, counts: &Bound<'_, PyAny>, num_threads: usize) -> PyResult<Vec<char>> {
    with_counts(counts, |wc| {
        let pieces: Vec<(&[u8], u64)> = wc.iter().collect();
        py.allow_threads(|| threads(num_threads, || morph_cut::non_ascii_chars(&pieces)))
    })
}

/// Case-folded letter run → summed count over the pieces (undecodable bytes dropped).
/// `letters`: non-ASCII letter → case fold (ASCII letters are built in).
#[pyfunction]
#[pyo3(signature = (counts, letters = None, *, num_threads = 0))]
fn letter_run_counts<'py>(py: Python<'py>, counts: &Bound<'py, PyAny>, letters: Option<FxHashMap<String, String>>,
                          num_threads: usize) -> PyResult<Bound<'py, PyDict>> {
    let letters = letter_table(letters)?;
    let runs = with_counts(counts, |wc| {
        let pieces: Vec<(&[u8], u64)> = wc.iter().collect();
        py.allow_threads(|| threads(num_threads, || morph_cut::letter_run_counts(&pieces, &letters)))
    })?;
    let dict = PyDict::new(py);
    for (run, count) in runs {
        dict.set_item(run, count)?;
    }
    Ok(dict)
}

/// The counted pieces cut at morpheme boundaries inside their letter runs: a list of
/// (segments: list[bytes], count), most frequent first, ready for `train_bpe`. `gold` maps a
/// case-folded run to its cuts (character offsets) and wins over `morfessor`.
#[pyfunction]
#[pyo3(signature = (counts, letters = None, gold = None, morfessor = None, *, num_threads = 0))]
fn morph_segment<'py>(py: Python<'py>, counts: &Bound<'py, PyAny>, letters: Option<FxHashMap<String, String>>,
                      gold: Option<FxHashMap<String, Vec<usize>>>, morfessor: Option<PyRef<'py, PyMorfessor>>,
                      num_threads: usize) -> PyResult<Bound<'py, PyList>> {
    let letters = letter_table(letters)?;
    let gold = gold.unwrap_or_default();
    let model = morfessor.as_ref().map(|m| m.inner.clone());
    with_counts(counts, |wc| {
        let pieces = wc.sorted_items();
        let bounds = py.allow_threads(|| {
            threads(num_threads, || morph_cut::segment_pieces(&pieces, &letters, &gold, model.as_deref()))
        })?;
        // Tens of thousands of new lists: the cyclic GC would traverse them again and again (half the time).
        let _paused = GcPause::new(py)?;
        let out = PyList::empty(py);
        for ((piece, count), cut) in pieces.iter().zip(&bounds) {
            let segs = if cut.is_empty() {
                PyList::new(py, [PyBytes::new(py, piece)])?
            } else {
                PyList::new(py, cut.windows(2).map(|w| PyBytes::new(py, &piece[w[0]..w[1]])))?
            };
            out.append(PyTuple::new(py, [segs.into_any(), count.into_pyobject(py)?.into_any()])?)?;
        }
        Ok(out)
    })
}

/// MorphBPE's training in one call: `morph_segment` then `train_bpe` on the segments, without the list
/// of segments crossing into Python and back (a tenth of MorphBPE's time at 5 MB). The same merges as
/// `train_bpe(morph_segment(...))`: the trainer sees the same segments in the same order. Returns
/// (vocab, merges, pieces cut, pieces).
#[pyfunction]
#[pyo3(signature = (counts, vocab_size, letters = None, gold = None, morfessor = None, *, min_frequency = 2,
                    max_token_length = None, special_tokens = Vec::new(), progress = None, num_threads = 0))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn train_morph_bpe<'py>(py: Python<'py>, counts: &Bound<'py, PyAny>, vocab_size: usize,
                        letters: Option<FxHashMap<String, String>>, gold: Option<FxHashMap<String, Vec<usize>>>,
                        morfessor: Option<PyRef<'py, PyMorfessor>>, min_frequency: u64, max_token_length: Option<usize>,
                        special_tokens: Vec<String>, progress: Option<Bound<'py, PyAny>>, num_threads: usize)
                        -> PyResult<(Bound<'py, PyList>, Vec<(u32, u32)>, usize, usize)> {
    let reporter = Reporter::from_py(progress.as_ref())?;
    let letters = letter_table(letters)?;
    let gold = gold.unwrap_or_default();
    let model = morfessor.as_ref().map(|m| m.inner.clone());
    let config = BpeTrainerConfig { vocab_size, min_frequency, max_token_length, special_tokens, num_threads,
                                    ..BpeTrainerConfig::default() };
    let trainer = BpeTrainer::new(config).map_err(to_py)?;
    let (data, cut, total) = with_counts(counts, |wc| {
        py.allow_threads(|| {
            let pieces = wc.sorted_items();
            let bounds = threads(num_threads, || morph_cut::segment_pieces(&pieces, &letters, &gold, model.as_deref()))?;
            let segments = pieces.iter().zip(&bounds).flat_map(|(&(piece, count), cut)| {
                let whole = [0, piece.len()];
                let b: &[usize] = if cut.is_empty() { &whole } else { cut };
                b.windows(2).map(move |w| (&piece[w[0]..w[1]], count)).collect::<Vec<_>>()
            });
            let data = trainer.train_words(segments, &mut |p| reporter.report(p)).map_err(to_py)?;
            let cut = bounds.iter().filter(|b| b.len() > 2).count();
            Ok((data, cut, pieces.len()))
        })
    })?;
    reporter.finish(data.merges.len());
    Ok((bytes_list(py, &data.vocab)?, data.merges, cut, total))
}

/// Python's cyclic garbage collector switched off until dropped (if it was on).
struct GcPause<'py>(Option<Bound<'py, PyModule>>);

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import("gc")?;
        if gc.call_method0("isenabled")?.extract::<bool>()? {
            gc.call_method0("disable")?;
            return Ok(GcPause(Some(gc)));
        }
        Ok(GcPause(None))
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.0 {
            let _ = gc.call_method0("enable");
        }
    }
}

/// A trained Morfessor Baseline model (frozen).
#[pyclass(name = "Morfessor", module = "tokensmith._core", frozen)]
pub(crate) struct PyMorfessor {
    inner: Arc<Morfessor>,
}

#[pymethods]
impl PyMorfessor {
    /// Train on `words` (a mapping or iterable of (word, count)): the `max_words` most frequent
    /// (ties by word), counts dampened (`"types"`: 1 each, Morfessor's `count_modifier=lambda c: 1`;
    /// `"log"`: round(log2(c + 1)); `"none"`: as given), recursive batch training for at most
    /// `max_epochs` epochs (None: until converged), shuffled with `seed`.
    #[staticmethod]
    #[pyo3(signature = (words, *, max_words = None, max_epochs = None, seed = 0, finish_threshold = 0.005,
                        dampening = "types"))]
    fn train(py: Python<'_>, words: &Bound<'_, PyAny>, max_words: Option<usize>, max_epochs: Option<usize>, seed: u64,
             finish_threshold: f64, dampening: &str) -> PyResult<Self> {
        let damp: fn(u64) -> u64 = match dampening {
            "types" => |_| 1,
            "none" => |c| c,
            "log" => |c| ((c as f64 + 1.0).log2().round()) as u64,
            other => return Err(config_error(format!("unknown dampening {other:?}; use \"types\", \"log\" or \"none\""))),
        };
        let items = if words.hasattr("items")? { words.call_method0("items")? } else { words.clone() };
        let mut list: Vec<(String, u64)> = Vec::new();
        for item in items.try_iter()? {
            list.push(item?.extract().map_err(|_| config_error("words must map str to non-negative ints".into()))?);
        }
        let config = MorfessorConfig { max_epochs, finish_threshold, seed };
        let inner = py.allow_threads(move || {
            let mut words = list;
            if let Some(n) = max_words {
                if n < words.len() {
                    words.select_nth_unstable_by(n, |a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    words.truncate(n);
                }
            }
            words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Morfessor::train(words.into_iter().map(|(w, c)| (w, damp(c))), &config)
        });
        Ok(PyMorfessor { inner: Arc::new(inner) })
    }

    /// Total cost (corpus + lexicon code length, nats).
    #[getter]
    fn cost(&self) -> f64 {
        self.inner.cost()
    }

    /// Cost after loading, then after each epoch.
    #[getter]
    fn costs(&self) -> Vec<f64> {
        self.inner.costs.clone()
    }

    #[getter]
    fn epochs(&self) -> usize {
        self.inner.epochs()
    }

    /// Number of training word types.
    fn __len__(&self) -> usize {
        self.inner.num_compounds()
    }

    /// The lexicon: (morph, count), sorted by morph.
    fn morphs(&self) -> Vec<(String, u64)> {
        self.inner.morphs().into_iter().map(|(m, c)| (m.to_string(), c)).collect()
    }

    /// The training analysis of a word the model holds (None otherwise).
    fn segment(&self, word: &str) -> Option<Vec<String>> {
        self.inner.segment(word).map(|v| v.into_iter().map(str::to_string).collect())
    }

    /// (morphs, cost) of the most probable segmentation of any word (Morfessor's `viterbi_segment`).
    #[pyo3(signature = (word, addcount = 1.0, maxlen = 30))]
    fn viterbi_segment(&self, word: &str, addcount: f64, maxlen: usize) -> (Vec<String>, f64) {
        let (cuts, cost) = self.inner.viterbi(word, addcount, maxlen);
        let chars: Vec<char> = word.chars().collect();
        let bounds: Vec<usize> = [0].into_iter().chain(cuts).chain([chars.len()]).collect();
        (bounds.windows(2).map(|w| chars[w[0]..w[1]].iter().collect()).collect(), cost)
    }

    /// Character offsets of the Viterbi morph boundaries of `word` (for `segment_piece`).
    fn __call__(&self, word: &str) -> Vec<usize> {
        self.inner.cuts(word)
    }

    fn __repr__(&self) -> String {
        format!("Morfessor(words={}, morphs={}, epochs={}, cost={:.1})", self.inner.num_compounds(),
                self.inner.num_morphs(), self.inner.epochs(), self.inner.cost())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMorfessor>()?;
    m.add_function(wrap_pyfunction!(morph_chars, m)?)?;
    m.add_function(wrap_pyfunction!(letter_run_counts, m)?)?;
    m.add_function(wrap_pyfunction!(morph_segment, m)?)?;
    m.add_function(wrap_pyfunction!(train_morph_bpe, m)?)?;
    Ok(())
}
