//! The Windows build, run under wine: the same probes and assertions as the Linux suites where
//! behaviour is the same. Wine's sockets are Linux's, so Windows' own TCP stack (a refused
//! connect retried for ~1-2 s, the 21 s OS connect cap) cannot show here; those are unit-tested
//! from the documentation in common/src/tcp.rs.
//!
//! tests/ci.sh builds the .exe files first (`cargo build --target x86_64-pc-windows-gnu`) and
//! points NETDIAG_WINDOWS_BIN_DIR at them. Without wine, mingw or the build, these tests skip
//! on a developer's machine and fail in CI.
#![allow(clippy::print_stderr)]

mod support;

use std::net::TcpListener;

use support::dns::{Dnsmasq, ZoneServer, dnsmasq_records, names::*};
use support::netns::Netns;
use support::netns::{Lab, VNET_ADDR};
use support::wine::wine;
use support::{Run, black_hole};

namespace_listener_entry_point!();

fn records(run: &Run, kind: &str) -> Vec<serde_json::Value> {
    run.json_lines().into_iter().filter(|v| v["type"] == kind).collect()
}

#[test]
fn tcpping_connects_refuses_times_out_and_exits_as_on_linux() {
    let Some(wine) = wine() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();

    let run = wine.run("tcpping", &[&open, "-n", "2", "-i", "100ms", "--json"]);
    run.expect_code(0);
    let attempts = records(&run, "attempt");
    assert_eq!(attempts.len(), 2, "{run}");
    for rec in &attempts {
        assert_eq!(rec["success"], true, "{run}");
        assert_eq!(rec["remote"], open.as_str());
        assert!(rec["class"].is_null(), "{rec}");
        // Linux alone reports the kernel's RTT (TCP_INFO); Windows has no such field.
        assert!(rec["kernel_rtt_ms"].is_null(), "{rec}");
    }
    let summary = &records(&run, "summary")[0];
    assert_eq!((summary["attempts"].as_u64(), summary["successes"].as_u64()), (Some(2), Some(2)), "{run}");

    // Nothing listens: refused, exit 1.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let run = wine.run("tcpping", &[&closed, "-n", "1", "--json"]);
    run.expect_code(1);
    assert_eq!(records(&run, "attempt")[0]["class"], "refused", "{run}");
    assert_eq!(records(&run, "summary")[0]["failures_by_class"]["refused"], 1, "{run}");

    // A full accept queue drops the SYN: timed out after -w.
    let (hole, _held) = black_hole();
    let hole = hole.local_addr().unwrap().to_string();
    let run = wine.run("tcpping", &[&hole, "-n", "1", "-w", "500ms", "--json"]);
    run.expect_code(1);
    assert_eq!(records(&run, "attempt")[0]["class"], "timed_out", "{run}");

    // `-n 1s`: Kudu has no Ctrl-C, so a run can end by itself after a while.
    let run = wine.run("tcpping", &[&open, "-n", "1s", "-i", "300ms", "--json"]);
    run.expect_code(0);
    let n = records(&run, "attempt").len();
    assert!((2..=4).contains(&n), "{n} attempts\n{run}");

    // Text output and bad usage.
    let run = wine.run("tcpping", &[&open, "-n", "1"]);
    run.expect_code(0);
    assert!(run.stdout().contains("Complete: 1/1 successful attempts"), "{run}");
    let run = wine.run("tcpping", &["127.0.0.1", "99999"]);
    run.expect_code(2);
    assert_eq!(run.stderr().lines().count(), 1, "one line for bad usage: {run}");
    assert!(run.stdout().is_empty(), "{run}");
}

#[test]
fn one_netdiag_exe_is_all_three_tools() {
    let Some(wine) = wine() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();

    let tcpping_runs = [
        wine.run("netdiag", &["tcpping", &open, "-n", "1", "--json"]),
        run_renamed(wine, "tcpping.exe", &[&open, "-n", "1", "--json"]),
    ];
    for run in &tcpping_runs {
        run.expect_code(0);
        assert_eq!(records(run, "attempt")[0]["success"], true, "{run}");
    }
    let resolver_runs = [
        wine.run("netdiag", &["nameresolver", WWW, &server, "--json"]),
        // Windows file names ignore case, and so does the dispatch.
        run_renamed(wine, "NameResolver.exe", &[WWW, &server, "--json"]),
    ];
    for run in &resolver_runs {
        run.expect_code(0);
        assert_eq!(run.json()["answer"]["addresses"], serde_json::json!([WWW_V4, WWW_V6]), "{run}");
    }
    let run = run_renamed(wine, "tcpping.exe", &["--version"]);
    run.expect_code(0);
    assert!(run.stdout().starts_with("tcpping "), "{run}");
}

