//! Morfessor Baseline (Creutz & Lagus, "Unsupervised models for morpheme segmentation and morphology
//! learning", ACM TSLP 2007; Morfessor 2.0, Virpioja et al., Aalto University report 2013): a lexicon
//! of morphs found by minimising a two-part MAP code length, corpus cost + lexicon cost.
//!
//! The cost terms are Morfessor 2.0's `BaselineModel` (corpus weight 1):
//! - corpus: `(T ln T - B ln B - Σ_m c_m ln c_m) + ln C(N - 1, M - 1)` with N morph tokens, B word
//!   tokens (the word boundaries), T = N + B, M morph types, `c_m` the morph counts; the binomial term
//!   codes the frequency distribution.
//! - lexicon: the morph strings as atom (character) sequences with one end mark per morph, the same
//!   shape over atom counts (`ln C(T' - 1, A)` for T' atoms + ends and A atom types), minus `ln M!`
//!   (the lexicon's order does not matter).
//!
//! Training is Morfessor's recursive batch algorithm: every epoch visits the training words in a
//! seeded random order and re-splits each one top-down, keeping a binary split (or no split) only if
//! it lowers the total cost; words are binary trees of virtual nodes whose leaves are the morphs.
//! Counts are what the caller gives (type-level "dampening": pass 1 for every word). New words are
//! segmented by Viterbi with add-one smoothing, where an unseen morph pays its lexicon code length.
//!
//! MorphBPE's use of it (cutting pretokenized pieces inside their letter runs at gold or Morfessor
//! boundaries) is in `train::morph_cut`.
//!
//! Performance notes (about 60x Morfessor 2.0 on 5,000 words): the cost is kept as running sums
//! (`Σ c ln c`, token and type counts), and trying a split changes no map: two lookups, copies of the
//! sums, and the atom part from prefix/suffix deltas computed once per construction (adding atoms
//! commutes), then an O(1) cost from `x ln x` and `ln x!` tables that grow on demand. Only a virtual
//! or repeated part goes through `modify` and back. Viterbi walks a trie of the morphs (one step per
//! substring, no string hashing) with the logarithms it needs precomputed. Tried and dropped: inline
//! short keys (no faster), a shared table of distinct runs for cutting pieces (slower than Viterbi per
//! occurrence).

use rustc_hash::FxHashMap;

/// One construction: a morph (`split == 0`) or a virtual node cut at byte `split` into two children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    /// How often the construction occurs as a training word itself.
    rcount: u64,
    /// Total count: as a word plus as a part of other words' trees.
    count: u64,
    split: u32,
}

/// Token count, type boundaries and `Σ c ln c` of one of the two codes.
#[derive(Debug, Clone, Default)]
struct Encoding {
    tokens: u64,
    boundaries: u64,
    logtokensum: f64,
}

/// `ln n!` (exact below 20, Stirling's approximation above, as Morfessor 2.0) and `n ln n`, memoised.
#[derive(Debug, Clone, Default)]
struct LogTables {
    logfact: Vec<f64>,
    xlogx: Vec<f64>,
}

fn logfact_exact(n: u64) -> f64 {
    if n < 2 {
        0.0
    } else if n < 20 {
        ((2..=n).product::<u64>() as f64).ln()
    } else {
        let x = n as f64;
        let ln = x.ln();
        x * ln - x + 0.5 * (ln + (2.0 * std::f64::consts::PI).ln())
    }
}

fn xlogx_exact(n: u64) -> f64 {
    if n < 2 {
        0.0
    } else {
        n as f64 * (n as f64).ln()
    }
}

const TABLE_MAX: u64 = 1 << 22;

impl LogTables {
    fn grow(table: &mut Vec<f64>, n: u64, f: fn(u64) -> f64) {
        let want = ((n + 1).next_power_of_two()).min(TABLE_MAX) as usize;
        let start = table.len();
        table.extend((start..want).map(|i| f(i as u64)));
    }
    fn logfact(&mut self, n: i64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        let n = n as u64;
        if n >= TABLE_MAX {
            return logfact_exact(n);
        }
        if n as usize >= self.logfact.len() {
            Self::grow(&mut self.logfact, n, logfact_exact);
        }
        self.logfact[n as usize]
    }
    fn xlogx(&mut self, n: u64) -> f64 {
        if n >= TABLE_MAX {
            return xlogx_exact(n);
        }
        if n as usize >= self.xlogx.len() {
            Self::grow(&mut self.xlogx, n, xlogx_exact);
        }
        self.xlogx[n as usize]
    }
}

