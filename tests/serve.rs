//! `netdiag serve` over real HTTP, and scraped by a real Prometheus.
//!
//! Everything stays on loopback: the targets are a listener, a closed port, a black hole (a
//! listener whose accept queue is full) and names served by an in-process DNS zone on 127.0.0.1;
//! the exporter's own default DNS server is a dead loopback UDP port, so nothing ever asks this
//! machine's resolver.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::dns::{Fault, FaultServer, ZoneServer, closed_port, names};

/// A running `netdiag serve`, killed on drop.
struct Exporter {
    child: Child,
    addr: SocketAddr,
}

impl Exporter {
    fn start(args: &[&str]) -> Self {
        let dead_dns = closed_port().to_string();
        let mut cmd = support::tool("netdiag");
        cmd.args(["serve", "--web.listen-address", "127.0.0.1:0", "--dns-server", &dead_dns])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn netdiag serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[serve] {line}");
                if let Some(url) = line.split("listening on ").nth(1) {
                    let addr = url.trim_start_matches("http://").trim_start_matches("https://");
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("listen address"));
                }
            }
        });
        let addr =
            rx.recv_timeout(Duration::from_secs(20)).expect("netdiag serve never said where it listens");
        Self { child, addr }
    }

    fn get(&self, path: &str) -> Reply {
        http_get(self.addr, path, &[])
    }

    fn terminate(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(status.success());
    }

    /// Waits for the exporter to exit; its exit code.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("netdiag serve still running after {limit:?}");
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    /// The value of an unlabelled sample, or of the first sample whose line contains `labels`.
    fn sample(&self, name: &str, labels: &str) -> Option<f64> {
        self.body
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| {
                (l.starts_with(&format!("{name} ")) && labels.is_empty())
                    || (l.starts_with(&format!("{name}{{")) && l.contains(labels))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }
}

/// One HTTP/1.0 GET: the server closes the connection after the reply, so no chunking.
fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read reply");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// True when `program` is installed; when it is not, CI must fail and a developer skips.
fn have(program: &str) -> bool {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output();
    if matches!(found, Ok(o) if o.status.success()) {
        return true;
    }
    assert!(
        std::env::var_os(support::REQUIRE_PRIVILEGED_ENV).is_none(),
        "{} is set but '{program}' is not installed (tests/ci.sh installs it)",
        support::REQUIRE_PRIVILEGED_ENV
    );
    eprintln!("skipping: '{program}' is not installed");
    false
}

