//! The Windows .exe files under wine, for the integration suite in tests/windows_wine.rs.
//!
//! Wine 8.0 (Debian's `wine64`) lacks `bcryptprimitives.dll`, whose `ProcessPrng` Rust's std
//! calls before `main`. A test-only shim (tests/support/wine/bcryptprimitives.c) is built here
//! with mingw and placed beside the .exe files in a directory of this test run; it never ships.
//!
//! Creating a wine prefix takes ~20 s, so a template is made once per target directory and
//! never run in; each test process runs in a full copy of it (a few seconds). Wine creates
//! sockets in its wineserver, so a run inside a test namespace needs a wineserver inside that
//! namespace: [`Wine::in_netns`] gives each namespace its own copy (so it gets its own
//! wineserver, started by the first wine process inside). Copies are real copies: with hard
//! links, wine rewriting a file in place in one prefix corrupted the template.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use super::netns::Netns;
use super::{REQUIRE_PRIVILEGED_ENV, Run, run};

/// Where CI's build put the .exe files (tests/ci.sh sets it); default: this target directory's
/// `x86_64-pc-windows-gnu/debug`.
pub const WINDOWS_BIN_DIR_ENV: &str = "NETDIAG_WINDOWS_BIN_DIR";

const WINE64: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
const TOOLS: [&str; 3] = ["tcpping", "nameresolver", "netdiag"];

pub struct Wine {
    /// The three .exe files and the shim.
    pub bin: PathBuf,
    /// netdiag.exe copied as `tcpping.exe` and `NameResolver.exe`, with the shim.
    pub renamed: PathBuf,
    prefix: PathBuf,
    template: PathBuf,
    run_dir: PathBuf,
}

static WINE: OnceLock<Option<Wine>> = OnceLock::new();
static NEXT_PREFIX: AtomicU32 = AtomicU32::new(0);

/// The prepared wine, or `None` (test skipped) on a developer's machine without wine, mingw or
/// the Windows build. With [`REQUIRE_PRIVILEGED_ENV`] set (CI) a missing piece fails the test.
pub fn wine() -> Option<&'static Wine> {
    WINE.get_or_init(|| match missing_prerequisite() {
        None => Some(Wine::prepare()),
        Some(why) if std::env::var_os(REQUIRE_PRIVILEGED_ENV).is_some() => {
            panic!("{REQUIRE_PRIVILEGED_ENV} is set but the wine tests cannot run: {why}")
        }
        Some(why) => {
            eprintln!("skipping wine test: {why}");
            None
        }
    })
    .as_ref()
}

fn target_tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn windows_bin_dir() -> PathBuf {
    match std::env::var_os(WINDOWS_BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => target_tmp().parent().expect("target dir").join("x86_64-pc-windows-gnu/debug"),
    }
}

fn missing_prerequisite() -> Option<String> {
    if !Path::new(WINE64).exists() {
        return Some(format!("{WINE64} is missing (Debian package wine64)"));
    }
    if Command::new(MINGW_GCC).arg("--version").output().is_err() {
        return Some(format!("{MINGW_GCC} is missing (Debian package gcc-mingw-w64-x86-64)"));
    }
    let dir = windows_bin_dir();
    for tool in TOOLS {
        let exe = dir.join(format!("{tool}.exe"));
        if !exe.exists() {
            return Some(format!(
                "{} is missing: run `cargo build --target x86_64-pc-windows-gnu --bins` first \
                 (or set {WINDOWS_BIN_DIR_ENV})",
                exe.display()
            ));
        }
    }
    None
}

/// Earlier runs' directories hold hard links to old ~90 MB builds: remove those whose test
/// process is gone.
fn remove_stale_run_dirs() {
    let Ok(entries) = std::fs::read_dir(target_tmp()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("wine-run-") else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn sh_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "wine setup failed: {cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Hard-links `from` to `to` (the debug .exe files are ~90 MB), copying across filesystems.
fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    }
}

