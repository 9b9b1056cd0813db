//! Windows: interfaces and routes from iphlpapi through `windows-sys`.
//!
//! Interfaces come from `GetAdaptersAddresses` with their friendly names (`Ethernet 2`, what
//! `ipconfig` and Test-NetConnection show). Routes come from `GetIpForwardTable2`; the shared
//! longest-prefix lookup picks the next hop. `GetBestRoute2` would ask the OS directly, but wine
//! (where CI runs these binaries) only stubs it, and the table gives the same answer for the
//! main table, which is all App Service has.
//!
//! The workspace denies unsafe code; FFI cannot avoid it, so it is allowed in this file only,
//! with the reason each block is sound next to it.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use windows_sys::Win32::Foundation::{ERROR_BUFFER_OVERFLOW, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    FreeMibTable, GAA_FLAG_INCLUDE_PREFIX, GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER,
    GAA_FLAG_SKIP_MULTICAST, GetAdaptersAddresses, GetIpForwardTable2, IP_ADAPTER_ADDRESSES_LH,
    MIB_IPFORWARD_TABLE2,
};
use windows_sys::Win32::NetworkManagement::Ndis::IfOperStatusUp;
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_INET,
};

use crate::env::{EnvError, InterfaceAddress, Route, RouteTable};

/// `IfType` of the software loopback interface.
const IF_TYPE_SOFTWARE_LOOPBACK: u32 = 24;

/// One adapter as `GetAdaptersAddresses` describes it, copied out of the OS's buffer.
struct Adapter {
    friendly_name: String,
    ipv4_index: u32,
    ipv6_index: u32,
    ipv4_metric: u32,
    ipv6_metric: u32,
    is_loopback: bool,
    addresses: Vec<(IpAddr, u8)>,
}

pub(super) fn interfaces() -> Result<Vec<InterfaceAddress>, EnvError> {
    let adapters = adapters().map_err(EnvError::Interfaces)?;
    let mut out = Vec::new();
    for a in &adapters {
        out.extend(a.addresses.iter().map(|&(address, prefix_len)| InterfaceAddress {
            interface: a.friendly_name.clone(),
            address,
            prefix_len,
            index: Some(if address.is_ipv4() { a.ipv4_index } else { a.ipv6_index }),
            is_loopback: a.is_loopback,
        }));
    }
    Ok(out)
}

pub(super) fn route_table() -> Result<RouteTable, EnvError> {
    let call_failed = |call: &'static str, code: u32| EnvError::RouteTableCall {
        call,
        source: io::Error::from_raw_os_error(code as i32),
    };
    // Names and interface metrics are a nicety: without them the routes still stand, named by
    // interface index.
    let adapters = adapters().unwrap_or_default();
    let mut by_index: HashMap<(bool, u32), (&str, u32)> = HashMap::new();
    for a in &adapters {
        by_index.insert((false, a.ipv4_index), (&a.friendly_name, a.ipv4_metric));
        by_index.insert((true, a.ipv6_index), (&a.friendly_name, a.ipv6_metric));
    }

    let mut table: *mut MIB_IPFORWARD_TABLE2 = std::ptr::null_mut();
    // SAFETY: `table` is a valid out-pointer; on success the OS stores a table it allocated,
    // which is freed below with FreeMibTable and not used after.
    let status = unsafe { GetIpForwardTable2(AF_UNSPEC, &mut table) };
    if status != NO_ERROR {
        return Err(call_failed("GetIpForwardTable2", status));
    }
    if table.is_null() {
        return Ok(RouteTable::default());
    }
    // SAFETY: on success `table` points to a MIB_IPFORWARD_TABLE2 whose `Table` array holds
    // `NumEntries` rows (the struct declares one; the OS allocates them all contiguously).
    // The rows are read by value before the table is freed.
    let rows = unsafe {
        let count = (*table).NumEntries as usize;
        let first = std::ptr::addr_of!((*table).Table)
            .cast::<windows_sys::Win32::NetworkManagement::IpHelper::MIB_IPFORWARD_ROW2>();
        std::slice::from_raw_parts(first, count).to_vec()
    };
    // SAFETY: `table` came from GetIpForwardTable2 and is freed exactly once.
    unsafe { FreeMibTable(table.cast()) };

    let routes = rows
        .iter()
        .filter_map(|row| {
            let destination = from_sockaddr_inet(&row.DestinationPrefix.Prefix)?;
            let next_hop = from_sockaddr_inet(&row.NextHop);
            let key = (destination.is_ipv6(), row.InterfaceIndex);
            let (interface, interface_metric) = match by_index.get(&key) {
                Some((name, metric)) => ((*name).to_owned(), *metric),
                None => (format!("interface {}", row.InterfaceIndex), 0),
            };
            Some(Route {
                destination,
                prefix_len: row.DestinationPrefix.PrefixLength,
                gateway: next_hop.filter(|g| !g.is_unspecified()),
                interface,
                // Windows ranks routes by route metric plus interface metric.
                metric: row.Metric.saturating_add(interface_metric),
            })
        })
        .collect();
    Ok(RouteTable { routes })
}