fn run_renamed(wine: &support::wine::Wine, exe: &str, args: &[&str]) -> Run {
    let mut cmd = wine.command(&wine.renamed.join(exe));
    cmd.args(args);
    support::run(cmd)
}

#[test]
fn nameresolver_asks_the_given_server_and_website_dns_server() {
    let Some(wine) = wine() else { return };
    let zone = ZoneServer::start();
    let server = zone.addr.to_string();

    let run = wine.run("nameresolver", &[ALIAS, &server, "--json", "--timeout", "500ms"]);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["result"], "resolved", "{run}");
    assert_eq!(doc["servers"]["source"]["kind"], "argument");
    assert_eq!(doc["answer"]["addresses"], serde_json::json!([WWW_V4, WWW_V6]), "{run}");

    let mut cmd = wine.tool("nameresolver");
    cmd.args([WWW, "--json", "--timeout", "500ms"]).env("WEBSITE_DNS_SERVER", &server);
    let run = support::run(cmd);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["servers"]["source"]["kind"], "website_dns_server", "{run}");
    assert_eq!(doc["answered_by"]["server"], server.as_str(), "{run}");

    let run = wine.run("nameresolver", &[MISSING, &server, "--json"]);
    run.expect_code(1);
}

/// `env` is checked inside a namespace (below): this machine's own interfaces come and go
/// while other tests build their labs.
#[test]
fn netdiag_subnet() {
    let Some(wine) = wine() else { return };
    let run = wine.run("netdiag", &["subnet", "/26", "--json"]);
    let doc = run.json();
    assert_eq!(doc["os"], "windows", "the default plan is the OS it runs on: {run}");
    let run = wine.run("netdiag", &["subnet", "/26", "--os", "linux", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["os"], "linux", "{run}");
    let run = wine.run("netdiag", &["subnet", "/33"]);
    run.expect_code(2);
}

/// Wine inside the test namespaces, like every other probe: its wineserver (which owns the
/// sockets) must be inside too, or 10.78.0.5, which exists only in the lab, would be unknown.
#[test]
fn check_and_tnc_inside_a_namespace_see_the_gateway() {
    let Some(wine) = wine() else { return };
    if !support::privileged() {
        return;
    }
    const BEHIND_GATEWAY: &str = "10.78.0.5";
    let lab = Lab::new();
    lab.vnet.ip(&format!("addr add {BEHIND_GATEWAY}/32 dev lo"));
    lab.app.ip(&format!("route add 10.78.0.0/24 via {VNET_ADDR}"));
    // A default route too, so env has one to show; it leads only to our vnet namespace.
    lab.app.ip(&format!("route add default via {VNET_ADDR} metric 500"));
    let app_if =
        lab.app.output(&format!("ip -o addr show to {} | awk '{{print $2}}'", support::netns::APP_ADDR));
    let app_if = app_if.trim().to_owned();
    let _dns = Dnsmasq::start_in(&lab.vnet, VNET_ADDR, &dnsmasq_records());
    let _listeners = lab.vnet.listen(&[443]);
    let app = wine.in_netns(&lab.app);
    let dns = [("WEBSITE_DNS_SERVER", VNET_ADDR)];

    // Detailed tnc: the next hop through the gateway, and on-link as Windows shows it.
    let run =
        app.run("netdiag", &["tnc", BEHIND_GATEWAY, "-p", "443", "--information-level", "detailed"], &[]);
    run.expect_code(0);
    assert!(run.stdout().contains(&format!("NetRoute (NextHop)    : {VNET_ADDR}\n")), "{run}");
    assert!(run.stdout().contains("TcpTestSucceeded      : True\n"), "{run}");
    // The interface's name as GetAdaptersAddresses gives it (wine's friendly name is Linux's).
    assert!(run.stdout().contains(&format!("InterfaceAlias        : {app_if}\n")), "{run}");
    let run = app.run(
        "netdiag",
        &["Test-NetConnection", VNET_ADDR, "-Port", "443", "-InformationLevel", "Detailed"],
        &[],
    );
    run.expect_code(0);
    assert!(run.stdout().contains("NetRoute (NextHop)    : 0.0.0.0\n"), "on-link: {run}");
    let run = app.run(
        "netdiag",
        &["tnc", "-ComputerName", VNET_ADDR, "-Port", "9", "-InformationLevel", "Quiet"],
        &[],
    );
    run.expect_code(1);
    assert_eq!(run.stdout(), "False\n", "{run}");

    // check: DNS through WEBSITE_DNS_SERVER, the route stage filled from the OS, the connect.
    let run = app.run(
        "netdiag",
        &["check", "--json", "-w", "1s", &format!("{WWW}:80"), &format!("{BEHIND_GATEWAY}:443")],
        &dns,
    );
    let doc = run.stream();
    let target = |host: &str| {
        doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["host"] == host)
            .unwrap_or_else(|| panic!("{host}: {run}"))
            .clone()
    };
    let behind = target(BEHIND_GATEWAY);
    let route = &behind["addresses"][0]["route"];
    assert_eq!(route["gateway"], VNET_ADDR, "{run}");
    assert_eq!(route["gateway_known"], true, "{run}");
    assert_eq!(route["source"], support::netns::APP_ADDR, "{run}");
    assert_eq!(behind["addresses"][0]["tcp"]["connected"], true, "{run}");
    let www = target(WWW);
    assert_eq!(www["dns"]["result"], "addresses", "{run}");
    assert_eq!(www["dns"]["servers"][0]["server"], format!("{VNET_ADDR}:53"), "{run}");
    assert_eq!(www["dns"]["servers"][0]["status"], "answered", "{run}");

    // env inside the namespace: the default route from GetIpForwardTable2, the app's interface.
    let run = app.run("netdiag", &["env", "--json", "--route-to", "127.0.0.1"], &dns);
    run.expect_code(0);
    let doc = run.json();
    assert!(doc["routes_error"].is_null() && doc["interfaces_error"].is_null(), "{run}");
    let interfaces = doc["interfaces"].as_array().unwrap_or_else(|| panic!("{run}"));
    assert!(
        interfaces.iter().any(|i| i["address"] == "127.0.0.1" && i["is_loopback"] == true),
        "the loopback interface, from GetAdaptersAddresses: {run}"
    );
    assert_eq!(doc["route_checks"][0]["route"]["source"], "127.0.0.1", "{run}");
    let defaults = doc["default_routes"].as_array().unwrap_or_else(|| panic!("{run}"));
    assert_eq!(defaults.len(), 1, "{run}");
    assert_eq!(defaults[0]["gateway"], VNET_ADDR, "{run}");
    assert_eq!(defaults[0]["interface"], app_if.as_str(), "{run}");
    assert!(
        doc["interfaces"].as_array().unwrap().iter().any(|i| i["address"] == support::netns::APP_ADDR),
        "{run}"
    );
}