/// Batch-training options (Morfessor 2.0's `train_batch` defaults).
#[derive(Debug, Clone)]
pub struct MorfessorConfig {
    /// Stop after this many epochs (None: only on convergence).
    pub max_epochs: Option<usize>,
    /// Converged when an epoch lowers the cost by less than this times the number of word tokens.
    pub finish_threshold: f64,
    /// Seed of the per-epoch shuffle.
    pub seed: u64,
}

impl Default for MorfessorConfig {
    fn default() -> Self {
        MorfessorConfig { max_epochs: None, finish_threshold: 0.005, seed: 0 }
    }
}

/// Atom (character) → id → count; ASCII ids from an array, others hashed.
#[derive(Debug, Clone)]
struct Atoms {
    ascii: [u32; 128],
    other: FxHashMap<char, u32>,
    counts: Vec<u64>,
}

impl Default for Atoms {
    fn default() -> Self {
        Atoms { ascii: [u32::MAX; 128], other: FxHashMap::default(), counts: Vec::new() }
    }
}

impl Atoms {
    fn slot(&mut self, atom: char) -> &mut u64 {
        let next = self.counts.len() as u32;
        let id = if atom.is_ascii() {
            let id = &mut self.ascii[atom as usize];
            if *id == u32::MAX {
                *id = next;
            }
            *id
        } else {
            *self.other.entry(atom).or_insert(next)
        };
        if id == next {
            self.counts.push(0);
        }
        &mut self.counts[id as usize]
    }
    fn len(&self) -> usize {
        self.counts.len()
    }
}

/// Morphs by character: node 0 is the root; a node's count is its morph's count (0: not a morph).
#[derive(Debug, Clone, Default)]
struct MorphTrie {
    next: FxHashMap<(u32, char), u32>,
    count: Vec<u64>,
    // Logarithms Viterbi needs, computed once: ln(count + 1) per node, ln(count) per atom id (unseen
    // and zero counts as 1), (l + 1) ln(atom tokens + l + 1) per morph length l.
    ln_count_plus_one: Vec<f64>,
    atom_ln: Vec<f64>,
    by_len: Vec<f64>,
    consts: ViterbiConsts,
}

#[derive(Debug, Clone, Copy, Default)]
struct ViterbiConsts {
    logtokens: f64,
    log_morphs: f64,
    new_morph: f64,
    word_end: f64,
}

impl MorphTrie {
    fn atom_ln(&self, atoms: &Atoms, ch: char) -> f64 {
        let id = if ch.is_ascii() { atoms.ascii[ch as usize] } else { atoms.other.get(&ch).copied().unwrap_or(u32::MAX) };
        self.atom_ln.get(id as usize).copied().unwrap_or(0.0)
    }

    fn step(&self, node: u32, ch: char) -> Option<u32> {
        self.next.get(&(node, ch)).copied()
    }
}

/// See `Morfessor::atom_deltas`.
#[derive(Debug, Clone, Default)]
struct AtomDeltas {
    prefix: Vec<f64>,
    suffix: Vec<f64>,
}

/// A small seeded generator (SplitMix64) for the per-epoch shuffle: deterministic on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by rejection so no value is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// A trained (or training) Morfessor Baseline model.
#[derive(Debug, Clone, Default)]
pub struct Morfessor {
    analyses: FxHashMap<Box<str>, Node>,
    corpus: Encoding,
    lexicon: Encoding,
    /// Atom counts in the lexicon, by atom id. Atoms whose count falls to 0 stay (they still count
    /// as types, as in Morfessor 2.0).
    atoms: Atoms,
    corpus_weight: f64,
    tables: LogTables,
    /// Training words in load order (no duplicates).
    compounds: Vec<Box<str>>,
    /// Cost after loading, then after each epoch.
    pub costs: Vec<f64>,
    scratch: AtomDeltas,
    /// The morphs as of the last load or training, for Viterbi.
    trie: MorphTrie,
}

