//! One TCP connect attempt: socket options set through socket2, a non-blocking connect driven
//! by tokio, the time taken right around the connect, and every failure sorted into a class
//! with a one-line explanation.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// Windows sends the SYN at 0, 3 and 9 s and gives up at 21 s. Linux would keep trying for
/// about 127 s (`tcp_syn_retries` = 6), so we enforce the documented Windows behaviour
/// ourselves: a timeout here means the same thing it means in the Azure documentation.
pub const WINDOWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(21);

/// The connect timeout that really applies on this platform when `asked` is requested, and
/// why it differs, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedTimeout {
    pub timeout: Duration,
    /// Set when `asked` was lowered: one line for the user.
    pub warning: Option<String>,
}

/// The connect timeout a probe can really wait for. Linux would give up after ~127 s
/// (`tcp_syn_retries` = 6, or sooner when lowered); each socket's `TCP_USER_TIMEOUT` is raised
/// past `asked`, which makes the kernel keep retransmitting the SYN until our own timer fires,
/// so any `asked` applies. Windows gives up after 21 s unless `TCP_MAXRT` is set, which
/// socket2 does not offer (and raw setsockopt would need unsafe code), so a longer `asked` is
/// clamped with a warning. Elsewhere the OS may still give up first; the failure then says so
/// ([`ConnectFailure::OsTimedOut`]).
pub fn applied_connect_timeout(asked: Duration) -> AppliedTimeout {
    if cfg!(windows) && asked > WINDOWS_CONNECT_TIMEOUT {
        return AppliedTimeout {
            timeout: WINDOWS_CONNECT_TIMEOUT,
            warning: Some(format!(
                "a TCP connect timeout of {} is longer than Windows waits for a connection ({}, as TCP_MAXRT cannot be raised here): using {}",
                crate::wording::seconds(asked),
                crate::wording::seconds(WINDOWS_CONNECT_TIMEOUT),
                crate::wording::seconds(WINDOWS_CONNECT_TIMEOUT)
            )),
        };
    }
    AppliedTimeout { timeout: asked, warning: None }
}

/// The `TCP_USER_TIMEOUT` set on each socket: a second past our own timer, so the kernel never
/// gives up first and our timer decides. Milliseconds in a u32 on the wire. The kernel honours
/// it in SYN_SENT (measured on 6.18: with `tcp_syn_retries` = 1, a 6 s user timeout waited
/// 6.0 s instead of giving up at 3.1 s). socket2 has no `TCP_SYNCNT`, and a raw setsockopt would
/// need unsafe code; where a kernel ignores the user timeout for SYNs, the failure says the OS
/// gave up first ([`ConnectFailure::OsTimedOut`]).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn kernel_user_timeout(asked: Duration) -> Duration {
    asked.saturating_add(Duration::from_secs(1)).min(Duration::from_millis(u64::from(u32::MAX)))
}

/// How a successful probe connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloseMode {
    /// RST via `SO_LINGER` 0: no TIME_WAIT on our side, so a long probe loop cannot exhaust
    /// local or SNAT ports.
    #[default]
    Reset,
    /// An orderly FIN, as an application would close.
    Graceful,
}

/// Everything that shapes one connect attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub timeout: Duration,
    /// Local address (and port, when non-zero) to bind before connecting.
    pub source: Option<SocketAddr>,
    /// Interface to bind to (`SO_BINDTODEVICE`); Linux only.
    pub interface: Option<String>,
    pub close: CloseMode,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { timeout: WINDOWS_CONNECT_TIMEOUT, source: None, interface: None, close: CloseMode::Reset }
    }
}

/// The result of one attempt. `elapsed` is measured immediately around the connect call and
/// its completion, excluding socket setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOutcome {
    pub remote: SocketAddr,
    /// The local address the kernel chose (or we bound), when the socket got that far.
    pub local: Option<SocketAddr>,
    pub elapsed: Duration,
    pub result: Result<(), ConnectFailure>,
    /// The kernel's own round-trip estimate once the handshake completed (Linux `TCP_INFO`
    /// `tcpi_rtt`, seeded by the SYN to SYN/ACK sample): an independent cross-check of
    /// `elapsed`, which also holds our own scheduling delay. `None` elsewhere or on failure.
    pub kernel_rtt: Option<Duration>,
    /// The handshake completed and the peer reset the connection at once (an application or
    /// proxy that accepts, then closes with RST). The port is reachable, so `result` is `Ok`;
    /// whether the reset is seen depends on whether it arrived before we looked.
    pub reset_by_peer: bool,
}