/// The engine's unit tests, built for Windows, run under wine inside an empty namespace: the
/// Windows-only code paths (iphlpapi, Winsock error codes) get their unit tests run too.
/// tests/ci.sh builds them and names the .exe in NETDIAG_WINDOWS_UNIT_TESTS.
#[test]
fn engine_unit_tests_pass_on_windows() {
    let Some(wine) = wine() else { return };
    if !support::privileged() {
        return;
    }
    let Some(exe) = std::env::var_os("NETDIAG_WINDOWS_UNIT_TESTS") else {
        if std::env::var_os(support::REQUIRE_PRIVILEGED_ENV).is_some() {
            panic!("NETDIAG_WINDOWS_UNIT_TESTS is not set (tests/ci.sh sets it)");
        }
        eprintln!("skipping: NETDIAG_WINDOWS_UNIT_TESTS is not set");
        return;
    };
    let exe = wine.with_shim(std::path::Path::new(&exe));
    let ns = Netns::new("wut");
    let inside = wine.in_netns(&ns);
    let run = inside.run_exe(&exe, &["--test-threads=2"]);
    run.expect_code(0);
    let summary = run.stdout().lines().find(|l| l.starts_with("test result: ")).map(str::to_owned);
    let summary = summary.unwrap_or_else(|| panic!("{run}"));
    assert!(summary.starts_with("test result: ok.") && !summary.contains(" 0 passed"), "{run}");
    assert!(run.stdout().contains("tcp::tests::raw_winsock_errors_map_to_classes ... ok"), "{run}");
}
