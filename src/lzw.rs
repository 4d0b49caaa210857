//! placeholder (owner: helper F)