/// The failure classes every tool shares. A stable snake_case id ([`FailureClass::id`]) is
/// what JSON carries; scripts match on it, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureClass {
    Refused,
    TimedOut,
    HostUnreachable,
    NetworkUnreachable,
    AddressNotAvailable,
    /// NXDOMAIN.
    NameNotFound,
    /// The name exists but has no address of the requested family.
    NoAddress,
    /// Every DNS server timed out.
    DnsTimeout,
    /// No DNS server gave a usable answer: SERVFAIL, REFUSED, other errors, malformed replies,
    /// broken alias chains, some perhaps timing out too.
    DnsFailed,
    /// There was no DNS server to ask.
    NoDnsServers,
    PermissionDenied,
    /// Unspecified, multicast or broadcast: no TCP connection can go there, so none is tried.
    UnusableAddress,
    LocalError,
}

impl FailureClass {
    /// Every class, in the order summaries list them.
    pub const ALL: [FailureClass; 13] = [
        FailureClass::Refused,
        FailureClass::TimedOut,
        FailureClass::HostUnreachable,
        FailureClass::NetworkUnreachable,
        FailureClass::AddressNotAvailable,
        FailureClass::NameNotFound,
        FailureClass::NoAddress,
        FailureClass::DnsTimeout,
        FailureClass::DnsFailed,
        FailureClass::NoDnsServers,
        FailureClass::PermissionDenied,
        FailureClass::UnusableAddress,
        FailureClass::LocalError,
    ];

    pub const fn id(self) -> &'static str {
        match self {
            FailureClass::Refused => "refused",
            FailureClass::TimedOut => "timed_out",
            FailureClass::HostUnreachable => "host_unreachable",
            FailureClass::NetworkUnreachable => "network_unreachable",
            FailureClass::AddressNotAvailable => "address_not_available",
            FailureClass::NameNotFound => "name_not_found",
            FailureClass::NoAddress => "no_address",
            FailureClass::DnsTimeout => "dns_timeout",
            FailureClass::DnsFailed => "dns_failed",
            FailureClass::NoDnsServers => "no_dns_servers",
            FailureClass::PermissionDenied => "permission_denied",
            FailureClass::UnusableAddress => "unusable_address",
            FailureClass::LocalError => "local_error",
        }
    }

    /// What the class most likely means for someone troubleshooting reachability.
    pub const fn hint(self) -> &'static str {
        match self {
            FailureClass::Refused => {
                "the host answered, but nothing listens on that port (or a firewall rejects it)"
            }
            FailureClass::TimedOut => "no answer: a firewall or NSG is probably dropping the packets",
            FailureClass::HostUnreachable => "a router or firewall reported the host unreachable (ICMP)",
            FailureClass::NetworkUnreachable => "no route to that network from this machine",
            FailureClass::AddressNotAvailable => {
                "the local source address cannot be used: not on this machine, or no free port"
            }
            FailureClass::NameNotFound => {
                "the name does not exist: check the spelling, or the private DNS zone"
            }
            FailureClass::NoAddress => {
                "the name exists but has no address of that family: check its records, or try the other family"
            }
            FailureClass::DnsTimeout => {
                "DNS is not accessible: a firewall/NSG blocks port 53, or the server is down"
            }
            FailureClass::DnsFailed => {
                "no DNS server gave a usable answer (an error code such as SERVFAIL or REFUSED, a rejected query, a malformed reply or a broken alias chain: each server's reason is listed): check each server and its forwarders"
            }
            FailureClass::NoDnsServers => {
                "no DNS server is configured: set WEBSITE_DNS_SERVER or fix resolv.conf, or use --dns-server"
            }
            FailureClass::PermissionDenied => {
                "the local system forbade the connection (firewall policy or privileges)"
            }
            FailureClass::UnusableAddress => {
                "no TCP connection can go to an unspecified, multicast or broadcast address: wrong IP or hostname"
            }
            FailureClass::LocalError => "the connection could not be attempted from this machine",
        }
    }
}

