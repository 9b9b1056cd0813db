//! `netdiag serve`: the checklist as a Prometheus exporter, drop-in for blackbox_exporter's
//! scrape recipe (`/probe?target=...&module=...`). The engine stays in `netdiag-common`; this
//! crate owns everything HTTP, and the metrics renderer ([`render`]), so that the other tools
//! do not link an HTTP stack or prometheus-client.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod allow;
pub mod exporter;
pub mod params;
pub mod probe;
pub mod render;
pub mod server;
pub mod webconfig;

pub use allow::{AllowRule, Allowlist};
pub use probe::ProbeContext;
pub use server::{ServeConfig, ServeError, Server};