/// `promtool check metrics` on an exposition; panics with its complaints.
fn promtool_passes(exposition: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn closed_tcp_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn every_module_reports_and_passes_promtool() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let closed = closed_tcp_port();
    let zone = ZoneServer::start();
    let exporter = Exporter::start(&[]);

    let tcp = exporter.get(&format!("/probe?module=tcp&target={open}"));
    assert_eq!(tcp.status, 200, "{tcp:?}");
    assert!(tcp.headers["content-type"].starts_with("text/plain; version=0.0.4"), "{tcp:?}");
    assert_eq!(tcp.sample("probe_success", ""), Some(1.0), "{}", tcp.body);
    assert_eq!(tcp.sample("probe_ip_protocol", ""), Some(4.0));
    assert_eq!(tcp.sample("netdiag_address_info", "class=\"loopback\""), Some(1.0));
    assert!(tcp.sample("netdiag_tcp_connect_seconds", "").is_some());
    assert_eq!(tcp.sample("probe_failure_info", ""), None, "no failure series on success");

    let check = exporter.get(&format!("/probe?target={closed}"));
    assert_eq!(check.sample("probe_success", ""), Some(0.0), "{}", check.body);
    assert_eq!(check.sample("probe_failure_info", "class=\"refused\""), Some(1.0), "{}", check.body);
    assert_eq!(check.sample("netdiag_finding", "id=\"tcp_refused\",severity=\"failure\""), Some(1.0));

    let dns_query = format!("/probe?module=dns&target={}&dns_server={}", names::MISSING, zone.addr);
    let dns = exporter.get(&dns_query);
    assert_eq!(dns.sample("probe_success", ""), Some(0.0), "{}", dns.body);
    assert_eq!(dns.sample("probe_failure_info", "class=\"name_not_found\""), Some(1.0), "{}", dns.body);
    let server = format!("server=\"{}\",position=\"1\"", zone.addr);
    assert_eq!(dns.sample("netdiag_dns_server_success", &server), Some(1.0), "{}", dns.body);
    let outcome = format!("server=\"{}\",outcome=\"answered\"", zone.addr);
    assert_eq!(dns.sample("netdiag_dns_server_outcome", &outcome), Some(1.0));

    let resolved = exporter.get(&format!(
        "/probe?module=tcp&target={}:{}&dns_server={}&family=ip4",
        names::LOOPBACK,
        open.port(),
        zone.addr
    ));
    assert_eq!(resolved.sample("probe_success", ""), Some(1.0), "{}", resolved.body);
    assert!(resolved.sample("probe_dns_lookup_time_seconds", "").unwrap() > 0.0);

    let openmetrics = http_get(
        exporter.addr,
        &format!("/probe?target={closed}"),
        &[("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")],
    );
    assert!(openmetrics.headers["content-type"].starts_with("application/openmetrics-text"));
    assert!(openmetrics.body.ends_with("# EOF\n"), "{}", openmetrics.body);

    let debug = exporter.get(&format!("/probe?target={closed}&debug=true"));
    assert!(debug.body.contains("[tcp_refused]") && debug.body.contains("Verdict:"), "{}", debug.body);
    assert!(debug.body.contains("probe_failure_info{class=\"refused\"} 1"), "{}", debug.body);

    let own = exporter.get("/metrics");
    assert_eq!(own.sample("netdiag_build_info", "version="), Some(1.0), "{}", own.body);
    assert_eq!(
        own.sample("netdiag_probes_total", "module=\"tcp\",result=\"success\""),
        Some(2.0),
        "{}",
        own.body
    );
    assert_eq!(own.sample("netdiag_probes_total", "module=\"check\",result=\"failure\""), Some(3.0));
    assert!(own.sample("process_resident_memory_bytes", "").unwrap() > 0.0, "{}", own.body);

    let index = exporter.get("/");
    assert!(
        index.body.contains("Recent probes") && index.body.contains(&closed.to_string()),
        "{}",
        index.body
    );

    if have("promtool") {
        for reply in [&tcp, &check, &dns, &own] {
            promtool_passes(&reply.body);
        }
    }
    drop(listener);
}

#[test]
fn bad_parameters_are_400_and_refused_targets_403_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let allowed = format!("127.0.0.1:{}", open.port());
    let exporter = Exporter::start(&["--allow-target", &allowed]);

    for (query, reason) in [
        ("/probe?target=127.0.0.1:80&module=icmp", "unknown module 'icmp' (tcp, dns or check)\n"),
        ("/probe", "parameter 'target' is missing\n"),
        ("/probe?target=127.0.0.1:80&timeout=forever", "bad timeout 'forever' (examples: 500ms, 2s, 1.5)\n"),
    ] {
        let reply = exporter.get(query);
        assert_eq!((reply.status, reply.body.as_str()), (400, reason), "{query}");
    }
    let big = exporter.get(&format!("/probe?target={}", "a".repeat(5000)));
    assert!(big.status == 414 || big.status == 431, "{big:?}");

    assert_eq!(exporter.get(&format!("/probe?target={open}&module=tcp")).status, 200);
    let refused = exporter.get("/probe?target=127.0.0.1:22&module=tcp");
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.body, "target '127.0.0.1:22' is not allowed by --allow-target\n");
    let via_dns = exporter.get(&format!("/probe?target={open}&module=tcp&dns_server=127.0.0.2"));
    assert_eq!(
        (via_dns.status, via_dns.body.as_str()),
        (403, "dns_server '127.0.0.2:53' is not allowed by --allow-target\n")
    );

    let own = exporter.get("/metrics");
    assert_eq!(
        own.sample("netdiag_probe_requests_rejected_total", "reason=\"not_allowed\""),
        Some(2.0),
        "{}",
        own.body
    );
    assert_eq!(own.sample("netdiag_probe_requests_rejected_total", "reason=\"bad_request\""), Some(4.0));
}