impl Morfessor {
    /// A model holding `words` (word, count) unsplit; repeated words add up, empty words and zero
    /// counts are skipped.
    pub fn new<S: AsRef<str>>(words: impl IntoIterator<Item = (S, u64)>) -> Morfessor {
        let mut model = Morfessor { corpus_weight: 1.0, ..Morfessor::default() };
        for (word, count) in words {
            let word = word.as_ref();
            if word.is_empty() || count == 0 {
                continue;
            }
            if model.analyses.get(word).is_none_or(|n| n.rcount == 0) {
                model.compounds.push(word.into());
            }
            model.add_compound(word, count);
        }
        let cost = model.current_cost();
        model.costs.push(cost);
        model.build_trie();
        model
    }

    /// Load `words` and train with the recursive batch algorithm.
    pub fn train<S: AsRef<str>>(words: impl IntoIterator<Item = (S, u64)>, config: &MorfessorConfig) -> Morfessor {
        let mut model = Morfessor::new(words);
        model.train_batch(config);
        model
    }

    /// Number of training word types.
    pub fn num_compounds(&self) -> usize {
        self.compounds.len()
    }

    /// Epochs trained.
    pub fn epochs(&self) -> usize {
        self.costs.len().saturating_sub(1)
    }

    /// Number of morph types in the lexicon.
    pub fn num_morphs(&self) -> u64 {
        self.lexicon.boundaries
    }

    /// Total code length in nats (corpus cost + lexicon cost).
    pub fn cost(&self) -> f64 {
        self.cost_with(&mut None)
    }

    /// The cost during training, from the memo tables (moved out and back to borrow them apart).
    fn current_cost(&mut self) -> f64 {
        let mut tables = std::mem::take(&mut self.tables);
        let cost = self.cost_with(&mut Some(&mut tables));
        self.tables = tables;
        cost
    }

    fn cost_with(&self, t: &mut Option<&mut LogTables>) -> f64 {
        self.cost_of(t, &self.corpus, &self.lexicon)
    }

    fn cost_of(&self, t: &mut Option<&mut LogTables>, corpus: &Encoding, lexicon: &Encoding) -> f64 {
        fn xlx(t: &mut Option<&mut LogTables>, n: u64) -> f64 {
            match t {
                Some(t) => t.xlogx(n),
                None => xlogx_exact(n),
            }
        }
        fn lf(t: &mut Option<&mut LogTables>, n: i64) -> f64 {
            match t {
                Some(t) => t.logfact(n),
                None => logfact_exact(n.max(0) as u64),
            }
        }
        let mut total = 0.0;
        // Corpus: morph tokens + word ends; types are the lexicon's morphs + the word end.
        let (tokens, bounds) = (corpus.tokens, corpus.boundaries);
        if bounds > 0 {
            let n = tokens + bounds;
            total += (xlx(t, n) - xlx(t, bounds) - corpus.logtokensum) * self.corpus_weight;
            let types = lexicon.boundaries as i64 + 1;
            if types >= 2 {
                let k = tokens as i64;
                total += lf(t, k - 1) - lf(t, types - 2) - lf(t, k - types + 1);
            }
        }
        // Lexicon: atom tokens + morph ends; types are the atoms + the morph end; order is free.
        let (tokens, bounds) = (lexicon.tokens, lexicon.boundaries);
        if bounds > 0 {
            let n = tokens + bounds;
            total += xlx(t, n) - xlx(t, bounds) - lexicon.logtokensum - lf(t, bounds as i64);
            let types = self.atoms.len() as i64 + 1;
            if types >= 2 {
                let k = n as i64;
                total += lf(t, k - 1) - lf(t, types - 1) - lf(t, k - types);
            }
        }
        total
    }

    fn update_corpus(&mut self, old: u64, new: u64) {
        self.corpus.tokens = self.corpus.tokens + new - old;
        self.corpus.logtokensum += self.tables.xlogx(new) - self.tables.xlogx(old);
    }

    fn lexicon_add(&mut self, morph: &str, sign: i64) {
        self.lexicon.boundaries = (self.lexicon.boundaries as i64 + sign) as u64;
        for atom in morph.chars() {
            let slot = self.atoms.slot(atom);
            let old = *slot;
            let new = (old as i64 + sign) as u64;
            *slot = new;
            self.lexicon.tokens = self.lexicon.tokens + new - old;
            self.lexicon.logtokensum += self.tables.xlogx(new) - self.tables.xlogx(old);
        }
    }

