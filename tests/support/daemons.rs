//! Real DNS daemons from Debian's packages, on 127.0.0.1 high ports, with configs and zones
//! written into a temporary directory: BIND and Knot (authoritative only) and Unbound
//! forwarding only to it (no root hints are ever used: everything is forwarded to loopback;
//! Unbound's built-in answers for `test.` and private reverse zones are turned off so that
//! our zones are asked).
//! Each is killed when its guard drops. A missing daemon fails the test: CI installs them.

use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::Child;

pub const NAMED: &str = "/usr/sbin/named";
pub const UNBOUND: &str = "/usr/sbin/unbound";
pub const KDIG: &str = "/usr/bin/kdig";

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("netdiag-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port free for both UDP and TCP on 127.0.0.1, above 1024.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if port > 1024 && std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

fn require(path: &str, package: &str) {
    assert!(Path::new(path).exists(), "{path} is missing: install {package} (tests/ci.sh does)");
}

/// Waits until the SOA of `zone` is served over UDP with NOERROR (the zone is loaded: Knot, for
/// one, answers before its zones are), and TCP accepts when `tcp`.
fn wait_serving(addr: SocketAddr, what: &str, child: &mut Child, log: &Path, tcp: bool, zone: &str) {
    // A query with id 0x4e44, RD set, for `zone` SOA.
    let mut query = vec![0x4e, 0x44, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in zone.split('.').filter(|l| !l.is_empty()) {
        query.push(u8::try_from(label.len()).expect("label"));
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 6, 0, 1]);
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("{what} exited with {status}: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        let _ = socket.send_to(&query, addr);
        let mut buf = [0u8; 512];
        let answered = socket.recv_from(&mut buf).is_ok_and(|(n, _)| n > 3 && buf[3] & 0x0f == 0);
        if answered && (!tcp || TcpStream::connect(addr).is_ok()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not start serving: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A daemon we started, killed (and its directory removed) on drop.
pub struct Daemon {
    pub addr: SocketAddr,
    _child: Child,
    _dir: TempDir,
}

/// Writes `conf(dir, port)` into a fresh directory, starts `binary args... CONF`, and waits until
/// it serves `probe_zone` (over TCP too when `tcp`).
fn spawn(
    binary: &str,
    package: &str,
    args: &[&str],
    conf: impl FnOnce(&Path, u16) -> String,
    tcp: bool,
    probe_zone: &str,
) -> Daemon {
    require(binary, package);
    let name = Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or("daemon").to_owned();
    let dir = TempDir::new(&name);
    let port = free_port();
    let conf_path = dir.0.join(format!("{name}.conf"));
    std::fs::write(&conf_path, conf(&dir.0, port)).expect("config");
    let log = dir.0.join(format!("{name}.log"));
    let child = Command::new(binary)
        .args(args)
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let mut child = Child(child);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_serving(addr, &name, &mut child, &log, tcp, probe_zone);
    Daemon { addr, _child: child, _dir: dir }
}

/// Writes each zone's text to `<origin>zone` in `dir`; returns (origin, path) pairs.
fn write_zones<'a>(dir: &Path, zones: &[(&'a str, String)]) -> Vec<(&'a str, PathBuf)> {
    zones
        .iter()
        .map(|(origin, text)| {
            let file = dir.join(format!("{origin}zone"));
            std::fs::write(&file, text).expect("zone file");
            (*origin, file)
        })
        .collect()
}

fn first_zone<'a>(zones: &[(&'a str, String)]) -> &'a str {
    zones.first().map_or(".", |z| z.0)
}

/// BIND serving `zones` (origin, zone file text) authoritatively, never recursing.
pub struct Bind;

