//! DNS servers for tests, all on loopback (or inside a test's own namespace), torn down on drop:
//!
//! - [`ZoneServer`]: hickory-server serving the test zone (the [`names`] below) over UDP and TCP on
//!   127.0.0.1 and ::1.
//! - [`FaultServer`]: a server that misbehaves in one chosen way (silent, SERVFAIL, REFUSED,
//!   truncated UDP with the answer over TCP, garbage bytes, wrong message id).
//! - [`ChangingServer`]: a server whose A answer changes from one query to the next.
//! - [`Dnsmasq`]: a real DNS daemon with the same records, never forwarding upstream.
//!
//! Every record is data: the addresses are never contacted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

use super::netns::Netns;

/// Names and addresses of the test zone, shared by every fixture here.
pub mod names {
    /// A and AAAA, no alias.
    pub const WWW: &str = "www.netdiag.test";
    pub const WWW_V4: &str = "10.0.0.5";
    pub const WWW_V6: &str = "fd00::5";
    /// alias -> mid -> www.
    pub const ALIAS: &str = "alias.netdiag.test";
    pub const MID: &str = "mid.netdiag.test";
    /// Only an A record.
    pub const V4ONLY: &str = "v4only.netdiag.test";
    pub const V4ONLY_V4: &str = "10.0.0.6";
    /// A and AAAA on loopback, so a probe can connect to what it resolved.
    pub const LOOPBACK: &str = "loopback.netdiag.test";
    pub const LOOPBACK_V4: &str = "127.0.0.1";
    pub const LOOPBACK_V6: &str = "::1";
    /// Only an AAAA record, on loopback.
    pub const V6ONLY: &str = "v6only.netdiag.test";
    /// Exists (has a TXT record) but has no address.
    pub const NOADDR: &str = "noaddr.netdiag.test";
    /// Does not exist.
    pub const MISSING: &str = "missing.netdiag.test";
    /// Private endpoint whose private DNS zone is linked: ends at a private address.
    pub const LINKED: &str = "linked.blob.core.windows.net";
    pub const LINKED_PL: &str = "linked.privatelink.blob.core.windows.net";
    pub const LINKED_V4: &str = "10.1.2.3";
    /// Private endpoint whose zone is not linked: ends at a public (documentation) address.
    pub const UNLINKED: &str = "unlinked.blob.core.windows.net";
    pub const UNLINKED_PL: &str = "unlinked.privatelink.blob.core.windows.net";
    pub const UNLINKED_PUBLIC: &str = "unlinked.public.core.windows.net";
    pub const UNLINKED_V4: &str = "203.0.113.7";
    /// The address the fault servers put in their (TCP) answers.
    pub const FAULT_V4: &str = "10.0.0.9";
}

use names::*;

fn name(text: &str) -> Name {
    Name::from_str(&format!("{text}.")).expect("test name")
}

fn record(owner: &str, data: RData) -> Record {
    Record::from_rdata(name(owner), 300, data)
}

