//! Bindings for the BPE trainer (`train_bpe`) and model (`BpeModel`). Tables cross the boundary once
//! (into a frozen `BpeModel`); later calls move `str` in and ids out with the GIL released.

use crate::model::bpe::{BpeModel, BpeOptions, IdsWithOffsets, MergeSpec, SpecialPolicy, Splitter, Units};
use crate::normalize::Normalizer;
use crate::pretokenize::Pretokenizer;
use crate::py::errors::to_py;
use crate::py::pretok::{PyPieceList, PyWordCounts};
use crate::train::bpe::{BpeTrainer, BpeTrainerConfig, Progress};
use crate::train::superbpe::{Lines, SuperBpeTrainer};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rustc_hash::FxHashSet;
use std::io::Write;
use std::sync::Arc;

fn config_error(msg: String) -> PyErr {
    to_py(crate::error::CoreError::Config(msg))
}

/// bytes → bytes, str → its UTF-8.
fn as_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    Err(config_error(format!("expected bytes or str, got {}", obj.get_type().name()?)))
}

/// A word: bytes/str (one segment) or a list/tuple of segments.
fn segments(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj.try_iter()?.map(|s| as_bytes(&s?)).collect();
    }
    Ok(vec![as_bytes(obj)?])
}

/// Counts as a dict / `WordCounts` (anything with `items()`) or an iterable of (word, count).
fn word_counts(counts: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<Vec<u8>>, u64)>> {
    let items = if counts.hasattr("items")? { counts.call_method0("items")? } else { counts.clone() };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let (word, count): (Bound<'_, PyAny>, u64) = item.extract().map_err(|_| {
            config_error("counts must map words (bytes, str or a list of segments) to non-negative ints".into())
        })?;
        out.push((segments(&word)?, count));
    }
    Ok(out)
}

pub(crate) fn bytes_list<'py>(py: Python<'py>, items: &[Vec<u8>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, items.iter().map(|v| PyBytes::new(py, v)))
}

/// Progress sink: a bar or JSON lines on stderr, a Python callable, or nothing.
pub(crate) enum Reporter {
    None,
    Bar,
    Json,
    Callback(PyObject),
}

impl Reporter {
    /// The reporter a `progress=` argument asks for (absent or None: no reports).
    pub(crate) fn from_py(progress: Option<&Bound<'_, PyAny>>) -> PyResult<Reporter> {
        let Some(progress) = progress.filter(|p| !p.is_none()) else {
            return Ok(Reporter::None);
        };
        if let Ok(mode) = progress.extract::<String>() {
            return match mode.as_str() {
                "none" => Ok(Reporter::None),
                "bar" => Ok(Reporter::Bar),
                "json" => Ok(Reporter::Json),
                other => Err(config_error(format!("unknown progress mode {other:?}; use \"bar\", \"json\" or \"none\""))),
            };
        }
        if progress.is_callable() {
            return Ok(Reporter::Callback(progress.clone().unbind()));
        }
        Err(config_error("progress must be \"bar\", \"json\", \"none\" or a callable taking a dict".into()))
    }

    pub(crate) fn report(&self, p: Progress) {
        let step = (p.merges_total / 200).max(1);
        let last = p.merges_done >= p.merges_total;
        if !p.merges_done.is_multiple_of(step) && !last {
            return;
        }
        match self {
            Reporter::None => {}
            Reporter::Bar => {
                let frac = if p.merges_total == 0 { 1.0 } else { p.merges_done as f64 / p.merges_total as f64 };
                let filled = (frac * 30.0) as usize;
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\rbpe [{}{}] {}/{} merges (pair count {})", "#".repeat(filled),
                               ".".repeat(30 - filled.min(30)), p.merges_done, p.merges_total, p.last_count);
                let _ = err.flush();
            }
            Reporter::Json => {
                eprintln!("{{\"event\": \"merge\", \"merges_done\": {}, \"merges_total\": {}, \"last_count\": {}}}",
                          p.merges_done, p.merges_total, p.last_count);
            }
            Reporter::Callback(f) => Python::with_gil(|py| {
                let d = PyDict::new(py);
                let _ = d.set_item("merges_done", p.merges_done);
                let _ = d.set_item("merges_total", p.merges_total);
                let _ = d.set_item("last_count", p.last_count);
                if let Err(e) = f.call1(py, (d,)) {
                    e.print(py);
                }
            }),
        }
    }

    pub(crate) fn finish(&self, merges_done: usize) {
        match self {
            Reporter::Bar => eprintln!(),
            Reporter::Json => eprintln!("{{\"event\": \"done\", \"merges_done\": {merges_done}}}"),
            _ => {}
        }
    }
}

