//! Models: encode/decode, one file per model kind.
pub mod bpe;
pub mod picky;
