//! Network namespaces, veth pairs and iptables rules made by a test and torn down on drop.
//!
//! Names are unique per process and per call so tests can run in parallel. Addresses used in
//! labs are assigned here, inside namespaces the test made; nothing reaches the host's network.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Set, to a comma-separated port list, when a test binary is re-run inside a namespace as the
/// listener of [`Netns::listen`].
pub const SERVE_ENV: &str = "NETDIAG_TEST_SERVE_PORTS";

/// The body of the listener process: serves the ports in [`SERVE_ENV`] until killed; returns
/// at once when the variable is unset (a plain `cargo test -- --ignored`).
pub fn serve_if_asked() {
    let Ok(ports) = std::env::var(SERVE_ENV) else { return };
    let listeners: Vec<std::thread::JoinHandle<()>> = ports
        .split(',')
        .map(|port| {
            let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind in namespace");
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    std::thread::spawn(move || drain_then_close(stream));
                }
            })
        })
        .collect();
    for listener in listeners {
        let _ = listener.join();
    }
}

fn drain_then_close(mut stream: TcpStream) {
    let mut buf = [0u8; 512];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// Defines the ignored test that [`Netns::listen`] re-runs inside a namespace. Invoke it once
/// in every test file that calls `listen`.
#[macro_export]
macro_rules! namespace_listener_entry_point {
    () => {
        #[test]
        #[ignore = "helper: runs only when re-executed by Netns::listen inside a namespace"]
        fn serve_inside_namespace() {
            support::netns::serve_if_asked();
        }
    };
}

/// Why namespace tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    #[cfg(unix)]
    {
        // Unsafe code is denied workspace-wide, so ask `id` rather than call geteuid.
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Some("not running as root".into());
        }
    }
    for tool in ["ip", "iptables"] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output();
        if !matches!(found, Ok(o) if o.status.success()) {
            return Some(format!("'{tool}' is not installed (the README's test command installs it)"));
        }
    }
    None
}

fn unique(tag: &str) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    // Interface names are limited to 15 bytes, so keep these short.
    format!("{tag}{}x{n}", std::process::id() % 100_000)
}

/// Runs a command and panics with its output if it fails: a broken lab must not look like a
/// passing or failing probe.
pub fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("run sh");
    assert!(
        out.status.success(),
        "lab setup failed: {cmd}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace, deleted (with its resolv.conf override) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        let name = unique(tag);
        sh(&format!("ip netns add {name}"));
        let ns = Self { name };
        ns.ip("link set lo up");
        ns
    }

    /// Runs `ip <args>` inside the namespace.
    pub fn ip(&self, args: &str) {
        sh(&format!("ip -n {} {args}", self.name));
    }

    /// Runs a shell command inside the namespace.
    pub fn sh(&self, cmd: &str) {
        sh(&format!("ip netns exec {} sh -c '{}'", self.name, cmd.replace('\'', r"'\''")));
    }

    /// Adds an iptables rule (the arguments after `iptables`) inside the namespace.
    pub fn iptables(&self, rule: &str) {
        self.sh(&format!("iptables {rule}"));
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Writes the resolv.conf that `ip netns exec` bind-mounts for processes in this
    /// namespace, so they never see the host's resolver.
    pub fn set_resolv_conf(&self, contents: &str) {
        let dir = format!("/etc/netns/{}", self.name);
        std::fs::create_dir_all(&dir).expect("create /etc/netns dir");
        std::fs::write(format!("{dir}/resolv.conf"), contents).expect("write resolv.conf");
    }

    /// Runs a shell command inside the namespace and returns its stdout.
    pub fn output(&self, cmd: &str) -> String {
        let out = self.command("sh").args(["-c", cmd]).output().expect("run sh in namespace");
        assert!(out.status.success(), "{cmd} in {}: {}", self.name, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// TCP listeners of our own on every address of the namespace, one per port, until the
    /// returned guard drops. They accept, read until the peer closes, then close, so the
    /// prober is always the side that closes first. The listener is the calling test binary
    /// re-run inside the namespace; the binary must contain [`namespace_listener_entry_point!`].
    pub fn listen(&self, ports: &[u16]) -> Child {
        let exe = std::env::current_exe().expect("current test binary");
        let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
        let child = self
            .command(exe.to_str().expect("UTF-8 path"))
            .args(["--exact", "serve_inside_namespace", "--ignored", "--nocapture", "--test-threads=1"])
            .env(SERVE_ENV, list.join(","))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn the namespace listener");
        let child = Child(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in ports {
            while self.output(&format!("ss -Hltn 'sport = :{port}'")).trim().is_empty() {
                assert!(Instant::now() < deadline, "listener on port {port} in {} never came up", self.name);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        child
    }

    /// Spawns a long-running process inside the namespace, killed on drop of the guard.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Child {
        let child =
            self.command(program).args(args).spawn().unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        Child(child)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.name));
    }
}

/// A child process killed when the test ends, pass or fail.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects two namespaces with a veth pair: `a` gets `a_addr` (CIDR), `b` gets `b_addr`.
pub fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str) {
    let a_if = unique("va");
    let b_if = unique("vb");
    sh(&format!("ip link add {a_if} netns {} type veth peer name {b_if} netns {}", a.name, b.name));
    a.ip(&format!("addr add {a_addr} dev {a_if}{}", nodad(a_addr)));
    b.ip(&format!("addr add {b_addr} dev {b_if}{}", nodad(b_addr)));
    a.ip(&format!("link set {a_if} up"));
    b.ip(&format!("link set {b_if} up"));
}

/// IPv6 duplicate address detection would hold a fresh address back for seconds.
fn nodad(addr: &str) -> &'static str {
    if addr.contains(':') { " nodad" } else { "" }
}

/// The usual two-host lab: an "app" namespace (where the tool runs) and a "vnet" namespace
/// (servers), joined by a veth pair on 10.77.0.0/24, app = .1, vnet = .2.
pub struct Lab {
    pub app: Netns,
    pub vnet: Netns,
}

pub const APP_ADDR: &str = "10.77.0.1";
pub const VNET_ADDR: &str = "10.77.0.2";

impl Lab {
    pub fn new() -> Self {
        let app = Netns::new("app");
        let vnet = Netns::new("vn");
        link(&app, &format!("{APP_ADDR}/24"), &vnet, &format!("{VNET_ADDR}/24"));
        // The app's only routes are to our veth; nothing in it can reach the host's network.
        app.set_resolv_conf(&format!("nameserver {VNET_ADDR}\n"));
        Self { app, vnet }
    }
}
