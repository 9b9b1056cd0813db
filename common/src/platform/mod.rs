//! What only the OS can tell: the interfaces with their addresses, and the route table. One
//! file per OS family (the way trippy keeps its `platform/`), each exporting the same two
//! functions; everything above them (lookups, evidence, rendering) is shared.

// Interfaces through getifaddrs, for every OS that has it.
#[cfg(not(windows))]
mod getifaddrs;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(not(any(target_os = "linux", windows)))]
mod other;
#[cfg(not(any(target_os = "linux", windows)))]
use other as os;

use crate::env::{EnvError, InterfaceAddress, RouteTable};

/// Every address on every interface, in the OS's order. Interface names are the ones a user
/// of that OS knows: `eth0` on Linux, the friendly name (`Ethernet 2`) on Windows.
pub(crate) fn interfaces() -> Result<Vec<InterfaceAddress>, EnvError> {
    os::interfaces()
}

/// The main route table, IPv4 and IPv6; [`EnvError::RoutesUnsupported`] where it cannot be read.
pub(crate) fn route_table() -> Result<RouteTable, EnvError> {
    os::route_table()
}