impl Wine {
    fn prepare() -> Self {
        remove_stale_run_dirs();
        let run_dir = target_tmp().join(format!("wine-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        let bin = run_dir.join("bin");
        let renamed = run_dir.join("renamed");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&renamed).unwrap();

        let shim = run_dir.join("bcryptprimitives.dll");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/wine/bcryptprimitives.c");
        sh_ok(
            Command::new(MINGW_GCC)
                .args(["-shared", "-O2", "-s", "-o"])
                .arg(&shim)
                .arg(&source)
                .arg("-ladvapi32"),
        );

        let exes = windows_bin_dir();
        for tool in TOOLS {
            link_or_copy(&exes.join(format!("{tool}.exe")), &bin.join(format!("{tool}.exe")));
        }
        link_or_copy(&exes.join("netdiag.exe"), &renamed.join("tcpping.exe"));
        // Windows file names ignore case; so must the dispatch on the program name.
        link_or_copy(&exes.join("netdiag.exe"), &renamed.join("NameResolver.exe"));
        for dir in [&bin, &renamed] {
            std::fs::copy(&shim, dir.join("bcryptprimitives.dll")).unwrap();
        }

        let template = target_tmp().join("wine-template");
        if !template.join("system.reg").exists() {
            // Build aside and rename, so an interrupted creation is never mistaken for a prefix.
            let building = target_tmp().join(format!("wine-prefix.{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&building);
            sh_ok(
                Command::new(WINE64)
                    .args(["wineboot", "--init"])
                    .env("WINEPREFIX", &building)
                    .env("WINEDEBUG", "-all")
                    // No Mono or Gecko installer dialogs: nothing here needs them.
                    .env("WINEDLLOVERRIDES", "mscoree,mshtml="),
            );
            sh_ok(Command::new(WINESERVER).arg("-w").env("WINEPREFIX", &building));
            if std::fs::rename(&building, &template).is_err() {
                // Another test process won the race; its prefix is as good as ours.
                let _ = std::fs::remove_dir_all(&building);
            }
        }
        let prefix = run_dir.join("prefix");
        sh_ok(Command::new("cp").arg("-a").arg(&template).arg(&prefix));
        Self { bin, renamed, prefix, template, run_dir }
    }

    /// A command running `program` (a path to an .exe) under wine in this machine's own
    /// network namespace, with a clean environment as [`super::tool`] gives.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(WINE64);
        cmd.arg(program);
        configure(&mut cmd, &self.prefix);
        cmd
    }

    /// One of the three tools (`tcpping`, `nameresolver`, `netdiag`).
    pub fn tool(&self, name: &str) -> Command {
        self.command(&self.bin.join(format!("{name}.exe")))
    }

    /// A prefix of its own for runs inside `ns`, torn down (wineserver and files) on drop.
    pub fn in_netns<'a>(&self, ns: &'a Netns) -> NetnsWine<'a> {
        let n = NEXT_PREFIX.fetch_add(1, Ordering::Relaxed);
        let prefix = self.run_dir.join(format!("prefix-{n}"));
        sh_ok(Command::new("cp").arg("-a").arg(&self.template).arg(&prefix));
        NetnsWine { ns, prefix, bin: self.bin.clone() }
    }

    /// Any .exe (a unit-test binary, say), copied beside the shim so it can start.
    pub fn with_shim(&self, exe: &Path) -> PathBuf {
        let copy = self.bin.join(exe.file_name().expect("file name"));
        link_or_copy(exe, &copy);
        copy
    }

    pub fn run(&self, name: &str, args: &[&str]) -> Run {
        let mut cmd = self.tool(name);
        cmd.args(args);
        run(cmd)
    }
}

fn configure(cmd: &mut Command, prefix: &Path) {
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy();
        if text.starts_with("WEBSITE_") || text.contains("ConnectionString") || text == "AzureWebJobsStorage"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("WINEPREFIX", prefix).env("WINEDEBUG", "-all").env("NO_COLOR", "1").env_remove("RUST_LOG");
}

/// Wine inside a test namespace, with a wineserver of its own there.
pub struct NetnsWine<'a> {
    ns: &'a Netns,
    prefix: PathBuf,
    bin: PathBuf,
}

impl NetnsWine<'_> {
    /// `ip netns exec NS wine64 PROGRAM.exe`.
    pub fn run_exe(&self, exe: &Path, args: &[&str]) -> Run {
        let mut cmd = self.ns.command(WINE64);
        cmd.arg(exe).args(args);
        configure(&mut cmd, &self.prefix);
        run(cmd)
    }

    /// `ip netns exec NS wine64 TOOL.exe`, with exactly `env` besides wine's own variables.
    pub fn run(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.ns.command(WINE64);
        cmd.arg(self.bin.join(format!("{name}.exe"))).args(args);
        configure(&mut cmd, &self.prefix);
        cmd.envs(env.iter().copied());
        run(cmd)
    }
}

impl Drop for NetnsWine<'_> {
    fn drop(&mut self) {
        let _ = Command::new(WINESERVER).arg("-k").env("WINEPREFIX", &self.prefix).output();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}
