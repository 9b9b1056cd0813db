//! The static (musl) binaries in an empty root: no /etc/resolv.conf, no /etc/hosts, no /proc,
//! no libc, inside a fresh network namespace with only loopback. Each must give a clear message
//! and an exit code, never a panic. This is the promise behind "drop the file into a container".
//!
//! tests/ci.sh builds them (`cargo build --target x86_64-unknown-linux-musl`) and points
//! NETDIAG_MUSL_BIN_DIR at them; chroot needs root, so like the namespace tests these skip on a
//! developer's machine and fail in CI when anything is missing.
#![allow(clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};

use support::netns::Netns;
use support::{REQUIRE_PRIVILEGED_ENV, Run, run};

const MUSL_BIN_DIR_ENV: &str = "NETDIAG_MUSL_BIN_DIR";

fn musl_bin_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(MUSL_BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).parent()?.join("x86_64-unknown-linux-musl/debug"),
    };
    if dir.join("netdiag").exists() {
        return Some(dir);
    }
    let why = format!(
        "no musl build in {}: run `cargo build --target x86_64-unknown-linux-musl --bins` (or set {MUSL_BIN_DIR_ENV})",
        dir.display()
    );
    if std::env::var_os(REQUIRE_PRIVILEGED_ENV).is_some() {
        panic!("{REQUIRE_PRIVILEGED_ENV} is set but the empty-root test cannot run: {why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// An empty directory holding only `tool`, removed on drop.
struct EmptyRoot(PathBuf);

impl EmptyRoot {
    fn with(tool: &Path) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "empty-root-{}-{}",
            std::process::id(),
            tool.file_name().unwrap().to_string_lossy()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(tool, dir.join(tool.file_name().unwrap())).unwrap();
        Self(dir)
    }
}

impl Drop for EmptyRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn in_empty_root(ns: &Netns, root: &EmptyRoot, tool: &str, args: &[&str]) -> Run {
    let mut cmd = ns.command("/usr/sbin/chroot");
    cmd.arg(&root.0).arg(format!("/{tool}")).args(args).env_clear().env("NO_COLOR", "1");
    let r = run(cmd);
    let all = format!("{}{}", r.stdout(), r.stderr());
    assert!(!all.contains("panicked") && !all.contains("RUST_BACKTRACE"), "a panic: {r}");
    assert!(r.code().is_some(), "killed by a signal: {r}");
    r
}

#[test]
fn static_binaries_work_in_an_empty_root() {
    let Some(dir) = musl_bin_dir() else { return };
    if !support::privileged() {
        return;
    }
    let ns = Netns::new("mus");

    let root = EmptyRoot::with(&dir.join("tcpping"));
    let r = in_empty_root(&ns, &root, "tcpping", &["127.0.0.1:1", "-n", "1", "-w", "1s", "--json"]);
    r.expect_code(1);
    assert_eq!(r.json_lines().first().map(|a| a["class"].clone()), Some("refused".into()), "{r}");
    // A name needs DNS, and there is no resolv.conf: one clear line, no attempt at a guess.
    let r = in_empty_root(&ns, &root, "tcpping", &["www.netdiag.test:443", "-n", "1", "-w", "1s"]);
    assert_ne!(r.code(), Some(0), "{r}");
    assert!(
        r.stderr().contains("resolv.conf") || r.stdout().contains("resolv.conf"),
        "names the missing file: {r}"
    );

    let root = EmptyRoot::with(&dir.join("nameresolver"));
    let r = in_empty_root(&ns, &root, "nameresolver", &["www.netdiag.test"]);
    assert_ne!(r.code(), Some(0), "{r}");
    assert!(format!("{}{}", r.stdout(), r.stderr()).contains("resolv.conf"), "{r}");
    // An explicit server that does not answer (nothing listens in the fresh namespace).
    let r =
        in_empty_root(&ns, &root, "nameresolver", &["www.netdiag.test", "127.0.0.1:1", "--timeout", "300ms"]);
    r.expect_code(1);

    let root = EmptyRoot::with(&dir.join("netdiag"));
    let r = in_empty_root(&ns, &root, "netdiag", &["env", "--json"]);
    r.expect_code(0);
    let doc = r.json();
    // No /proc in the empty root: the route table is unknown, and says why.
    assert!(doc["routes_error"].as_str().is_some_and(|e| e.contains("/proc/net/route")), "{r}");
    let r = in_empty_root(&ns, &root, "netdiag", &["check", "127.0.0.1:1", "-w", "1s", "--json"]);
    r.expect_code(1);
    assert_eq!(r.stream()["targets"][0]["addresses"][0]["tcp"]["class"], "refused", "{r}");
    let r =
        in_empty_root(&ns, &root, "netdiag", &["tnc", "127.0.0.1", "-p", "1", "-InformationLevel", "Quiet"]);
    r.expect_code(1);
    assert_eq!(r.stdout(), "False\n", "{r}");
    in_empty_root(&ns, &root, "netdiag", &["subnet", "/26"]).expect_code(0);
    // The multi-call binary works in the empty root too.
    let r = in_empty_root(&ns, &root, "netdiag", &["tcpping", "127.0.0.1:1", "-n", "1", "-w", "1s"]);
    r.expect_code(1);
}
