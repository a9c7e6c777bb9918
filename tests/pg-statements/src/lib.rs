//! Tests only: see `tests/statements.rs`.