#[test]
fn the_scrape_timeout_header_caps_the_probe() {
    let (hole, _held) = support::black_hole();
    let target = hole.local_addr().unwrap();
    let exporter = Exporter::start(&[]);
    let start = Instant::now();
    let reply = http_get(
        exporter.addr,
        &format!("/probe?target={target}&timeout=20s"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1.5")],
    );
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "the probe outlived the scrape: {took:?}");
    assert_eq!(
        reply.sample("netdiag_probe_timeout_seconds", "source=\"scrape_header\""),
        Some(1.0),
        "{}",
        reply.body
    );
    assert_eq!(reply.sample("netdiag_tcp_timeout_seconds", ""), Some(1.0));
    assert_eq!(reply.sample("probe_failure_info", "class=\"timed_out\""), Some(1.0), "{}", reply.body);
    assert_eq!(reply.sample("netdiag_finding", "id=\"tcp_timed_out\""), Some(1.0), "{}", reply.body);

    // Without the header the request's own timeout applies.
    let own = exporter.get(&format!("/probe?target={target}&module=tcp&timeout=300ms"));
    assert_eq!(
        own.sample("netdiag_probe_timeout_seconds", "source=\"parameter\""),
        Some(0.3),
        "{}",
        own.body
    );
}

#[test]
fn excess_probes_get_503() {
    let (hole, _held) = support::black_hole();
    let target = hole.local_addr().unwrap();
    let exporter = Exporter::start(&["--max-concurrent", "1"]);
    let addr = exporter.addr;
    let slow = std::thread::spawn(move || http_get(addr, &format!("/probe?target={target}&timeout=2s"), &[]));
    let deadline = Instant::now() + Duration::from_secs(5);
    // Wait until the first probe holds the only slot.
    while exporter.get("/metrics").sample("netdiag_probes_in_flight", "") != Some(1.0) {
        assert!(Instant::now() < deadline, "the first probe never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let excess = exporter.get(&format!("/probe?target={target}"));
    assert_eq!(
        (excess.status, excess.body.as_str()),
        (503, "too many probes in flight (--max-concurrent 1)\n")
    );
    assert_eq!(slow.join().unwrap().status, 200);
    let own = exporter.get("/metrics");
    assert_eq!(own.sample("netdiag_probe_requests_rejected_total", "reason=\"overloaded\""), Some(1.0));
}

#[test]
fn sigterm_lets_in_flight_probes_finish_then_cuts_at_the_deadline() {
    let (hole, _held) = support::black_hole();
    let target = hole.local_addr().unwrap();

    let mut patient = Exporter::start(&["--shutdown-timeout", "5s"]);
    let addr = patient.addr;
    let probe =
        std::thread::spawn(move || http_get(addr, &format!("/probe?target={target}&timeout=1s"), &[]));
    std::thread::sleep(Duration::from_millis(300));
    patient.terminate();
    let finished = probe.join().unwrap();
    assert_eq!(finished.status, 200, "{finished:?}");
    assert_eq!(finished.sample("probe_failure_info", "class=\"timed_out\""), Some(1.0));
    assert_eq!(patient.wait(Duration::from_secs(5)), Some(0));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(), "still listening");

    let mut hasty = Exporter::start(&["--shutdown-timeout", "200ms"]);
    let addr = hasty.addr;
    let cut = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = format!("GET /probe?target={target}&timeout=8s HTTP/1.0\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        raw
    });
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    hasty.terminate();
    assert_eq!(hasty.wait(Duration::from_secs(5)), Some(0));
    assert!(start.elapsed() < Duration::from_secs(3), "the 8 s probe was not cut: {:?}", start.elapsed());
    assert!(cut.join().unwrap().is_empty(), "a cut probe sends no reply");
}