impl Bind {
    pub fn start(zones: &[(&str, String)]) -> Daemon {
        let conf = |dir: &Path, port: u16| {
            let d = dir.display();
            let mut conf = format!(
                "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
                 listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
                 dnssec-validation no;\n  notify no;\n  minimal-responses no;\n}};\ncontrols {{ }};\n"
            );
            for (origin, file) in write_zones(dir, zones) {
                conf.push_str(&format!(
                    "zone \"{origin}\" {{ type primary; file \"{}\"; }};\n",
                    file.display()
                ));
            }
            conf
        };
        spawn(NAMED, "bind9", &["-g", "-n", "1", "-c"], conf, true, first_zone(zones))
    }
}

pub const KNOTD: &str = "/usr/sbin/knotd";

/// Knot DNS serving `zones` (origin, zone file text) authoritatively.
pub struct Knot;

impl Knot {
    pub fn start(zones: &[(&str, String)]) -> Daemon {
        let conf = |dir: &Path, port: u16| {
            let d = dir.display();
            // Knot never rewrites its zone files during a test (zonefile-sync: -1).
            let mut conf = format!(
                "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  udp-workers: 1\n  \
                 tcp-workers: 1\n  background-workers: 1\n\
                 log:\n  - target: stderr\n    any: warning\n\
                 database:\n  storage: \"{d}\"\n\
                 template:\n  - id: default\n    storage: \"{d}\"\n    semantic-checks: off\n    \
                 zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
                 zone:\n"
            );
            for (origin, file) in write_zones(dir, zones) {
                conf.push_str(&format!("  - domain: \"{origin}\"\n    file: \"{}\"\n", file.display()));
            }
            conf
        };
        spawn(KNOTD, "knot", &["-c"], conf, true, first_zone(zones))
    }
}

/// How an [`Unbound`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnboundKind {
    /// Forward-only, iterator module, TCP on.
    Plain,
    /// As `Plain`, with TCP disabled (`do-tcp: no`).
    NoTcp,
    /// Validating (`validator iterator`) with this trust-anchor file (a DNSKEY in zone-file
    /// form, as `dnssec-keygen` writes it).
    Validating(PathBuf),
}

/// Unbound forwarding every name to `upstream` on loopback; nothing leaves the machine.
pub struct Unbound;

impl Unbound {
    /// `probe_zone`: a zone the upstream serves, asked until it answers.
    pub fn start(upstream: SocketAddr, kind: UnboundKind, probe_zone: &str) -> Daemon {
        let tcp = if kind == UnboundKind::NoTcp { "no" } else { "yes" };
        let modules = match &kind {
            UnboundKind::Validating(anchor) => {
                format!("validator iterator\"\n  trust-anchor-file: \"{}", anchor.display())
            }
            _ => "iterator".to_owned(),
        };
        let conf = |dir: &Path, port: u16| {
            let d = dir.display();
            format!(
                "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  do-tcp: {tcp}\n  \
             do-not-query-localhost: no\n  username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  \
             pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  \
             module-config: \"{modules}\"\n  qname-minimisation: no\n  harden-referral-path: no\n  \
             target-fetch-policy: \"0 0 0 0 0\"\n  access-control: 127.0.0.0/8 allow\n  \
             num-threads: 1\n  so-reuseport: no\n  edns-buffer-size: 1232\n  \
             local-zone: \"test.\" nodefault\n  local-zone: \"10.in-addr.arpa.\" nodefault\n  \
             local-zone: \"d.f.ip6.arpa.\" nodefault\n  domain-insecure: \"netdiag.test.\"\n  \
             domain-insecure: \"other.test.\"\n  val-log-level: 0\n\
             remote-control:\n  control-enable: no\n\
             forward-zone:\n  name: \".\"\n  forward-addr: {}@{}\n",
                upstream.ip(),
                upstream.port()
            )
        };
        spawn(UNBOUND, "unbound", &["-d", "-c"], conf, kind != UnboundKind::NoTcp, probe_zone)
    }
}