/// The test zones as records, grouped by zone origin.
fn zones() -> Vec<(&'static str, Vec<Record>)> {
    let soa = |origin: &str| {
        record(
            origin,
            RData::SOA(SOA::new(
                name(&format!("ns.{origin}")),
                name(&format!("admin.{origin}")),
                1,
                3600,
                600,
                86400,
                60,
            )),
        )
    };
    let v4 = |s: &str| Ipv4Addr::from_str(s).expect("v4");
    let v6 = |s: &str| Ipv6Addr::from_str(s).expect("v6");
    vec![
        (
            "netdiag.test",
            vec![
                soa("netdiag.test"),
                record("netdiag.test", RData::NS(NS(name("ns.netdiag.test")))),
                record("netdiag.test", RData::MX(MX::new(10, name("mail.netdiag.test")))),
                record("netdiag.test", RData::TXT(TXT::new(vec!["netdiag test zone".into()]))),
                record(WWW, RData::A(A(v4(WWW_V4)))),
                record(WWW, RData::AAAA(AAAA(v6(WWW_V6)))),
                record(ALIAS, RData::CNAME(CNAME(name(MID)))),
                record(MID, RData::CNAME(CNAME(name(WWW)))),
                record(V4ONLY, RData::A(A(v4(V4ONLY_V4)))),
                record(LOOPBACK, RData::A(A(v4(LOOPBACK_V4)))),
                record(LOOPBACK, RData::AAAA(AAAA(v6(LOOPBACK_V6)))),
                record(V6ONLY, RData::AAAA(AAAA(v6(LOOPBACK_V6)))),
                record(NOADDR, RData::TXT(TXT::new(vec!["no address here".into()]))),
            ],
        ),
        (
            "core.windows.net",
            vec![
                soa("core.windows.net"),
                record(LINKED, RData::CNAME(CNAME(name(LINKED_PL)))),
                record(LINKED_PL, RData::A(A(v4(LINKED_V4)))),
                record(UNLINKED, RData::CNAME(CNAME(name(UNLINKED_PL)))),
                record(UNLINKED_PL, RData::CNAME(CNAME(name(UNLINKED_PUBLIC)))),
                record(UNLINKED_PUBLIC, RData::A(A(v4(UNLINKED_V4)))),
            ],
        ),
        (
            "0.0.10.in-addr.arpa",
            vec![soa("0.0.10.in-addr.arpa"), record("5.0.0.10.in-addr.arpa", RData::PTR(PTR(name(WWW))))],
        ),
    ]
}

/// Binds UDP and TCP on the same free port of `ip`.
fn bind_pair(ip: IpAddr) -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind((ip, 0)).expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        if let Ok(tcp) = TcpListener::bind((ip, port)) {
            udp.set_nonblocking(true).expect("nonblocking");
            tcp.set_nonblocking(true).expect("nonblocking");
            return (udp, tcp);
        }
    }
    panic!("no free port pair on {ip}");
}

/// A background thread running a current-thread runtime until the guard drops.
struct Background {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    fn spawn<F, Fut>(work: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                tokio::select! {
                    () = work() => {}
                    _ = stopped => {}
                }
            });
        });
        Self { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// hickory-server serving the test zones over UDP and TCP, on 127.0.0.1 and ::1.
pub struct ZoneServer {
    /// UDP and TCP share this port.
    pub addr: SocketAddr,
    pub addr_v6: SocketAddr,
    _background: Background,
}

impl ZoneServer {
    pub fn start() -> Self {
        let (udp4, tcp4) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let (udp6, tcp6) = bind_pair(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let addr = udp4.local_addr().expect("addr");
        let addr_v6 = udp6.local_addr().expect("addr");
        let background = Background::spawn(move || async move {
            let mut catalog = Catalog::new();
            for (origin, records) in zones() {
                let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
                    name(origin),
                    ZoneType::Primary,
                    AxfrPolicy::Deny,
                );
                for record in records {
                    assert!(handler.upsert_mut(record, 1), "zone {origin} rejected a record");
                }
                catalog.upsert(LowerName::new(&name(origin)), vec![Arc::new(handler)]);
            }
            let mut server = Server::new(catalog);
            server.register_socket(tokio::net::UdpSocket::from_std(udp4).expect("udp"));
            server.register_socket(tokio::net::UdpSocket::from_std(udp6).expect("udp"));
            server.register_listener(
                tokio::net::TcpListener::from_std(tcp4).expect("tcp"),
                Duration::from_secs(5),
                65_535,
            );
            server.register_listener(
                tokio::net::TcpListener::from_std(tcp6).expect("tcp"),
                Duration::from_secs(5),
                65_535,
            );
            // Serve until the guard drops; dropping the server aborts its tasks.
            std::future::pending::<()>().await;
            drop(server);
        });
        Self { addr, addr_v6, _background: background }
    }
}

/// How a [`FaultServer`] misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reads queries and never answers: a dead server that costs the whole timeout.
    Silent,
    ServFail,
    Refused,
    /// UDP replies carry the TC bit and no records; TCP gives the full answer ([`names::FAULT_V4`]).
    Truncated,
    /// Replies with our id followed by bytes that are not DNS.
    Garbage,
    /// Replies with a full answer under the wrong message id: must be ignored.
    WrongId,
    /// UDP: truncated; TCP: an endless stream of zero-length frames.
    ZeroLengthFrames,
    /// UDP: truncated; TCP: the answer one byte every 100 ms.
    Trickle,
    /// UDP: an endless flood of replies with wrong ids.
    WrongIdFlood,
    /// Answers A for another name than the one asked.
    OtherName,
    /// UDP: truncated; TCP: an answer with 2,000 loopback A records (127.1.x.y; as many as fit in
    /// one TCP message), so that a probe of them stays on this machine.
    Huge,
    /// Answers A, never answers AAAA (a middlebox that drops AAAA queries).
    DropAaaa,
    /// Answers A, SERVFAIL for AAAA (a validating resolver with one bogus RRset).
    ServFailAaaa,
    /// UDP: truncated; TCP: one answer holding an endless-looking chain of [`CHAINED_CNAMES`]
    /// CNAMEs (the asked name -> c1.endless.test. -> c2... ) and never an address.
    CnameFlood,
    /// Every query is answered with one CNAME to a name never seen before: a resolver that
    /// followed aliases by asking again would never stop.
    FreshCname,
    /// One CNAME per query, and the targets loop across queries: any name -> loop-a.test.,
    /// loop-a.test. -> loop-b.test., loop-b.test. -> loop-a.test.
    CnameLoopAcrossQueries,
}