/// bcrypt hash of `s3cr3t` at the lowest cost, so the test spends no time hashing.
fn write_web_config(dir: &std::path::Path, tls: bool) -> std::path::PathBuf {
    let hash = bcrypt::hash("s3cr3t", 4).unwrap();
    let mut yaml = format!("basic_auth_users:\n  prometheus: '{hash}'\n");
    if tls {
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "server.key", "-out", "server.crt"])
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        yaml.push_str("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    }
    let path = dir.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netdiag-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn basic_auth_from_the_web_config() {
    let dir = temp_dir("auth");
    let config = write_web_config(&dir, false);
    let exporter = Exporter::start(&["--web.config.file", config.to_str().unwrap()]);
    let denied = exporter.get("/metrics");
    assert_eq!(denied.status, 401);
    assert!(denied.headers["www-authenticate"].starts_with("Basic"));
    // prometheus:s3cr3t and prometheus:wrong.
    let ok = http_get(exporter.addr, "/metrics", &[("Authorization", "Basic cHJvbWV0aGV1czpzM2NyM3Q=")]);
    assert_eq!(ok.status, 200);
    let wrong = http_get(
        exporter.addr,
        "/probe?target=127.0.0.1:1",
        &[("Authorization", "Basic cHJvbWV0aGV1czp3cm9uZw==")],
    );
    assert_eq!(wrong.status, 401);
    let own = http_get(exporter.addr, "/metrics", &[("Authorization", "Basic cHJvbWV0aGV1czpzM2NyM3Q=")]);
    assert_eq!(own.sample("netdiag_probe_requests_rejected_total", "reason=\"unauthorized\""), Some(2.0));

    // An unknown key, a missing certificate and a bad hash are each one line and exit 2,
    // before anything listens.
    for (name, yaml, named) in [
        (
            "unknown.yml",
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
            "client_ca_file",
        ),
        (
            "nocert.yml",
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "missing.crt",
        ),
        ("badhash.yml", "basic_auth_users:\n  prometheus: plaintext\n", "'prometheus' is not a bcrypt hash"),
    ] {
        let broken = dir.join(name);
        std::fs::write(&broken, yaml).unwrap();
        let run = support::run({
            let mut cmd = support::tool("netdiag");
            cmd.args(["serve", "--listen", "127.0.0.1:0", "--web.config.file", broken.to_str().unwrap()]);
            cmd
        });
        run.expect_code(2);
        assert_eq!(run.stderr().lines().count(), 1, "{run}");
        assert!(run.stderr().contains(named) && !run.stderr().contains("listening"), "{run}");
        assert!(!run.stderr().contains("plaintext"), "a password hash is never echoed: {run}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_from_the_web_config() {
    if !have("openssl") || !have("curl") {
        return;
    }
    let dir = temp_dir("tls");
    let config = write_web_config(&dir, true);
    let exporter = Exporter::start(&["--web.config.file", config.to_str().unwrap()]);
    let url = format!("https://127.0.0.1:{}/probe?target=127.0.0.1:1&module=tcp", exporter.addr.port());
    let out = Command::new("curl")
        .args(["-sS", "--cacert", dir.join("server.crt").to_str().unwrap(), "-u", "prometheus:s3cr3t", &url])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(body.contains("probe_failure_info{class=\"refused\"} 1"), "{body}");
    // Plain HTTP on the TLS port gets no metrics.
    let mut plain = TcpStream::connect(exporter.addr).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    plain.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(!String::from_utf8_lossy(&raw).contains("netdiag_build_info"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A free loopback port for a daemon that wants a number, not a socket.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The value of `metric` per instance, from Prometheus' query API.
fn query(prometheus: SocketAddr, promql: &str) -> Vec<Value> {
    let reply = http_get(prometheus, &format!("/api/v1/query?query={}", query_value(promql)), &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    let doc: Value = serde_json::from_str(&reply.body).expect("JSON from Prometheus");
    doc["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_real_prometheus_scrapes_the_blackbox_recipe() {
    if !have("prometheus") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = closed_tcp_port().to_string();
    let (hole, _held) = support::black_hole();
    let hole = hole.local_addr().unwrap().to_string();
    let zone = ZoneServer::start();
    let dead = FaultServer::start(Fault::Silent);
    let missing = format!("{}:443", names::MISSING);
    let dead_dns_target = format!("{}:443", names::LOOPBACK);
    let exporter = Exporter::start(&[]);

    let dir = temp_dir("prometheus");
    let job = |name: &str, targets: &[&str], dns_server: Option<SocketAddr>| {
        let servers = dns_server.map(|s| format!(", dns_server: ['{s}']")).unwrap_or_default();
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        format!(
            "  - job_name: {name}\n    metrics_path: /probe\n    params: {{module: [check]{servers}}}\n    \
             static_configs: [{{targets: [{}]}}]\n    relabel_configs:\n      \
             - {{source_labels: [__address__], target_label: __param_target}}\n      \
             - {{source_labels: [__param_target], target_label: instance}}\n      \
             - {{target_label: __address__, replacement: '{}'}}\n",
            list.join(", "),
            exporter.addr
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("direct", &[&open, &closed, &hole], None),
        job("names", &[&missing], Some(zone.addr)),
        job("dead_dns", &[&dead_dns_target], Some(dead.addr)),
    );
    std::fs::write(dir.join("prometheus.yml"), &config).unwrap();
    let web = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");

    let instances = [&open, &closed, &hole, &missing, &dead_dns_target];
    let deadline = Instant::now() + Duration::from_secs(60);
    let success = loop {
        // Prometheus answers 503 until its storage is ready.
        let ready = TcpStream::connect(web).is_ok() && http_get(web, "/-/ready", &[]).status == 200;
        let found: BTreeMap<String, String> = if ready {
            query(web, "probe_success")
                .iter()
                .map(|r| {
                    (
                        r["metric"]["instance"].as_str().unwrap().to_owned(),
                        r["value"][1].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        if instances.iter().all(|i| found.contains_key(i.as_str())) {
            break found;
        }
        if Instant::now() > deadline {
            let _ = prometheus.kill();
            panic!("Prometheus never scraped every target: {found:?}\nconfig:\n{config}");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let by_instance = |promql: &str, label: &str| -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in query(web, promql) {
            let instance = r["metric"]["instance"].as_str().unwrap().to_owned();
            out.entry(instance)
                .or_default()
                .insert(r["metric"][label].as_str().unwrap_or_default().to_owned());
        }
        out
    };
    let classes = by_instance("probe_failure_info == 1", "class");
    let findings = by_instance("netdiag_finding == 1", "id");
    let _ = prometheus.kill();
    let _ = prometheus.wait();

    let expect = [
        (&open, "1", None, "tcp_connected"),
        (&closed, "0", Some("refused"), "tcp_refused"),
        (&hole, "0", Some("timed_out"), "tcp_timed_out"),
        (&missing, "0", Some("name_not_found"), "dns_nxdomain"),
        (&dead_dns_target, "0", Some("dns_timeout"), "dns_all_servers_timed_out"),
    ];
    for (instance, ok, class, finding) in expect {
        assert_eq!(success[instance.as_str()], ok, "probe_success of {instance}");
        let got = classes.get(instance.as_str()).cloned().unwrap_or_default();
        let want: BTreeSet<String> = class.map(|c| c.to_owned()).into_iter().collect();
        assert_eq!(got, want, "probe_failure_info of {instance}");
        let got = findings.get(instance.as_str()).cloned().unwrap_or_default();
        assert!(got.contains(finding), "netdiag_finding of {instance}: {got:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(listener);
}