/// A DNSSEC-signed zone `origin` (with `records`) whose RRSIG over the `broken` type at
/// `owner` is corrupted: a validating resolver answers every other RRset and SERVFAILs that
/// one. Signed at test time with bind9-utils. Returns the signed zone text and the KSK's key
/// file (the trust anchor).
pub fn signed_zone(dir: &Path, origin: &str, records: &str, owner: &str, broken: &str) -> (String, PathBuf) {
    for tool in ["/usr/bin/dnssec-keygen", "/usr/bin/dnssec-signzone"] {
        require(tool, "bind9-utils");
    }
    let zone = dir.join(format!("{origin}unsigned"));
    std::fs::write(&zone, records).expect("zone");
    let keygen = |extra: &[&str]| -> String {
        let out = Command::new("/usr/bin/dnssec-keygen")
            .current_dir(dir)
            .args(["-q", "-a", "ECDSAP256SHA256", "-n", "ZONE"])
            .args(extra)
            .arg(origin)
            .output()
            .expect("dnssec-keygen");
        assert!(out.status.success(), "dnssec-keygen: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    keygen(&[]);
    let ksk = keygen(&["-f", "KSK"]);
    let signed = dir.join(format!("{origin}signed"));
    let out = Command::new("/usr/bin/dnssec-signzone")
        .current_dir(dir)
        .args(["-S", "-K", ".", "-O", "full", "-o", origin, "-f"])
        .arg(&signed)
        .arg(&zone)
        .output()
        .expect("dnssec-signzone");
    assert!(out.status.success(), "dnssec-signzone: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&signed).expect("signed zone");
    let mut corrupted = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let is_target = fields.first() == Some(&owner)
                && fields
                    .iter()
                    .position(|f| *f == "RRSIG")
                    .is_some_and(|i| fields.get(i + 1) == Some(&broken));
            if !is_target {
                return line.to_owned();
            }
            corrupted += 1;
            // Flip one base64 character of the signature (the last field).
            let last = fields.last().expect("signature");
            let mut sig: Vec<char> = last.chars().collect();
            sig[4] = if sig[4] == 'A' { 'B' } else { 'A' };
            let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
            *fields.last_mut().expect("field") = sig.into_iter().collect();
            fields.join(" ")
        })
        .collect();
    assert_eq!(corrupted, 1, "no RRSIG {broken} at {owner} in:\n{text}");
    (lines.join("\n") + "\n", dir.join(format!("{ksk}.key")))
}

/// What kdig saw: the status and the answer section as (owner, type, data), names without
/// their final dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kdig {
    pub status: String,
    pub answer: Vec<(String, String, String)>,
    pub authority: Vec<(String, String, String)>,
}

/// Asks `server` with kdig, with the same EDNS payload we send.
pub fn kdig(server: SocketAddr, name: &str, kind: &str, extra: &[&str]) -> Kdig {
    require(KDIG, "knot-dnsutils");
    let out = Command::new(KDIG)
        .arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            "-t",
            kind,
            name,
            "+bufsize=1232",
            "+timeout=2",
            "+retry=0",
            "+noidn",
        ])
        .args(extra)
        .output()
        .expect("kdig");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(';').next().unwrap_or("").trim().to_owned())
        .unwrap_or_else(|| panic!("kdig printed no status:\n{text}{}", String::from_utf8_lossy(&out.stderr)));
    let section = |title: &str| -> Vec<(String, String, String)> {
        let mut rows = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with(";; ") && line.ends_with("SECTION:") {
                inside = line.contains(title);
                continue;
            }
            if !inside || line.trim().is_empty() || line.starts_with(';') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            // owner TTL class type data...
            if fields.len() < 4 {
                continue;
            }
            let data_start = line.find(&format!("\t{}\t", fields[3])).map_or(0, |i| i + fields[3].len() + 2);
            let data = line[data_start..].trim().to_owned();
            rows.push((trim_dot(fields[0]), fields[3].to_owned(), data));
        }
        rows
    };
    Kdig { status, answer: section("ANSWER"), authority: section("AUTHORITY") }
}

/// `name.` -> `name`; the root stays `.`.
pub fn trim_dot(name: &str) -> String {
    if name == "." { ".".to_owned() } else { name.strip_suffix('.').unwrap_or(name).to_owned() }
}