/// How many chained CNAMEs [`Fault::CnameFlood`] puts in one TCP answer (about 20 bytes each
/// once names are compressed, so they fit in one 64 KiB message).
pub const CHAINED_CNAMES: u32 = 3000;

/// The fresh names [`Fault::FreshCname`] hands out, shared by every server in the test process.
static FRESH_NAMES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A DNS server on 127.0.0.1 (UDP and TCP on one port) that misbehaves as told.
pub struct FaultServer {
    pub addr: SocketAddr,
    _background: Background,
}

fn fault_reply(fault: Fault, query: &Message, over_tcp: bool) -> Option<Vec<u8>> {
    let id = query.metadata.id;
    let mut reply = Message::new(id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    for q in &query.queries {
        reply.add_query(q.clone());
    }
    let full = |reply: &mut Message| {
        for q in &query.queries {
            if q.query_type() == RecordType::A {
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::A(A(FAULT_V4.parse().expect("v4"))),
                ));
            }
        }
    };
    let is_aaaa = query.queries.iter().any(|q| q.query_type() == RecordType::AAAA);
    match fault {
        Fault::DropAaaa if is_aaaa => return None,
        Fault::ServFailAaaa if is_aaaa => reply.metadata.response_code = ResponseCode::ServFail,
        Fault::DropAaaa | Fault::ServFailAaaa => full(&mut reply),
        Fault::OtherName => {
            // Our id, but the question and answer of another name: not our reply.
            let other = Name::from_str("someone.else.test.").expect("name");
            reply.queries.clear();
            reply.add_query(hickory_proto::op::Query::query(other.clone(), RecordType::A));
            reply.add_answer(Record::from_rdata(other, 60, RData::A(A(FAULT_V4.parse().expect("v4")))));
        }
        Fault::CnameFlood if !over_tcp => reply.metadata.truncation = true,
        Fault::CnameFlood => {
            for q in &query.queries {
                let mut owner = q.name().clone();
                for i in 1..=CHAINED_CNAMES {
                    let target = name(&format!("c{i}.endless.test"));
                    reply.add_answer(Record::from_rdata(owner, 60, RData::CNAME(CNAME(target.clone()))));
                    owner = target;
                }
            }
        }
        Fault::FreshCname | Fault::CnameLoopAcrossQueries => {
            for q in &query.queries {
                let target = if fault == Fault::FreshCname {
                    let n = FRESH_NAMES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    name(&format!("fresh{n}.endless.test"))
                } else if q.name() == &name("loop-a.test") {
                    name("loop-b.test")
                } else {
                    name("loop-a.test")
                };
                reply.add_answer(Record::from_rdata(q.name().clone(), 60, RData::CNAME(CNAME(target))));
            }
        }
        Fault::ZeroLengthFrames | Fault::Trickle | Fault::Huge if !over_tcp => {
            reply.metadata.truncation = true
        }
        Fault::Huge => {
            for q in &query.queries {
                for i in 0..2000u32 {
                    let ip = std::net::Ipv4Addr::from(0x7f01_0000 + i);
                    reply.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A(ip))));
                }
            }
        }
        Fault::ZeroLengthFrames | Fault::Trickle => full(&mut reply),
        Fault::WrongIdFlood => {
            reply.metadata.id = id.wrapping_add(1);
            full(&mut reply);
        }
        Fault::Silent => return None,
        Fault::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
        Fault::Refused => reply.metadata.response_code = ResponseCode::Refused,
        Fault::Truncated if !over_tcp => reply.metadata.truncation = true,
        Fault::Truncated => full(&mut reply),
        Fault::Garbage => {
            let [hi, lo] = id.to_be_bytes();
            // A header claiming 65535 questions, then nothing: cannot decode.
            return Some(vec![
                hi, lo, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef,
            ]);
        }
        Fault::WrongId => {
            reply.metadata.id = id.wrapping_add(1);
            full(&mut reply);
        }
    }
    Some(reply.to_vec().expect("encode reply"))
}

