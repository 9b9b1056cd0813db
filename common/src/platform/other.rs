//! Any other OS (macOS, the BSDs, ...): interfaces through getifaddrs; the route table is not
//! read, so next hops are reported as unknown rather than guessed.

use crate::env::{EnvError, RouteTable};

pub(super) use super::getifaddrs::interfaces;

pub(super) fn route_table() -> Result<RouteTable, EnvError> {
    Err(EnvError::RoutesUnsupported)
}