fn from_sockaddr_inet(addr: &SOCKADDR_INET) -> Option<IpAddr> {
    // SAFETY: every member of the union starts with the address family, so reading
    // `si_family` is always valid; it then says which member the OS filled in.
    unsafe {
        match addr.si_family {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(addr.Ipv4.sin_addr.S_un.S_addr)))),
            AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(addr.Ipv6.sin6_addr.u.Byte))),
            _ => None,
        }
    }
}

/// Reads a `SOCKADDR` of the given length as an IP address.
///
/// # Safety
/// `addr` must be null or point to `len` readable bytes holding a socket address.
unsafe fn from_sockaddr(addr: *const SOCKADDR, len: i32) -> Option<IpAddr> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees `len` readable bytes; each cast is checked against the
    // size of the structure read, and read_unaligned makes no alignment assumption.
    unsafe {
        match (*addr).sa_family {
            AF_INET if len as usize >= size_of::<SOCKADDR_IN>() => {
                let v4 = addr.cast::<SOCKADDR_IN>().read_unaligned();
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.S_un.S_addr))))
            }
            AF_INET6 if len as usize >= size_of::<SOCKADDR_IN6>() => {
                let v6 = addr.cast::<SOCKADDR_IN6>().read_unaligned();
                Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.u.Byte)))
            }
            _ => None,
        }
    }
}

/// Reads a NUL-terminated UTF-16 string.
///
/// # Safety
/// `text` must be null or point to a NUL-terminated UTF-16 string.
unsafe fn from_wide(text: *const u16) -> String {
    if text.is_null() {
        return String::new();
    }
    let mut len = 0;
    // SAFETY: the caller guarantees a terminating NUL, so every index up to it is readable.
    unsafe {
        while *text.add(len) != 0 {
            len += 1;
        }
        String::from_utf16_lossy(std::slice::from_raw_parts(text, len))
    }
}

fn adapters() -> io::Result<Vec<Adapter>> {
    let flags =
        GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER | GAA_FLAG_INCLUDE_PREFIX;
    // The documented way: start with 15 KB, grow to what the OS asks for, retry a few times
    // since adapters can appear between two calls. u64 elements keep the buffer aligned for
    // IP_ADAPTER_ADDRESSES_LH.
    let mut size: u32 = 15 * 1024;
    for _ in 0..4 {
        let mut buffer = vec![0u64; (size as usize).div_ceil(8)];
        let first = buffer.as_mut_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>();
        // SAFETY: `first` points to `size` writable, 8-byte aligned bytes and `size` says so.
        let status =
            unsafe { GetAdaptersAddresses(u32::from(AF_UNSPEC), flags, std::ptr::null(), first, &mut size) };
        match status {
            NO_ERROR => {
                // SAFETY: on success the buffer holds a linked list of adapters whose pointers
                // all point inside `buffer`, which outlives this call.
                return Ok(unsafe { copy_adapters(first) });
            }
            ERROR_BUFFER_OVERFLOW => continue,
            // No adapter at all.
            232 /* ERROR_NO_DATA */ => return Ok(Vec::new()),
            code => return Err(io::Error::from_raw_os_error(code as i32)),
        }
    }
    Err(io::Error::other("GetAdaptersAddresses: the adapter list kept changing"))
}

/// # Safety
/// `first` must be null or the head of a list filled in by a successful GetAdaptersAddresses,
/// still alive.
unsafe fn copy_adapters(first: *const IP_ADAPTER_ADDRESSES_LH) -> Vec<Adapter> {
    let mut out = Vec::new();
    let mut node = first;
    // SAFETY: the caller guarantees a valid list; every pointer followed comes from it, and
    // the strings and socket addresses it points to are NUL-terminated or sized as documented.
    unsafe {
        while !node.is_null() {
            let a = &*node;
            // An interface that is down has no say in routing; Windows skips it too.
            if a.OperStatus == IfOperStatusUp {
                let mut addresses = Vec::new();
                let mut unicast = a.FirstUnicastAddress;
                while !unicast.is_null() {
                    let u = &*unicast;
                    if let Some(ip) = from_sockaddr(u.Address.lpSockaddr, u.Address.iSockaddrLength) {
                        addresses.push((ip, u.OnLinkPrefixLength));
                    }
                    unicast = u.Next;
                }
                out.push(Adapter {
                    friendly_name: from_wide(a.FriendlyName),
                    ipv4_index: a.Anonymous1.Anonymous.IfIndex,
                    ipv6_index: a.Ipv6IfIndex,
                    ipv4_metric: a.Ipv4Metric,
                    ipv6_metric: a.Ipv6Metric,
                    is_loopback: a.IfType == IF_TYPE_SOFTWARE_LOOPBACK,
                    addresses,
                });
            }
            node = a.Next;
        }
    }
    out
}