/// Train byte-level BPE on word counts. Returns (vocab: list[bytes], merges: list[(int, int)]).
#[pyfunction]
#[pyo3(signature = (counts, vocab_size, *, min_frequency = 2, max_token_length = None, special_tokens = Vec::new(),
                    progress = None, num_threads = 0, initial_merges = Vec::new(), max_words_per_token = None,
                    forbid_colon_space = false))]
#[allow(clippy::too_many_arguments)]
fn train_bpe<'py>(
    py: Python<'py>,
    counts: &Bound<'py, PyAny>,
    vocab_size: usize,
    min_frequency: u64,
    max_token_length: Option<usize>,
    special_tokens: Vec<String>,
    progress: Option<Bound<'py, PyAny>>,
    num_threads: usize,
    initial_merges: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    max_words_per_token: Option<usize>,
    forbid_colon_space: bool,
) -> PyResult<VocabAndMerges<'py>> {
    let initial_merges = initial_merges
        .iter()
        .map(|(a, b)| Ok((as_bytes(a)?, as_bytes(b)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let config = BpeTrainerConfig {
        vocab_size, min_frequency, max_token_length, special_tokens, initial_merges, max_words_per_token,
        forbid_colon_space, num_threads,
    };
    let trainer = BpeTrainer::new(config).map_err(to_py)?;
    let reporter = Reporter::from_py(progress.as_ref())?;
    let data = if let Ok(native) = counts.downcast::<PyWordCounts>() {
        let borrowed = native.borrow();
        let inner = &borrowed.inner;
        py.allow_threads(|| trainer.train_counts(inner, &mut |p| reporter.report(p)))
    } else {
        let words = word_counts(counts)?;
        py.allow_threads(|| trainer.train(&words, &mut |p| reporter.report(p)))
    }
    .map_err(to_py)?;
    reporter.finish(data.merges.len());
    Ok((bytes_list(py, &data.vocab)?, data.merges))
}

/// SuperBPE's two stages in one call (`crate::train::superbpe`): stage 1 on `counts1` (words of
/// `stage1_pattern`; None: counted from the lines) to `transition`, stage 2 on `counts2` (lines) to
/// `vocab_size`.
/// Returns (vocab: list[bytes], merges: list[(int, int)], stage-1 merge count).
#[pyfunction]
#[pyo3(signature = (counts1, counts2, vocab_size, transition, stage1_pattern, *, min_frequency = 2,
                    max_token_length = None, special_tokens = Vec::new(), progress = None, num_threads = 0,
                    max_words_per_token = None, forbid_colon_space = false))]
#[allow(clippy::too_many_arguments)]
fn train_superbpe<'py>(
    py: Python<'py>,
    counts1: Option<&Bound<'py, PyWordCounts>>,
    counts2: &Bound<'py, PyAny>,
    vocab_size: usize,
    transition: usize,
    stage1_pattern: &str,
    min_frequency: u64,
    max_token_length: Option<usize>,
    special_tokens: Vec<String>,
    progress: Option<Bound<'py, PyAny>>,
    num_threads: usize,
    max_words_per_token: Option<usize>,
    forbid_colon_space: bool,
) -> PyResult<SuperBpeResult<'py>> {
    let config = BpeTrainerConfig {
        vocab_size, min_frequency, max_token_length, special_tokens, max_words_per_token, forbid_colon_space,
        num_threads, initial_merges: Vec::new(),
    };
    let trainer = SuperBpeTrainer::new(config, transition, stage1_pattern).map_err(to_py)?;
    let reporter = Reporter::from_py(progress.as_ref())?;
    let c1 = counts1.map(|c| c.borrow());
    let words = c1.as_ref().map(|c| &c.inner);
    let (counted, listed) = (counts2.downcast::<PyWordCounts>().ok(), counts2.downcast::<PyPieceList>().ok());
    let (counted, listed) = (counted.map(|c| c.borrow()), listed.map(|l| l.borrow()));
    let lines = match (&counted, &listed) {
        (Some(counts), _) => Lines::Counts(&counts.inner),
        (None, Some(list)) => Lines::List(&list.inner),
        (None, None) => return Err(PyTypeError::new_err("counts2 must be a WordCounts or a PieceList")),
    };
    let model = py.allow_threads(|| trainer.train(words, lines, &mut |p| reporter.report(p))).map_err(to_py)?;
    reporter.finish(model.data.merges.len());
    Ok((bytes_list(py, &model.data.vocab)?, model.data.merges, model.stage1_merges))
}

