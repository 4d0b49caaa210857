//! Errors of the core. Every fallible core function returns `Result<_, CoreError>`;
//! the binding layer maps each kind to a typed Python exception. The core never panics
//! across the boundary.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CoreError {
    /// A bad argument or configuration (maps to `tokensmith.ConfigError`, a `ValueError`).
    #[error("{0}")]
    Config(String),
    /// A malformed or foreign file (maps to `tokensmith.FormatError`, a `ValueError`).
    #[error("{0}")]
    Format(String),
    /// Input data that cannot be processed (maps to `tokensmith.CorpusError`, an `OSError`).
    #[error("{0}")]
    Corpus(String),
    /// An unknown token or id (maps to `tokensmith.TokenError`, a `KeyError`).
    #[error("{0}")]
    Token(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, CoreError>;