impl FailureClass {
    /// The class of a lookup that gave no address: what tcpping and netdiag report when a
    /// name cannot be resolved.
    pub fn from_lookup(error: &crate::dns::LookupError) -> Self {
        use crate::dns::LookupError;
        match error {
            LookupError::NxDomain { .. } => FailureClass::NameNotFound,
            LookupError::NoData { .. } => FailureClass::NoAddress,
            LookupError::NoServers => FailureClass::NoDnsServers,
            e if e.all_timed_out() => FailureClass::DnsTimeout,
            LookupError::AllServersFailed { .. } => FailureClass::DnsFailed,
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Why a connect attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectFailure {
    #[error("connection refused")]
    Refused,
    #[error("connection timed out after {}", crate::wording::seconds(*.0))]
    TimedOut(Duration),
    /// The operating system gave up (ETIMEDOUT) before the timeout we were asked to wait.
    #[error(
        "connection timed out after {}: the operating system gave up before the {} timeout asked for",
        crate::wording::seconds(*waited),
        crate::wording::seconds(*asked)
    )]
    OsTimedOut { waited: Duration, asked: Duration },
    #[error("host unreachable")]
    HostUnreachable,
    #[error("network unreachable")]
    NetworkUnreachable,
    #[error("address not available")]
    AddressNotAvailable,
    #[error("permission denied")]
    PermissionDenied,
    /// Not attempted: connecting to 0.0.0.0 would reach this machine, and multicast or
    /// broadcast cannot carry TCP.
    #[error("{} is {}: not attempted", .0, crate::wording::a_or_an(crate::classify::classify(*.0).describe()))]
    UnusableAddress(std::net::IpAddr),
    /// Anything else, with the step that failed and the OS's message.
    #[error("{operation} failed: {message}")]
    Other { operation: &'static str, message: String },
}

impl ConnectFailure {
    pub fn kind(&self) -> FailureClass {
        match self {
            ConnectFailure::Refused => FailureClass::Refused,
            ConnectFailure::TimedOut(_) | ConnectFailure::OsTimedOut { .. } => FailureClass::TimedOut,
            ConnectFailure::HostUnreachable => FailureClass::HostUnreachable,
            ConnectFailure::NetworkUnreachable => FailureClass::NetworkUnreachable,
            ConnectFailure::AddressNotAvailable => FailureClass::AddressNotAvailable,
            ConnectFailure::PermissionDenied => FailureClass::PermissionDenied,
            ConnectFailure::UnusableAddress(_) => FailureClass::UnusableAddress,
            ConnectFailure::Other { .. } => FailureClass::LocalError,
        }
    }

    /// The stable snake_case id of the class.
    pub fn class(&self) -> &'static str {
        self.kind().id()
    }

    pub fn hint(&self) -> &'static str {
        self.kind().hint()
    }

    /// A timeout the OS reported well before `asked` is the OS giving up, not our timer.
    fn os_gave_up_before(self, asked: Duration) -> Self {
        match self {
            ConnectFailure::TimedOut(waited) if waited + Duration::from_millis(100) < asked => {
                ConnectFailure::OsTimedOut { waited, asked }
            }
            other => other,
        }
    }

    /// Sorts an OS error from `operation` into a class. The OS's own timeout (ETIMEDOUT) is
    /// reported with `waited`, since it means the same as ours.
    pub fn from_io(operation: &'static str, err: &io::Error, waited: Duration) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            io::ErrorKind::TimedOut => ConnectFailure::TimedOut(waited),
            io::ErrorKind::HostUnreachable => ConnectFailure::HostUnreachable,
            io::ErrorKind::NetworkUnreachable => ConnectFailure::NetworkUnreachable,
            io::ErrorKind::AddrNotAvailable => ConnectFailure::AddressNotAvailable,
            io::ErrorKind::PermissionDenied => ConnectFailure::PermissionDenied,
            _ => ConnectFailure::Other { operation, message: err.to_string() },
        }
    }
}