/// A trained vocabulary (a list of bytes) and its merges.
type VocabAndMerges<'py> = (Bound<'py, PyList>, Vec<(u32, u32)>);

/// SuperBPE's vocabulary and merges, and how many of the merges stage 1 made.
type SuperBpeResult<'py> = (Bound<'py, PyList>, Vec<(u32, u32)>, usize);

/// Constructor arguments, kept for pickling (`__getnewargs_ex__`).
#[derive(Clone)]
struct Args {
    vocab: Vec<Vec<u8>>,
    merges: Option<Vec<(u32, u32)>>,
    pattern: Option<String>,
    normalization: String,
    special_tokens: Vec<(String, u32)>,
    ranks: Option<Vec<u32>>,
    ignore_merges: bool,
    units: String,
    byte_fallback_ids: Option<Vec<u32>>,
    cache_capacity: usize,
    space_replacement: Option<String>,
    add_dummy_prefix: bool,
    unk_id: Option<u32>,
}

/// A frozen BPE encoder/decoder (see `crate::model::bpe`).
#[pyclass(name = "BpeModel", module = "tokensmith._core", frozen)]
struct PyBpeModel {
    inner: Arc<BpeModel>,
    args: Args,
}

fn build(args: &Args) -> PyResult<BpeModel> {
    let splitter: Option<Arc<dyn Splitter>> = match args.pattern.as_deref() {
        None => None,
        Some(p) => Some(Arc::new(Pretokenizer::new(p).map_err(to_py)?)),
    };
    let normalizer = Normalizer::new(&args.normalization).map_err(to_py)?;
    let merges = match &args.merges {
        Some(m) => MergeSpec::Pairs(m.clone()),
        None => MergeSpec::Ranks(args.ranks.clone()),
    };
    let units = match args.units.as_str() {
        "bytes" => Units::Bytes,
        "chars_byte_fallback" => Units::CharsByteFallback(args.byte_fallback_ids.clone().unwrap_or_default()),
        other => return Err(config_error(format!("unknown units {other:?}; use \"bytes\" or \"chars_byte_fallback\""))),
    };
    let options = BpeOptions {
        ignore_merges: args.ignore_merges,
        units,
        cache_capacity: args.cache_capacity,
        space_replacement: args.space_replacement.clone(),
        add_dummy_prefix: args.add_dummy_prefix,
        unk_id: args.unk_id,
    };
    BpeModel::new(args.vocab.clone(), merges, splitter, normalizer, args.special_tokens.clone(), options).map_err(to_py)
}

impl PyBpeModel {
    /// allowed/disallowed: "all", None (empty) or an iterable of special-token strings.
    fn policy(&self, allowed: Option<&Bound<'_, PyAny>>, disallowed: Option<&Bound<'_, PyAny>>) -> PyResult<SpecialPolicy> {
        let specials = self.inner.specials();
        let pick = |obj: Option<&Bound<'_, PyAny>>, default_all: bool| -> PyResult<FxHashSet<u32>> {
            let Some(obj) = obj.filter(|o| !o.is_none()) else {
                return Ok(if default_all { specials.iter().map(|s| s.1).collect() } else { FxHashSet::default() });
            };
            if let Ok(s) = obj.extract::<String>() {
                if s == "all" {
                    return Ok(specials.iter().map(|s| s.1).collect());
                }
                return Err(config_error(format!("expected \"all\" or a set of special tokens, got the string {s:?}")));
            }
            let mut ids = FxHashSet::default();
            for item in obj.try_iter()? {
                let name: String = item?.extract()?;
                match specials.iter().find(|s| s.0 == name) {
                    Some(s) => ids.insert(s.1),
                    None => return Err(to_py(crate::error::CoreError::Token(format!(
                        "{name:?} is not a special token of this tokenizer")))),
                };
            }
            Ok(ids)
        };
        let allowed = pick(allowed, false)?;
        let mut disallowed = pick(disallowed, true)?;
        disallowed.retain(|id| !allowed.contains(id));
        Ok(SpecialPolicy { allowed, disallowed })
    }
}

