//! Shared test harness: run the real binaries, and build throw-away networks of namespaces.
//!
//! Network safety: every address a test targets is loopback or lives in a namespace built
//! here, and the probing process runs inside such a namespace, whose only routes are our veths.
#![allow(dead_code, clippy::print_stderr)]

pub mod daemons;
pub mod dns;
pub mod netns;
pub mod wine;

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::Duration;

/// Tests that need root and iptables skip on a developer's unprivileged machine, but must fail
/// in CI: `tests/ci.sh` sets this variable so a missing prerequisite can never pass silently.
pub const REQUIRE_PRIVILEGED_ENV: &str = "NETDIAG_TEST_REQUIRE_PRIVILEGED";

/// True when namespace tests can run. Panics when they cannot but CI demands them.
pub fn privileged() -> bool {
    let missing = netns::missing_prerequisite();
    match missing {
        None => true,
        Some(why) if std::env::var_os(REQUIRE_PRIVILEGED_ENV).is_some() => {
            panic!("{REQUIRE_PRIVILEGED_ENV} is set but namespace tests cannot run: {why}")
        }
        Some(why) => {
            eprintln!("skipping namespace test: {why}");
            false
        }
    }
}

/// Path of a binary built by this package.
pub fn bin(name: &str) -> String {
    match name {
        "tcpping" => env!("CARGO_BIN_EXE_tcpping").to_owned(),
        "nameresolver" => env!("CARGO_BIN_EXE_nameresolver").to_owned(),
        "netdiag" => env!("CARGO_BIN_EXE_netdiag").to_owned(),
        other => panic!("unknown binary {other}"),
    }
}

/// The result of running a binary, with everything needed to explain a failed assertion.
pub struct Run {
    pub cmdline: String,
    pub output: Output,
    pub elapsed: std::time::Duration,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Asserts the exit code, printing the command and both streams when it differs.
    pub fn expect_code(&self, want: i32) -> &Self {
        assert_eq!(self.code(), Some(want), "unexpected exit code\n{self}");
        self
    }

    /// Parses stdout as JSON Lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}\n{self}")))
            .collect()
    }

    /// Parses the NDJSON stream of `netdiag check`/`deps --json` line by line and gathers it
    /// into one value: `targets`, `dependencies` and `unparsed` (each in input order, by
    /// `index`), and `summary`, which must be the last record. Every record must carry
    /// `type`, `schema` 2 and an RFC 3339 `timestamp`.
    pub fn stream(&self) -> serde_json::Value {
        let records = self.json_lines();
        let mut targets = Vec::new();
        let mut dependencies = Vec::new();
        let mut unparsed = Vec::new();
        let mut summary = None;
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record["schema"], 2, "record {i}: {record}\n{self}");
            let stamp =
                record["timestamp"].as_str().unwrap_or_else(|| panic!("no timestamp: {record}\n{self}"));
            assert!(stamp.ends_with('Z') && stamp.len() == 27, "timestamp {stamp}\n{self}");
            assert!(summary.is_none(), "a record after the summary: {record}\n{self}");
            match record["type"].as_str() {
                Some("target") => targets.push(record.clone()),
                Some("dependency") => dependencies.push(record.clone()),
                Some("unparsed") => unparsed.push(record.clone()),
                Some("summary") => summary = Some(record.clone()),
                other => panic!("unknown record type {other:?}\n{self}"),
            }
        }
        let summary = summary.unwrap_or_else(|| panic!("no summary record\n{self}"));
        let by_index = |v: &serde_json::Value| v["index"].as_u64().expect("index");
        targets.sort_by_key(by_index);
        dependencies.sort_by_key(by_index);
        serde_json::json!({
            "schema": summary["schema"],
            "failed": summary["failed"],
            "targets": targets,
            "dependencies": dependencies,
            "unparsed": unparsed,
            "summary": summary,
        })
    }

    /// Parses stdout as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: {}\nexit: {:?} after {:?}\n--- stdout\n{}--- stderr\n{}---",
            self.cmdline,
            self.output.status,
            self.elapsed,
            self.stdout(),
            self.stderr()
        )
    }
}

/// Runs `cmd` to completion and records how long it took.
pub fn run(mut cmd: Command) -> Run {
    let cmdline = format!("{cmd:?}");
    let start = std::time::Instant::now();
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmdline}: {e}"));
    Run { cmdline, output, elapsed: start.elapsed() }
}

/// A command for one of our binaries with a clean environment: no inherited `WEBSITE_*`
/// settings, no colour, no log filter from the developer's shell.
pub fn tool(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("WEBSITE_")
            || key_text.contains("ConnectionString")
            || key_text == "AzureWebJobsStorage"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// A listener whose accept queue is full, so the kernel drops further SYNs: the loopback
/// stand-in for a firewall that drops packets. Returns the listener and the held connections.
pub fn black_hole() -> (TcpListener, Vec<TcpStream>) {
    let listener = listener_with_backlog(1);
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    // Never accept: connect until a connect times out, which proves the queue is full.
    for _ in 0..4096 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(err) => {
                assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "filling the accept queue: {err}");
                return (listener, held);
            }
        }
    }
    panic!("the accept queue of {addr} never filled");
}

/// std's TcpListener asks for a long backlog; a short one fills with a couple of connections.
/// tokio (already a test dependency) can set it, and hands back a plain std listener.
pub fn listener_with_backlog(backlog: u32) -> TcpListener {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(backlog).unwrap().into_std().unwrap()
    })
}

/// A loopback listener that accepts every connection and resets it at once (SO_LINGER 0, then
/// close), as an application or proxy that rejects clients after the handshake does. Serves
/// until the test process ends.
pub fn accept_then_reset_listener() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    });
    addr
}

/// A file of targets, removed when the test ends.
pub struct TargetsFile(std::path::PathBuf);

impl TargetsFile {
    pub fn new(tag: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("netdiag-targets-{tag}-{}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    /// One target per line, written as they come (a list of any length).
    pub fn from_lines(tag: &str, lines: impl Iterator<Item = String>) -> Self {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("netdiag-targets-{tag}-{}", std::process::id()));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
        file.flush().unwrap();
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TargetsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
