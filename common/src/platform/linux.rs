//! Linux: interfaces through getifaddrs, routes from /proc (the kernel's main table; policy
//! routing is not modelled).

use crate::env::{EnvError, RouteTable};

pub(super) use super::getifaddrs::interfaces;

pub(super) fn route_table() -> Result<RouteTable, EnvError> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|source| EnvError::RouteTable { path: path.into(), source })
    };
    let mut table = RouteTable::parse_proc_ipv4(&read("/proc/net/route")?);
    // A kernel without IPv6 has no such file; that is not an error.
    if let Ok(v6) = std::fs::read_to_string("/proc/net/ipv6_route") {
        table.routes.extend(RouteTable::parse_proc_ipv6(&v6).routes);
    }
    Ok(table)
}