#[pymethods]
impl PyBpeModel {
    #[new]
    #[pyo3(signature = (vocab, merges = None, pattern = None, normalization = "none".to_string(),
                        special_tokens = None, *, ranks = None, ignore_merges = false,
                        units = "bytes".to_string(), byte_fallback_ids = None, cache_capacity = 4096,
                        space_replacement = None, add_dummy_prefix = false, unk_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        vocab: Vec<Bound<'_, PyBytes>>,
        merges: Option<Vec<(u32, u32)>>,
        pattern: Option<String>,
        normalization: String,
        special_tokens: Option<std::collections::BTreeMap<String, u32>>,
        ranks: Option<Vec<u32>>,
        ignore_merges: bool,
        units: String,
        byte_fallback_ids: Option<Vec<u32>>,
        cache_capacity: usize,
        space_replacement: Option<String>,
        add_dummy_prefix: bool,
        unk_id: Option<u32>,
    ) -> PyResult<PyBpeModel> {
        let mut special_tokens: Vec<(String, u32)> = special_tokens.unwrap_or_default().into_iter().collect();
        special_tokens.sort_by_key(|s| s.1);
        let args = Args {
            vocab: vocab.iter().map(|b| b.as_bytes().to_vec()).collect(),
            merges, pattern, normalization, special_tokens, ranks, ignore_merges, units, byte_fallback_ids,
            cache_capacity, space_replacement, add_dummy_prefix, unk_id,
        };
        let inner = py.allow_threads(|| build(&args))?;
        Ok(PyBpeModel { inner: Arc::new(inner), args })
    }

    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let a = &self.args;
        let specials = PyDict::new(py);
        for (s, id) in &a.special_tokens {
            specials.set_item(s, id)?;
        }
        let args = PyTuple::new(py, [
            bytes_list(py, &a.vocab)?.into_any(),
            a.merges.clone().into_pyobject(py)?.into_any(),
            a.pattern.clone().into_pyobject(py)?.into_any(),
            a.normalization.clone().into_pyobject(py)?.into_any(),
            specials.into_any(),
        ])?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("ranks", a.ranks.clone())?;
        kwargs.set_item("ignore_merges", a.ignore_merges)?;
        kwargs.set_item("units", &a.units)?;
        kwargs.set_item("byte_fallback_ids", a.byte_fallback_ids.clone())?;
        kwargs.set_item("cache_capacity", a.cache_capacity)?;
        kwargs.set_item("space_replacement", a.space_replacement.clone())?;
        kwargs.set_item("add_dummy_prefix", a.add_dummy_prefix)?;
        kwargs.set_item("unk_id", a.unk_id)?;
        Ok((args, kwargs))
    }

    #[pyo3(signature = (text, allowed_special = None, disallowed_special = None, *, dropout = None, seed = 0))]
    fn encode(&self, py: Python<'_>, text: &str, allowed_special: Option<Bound<'_, PyAny>>,
              disallowed_special: Option<Bound<'_, PyAny>>, dropout: Option<f64>, seed: u64) -> PyResult<Vec<u32>> {
        let policy = self.policy(allowed_special.as_ref(), disallowed_special.as_ref())?;
        let model = &self.inner;
        match dropout {
            Some(p) if p > 0.0 => py.allow_threads(|| model.encode_dropout(text, &policy, p, seed)),
            _ => py.allow_threads(|| model.encode(text, &policy)),
        }
        .map_err(to_py)
    }

    /// Texts are borrowed from the Python strings (no copy); the result becomes lists of ints, which
    /// runs on one thread under the GIL (see `encode_batch_flat` for the scalable form).
    #[pyo3(signature = (texts, allowed_special = None, disallowed_special = None, num_threads = 0))]
    fn encode_batch(&self, py: Python<'_>, texts: Vec<PyBackedStr>, allowed_special: Option<Bound<'_, PyAny>>,
                    disallowed_special: Option<Bound<'_, PyAny>>, num_threads: usize) -> PyResult<Vec<Vec<u32>>> {
        let policy = self.policy(allowed_special.as_ref(), disallowed_special.as_ref())?;
        let model = &self.inner;
        py.allow_threads(|| model.encode_batch(&texts, &policy, num_threads)).map_err(to_py)
    }

    /// All texts' ids concatenated (native-endian u32 bytes) and the n + 1 document boundaries
    /// (native-endian u64 bytes): two buffer copies instead of one Python int per id.
    #[pyo3(signature = (texts, allowed_special = None, disallowed_special = None, num_threads = 0))]
    fn encode_batch_flat<'py>(&self, py: Python<'py>, texts: Vec<PyBackedStr>, allowed_special: Option<Bound<'py, PyAny>>,
                              disallowed_special: Option<Bound<'py, PyAny>>, num_threads: usize)
                              -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let policy = self.policy(allowed_special.as_ref(), disallowed_special.as_ref())?;
        let model = &self.inner;
        let docs = py.allow_threads(|| model.encode_batch(&texts, &policy, num_threads)).map_err(to_py)?;
        let total: usize = docs.iter().map(Vec::len).sum();
        // Written straight into the Python buffers: one pass over the ids.
        let ids = PyBytes::new_with(py, total * 4, |buf| {
            for (id, slot) in docs.iter().flatten().zip(buf.chunks_exact_mut(4)) {
                slot.copy_from_slice(&id.to_ne_bytes());
            }
            Ok(())
        })?;
        let bounds = PyBytes::new_with(py, (docs.len() + 1) * 8, |buf| {
            let ends = std::iter::once(0u64).chain(docs.iter().scan(0u64, |end, doc| {
                *end += doc.len() as u64;
                Some(*end)
            }));
            for (end, slot) in ends.zip(buf.chunks_exact_mut(8)) {
                slot.copy_from_slice(&end.to_ne_bytes());
            }
            Ok(())
        })?;
        Ok((ids, bounds))
    }

    /// (ids, [(start, end)]) with byte offsets into the (normalized) text.
    #[pyo3(signature = (text, allowed_special = None, disallowed_special = None))]
    fn encode_with_offsets(&self, py: Python<'_>, text: &str, allowed_special: Option<Bound<'_, PyAny>>,
                           disallowed_special: Option<Bound<'_, PyAny>>) -> PyResult<IdsWithOffsets> {
        let policy = self.policy(allowed_special.as_ref(), disallowed_special.as_ref())?;
        let model = &self.inner;
        py.allow_threads(|| model.encode_with_offsets(text, &policy)).map_err(to_py)
    }

    fn decode_bytes<'py>(&self, py: Python<'py>, ids: Vec<u32>) -> PyResult<Bound<'py, PyBytes>> {
        let model = &self.inner;
        let bytes = py.allow_threads(|| model.decode(&ids)).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, self.inner.token_bytes(id).map_err(to_py)?))
    }

    /// The id of a non-special token's bytes, or None.
    fn token_id(&self, token: &[u8]) -> Option<u32> {
        self.inner.token_id(token)
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// The ordinary vocabulary (id → bytes), without specials that sit above it.
    fn vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        bytes_list(py, &self.args.vocab)
    }

    #[getter]
    fn merges(&self) -> Option<Vec<(u32, u32)>> {
        self.args.merges.clone()
    }

    #[getter]
    fn pattern(&self) -> Option<String> {
        self.args.pattern.clone()
    }

    #[getter]
    fn normalization(&self) -> String {
        self.args.normalization.clone()
    }

    #[getter]
    fn special_tokens(&self) -> Vec<(String, u32)> {
        self.args.special_tokens.clone()
    }

    fn __repr__(&self) -> String {
        format!("BpeModel(vocab_size={}, merges={}, pattern={:?})", self.inner.vocab_size(),
                self.inner.merge_table_len(), self.args.pattern)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train_bpe, m)?)?;
    m.add_function(wrap_pyfunction!(train_superbpe, m)?)?;
    m.add_class::<PyBpeModel>()?;
    Ok(())
}
