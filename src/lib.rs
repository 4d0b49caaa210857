//! tokensmith core: plain-Rust algorithms. PyO3 code lives only under `py/`.
//!
//! Data flow (one module per stage): `pretokenize` → `count` → `train` → `model` (encode/decode) → `lzw`.

pub mod bytes;
pub mod count;
pub mod error;
pub mod lzw;
pub mod normalize;
pub mod model;
pub mod pretokenize;
pub mod train;

#[cfg(feature = "python")]
mod py;
