//! The netdiag engine. Probing, classification and diagnosis live here; the binaries in
//! `tools/` only parse arguments, call in, and render. Nothing in this crate prints: renderers
//! in [`report`] write to any `io::Write`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

// Shared parsing and units.
pub mod millis;
pub mod name;
pub mod sanitize;
pub mod target;
pub mod targets_file;
pub mod timestamp;
pub mod wording;

// tcpping: one TCP connect attempt, and statistics over many.
pub mod probe;
pub mod stats;
pub mod tcp;

// nameresolver: per-server DNS.
pub mod dns;

// netdiag: environment, classification, diagnosis, sizing, the app's dependencies.
pub mod check;
pub mod classify;
pub mod connstr;
pub mod diagnose;
pub mod env;
mod platform;
mod runner;
pub mod subnet;

// Text and JSON renderers, one module per tool.
pub mod report;