/// Connects once to `remote` and closes the connection again as `opts.close` says.
pub async fn connect(remote: SocketAddr, opts: &ConnectOptions) -> ConnectOutcome {
    let failed = |local, elapsed, failure| ConnectOutcome {
        remote,
        local,
        elapsed,
        result: Err(failure),
        kernel_rtt: None,
        reset_by_peer: false,
    };
    if crate::classify::classify(remote.ip()).is_unusable_destination() {
        return failed(None, Duration::ZERO, ConnectFailure::UnusableAddress(remote.ip()));
    }
    let socket = match prepare_socket(remote, opts) {
        Ok(socket) => socket,
        Err((operation, err)) => {
            return failed(None, Duration::ZERO, ConnectFailure::from_io(operation, &err, Duration::ZERO));
        }
    };

    // The connect is issued by hand rather than through tokio's TcpSocket so that the local
    // port is known even when the attempt times out: it names the flow in a capture or an
    // SNAT table.
    let start = Instant::now();
    let started = socket.connect(&remote.into());
    if let Err(err) = started
        && !connect_in_progress(&err)
    {
        let elapsed = start.elapsed();
        let local = local_addr(&socket);
        return failed(local, elapsed, ConnectFailure::from_io("connect", &err, elapsed));
    }
    let local = local_addr(&socket);
    // Over loopback the refusal has usually landed by the time connect(2) returns: SO_ERROR
    // settles it without registering the socket with the reactor and waiting for a wake-up.
    if let Ok(Some(err)) = socket.take_error()
        && err.kind() != io::ErrorKind::ConnectionReset
    {
        let elapsed = start.elapsed();
        let failure = ConnectFailure::from_io("connect", &err, elapsed).os_gave_up_before(opts.timeout);
        return failed(local, elapsed, failure);
    }
    let stream = match tokio::net::TcpStream::from_std(socket.into()) {
        Ok(stream) => stream,
        Err(err) => {
            return failed(
                local,
                start.elapsed(),
                ConnectFailure::from_io("register socket", &err, Duration::ZERO),
            );
        }
    };
    let ready = tokio::time::timeout(opts.timeout, stream.writable()).await;
    let elapsed = start.elapsed();
    let (result, mut reset_by_peer) = match ready {
        Err(_) => (Err(ConnectFailure::TimedOut(opts.timeout)), false),
        Ok(Err(err)) => (Err(ConnectFailure::from_io("connect", &err, elapsed)), false),
        // Writable means the handshake finished, one way or the other: SO_ERROR tells which.
        Ok(Ok(())) => settle_handshake(stream.take_error(), || stream.peer_addr(), elapsed),
    };
    let result = result.map_err(|failure| failure.os_gave_up_before(opts.timeout));
    if result.is_ok() && !reset_by_peer {
        reset_by_peer = reset_already(&stream);
    }
    let kernel_rtt = if result.is_ok() { kernel_rtt(&stream) } else { None };
    tracing::debug!(%remote, ?local, ?elapsed, ?kernel_rtt, ?result, reset_by_peer, "connect attempt");
    // Dropping the stream closes it; with SO_LINGER 0 that close is an RST, and a still-pending
    // handshake is simply abandoned. Set here, not at creation: a connect refused at once (the
    // fast path above) leaves nothing to close, and a list of many saves a syscall each.
    if opts.close == CloseMode::Reset
        && let Err(err) = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))
    {
        tracing::debug!("cannot set SO_LINGER, the close will be graceful: {err}");
    }
    drop(stream);
    ConnectOutcome { remote, local, elapsed, result, kernel_rtt, reset_by_peer }
}

/// What a finished handshake came to, from `SO_ERROR` and then the peer's address. A reset
/// after the handshake (ECONNRESET; or ENOTCONN from getpeername when the RST landed between
/// the two calls) means the peer accepted and then reset: connected, never a local error. A
/// refused handshake is ECONNREFUSED, never ECONNRESET.
fn settle_handshake(
    so_error: io::Result<Option<io::Error>>,
    peer: impl FnOnce() -> io::Result<SocketAddr>,
    elapsed: Duration,
) -> (Result<(), ConnectFailure>, bool) {
    match so_error {
        Ok(Some(err)) | Err(err) if err.kind() == io::ErrorKind::ConnectionReset => (Ok(()), true),
        Ok(Some(err)) | Err(err) => (Err(ConnectFailure::from_io("connect", &err, elapsed)), false),
        Ok(None) => match peer() {
            Ok(_) => (Ok(()), false),
            Err(err)
                if matches!(err.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::NotConnected) =>
            {
                (Ok(()), true)
            }
            Err(err) => (Err(ConnectFailure::from_io("connect", &err, elapsed)), false),
        },
    }
}

/// True when the peer's RST has already arrived on a connected socket: a non-blocking peek
/// reports it without waiting and without consuming data.
fn reset_already(stream: &tokio::net::TcpStream) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(
        socket2::SockRef::from(stream).peek(&mut byte),
        Err(err) if err.kind() == io::ErrorKind::ConnectionReset
    )
}

