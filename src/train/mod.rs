//! Trainers: one file per method.
pub mod bpe;
pub mod morfessor;
pub mod morph_cut;
pub mod picky;
pub mod superbpe;