    /// Add `delta` to a construction's count, down through virtual nodes to the morphs.
    fn modify(&mut self, construction: &str, delta: i64) {
        let node = match self.analyses.get_mut(construction) {
            Some(slot) => {
                let node = *slot;
                slot.count = (node.count as i64 + delta) as u64;
                node
            }
            None => {
                let node = Node { rcount: 0, count: 0, split: 0 };
                self.analyses.insert(construction.into(), Node { count: delta as u64, ..node });
                node
            }
        };
        if node.count as i64 + delta == 0 {
            self.analyses.remove(construction);
        }
        self.pass_down(construction, node, delta);
    }

    /// The rest of adding `delta` to a construction that was `node`: to its children if it is
    /// virtual, else to the corpus and lexicon sums.
    fn pass_down(&mut self, construction: &str, node: Node, delta: i64) {
        let new = (node.count as i64 + delta) as u64;
        if node.split != 0 {
            let (left, right) = construction.split_at(node.split as usize);
            self.modify(left, delta);
            self.modify(right, delta);
        } else {
            self.update_corpus(node.count, new);
            if node.count == 0 && new > 0 {
                self.lexicon_add(construction, 1);
            } else if node.count > 0 && new == 0 {
                self.lexicon_add(construction, -1);
            }
        }
    }

    fn add_compound(&mut self, word: &str, count: u64) {
        self.corpus.boundaries += count;
        self.modify(word, count as i64);
        if let Some(node) = self.analyses.get_mut(word) {
            node.rcount += count;
        }
    }

    /// Morfessor's recursive batch training; returns the number of epochs run.
    pub fn train_batch(&mut self, config: &MorfessorConfig) -> usize {
        let mut order: Vec<Box<str>> = self.compounds.clone();
        order.sort_unstable();
        let mut rng = SplitMix64(config.seed);
        let mut cost = self.current_cost();
        let mut epochs = 0;
        let mut forced = 1; // Morfessor always runs at least two epochs (one forced by its weight update)
        loop {
            for i in (1..order.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                order.swap(i, j);
            }
            for word in &order {
                self.recursive_split(word);
            }
            epochs += 1;
            let old = cost;
            cost = self.current_cost();
            self.costs.push(cost);
            if forced == 0 && cost >= old - config.finish_threshold * self.corpus.boundaries as f64 {
                break;
            }
            forced = 0;
            if config.max_epochs.is_some_and(|m| epochs >= m) {
                break;
            }
        }
        self.build_trie();
        epochs
    }

    /// Re-split one construction: the best binary split (or none) given the rest of the model, then
    /// the same for both halves.
    fn recursive_split(&mut self, construction: &str) {
        let mut chars = construction.char_indices().skip(1).peekable();
        if chars.peek().is_none() {
            return; // a single atom
        }
        let Some(node) = self.analyses.get(construction).copied() else { return };
        let count = node.count as i64;
        self.take_out(construction, node);
        let mut deltas = std::mem::take(&mut self.scratch);
        self.atom_deltas(construction, &mut deltas);
        let nchars = deltas.prefix.len() - 1;
        let mut best = self.trial_cost(&[(construction, nchars, deltas.prefix[nchars])], count, deltas.prefix[nchars]);
        let mut split = 0usize;
        for (k, (i, _)) in chars.enumerate() {
            let (left, right) = construction.split_at(i);
            let (l, r) = ((left, k + 1, deltas.prefix[k + 1]), (right, nchars - k - 1, deltas.suffix[k + 1]));
            let cost = self.trial_cost(&[l, r], count, deltas.prefix[nchars]);
            if cost <= best {
                best = cost;
                split = i;
            }
        }
        self.scratch = deltas;
        let slot = self.analyses.get_mut(construction).expect("a construction being re-split keeps its entry");
        if split != 0 {
            *slot = Node { rcount: node.rcount, count: node.count, split: split as u32 };
            let (left, right) = construction.split_at(split);
            self.modify(left, count);
            self.modify(right, count);
            self.recursive_split(left);
            if right != left {
                self.recursive_split(right);
            }
        } else {
            *slot = Node { rcount: node.rcount, count: 0, split: 0 };
            self.modify(construction, count);
        }
    }

