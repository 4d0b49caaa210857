//! placeholder (owner: helper C)
