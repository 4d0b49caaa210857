//! Trainers: one file per method, and the word store they train on (`words`).
pub mod bpe;
pub mod morfessor;
pub mod morph_cut;
pub mod picky;
pub mod superbpe;
pub(crate) mod words;