    /// `modify(construction, -count)` for a construction about to be re-split (`node`, all its count),
    /// except that its entry stays, with count 0, to be overwritten once the split is chosen: removing it
    /// and allocating its key again cost as much as a split trial. No trial looks it up (a trial's parts
    /// are shorter).
    fn take_out(&mut self, construction: &str, node: Node) {
        if let Some(slot) = self.analyses.get_mut(construction) {
            *slot = Node { rcount: node.rcount, count: 0, split: 0 };
        }
        self.pass_down(construction, node, -(node.count as i64));
    }

    /// How much the lexicon's `Σ c ln c` over atoms would grow by adding the atoms of each prefix
    /// (`prefix[k]`: the first k characters) and each suffix (`suffix[k]`: from character k on) of
    /// `construction`. Adding atoms commutes, so a split into two new morphs adds `prefix[len]`.
    fn atom_deltas(&mut self, construction: &str, out: &mut AtomDeltas) {
        let tables = &mut self.tables;
        let mut walk = |atoms: &mut Atoms, chars: &mut dyn Iterator<Item = char>, out: &mut Vec<f64>| {
            out.clear();
            out.push(0.0);
            let mut sum = 0.0;
            for ch in chars {
                let slot = atoms.slot(ch);
                let old = *slot;
                *slot += 1;
                sum += tables.xlogx(old + 1) - tables.xlogx(old);
                out.push(sum);
            }
        };
        walk(&mut self.atoms, &mut construction.chars(), &mut out.prefix);
        for ch in construction.chars() {
            *self.atoms.slot(ch) -= 1;
        }
        walk(&mut self.atoms, &mut construction.chars().rev(), &mut out.suffix);
        for ch in construction.chars() {
            *self.atoms.slot(ch) -= 1;
        }
        out.suffix.reverse();
    }

    /// The cost if each of `parts` (substring, characters, atom delta) gained `count` occurrences;
    /// the model is left as it was. `both_new` is the atom delta of adding every part as a new morph.
    /// Morphs and new parts only change the running sums (copied); a virtual or repeated part goes
    /// through `modify` and back.
    fn trial_cost(&mut self, parts: &[(&str, usize, f64)], count: i64, both_new: f64) -> f64 {
        let mut old = [0u64; 2];
        let mut simple = !(parts.len() == 2 && parts[0].0 == parts[1].0);
        for (k, p) in parts.iter().enumerate() {
            match self.analyses.get(p.0) {
                Some(n) if n.split != 0 => simple = false,
                Some(n) => old[k] = n.count,
                None => {}
            }
        }
        if !simple {
            for p in parts {
                self.modify(p.0, count);
            }
            let cost = self.current_cost();
            for p in parts {
                self.modify(p.0, -count);
            }
            return cost;
        }
        let (mut corpus, mut lexicon) = (self.corpus.clone(), self.lexicon.clone());
        let mut tables = std::mem::take(&mut self.tables);
        let mut new = 0;
        let mut atom_delta = 0.0;
        for (k, part) in parts.iter().enumerate() {
            corpus.tokens += count as u64;
            corpus.logtokensum += tables.xlogx(old[k] + count as u64) - tables.xlogx(old[k]);
            if old[k] == 0 {
                new += 1;
                lexicon.boundaries += 1;
                lexicon.tokens += part.1 as u64;
                atom_delta = part.2;
            }
        }
        lexicon.logtokensum += if new > 1 { both_new } else { atom_delta };
        let cost = self.cost_of(&mut Some(&mut tables), &corpus, &lexicon);
        self.tables = tables;
        cost
    }