#[cfg(target_os = "linux")]
fn kernel_rtt(stream: &tokio::net::TcpStream) -> Option<Duration> {
    use std::os::fd::AsRawFd;
    tcp_info::rtt(stream.as_raw_fd())
}

#[cfg(not(target_os = "linux"))]
fn kernel_rtt(_stream: &tokio::net::TcpStream) -> Option<Duration> {
    None
}

/// The one piece of `unsafe` in the project: neither socket2 nor std exposes `TCP_INFO`, and
/// the crates that do generate bindings at build time. Kept to a single getsockopt call on a
/// plain-old-data struct the kernel fills and truncates to the length we pass.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod tcp_info {
    use std::os::fd::RawFd;
    use std::time::Duration;

    pub(super) fn rtt(fd: RawFd) -> Option<Duration> {
        // SAFETY: `tcp_info` is a C struct of integers, for which all-zero bytes are valid.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `fd` is an open socket owned by the caller for the duration of the call; the
        // pointer and length describe `info`, which outlives the call, and the kernel writes at
        // most `len` bytes.
        let rc = unsafe {
            libc::getsockopt(fd, libc::SOL_TCP, libc::TCP_INFO, (&raw mut info).cast(), &raw mut len)
        };
        // tcpi_rtt is in microseconds; zero means the kernel has no sample yet.
        (rc == 0 && info.tcpi_rtt > 0).then(|| Duration::from_micros(u64::from(info.tcpi_rtt)))
    }
}

fn local_addr(socket: &Socket) -> Option<SocketAddr> {
    socket.local_addr().ok().and_then(|a| a.as_socket()).filter(|a| a.port() != 0)
}

/// A non-blocking connect reports "in progress" (EINPROGRESS on Unix, WSAEWOULDBLOCK on
/// Windows) when the handshake has merely started.
fn connect_in_progress(err: &io::Error) -> bool {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    err.kind() == io::ErrorKind::WouldBlock
}

/// Creates the socket with every option applied, bound if asked, ready for a non-blocking
/// connect. Errors carry the step that failed.
fn prepare_socket(remote: SocketAddr, opts: &ConnectOptions) -> Result<Socket, (&'static str, io::Error)> {
    let socket = Socket::new(Domain::for_address(remote), stream_type(), Some(Protocol::TCP))
        .map_err(|e| ("create socket", e))?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    socket.set_nonblocking(true).map_err(|e| ("set non-blocking", e))?;
    // No TCP_NODELAY: a probe never sends data, so Nagle cannot delay anything, and the
    // setsockopt would cost a syscall per connect on lists of many targets.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(err) = socket.set_tcp_user_timeout(Some(kernel_user_timeout(opts.timeout))) {
        // Not fatal: should the kernel then give up first, the failure says so.
        tracing::debug!("cannot set TCP_USER_TIMEOUT: {err}");
    }
    if let Some(interface) = &opts.interface {
        bind_interface(&socket, interface)?;
    }
    if let Some(source) = opts.source {
        if source.port() != 0 {
            // A fixed source port is reused from one attempt to the next; RST closes leave no
            // TIME_WAIT, and SO_REUSEADDR covers the graceful case.
            socket.set_reuse_address(true).map_err(|e| ("set SO_REUSEADDR", e))?;
        }
        socket.bind(&source.into()).map_err(|e| ("bind source address", e))?;
    }
    Ok(socket)
}