impl FaultServer {
    pub fn start(fault: Fault) -> Self {
        let (udp, tcp) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let addr = udp.local_addr().expect("addr");
        let background = Background::spawn(move || async move {
            let udp = tokio::net::UdpSocket::from_std(udp).expect("udp");
            let tcp = tokio::net::TcpListener::from_std(tcp).expect("tcp");
            let udp_task = async {
                let mut buf = vec![0u8; 65_535];
                loop {
                    let Ok((n, peer)) = udp.recv_from(&mut buf).await else { continue };
                    let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                    if let Some(bytes) = fault_reply(fault, &query, false) {
                        if fault == Fault::WrongIdFlood {
                            // Bounded: a few seconds of flood at most, then it stops by itself.
                            let until = Instant::now() + Duration::from_secs(5);
                            while Instant::now() < until {
                                if udp.send_to(&bytes, peer).await.is_err() {
                                    break;
                                }
                            }
                            continue;
                        }
                        let _ = udp.send_to(&bytes, peer).await;
                    }
                }
            };
            let tcp_task = async {
                loop {
                    let Ok((stream, _)) = tcp.accept().await else { continue };
                    tokio::spawn(serve_tcp(stream, fault));
                }
            };
            tokio::join!(udp_task, tcp_task);
        });
        Self { addr, _background: background }
    }
}

async fn serve_tcp(mut stream: tokio::net::TcpStream, fault: Fault) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(query) = Message::from_vec(&body) else { return };
        let Some(bytes) = fault_reply(fault, &query, true) else { continue };
        let mut framed = u16::try_from(bytes.len()).expect("short reply").to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        match fault {
            Fault::ZeroLengthFrames => {
                // Bounded: at most 10 s of zero-length frames.
                let until = Instant::now() + Duration::from_secs(10);
                while Instant::now() < until {
                    if stream.write_all(&[0, 0]).await.is_err() {
                        return;
                    }
                }
                return;
            }
            Fault::Trickle => {
                for byte in framed {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if stream.write_all(&[byte]).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            _ => {}
        }
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// A UDP server on 127.0.0.1 whose A answers walk through `addresses`, one per A query (the
/// last one repeats): DNS changing its answer between two probes. Other types get NOERROR
/// without data.
pub struct ChangingServer {
    pub addr: SocketAddr,
    _background: Background,
}

impl ChangingServer {
    pub fn start(addresses: &[Ipv4Addr]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        let addr = socket.local_addr().expect("addr");
        let addresses = addresses.to_vec();
        let background = Background::spawn(move || async move {
            let udp = tokio::net::UdpSocket::from_std(socket).expect("udp");
            let mut buf = vec![0u8; 65_535];
            let mut answered = 0usize;
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else { continue };
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                reply.metadata.recursion_desired = query.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                for q in &query.queries {
                    reply.add_query(q.clone());
                    if q.query_type() == RecordType::A {
                        let ip = addresses[answered.min(addresses.len() - 1)];
                        answered += 1;
                        reply.add_answer(Record::from_rdata(q.name().clone(), 0, RData::A(A(ip))));
                    }
                }
                let _ = udp.send_to(&reply.to_vec().expect("encode reply"), peer).await;
            }
        });
        Self { addr, _background: background }
    }
}

/// A UDP port on 127.0.0.1 where nothing listens: queries get ICMP port unreachable.
pub fn closed_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr")
}

