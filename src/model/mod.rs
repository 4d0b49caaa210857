//! Models: encode/decode, one file per model kind.
pub mod bpe;
pub mod bpe_merge;
pub mod bpe_specials;
pub mod picky;