/// On Linux the socket is created non-blocking (and close-on-exec, as socket2 always does
/// there) in the one `socket(2)` call: a list of many targets saves a syscall per connect.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn stream_type() -> Type {
    Type::STREAM.nonblocking()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn stream_type() -> Type {
    Type::STREAM
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_interface(socket: &Socket, interface: &str) -> Result<(), (&'static str, io::Error)> {
    socket.bind_device(Some(interface.as_bytes())).map_err(|e| ("bind to interface", e))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_interface(_socket: &Socket, interface: &str) -> Result<(), (&'static str, io::Error)> {
    Err((
        "bind to interface",
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("binding to interface '{interface}' is only supported on Linux; use --source instead"),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_classes() {
        let waited = Duration::from_secs(3);
        let cases = [
            (io::ErrorKind::ConnectionRefused, FailureClass::Refused),
            (io::ErrorKind::TimedOut, FailureClass::TimedOut),
            (io::ErrorKind::HostUnreachable, FailureClass::HostUnreachable),
            (io::ErrorKind::NetworkUnreachable, FailureClass::NetworkUnreachable),
            (io::ErrorKind::AddrNotAvailable, FailureClass::AddressNotAvailable),
            (io::ErrorKind::PermissionDenied, FailureClass::PermissionDenied),
            (io::ErrorKind::InvalidInput, FailureClass::LocalError),
            (io::ErrorKind::Unsupported, FailureClass::LocalError),
        ];
        for (kind, class) in cases {
            let failure = ConnectFailure::from_io("connect", &io::Error::from(kind), waited);
            assert_eq!(failure.kind(), class, "{kind:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn raw_errnos_map_to_classes() {
        let cases = [
            (libc::ECONNREFUSED, "refused"),
            (libc::ETIMEDOUT, "timed_out"),
            (libc::EHOSTUNREACH, "host_unreachable"),
            (libc::ENETUNREACH, "network_unreachable"),
            (libc::EADDRNOTAVAIL, "address_not_available"),
            (libc::EACCES, "permission_denied"),
            (libc::EPERM, "permission_denied"),
            (libc::EINVAL, "local_error"),
        ];
        for (errno, id) in cases {
            let failure =
                ConnectFailure::from_io("connect", &io::Error::from_raw_os_error(errno), Duration::ZERO);
            assert_eq!(failure.class(), id, "errno {errno}");
        }
    }

    // Winsock's codes, as Windows reports a failed connect (WSAE* values from winerror.h).
    #[cfg(windows)]
    #[test]
    fn raw_winsock_errors_map_to_classes() {
        let cases = [
            (10061, "refused"),               // WSAECONNREFUSED
            (10060, "timed_out"),             // WSAETIMEDOUT
            (10065, "host_unreachable"),      // WSAEHOSTUNREACH
            (10051, "network_unreachable"),   // WSAENETUNREACH
            (10049, "address_not_available"), // WSAEADDRNOTAVAIL
            (10013, "permission_denied"),     // WSAEACCES
            (10022, "local_error"),           // WSAEINVAL
        ];
        for (code, id) in cases {
            let failure =
                ConnectFailure::from_io("connect", &io::Error::from_raw_os_error(code), Duration::ZERO);
            assert_eq!(failure.class(), id, "winsock error {code}");
        }
    }

    #[test]
    fn ids_are_unique_snake_case_and_hinted() {
        let mut seen = std::collections::HashSet::new();
        for class in FailureClass::ALL {
            assert!(seen.insert(class.id()), "duplicate id {}", class.id());
            assert!(class.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", class.id());
            assert!(!class.hint().is_empty());
        }
    }

    #[test]
    fn timeout_message_names_the_wait() {
        assert_eq!(
            ConnectFailure::TimedOut(Duration::from_secs(21)).to_string(),
            "connection timed out after 21 s"
        );
        assert_eq!(
            ConnectFailure::TimedOut(Duration::from_nanos(3_054_173_000)).to_string(),
            "connection timed out after 3.05 s"
        );
        let early = ConnectFailure::TimedOut(Duration::from_nanos(3_054_173_000))
            .os_gave_up_before(Duration::from_secs(10));
        assert_eq!(
            early.to_string(),
            "connection timed out after 3.05 s: the operating system gave up before the 10 s timeout asked for"
        );
        assert_eq!(early.kind(), FailureClass::TimedOut);
        // Our own timer firing is not the OS giving up.
        let ours =
            ConnectFailure::TimedOut(Duration::from_secs(10)).os_gave_up_before(Duration::from_secs(10));
        assert_eq!(ours, ConnectFailure::TimedOut(Duration::from_secs(10)));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn each_socket_outlasts_the_timeout_asked_for() {
        for (asked, want) in [
            (Duration::from_millis(500), Duration::from_millis(1500)),
            (Duration::from_secs(21), Duration::from_secs(22)),
            (Duration::from_secs(300), Duration::from_secs(301)),
        ] {
            let opts = ConnectOptions { timeout: asked, ..ConnectOptions::default() };
            let socket = prepare_socket("127.0.0.1:1".parse().unwrap(), &opts).unwrap();
            assert_eq!(socket.tcp_user_timeout().unwrap(), Some(want), "{asked:?}");
        }
        assert_eq!(kernel_user_timeout(Duration::MAX), Duration::from_millis(u64::from(u32::MAX)));
    }

    #[test]
    fn applied_timeout_is_clamped_only_where_the_os_cannot_be_raised() {
        let long = Duration::from_secs(300);
        let applied = applied_connect_timeout(long);
        if cfg!(windows) {
            assert_eq!(applied.timeout, WINDOWS_CONNECT_TIMEOUT);
            assert!(applied.warning.unwrap().contains("using 21 s"));
        } else {
            assert_eq!(applied, AppliedTimeout { timeout: long, warning: None });
        }
        assert_eq!(applied_connect_timeout(Duration::from_secs(2)).timeout, Duration::from_secs(2));
    }

    #[tokio::test]
    async fn loopback_connect_reports_both_ends() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let remote = listener.local_addr().unwrap();
        let outcome = connect(remote, &ConnectOptions::default()).await;
        assert_eq!(outcome.result, Ok(()));
        let local = outcome.local.expect("local address");
        assert!(local.ip().is_loopback() && local.port() != 0, "{local}");
    }

    #[tokio::test]
    async fn unspecified_multicast_and_broadcast_are_never_connected_to() {
        // 0.0.0.0 would reach this very listener: a success that proves nothing.
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for (ip, article) in [
            ("0.0.0.0", "an unspecified"),
            ("224.0.0.1", "a multicast"),
            ("255.255.255.255", "a broadcast"),
            ("ff02::1", "a multicast"),
        ] {
            let remote = SocketAddr::new(ip.parse().unwrap(), port);
            let outcome = connect(remote, &ConnectOptions::default()).await;
            let failure = outcome.result.unwrap_err();
            assert_eq!(failure.kind(), FailureClass::UnusableAddress, "{ip}");
            assert_eq!(failure.to_string(), format!("{ip} is {article} address: not attempted"));
            assert_eq!(outcome.local, None);
        }
    }

    #[test]
    fn reset_after_the_handshake_is_connected_then_reset() {
        let peer = || Ok::<SocketAddr, io::Error>("127.0.0.1:1".parse().unwrap());
        let reset = || io::Error::from(io::ErrorKind::ConnectionReset);
        let t = Duration::from_millis(1);
        assert_eq!(settle_handshake(Ok(None), peer, t), (Ok(()), false));
        assert_eq!(settle_handshake(Ok(Some(reset())), peer, t), (Ok(()), true));
        assert_eq!(settle_handshake(Err(reset()), peer, t), (Ok(()), true));
        let not_connected = || Err(io::Error::from(io::ErrorKind::NotConnected));
        assert_eq!(settle_handshake(Ok(None), not_connected, t), (Ok(()), true));
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(settle_handshake(Ok(Some(refused)), peer, t), (Err(ConnectFailure::Refused), false));
        let other = io::Error::from(io::ErrorKind::InvalidInput);
        assert_eq!(
            settle_handshake(Ok(Some(other)), peer, t).0.unwrap_err().kind(),
            FailureClass::LocalError
        );
    }

    /// A listener that accepts and resets at once (SO_LINGER 0, then close), many times over:
    /// the reset lands before or after we look, and either way the attempt connected.
    #[tokio::test]
    async fn peer_that_accepts_and_resets_is_connected_then_reset() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let remote = listener.local_addr().unwrap();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                drop(stream);
            }
        });
        let mut resets = 0;
        for attempt in 1..=500 {
            let outcome = connect(remote, &ConnectOptions::default()).await;
            assert_eq!(outcome.result, Ok(()), "attempt {attempt}: {outcome:?}");
            resets += usize::from(outcome.reset_by_peer);
            if attempt >= 30 && resets > 0 {
                break;
            }
        }
        assert!(resets > 0, "no reset was ever seen in 500 attempts");
    }

    #[tokio::test]
    async fn unavailable_source_address_is_classified() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // 192.0.2.1 (TEST-NET-1) is on no interface here; bind fails before any packet leaves.
        let opts =
            ConnectOptions { source: Some("192.0.2.1:0".parse().unwrap()), ..ConnectOptions::default() };
        let outcome = connect(listener.local_addr().unwrap(), &opts).await;
        assert_eq!(outcome.result.unwrap_err().kind(), FailureClass::AddressNotAvailable);
    }
}
