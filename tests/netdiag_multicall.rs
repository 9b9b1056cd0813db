//! One netdiag binary is all three tools: `netdiag tcpping ...`, `netdiag nameresolver ...`,
//! and a copy named after a tool. tnc takes Test-NetConnection's spelling. The hidden
//! `completions` and `man` subcommands feed dist.sh. All targets are loopback.

mod support;

use std::net::TcpListener;
use std::process::Command;

use support::dns::{ZoneServer, names::*};
use support::{Run, bin, run, tool};

fn netdiag(args: &[&str]) -> Run {
    let mut cmd = tool("netdiag");
    cmd.args(args);
    run(cmd)
}

/// A copy of netdiag under `name`, in a directory of its own.
fn renamed(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("multicall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if !path.exists() {
        std::fs::copy(bin("netdiag"), &path).unwrap();
    }
    path
}

#[test]
fn subcommands_and_renamed_copies_behave_as_the_tools() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();

    let mut renamed_tcpping = Command::new(renamed("tcpping"));
    renamed_tcpping.env("NO_COLOR", "1").args([open.as_str(), "-n", "1", "--json"]);
    for run in [netdiag(&["tcpping", &open, "-n", "1", "--json"]), run(renamed_tcpping)] {
        run.expect_code(0);
        let lines = run.json_lines();
        assert_eq!(lines[0]["type"], "attempt", "{run}");
        assert_eq!(lines[0]["success"], true, "{run}");
    }
    let mut renamed_resolver = Command::new(renamed("nameresolver"));
    renamed_resolver.args([WWW, server.as_str(), "--json"]);
    for run in [netdiag(&["nameresolver", WWW, &server, "--json"]), run(renamed_resolver)] {
        run.expect_code(0);
        assert_eq!(run.json()["answer"]["addresses"], serde_json::json!([WWW_V4, WWW_V6]), "{run}");
    }
    // Same usage errors, same exit code, under the tool's own name.
    let bad = netdiag(&["tcpping", "127.0.0.1", "99999"]);
    bad.expect_code(2);
    assert!(bad.stderr().starts_with("tcpping: "), "{bad}");
    // A global option first still reaches the tool.
    netdiag(&["-v", "tcpping", &open, "-n", "1", "-q"]).expect_code(0);
    // On Unix a file name is case-sensitive: `TCPPING` is not tcpping, so it is netdiag.
    let mut upper = Command::new(renamed("TCPPING"));
    upper.arg("--version");
    let upper = run(upper);
    assert!(upper.stdout().starts_with("netdiag "), "{upper}");
}

#[test]
fn tnc_takes_test_netconnection_spelling() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    for args in [
        ["tnc", "127.0.0.1", "-Port", &port, "-InformationLevel", "Quiet"].as_slice(),
        ["Test-NetConnection", "-ComputerName", "127.0.0.1", "-port", &port, "-informationlevel", "quiet"]
            .as_slice(),
        ["test-netconnection", "127.0.0.1", &format!("-Port:{port}"), "-InformationLevel:Quiet"].as_slice(),
    ] {
        let run = netdiag(args);
        run.expect_code(0);
        assert_eq!(run.stdout(), "True\n", "{run}");
    }
    let run =
        netdiag(&["tnc", "127.0.0.1", "-CommonTCPPort", "HTTP", "-InformationLevel", "Detailed", "-w", "1s"]);
    assert!(run.stdout().contains("RemotePort            : 80\n"), "{run}");
    netdiag(&["tnc", "127.0.0.1", "-Port", "not-a-port"]).expect_code(2);
}

#[test]
fn completions_and_man_pages_come_from_the_clap_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        for name in ["netdiag", "tcpping", "nameresolver"] {
            let run = netdiag(&["completions", shell, name]);
            run.expect_code(0);
            assert!(run.stdout().contains(name), "{shell} {name}: {run}");
        }
    }
    assert!(netdiag(&["completions", "bash", "tcpping"]).stdout().contains("--max-loss"));
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("man-{}", std::process::id()));
    let run = netdiag(&["man", dir.to_str().unwrap()]);
    run.expect_code(0);
    for page in ["netdiag.1", "netdiag-check.1", "netdiag-tnc.1", "tcpping.1", "nameresolver.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}\n{run}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page} is not roff");
    }
    // Hidden from users' help: they are for packagers.
    assert!(!netdiag(&["--help"]).stdout().contains("completions"));
    let _ = std::fs::remove_dir_all(dir);
}
