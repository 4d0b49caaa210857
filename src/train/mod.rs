//! Trainers: one file per method.
pub mod bpe;
pub mod picky;
