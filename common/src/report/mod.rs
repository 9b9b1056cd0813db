//! Renderers: each takes any `io::Write`, so tests render into a `Vec<u8>`.

pub mod envelope;
pub mod nameresolver;
pub mod netdiag;
pub mod tcpping;