/// dnsmasq's arguments for the test zone: authoritative for its domains (NXDOMAIN for missing
/// names), never forwarding anywhere.
pub fn dnsmasq_records() -> Vec<String> {
    [
        "--local=/netdiag.test/".to_owned(),
        "--local=/windows.net/".to_owned(),
        format!("--host-record={WWW},{WWW_V4},{WWW_V6}"),
        format!("--cname={ALIAS},{MID}"),
        format!("--cname={MID},{WWW}"),
        format!("--host-record={V4ONLY},{V4ONLY_V4}"),
        format!("--host-record={LOOPBACK},{LOOPBACK_V4},{LOOPBACK_V6}"),
        format!("--host-record={V6ONLY},{LOOPBACK_V6}"),
        format!("--txt-record={NOADDR},no address here"),
        format!("--host-record={LINKED_PL},{LINKED_V4}"),
        format!("--cname={LINKED},{LINKED_PL}"),
        format!("--host-record={UNLINKED_PUBLIC},{UNLINKED_V4}"),
        format!("--cname={UNLINKED_PL},{UNLINKED_PUBLIC}"),
        format!("--cname={UNLINKED},{UNLINKED_PL}"),
        "--mx-host=netdiag.test,mail.netdiag.test,10".to_owned(),
    ]
    .to_vec()
}

pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A dnsmasq process, killed on drop.
pub struct Dnsmasq {
    pub addr: SocketAddr,
    _child: super::netns::Child,
}

fn dnsmasq_args(listen: IpAddr, port: u16, records: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--no-daemon",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--conf-file=/dev/null",
        "--pid-file=",
        "--bind-interfaces",
        "--user=root",
        "--log-facility=/dev/null",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--listen-address={listen}"));
    args.push(format!("--port={port}"));
    args.extend(records.iter().cloned());
    args
}

impl Dnsmasq {
    /// dnsmasq on a free port of 127.0.0.1 with `records` (usually [`dnsmasq_records`]).
    pub fn start(records: &[String]) -> Self {
        let (udp, tcp) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let addr = udp.local_addr().expect("addr");
        drop((udp, tcp));
        let child = Command::new(DNSMASQ)
            .args(dnsmasq_args(addr.ip(), addr.port(), records))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DNSMASQ} (tests/ci.sh installs dnsmasq-base): {e}"));
        let child = super::netns::Child(child);
        wait_until(|| std::net::TcpStream::connect(addr).is_ok(), "dnsmasq to listen");
        Self { addr, _child: child }
    }

    /// dnsmasq inside `ns` on `ip`:53 (a loopback address of the namespace, e.g. 127.0.0.1),
    /// so the namespace's resolv.conf or WEBSITE_DNS_SERVER can name it.
    pub fn start_in(ns: &Netns, ip: &str, records: &[String]) -> Self {
        let addr = SocketAddr::new(ip.parse().expect("listen address"), 53);
        let args = dnsmasq_args(addr.ip(), 53, records);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = ns
            .command(DNSMASQ)
            .args(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DNSMASQ} in {}: {e}", ns.name));
        let child = super::netns::Child(child);
        wait_until(
            || {
                ns.command("ss")
                    .args(["-ltnH", "sport = :53"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{ip}:53")))
                    .unwrap_or(false)
            },
            "dnsmasq to listen in the namespace",
        );
        Self { addr, _child: child }
    }
}

fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
