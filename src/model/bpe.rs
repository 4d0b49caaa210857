//! placeholder (owner: helper B)
