//! Interfaces and their addresses through getifaddrs (the if-addrs crate).

use crate::env::{EnvError, InterfaceAddress};

pub(super) fn interfaces() -> Result<Vec<InterfaceAddress>, EnvError> {
    let list = if_addrs::get_if_addrs().map_err(EnvError::Interfaces)?;
    Ok(list
        .into_iter()
        .map(|i| {
            let prefix_len = match &i.addr {
                if_addrs::IfAddr::V4(a) => a.prefixlen,
                if_addrs::IfAddr::V6(a) => a.prefixlen,
            };
            InterfaceAddress {
                is_loopback: i.is_loopback(),
                address: i.ip(),
                interface: i.name,
                prefix_len,
                index: i.index,
            }
        })
        .collect())
}