    /// The training analysis of a word or construction the model holds (None if it holds none).
    pub fn segment<'a>(&self, construction: &'a str) -> Option<Vec<&'a str>> {
        let node = self.analyses.get(construction)?;
        if node.split == 0 {
            return Some(vec![construction]);
        }
        let (left, right) = construction.split_at(node.split as usize);
        let mut out = self.segment(left)?;
        out.extend(self.segment(right)?);
        Some(out)
    }

    /// The lexicon as a trie for Viterbi.
    fn build_trie(&mut self) {
        let mut trie = MorphTrie { count: vec![0], ..MorphTrie::default() };
        for (morph, node) in &self.analyses {
            if node.split != 0 || node.count == 0 {
                continue;
            }
            let mut id = 0u32;
            for ch in morph.chars() {
                let fresh = trie.count.len() as u32;
                id = *trie.next.entry((id, ch)).or_insert(fresh);
                if id == fresh {
                    trie.count.push(0);
                }
            }
            trie.count[id as usize] = node.count;
        }
        trie.ln_count_plus_one = trie.count.iter().map(|&c| (c as f64 + 1.0).ln()).collect();
        trie.atom_ln = self.atoms.counts.iter().map(|&c| (c.max(1) as f64).ln()).collect();
        let lex_tokens = self.lexicon.tokens as f64;
        trie.by_len = (0..=64).map(|l| (l as f64 + 1.0) * (lex_tokens + l as f64 + 1.0).ln()).collect();
        trie.consts = self.viterbi_consts(1.0);
        self.trie = trie;
    }

    /// The most probable segmentation of any word: the character offsets where morphs start (0 and
    /// the end excluded) and its cost in nats. `addcount` is the additive smoothing (Morfessor's
    /// default 1.0: unseen morphs allowed at their lexicon cost; 0: only single unseen atoms), `maxlen`
    /// the longest morph in characters (default 30).
    pub fn viterbi(&self, word: &str, addcount: f64, maxlen: usize) -> (Vec<usize>, f64) {
        let k = if addcount == 1.0 { self.trie.consts } else { self.viterbi_consts(addcount) };
        // One buffer: the character, the prefix sum of ln(atom count) up to it, the best cost and
        // start of a path ending before it (the last cell: the word's end).
        struct Cell {
            ch: char,
            atom_logs: f64,
            cost: Option<f64>,
            from: usize,
        }
        let mut cells: Vec<Cell> = Vec::with_capacity(word.len() + 1);
        let mut sum = 0.0;
        for ch in word.chars() {
            cells.push(Cell { ch, atom_logs: sum, cost: None, from: usize::MAX });
            sum += self.trie.atom_ln(&self.atoms, ch);
        }
        cells.push(Cell { ch: '\0', atom_logs: sum, cost: None, from: usize::MAX });
        let n = cells.len() - 1;
        cells[0].cost = Some(0.0);
        let maxlen = maxlen.max(1);
        let by_len_fresh: Vec<f64>;
        let by_len: &[f64] = if n.min(maxlen) < self.trie.by_len.len() {
            &self.trie.by_len
        } else {
            let lex_tokens = self.lexicon.tokens as f64;
            by_len_fresh = (0..=n.min(maxlen)).map(|l| (l as f64 + 1.0) * (lex_tokens + l as f64 + 1.0).ln()).collect();
            &by_len_fresh
        };
        let bad = n as f64 * k.logtokens + 1.0;
        // Forward over start positions, walking the morph trie along the word: Morfessor's choice per
        // end position (the cheapest, the earliest start on ties) with one trie step per substring.
        for pt in 0..n {
            let Some(base) = cells[pt].cost else { continue };
            let mut node = Some(0u32);
            for t in pt + 1..=n.min(pt + maxlen) {
                node = node.and_then(|id| self.trie.step(id, cells[t - 1].ch));
                let known = node.map_or(0, |id| self.trie.count[id as usize]);
                let cost = if known > 0 {
                    let ln_known = if addcount == 1.0 {
                        self.trie.ln_count_plus_one[node.unwrap_or(0) as usize]
                    } else {
                        (known as f64 + addcount).ln()
                    };
                    base + (k.logtokens - ln_known)
                } else if addcount > 0.0 {
                    let code = by_len[t - pt] - k.log_morphs - (cells[t].atom_logs - cells[pt].atom_logs);
                    base + (k.new_morph + code / self.corpus_weight)
                } else if t - pt == 1 {
                    base + bad
                } else {
                    continue;
                };
                if cells[t].cost.is_none_or(|b| cost < b) {
                    cells[t].cost = Some(cost);
                    cells[t].from = pt;
                }
            }
        }
        let mut cuts = Vec::new();
        let mut t = n;
        while t > 0 && cells[t].from != usize::MAX {
            t = cells[t].from;
            if t > 0 {
                cuts.push(t);
            }
        }
        cuts.reverse();
        (cuts, cells[n].cost.unwrap_or(f64::INFINITY) + k.word_end)
    }

    /// The word-independent terms of Viterbi for one `addcount`.
    fn viterbi_consts(&self, addcount: f64) -> ViterbiConsts {
        let total = self.corpus.tokens as f64 + self.corpus.boundaries as f64;
        let logtokens = if total + addcount > 0.0 { (total + addcount).ln() } else { 0.0 };
        let lexb = self.lexicon.boundaries as f64;
        let xlx = |x: f64| if x > 0.0 { x * x.ln() } else { 0.0 };
        // An unseen morph: its probability with `addcount` pseudo-counts, plus its lexicon code.
        let new_morph = if self.corpus.tokens == 0 {
            addcount * addcount.ln()
        } else {
            logtokens - addcount.ln() + (xlx(lexb + addcount) - xlx(lexb)) / self.corpus_weight
        };
        let b = self.corpus.boundaries as f64;
        ViterbiConsts {
            logtokens,
            log_morphs: (lexb + 1.0).ln(),
            new_morph,
            word_end: if b > 0.0 { total.ln() - b.ln() } else { 0.0 },
        }
    }

    /// Viterbi cuts with Morfessor's defaults (addcount 1, morphs of at most 30 characters).
    pub fn cuts(&self, word: &str) -> Vec<usize> {
        self.viterbi(word, 1.0, 30).0
    }

    /// Every morph of the lexicon with its count, sorted by morph.
    pub fn morphs(&self) -> Vec<(&str, u64)> {
        let mut out: Vec<(&str, u64)> =
            self.analyses.iter().filter(|(_, n)| n.split == 0 && n.count > 0).map(|(k, n)| (&**k, n.count)).collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln(x: f64) -> f64 {
        x.ln()
    }

    /// Sets a word's analysis to the given morphs (a right-branching tree, as Morfessor's loader).
    fn set_analysis(model: &mut Morfessor, word: &str, morphs: &[&str]) {
        let node = model.analyses[word];
        model.modify(word, -(node.count as i64));
        let mut rest = word;
        for (i, m) in morphs.iter().enumerate() {
            if i + 1 == morphs.len() {
                model.analyses.insert(rest.into(), Node { rcount: if i == 0 { node.rcount } else { 0 }, count: 0, split: 0 });
                model.modify(rest, node.count as i64);
            } else {
                model.analyses.insert(rest.into(), Node { rcount: if i == 0 { node.rcount } else { 0 }, count: node.count, split: m.len() as u32 });
                model.modify(m, node.count as i64);
                rest = &rest[m.len()..];
            }
        }
    }

    #[test]
    fn cost_matches_hand_computation() {
        // Corpus {ab, ac}, one each, unsplit: corpus N = 2 morph tokens, B = 2 word ends, 2 morph
        // types; lexicon: atoms a:2 b:1 c:1 (4 tokens) + 2 morph ends, 3 atom types.
        //   corpus  = 4 ln 4 - 2 ln 2 - 0 + [ln 1! - ln 1! - ln 0!]             = 6 ln 2
        //   lexicon = 6 ln 6 - 2 ln 2 - 2 ln 2 - ln 2! + [ln 5! - ln 3! - ln 2!] = 6 ln 6 - 5 ln 2 + ln 10
        let mut model = Morfessor::new([("ab", 1), ("ac", 1)]);
        let unsplit = 6.0 * ln(2.0) + 6.0 * ln(6.0) - 5.0 * ln(2.0) + ln(10.0);
        assert!((model.cost() - unsplit).abs() < 1e-9, "{} vs {unsplit}", model.cost());
        // Split a+b, a+c: corpus morphs a:2 b:1 c:1 (N = 4), 3 types; lexicon atoms a b c once each.
        //   corpus  = 6 ln 6 - 2 ln 2 - 2 ln 2 + [ln 3! - ln 2! - ln 1!] = 6 ln 6 - 4 ln 2 + ln 3
        //   lexicon = 6 ln 6 - 3 ln 3 - 0 - ln 3! + [ln 5! - ln 3! - ln 2!] = 5 ln 6 - 3 ln 3 + ln 10
        set_analysis(&mut model, "ab", &["a", "b"]);
        set_analysis(&mut model, "ac", &["a", "c"]);
        let split = 6.0 * ln(6.0) - 4.0 * ln(2.0) + ln(3.0) + 5.0 * ln(6.0) - 3.0 * ln(3.0) + ln(10.0);
        assert!((model.cost() - split).abs() < 1e-9, "{} vs {split}", model.cost());
        assert_eq!(model.segment("ab"), Some(vec!["a", "b"]));
        assert_eq!(model.num_morphs(), 3);
        // Training from there never raises the cost.
        model.train_batch(&MorfessorConfig::default());
        assert!(model.cost() <= split + 1e-9);
        // Stirling above 20 agrees with the exact sum to well under a nat.
        let exact: f64 = (2..=25).map(|k| (k as f64).ln()).sum();
        assert!((logfact_exact(25) - exact).abs() < 0.01);
    }

    #[test]
    fn trial_costs_equal_applying_the_split() {
        let mut model = Morfessor::train(toy_words(), &MorfessorConfig { max_epochs: Some(1), ..Default::default() });
        for (word, _) in toy_words().into_iter().chain([("walkwalk".to_string(), 0), ("lolol".to_string(), 0)]) {
            let count = model.analyses.get(word.as_str()).map_or(1, |n| n.count as i64);
            if model.analyses.contains_key(word.as_str()) {
                model.modify(&word, -count);
            }
            let mut deltas = AtomDeltas::default();
            model.atom_deltas(&word, &mut deltas);
            let n = deltas.prefix.len() - 1;
            for (k, (i, _)) in word.char_indices().skip(1).enumerate() {
                let (left, right) = word.split_at(i);
                let fast = model.trial_cost(&[(left, k + 1, deltas.prefix[k + 1]), (right, n - k - 1, deltas.suffix[k + 1])],
                                            count, deltas.prefix[n]);
                model.modify(left, count);
                model.modify(right, count);
                let slow = model.current_cost();
                model.modify(left, -count);
                model.modify(right, -count);
                assert!((fast - slow).abs() < 1e-6, "{word} at {i}: {fast} vs {slow}");
            }
            model.modify(&word, count);
        }
    }

    fn toy_words() -> Vec<(String, u64)> {
        let stems = ["walk", "talk", "jump", "play", "work", "look", "call", "kill", "fill", "mark", "pick", "help"];
        let ends = ["", "s", "ed", "ing", "er", "ers"];
        stems.iter().flat_map(|s| ends.iter().map(move |e| (format!("{s}{e}"), 1))).collect()
    }

    #[test]
    fn training_lowers_the_cost_and_finds_suffixes() {
        let model = Morfessor::train(toy_words(), &MorfessorConfig::default());
        assert!(model.epochs() >= 2);
        assert!(model.costs.last().unwrap() < &(model.costs[0] * 0.8), "{:?}", model.costs);
        assert!(model.costs.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{:?}", model.costs);
        assert_eq!(model.segment("walking"), Some(vec!["walk", "ing"]));
        assert_eq!(model.segment("talks"), Some(vec!["talk", "s"]));
    }

    #[test]
    fn viterbi_on_training_words_gives_their_analysis() {
        let model = Morfessor::train(toy_words(), &MorfessorConfig::default());
        for (word, _) in toy_words() {
            let seg = model.segment(&word).unwrap();
            let mut cuts = Vec::new();
            let mut pos = 0;
            for m in &seg[..seg.len() - 1] {
                pos += m.chars().count();
                cuts.push(pos);
            }
            assert_eq!(model.cuts(&word), cuts, "{word}: {seg:?}");
        }
        // New words: known morphs are reused.
        assert_eq!(model.cuts("jumping"), vec![4]);
        assert_eq!(model.cuts("helpers"), model.cuts("walkers"));
    }

    #[test]
    fn training_is_deterministic_given_the_seed() {
        let words: Vec<(String, u64)> = toy_words().into_iter().chain([("unwalk".into(), 1), ("replay".into(), 1)]).collect();
        let run = |seed| {
            let m = Morfessor::train(words.clone(), &MorfessorConfig { seed, ..Default::default() });
            (m.costs.clone(), m.morphs().iter().map(|(s, c)| (s.to_string(), *c)).collect::<Vec<_>>())
        };
        assert_eq!(run(7), run(7));
        assert_eq!(run(0), run(0));
    }
}
