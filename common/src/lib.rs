//! The netdiag engine. Probing, classification and diagnosis live here; the binaries in
//! `tools/` only parse arguments, call in, and render. Nothing in this crate prints: renderers
//! in [`report`] write to any `io::Write`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod name;
pub mod target;
