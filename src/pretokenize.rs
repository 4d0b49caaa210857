//! placeholder (owner: helper A, see docs/DEVELOPING.md)
