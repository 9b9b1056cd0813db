//! `netdiag check`, `tnc` and `deps` against real hosts in throw-away namespaces.
//!
//! netdiag runs in the "app" namespace, whose only routes are our veth (10.77.0.0/24) and
//! 100.64.0.0/24 through the "vnet" namespace. The vnet namespace holds everything the app
//! talks to: two dnsmasq servers (10.77.0.2 and 10.77.0.3, never forwarding), TCP listeners,
//! a non-RFC1918 host (100.64.0.10, shared address space: not RFC1918, never routed on the
//! internet) and the iptables rules that make each failure happen the way a network makes it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::dns::Dnsmasq;
use support::netns::{APP_ADDR, Child, Lab, Netns, VNET_ADDR};
use support::{Run, bin, run};

/// The second DNS server's address, on the vnet namespace's loopback.
const DNS2_ADDR: &str = "10.77.0.3";
/// A non-RFC1918 destination that lives only in the vnet namespace.
const CGNAT_ADDR: &str = "100.64.0.10";
/// Ports with a listener in the vnet namespace.
const OPEN_PORTS: [u16; 5] = [443, 1433, 5671, 8443, 9100];

const SECRETS: [&str; 4] = [
    "FAKEACCOUNTKEY0123456789abcdef",
    "FAKEPASSWORDSw0rdfish77",
    "FAKESASKEYabcdef0123456789",
    "FAKEBROKENKEY999",
];

fn records() -> Vec<String> {
    let host = |name: &str, addr: &str| format!("--host-record={name},{addr}");
    vec![
        "--local=/netdiag.test/".into(),
        "--local=/windows.net/".into(),
        host("ok.netdiag.test", VNET_ADDR),
        "--address=/multi.netdiag.test/10.77.0.2".into(),
        "--address=/multi.netdiag.test/10.77.0.3".into(),
        host("cgnat.netdiag.test", CGNAT_ADDR),
        host("good.privatelink.blob.core.windows.net", VNET_ADDR),
        "--cname=good.blob.core.windows.net,good.privatelink.blob.core.windows.net".into(),
        host("bad.public.blob.core.windows.net", CGNAT_ADDR),
        "--cname=bad.privatelink.blob.core.windows.net,bad.public.blob.core.windows.net".into(),
        "--cname=bad.blob.core.windows.net,bad.privatelink.blob.core.windows.net".into(),
        host("fakeacct.blob.core.windows.net", VNET_ADDR),
        host("fakeacct.queue.core.windows.net", VNET_ADDR),
        host("fakeacct.table.core.windows.net", VNET_ADDR),
        host("fakeacct.file.core.windows.net", VNET_ADDR),
        host("sql.netdiag.test", VNET_ADDR),
        host("bus.netdiag.test", VNET_ADDR),
    ]
}

/// The whole lab, torn down on drop.
struct World {
    lab: Lab,
    _dns: [Dnsmasq; 2],
    _listeners: Child,
}

fn world() -> World {
    let lab = Lab::new();
    lab.vnet.ip(&format!("addr add {DNS2_ADDR}/32 dev lo"));
    lab.vnet.ip(&format!("addr add {CGNAT_ADDR}/32 dev lo"));
    lab.app.ip(&format!("route add 100.64.0.0/24 via {VNET_ADDR}"));
    let dns = [
        Dnsmasq::start_in(&lab.vnet, VNET_ADDR, &records()),
        Dnsmasq::start_in(&lab.vnet, DNS2_ADDR, &records()),
    ];
    let listeners = lab.vnet.listen(&OPEN_PORTS);
    World { lab, _dns: dns, _listeners: listeners }
}

namespace_listener_entry_point!();

/// Runs netdiag in the app namespace with exactly `env` (nothing inherited).
fn netdiag_in(ns: &Netns, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = ns.command(&bin("netdiag"));
    cmd.env_clear().env("NO_COLOR", "1").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

/// The app's DNS is the first dnsmasq unless a test says otherwise.
const APP_DNS: (&str, &str) = ("WEBSITE_DNS_SERVER", VNET_ADDR);

fn ids(target: &Value) -> Vec<String> {
    target["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
}

/// Runs one `check --json` of a single target and returns its finding ids.
fn check_ids(w: &World, args: &[&str], env: &[(&str, &str)], code: i32) -> (Vec<String>, Value, Run) {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let r = netdiag_in(&w.lab.app, &all, env);
    r.expect_code(code);
    let doc = r.stream();
    assert_eq!(doc["schema"], 2, "{r}");
    let target = doc["targets"][0].clone();
    println!("scenario {args:?}: {:.0} ms, findings {:?}", r.elapsed.as_secs_f64() * 1000.0, ids(&target));
    (ids(&target), target, r)
}

fn has(ids: &[String], id: &str) -> bool {
    ids.iter().any(|i| i == id)
}

#[test]
fn tcp_outcomes_each_give_their_finding() {
    if !support::privileged() {
        return;
    }
    let w = world();
    w.lab.vnet.iptables("-A INPUT -p tcp --dport 9000 -j DROP");
    w.lab.vnet.iptables("-A INPUT -p tcp --dport 9001 -j REJECT --reject-with tcp-reset");
    w.lab.vnet.iptables("-A INPUT -p tcp --dport 9002 -j REJECT --reject-with icmp-host-unreachable");

    // Healthy, by name, on the default port (443).
    let (found, t, r) = check_ids(&w, &["ok.netdiag.test"], &[APP_DNS], 0);
    assert_eq!(found, ["tcp_connected"], "{r}");
    assert_eq!(t["port"], 443);
    assert_eq!(t["dns"]["result"], "addresses");
    assert_eq!(t["dns"]["servers"][0]["server"], "10.77.0.2:53");
    assert_eq!(t["dns"]["servers"][0]["status"], "answered");
    let a = &t["addresses"][0];
    assert_eq!(a["address"], VNET_ADDR);
    assert_eq!(a["class"], "rfc1918");
    assert_eq!(a["route"]["source"], APP_ADDR);
    assert_eq!(a["route"]["gateway_known"], true);
    assert!(a["route"]["gateway"].is_null(), "on-link: {a}");
    assert_eq!(a["tcp"]["connected"], true);
    assert!(a["tcp"]["local"].as_str().unwrap().starts_with(&format!("{APP_ADDR}:")), "{a}");
    let (connect, kernel) = (a["tcp"]["elapsed_ms"].as_f64().unwrap(), a["tcp"]["kernel_rtt_ms"].as_f64());
    assert!(kernel.is_some_and(|k| k > 0.0 && k <= connect + 0.001), "kernel RTT within our timing: {a}");
    assert_eq!(t["environment"]["dns_servers_source"]["kind"], "website_dns_server");
    assert_eq!(t["environment"]["dns_timeout_ms"], 3000.0);
    assert_eq!(t["environment"]["tcp_timeout_ms"], 21000.0);

    // A firewall dropping the SYN: the connect times out after -w.
    let (found, t, r) = check_ids(&w, &["10.77.0.2:9000", "-w", "500ms"], &[], 1);
    assert_eq!(found, ["tcp_timed_out"], "{r}");
    assert!(t["dns"].is_null() && t["ip_literal"] == true, "an IP literal skips DNS: {t}");
    assert_eq!(t["addresses"][0]["tcp"]["class"], "timed_out");
    assert!(r.elapsed >= Duration::from_millis(500) && r.elapsed < Duration::from_secs(3), "{r}");

    let (found, t, r) = check_ids(&w, &["10.77.0.2:9001", "-w", "2s"], &[], 1);
    assert_eq!(found, ["tcp_refused"], "{r}");
    assert_eq!(t["addresses"][0]["tcp"]["class"], "refused");

    let (found, t, r) = check_ids(&w, &["10.77.0.2:9002", "-w", "2s"], &[], 1);
    assert_eq!(found, ["tcp_unreachable"], "{r}");
    assert_eq!(t["addresses"][0]["tcp"]["class"], "host_unreachable");

    // Nothing routes 10.99/16 in the app namespace: the kernel says so before any packet.
    let (found, t, r) = check_ids(&w, &["10.99.0.5:443", "-w", "2s"], &[], 1);
    assert!(has(&found, "no_route") && has(&found, "tcp_unreachable"), "{r}");
    assert_eq!(t["addresses"][0]["route"]["no_route"], true);
    assert_eq!(t["addresses"][0]["tcp"]["class"], "network_unreachable");

    // Port 25 under virtual network integration; the source is WEBSITE_PRIVATE_IP here.
    let (found, t, r) = check_ids(&w, &["10.77.0.2:25", "-w", "2s"], &[("WEBSITE_PRIVATE_IP", APP_ADDR)], 1);
    assert!(has(&found, "port_25_blocked") && has(&found, "tcp_refused"), "{r}");
    assert_eq!(t["addresses"][0]["route"]["source_is_private_ip"], true);

    // Text output: stages, then findings with severity, no colour under NO_COLOR.
    let r = netdiag_in(&w.lab.app, &["check", "ok.netdiag.test", "10.77.0.2:9001"], &[APP_DNS]);
    r.expect_code(1);
    let out = r.stdout();
    for want in [
        "== ok.netdiag.test:443",
        "DNS servers:  10.77.0.2:53 from WEBSITE_DNS_SERVER/WEBSITE_DNS_ALT_SERVER, 3 s per server",
        "Resolved:     10.77.0.2",
        "Address:      10.77.0.2 (private (RFC1918))",
        "OK      10.77.0.2:443 [tcp_connected]",
        "DNS:          10.77.0.2:53 answered NOERROR over UDP in ",
        "DNS:          skipped (10.77.0.2 is an IP address)",
        "FAILURE 10.77.0.2:9001 [tcp_refused]",
        "Overall: 2 target(s) checked in",
    ] {
        assert!(out.contains(want), "missing {want:?}\n{r}");
    }
    assert!(!out.contains('\x1b'), "{r}");
}

#[test]
fn targets_are_checked_concurrently() {
    if !support::privileged() {
        return;
    }
    let w = world();
    w.lab.vnet.iptables("-A INPUT -p tcp --dport 9010:9012 -j DROP");
    let args = [
        "check",
        "--json",
        "-w",
        "1s",
        "10.77.0.2:9010",
        "10.77.0.2:9011",
        "10.77.0.2:9012",
        "ok.netdiag.test",
    ];
    let r = netdiag_in(&w.lab.app, &args, &[APP_DNS]);
    r.expect_code(1);
    let doc = r.stream();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 4);
    for t in &targets[..3] {
        assert_eq!(ids(t), ["tcp_timed_out"], "{r}");
    }
    assert_eq!(ids(&targets[3]), ["tcp_connected"], "{r}");
    let each: f64 = targets.iter().map(|t| t["elapsed_ms"].as_f64().unwrap()).sum();
    println!(
        "concurrency: 3 x 1 s timeouts + 1 healthy: whole process {:?}, sum of targets {each:.0} ms",
        r.elapsed
    );
    // Sequential would take at least 3 s.
    assert!(r.elapsed >= Duration::from_secs(1) && r.elapsed < Duration::from_millis(1900), "{r}");
    assert!(each >= 3000.0, "{each}");

    // Every address of one target is probed at once too: .2 answers, .3 drops.
    w.lab.vnet.iptables(&format!("-A INPUT -d {DNS2_ADDR} -p tcp --dport 443 -j DROP"));
    let r = netdiag_in(&w.lab.app, &["check", "--json", "-w", "1s", "multi.netdiag.test"], &[APP_DNS]);
    r.expect_code(1);
    let t = &r.stream()["targets"][0];
    let addrs = t["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 2, "{r}");
    assert!(has(&ids(t), "tcp_connected") && has(&ids(t), "tcp_timed_out"), "{r}");
    assert!(r.elapsed < Duration::from_millis(1900), "{r}");
}

fn drop_dns(ns: &Netns, addr: &str) {
    for proto in ["udp", "tcp"] {
        ns.iptables(&format!("-A INPUT -d {addr} -p {proto} --dport 53 -j DROP"));
    }
}

#[test]
fn dns_failures_with_short_timeouts() {
    if !support::privileged() {
        return;
    }
    let w = world();
    let both = ("WEBSITE_DNS_SERVER", "10.77.0.3,10.77.0.2");

    let (found, t, r) = check_ids(&w, &["missing.netdiag.test", "--dns-timeout", "300ms"], &[APP_DNS], 1);
    assert_eq!(found, ["dns_nxdomain"], "{r}");
    assert_eq!(t["dns"]["result"], "nxdomain");
    assert!(t["addresses"].as_array().unwrap().is_empty());

    drop_dns(&w.lab.vnet, DNS2_ADDR);
    let (found, t, r) = check_ids(&w, &["ok.netdiag.test", "--dns-timeout", "300ms"], &[both], 0);
    assert_eq!(found, ["dns_server_dead", "tcp_connected"], "{r}");
    let servers = t["dns"]["servers"].as_array().unwrap();
    assert_eq!(servers[0]["server"], "10.77.0.3:53");
    assert_eq!(servers[0]["status"], "timed_out");
    assert_eq!(servers[1]["status"], "answered");
    assert_eq!(t["findings"][0]["subject"], "10.77.0.3:53");
    assert_eq!(t["environment"]["dns_timeout_ms"], 300.0);

    // The platform's WEBSITE_DNS_TIMEOUT applies when --dns-timeout is not given.
    let (found, t, r) = check_ids(&w, &["ok.netdiag.test"], &[both, ("WEBSITE_DNS_TIMEOUT", "1")], 0);
    assert_eq!(found, ["dns_server_dead", "tcp_connected"], "{r}");
    assert_eq!(t["environment"]["dns_timeout_ms"], 1000.0);
    assert!(r.elapsed >= Duration::from_secs(1) && r.elapsed < Duration::from_millis(2500), "{r}");

    drop_dns(&w.lab.vnet, VNET_ADDR);
    let (found, t, r) = check_ids(&w, &["ok.netdiag.test", "--dns-timeout", "300ms"], &[both], 1);
    assert_eq!(found, ["dns_all_servers_timed_out"], "{r}");
    assert_eq!(t["dns"]["result"], "all_servers_failed");
    assert!(r.elapsed >= Duration::from_millis(600) && r.elapsed < Duration::from_secs(2), "{r}");

    // Explicit servers replace the app's, in the order given.
    let (found, t, r) = check_ids(
        &w,
        &[
            "ok.netdiag.test",
            "--dns-timeout",
            "200ms",
            "--dns-server",
            "10.77.0.2",
            "--dns-server",
            "10.77.0.3:53",
        ],
        &[],
        1,
    );
    assert_eq!(found, ["dns_all_servers_timed_out"], "{r}");
    assert_eq!(t["environment"]["dns_servers_source"]["kind"], "argument");
}

/// The documented defaults, really: 3 s per dead server before the next one is asked.
#[test]
fn dns_real_default_timeouts_are_3s_per_server() {
    if !support::privileged() {
        return;
    }
    let w = world();
    drop_dns(&w.lab.vnet, DNS2_ADDR);
    w.lab.vnet.ip("addr add 10.77.0.4/32 dev lo");
    drop_dns(&w.lab.vnet, "10.77.0.4");

    // Both runs at once: they are separate processes, so neither's timing affects the other.
    let spawn = |servers: &'static str| {
        let app = w.lab.app.name.clone();
        std::thread::spawn(move || {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &app, &bin("netdiag"), "check", "--json", "ok.netdiag.test"])
                .env_clear()
                .env("NO_COLOR", "1")
                .env("WEBSITE_DNS_SERVER", servers);
            run(cmd)
        })
    };
    let one = spawn("10.77.0.3,10.77.0.2");
    let two = spawn("10.77.0.3,10.77.0.4");
    let (one, two) = (one.join().unwrap(), two.join().unwrap());

    one.expect_code(0);
    let t = &one.stream()["targets"][0];
    assert_eq!(ids(t), ["dns_server_dead", "tcp_connected"], "{one}");
    let dead_ms = t["dns"]["servers"][0]["elapsed_ms"].as_f64().unwrap();
    let dns_ms = t["dns"]["elapsed_ms"].as_f64().unwrap();
    println!(
        "real defaults, one dead server then a live one: process {:?}, DNS {dns_ms:.0} ms, dead server {dead_ms:.0} ms",
        one.elapsed
    );
    assert!((2800.0..4000.0).contains(&dns_ms), "{one}");
    assert!((2.8..4.0).contains(&one.elapsed.as_secs_f64()), "{one}");

    two.expect_code(1);
    let t = &two.stream()["targets"][0];
    assert_eq!(ids(t), ["dns_all_servers_timed_out"], "{two}");
    let dns_ms = t["dns"]["elapsed_ms"].as_f64().unwrap();
    println!("real defaults, two dead servers: process {:?}, DNS {dns_ms:.0} ms", two.elapsed);
    assert!((5800.0..7500.0).contains(&dns_ms), "{two}");
    assert!((5.8..7.5).contains(&two.elapsed.as_secs_f64()), "{two}");
    assert!(t["findings"][0]["summary"].as_str().unwrap().contains("6.0 s"), "{two}");
}

#[test]
fn private_endpoints_and_route_all() {
    if !support::privileged() {
        return;
    }
    let w = world();
    let (found, t, r) = check_ids(&w, &["good.blob.core.windows.net", "-w", "2s"], &[APP_DNS], 0);
    assert_eq!(found, ["private_endpoint_ok", "tcp_connected"], "{r}");
    assert_eq!(t["dns"]["cname_chain"][0], "good.privatelink.blob.core.windows.net");

    let (found, t, r) = check_ids(&w, &["bad.blob.core.windows.net", "-w", "2s"], &[APP_DNS], 1);
    assert_eq!(found, ["private_endpoint_public_address", "tcp_connected"], "{r}");
    assert_eq!(t["addresses"][0]["address"], CGNAT_ADDR);
    assert!(t["findings"][0]["next_step"].as_str().unwrap().contains("privatelink.blob.core.windows.net"));

    let vnet = [APP_DNS, ("WEBSITE_PRIVATE_IP", APP_ADDR)];
    let (found, t, r) = check_ids(&w, &["cgnat.netdiag.test", "-w", "2s"], &vnet, 0);
    assert_eq!(found, ["public_destination_without_route_all", "tcp_connected"], "{r}");
    assert_eq!(t["addresses"][0]["class"], "shared_cgnat");
    assert_eq!(t["addresses"][0]["route"]["gateway"], VNET_ADDR, "{t}");
    assert_eq!(t["environment"]["route_all"], false);

    let route_all = [APP_DNS, ("WEBSITE_PRIVATE_IP", APP_ADDR), ("WEBSITE_VNET_ROUTE_ALL", "1")];
    let (found, t, r) = check_ids(&w, &["cgnat.netdiag.test", "-w", "2s"], &route_all, 0);
    assert_eq!(found, ["tcp_connected"], "{r}");
    assert_eq!(t["environment"]["route_all"], true);
}

fn assert_no_secret(r: &Run) {
    for s in SECRETS {
        assert!(!r.stdout().contains(s), "secret {s} on stdout\n{r}");
        assert!(!r.stderr().contains(s), "secret {s} on stderr\n{r}");
    }
}

#[test]
fn deps_checks_every_dependency_without_leaking_secrets() {
    if !support::privileged() {
        return;
    }
    let w = world();
    let storage = format!(
        "DefaultEndpointsProtocol=https;AccountName=fakeacct;AccountKey={};EndpointSuffix=core.windows.net",
        SECRETS[0]
    );
    let sql = format!("Server=tcp:sql.netdiag.test,1433;Database=db;User ID=u;Password={};", SECRETS[1]);
    let bus =
        format!("Endpoint=sb://bus.netdiag.test/;SharedAccessKeyName=Root;SharedAccessKey={}", SECRETS[2]);
    let broken = format!("AccountName=bad name;AccountKey={}", SECRETS[3]);
    let env = [
        APP_DNS,
        ("AzureWebJobsStorage", storage.as_str()),
        ("SQLAZURECONNSTR_Main", sql.as_str()),
        ("ServiceBusConnectionString", bus.as_str()),
        ("CUSTOMCONNSTR_broken", broken.as_str()),
    ];

    let r = netdiag_in(&w.lab.app, &["deps", "--json", "-w", "2s"], &env);
    r.expect_code(1);
    assert_no_secret(&r);
    let doc = r.stream();
    assert_eq!(doc["schema"], 2);
    let got: Vec<(String, String, u64, Vec<String>)> = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["setting"].as_str().unwrap().to_owned(),
                d["host"].as_str().unwrap().to_owned(),
                d["port"].as_u64().unwrap(),
                ids(&d["check"]),
            )
        })
        .collect();
    let ok = || vec!["tcp_connected".to_owned()];
    let want = vec![
        ("AzureWebJobsStorage".to_owned(), "fakeacct.blob.core.windows.net".to_owned(), 443, ok()),
        ("AzureWebJobsStorage".into(), "fakeacct.queue.core.windows.net".into(), 443, ok()),
        ("AzureWebJobsStorage".into(), "fakeacct.table.core.windows.net".into(), 443, ok()),
        // Azure Files is SMB; nothing listens on 445 in the lab.
        (
            "AzureWebJobsStorage".into(),
            "fakeacct.file.core.windows.net".into(),
            445,
            vec!["tcp_refused".into()],
        ),
        ("SQLAZURECONNSTR_Main".into(), "sql.netdiag.test".into(), 1433, ok()),
        ("ServiceBusConnectionString".into(), "bus.netdiag.test".into(), 5671, ok()),
        ("ServiceBusConnectionString".into(), "bus.netdiag.test".into(), 443, ok()),
    ];
    assert_eq!(got, want, "{r}");
    assert_eq!(doc["unparsed"][0]["setting"], "CUSTOMCONNSTR_broken", "{r}");
    assert_eq!(doc["unparsed"][0]["error"], "AccountName is not a storage account name", "{r}");
    println!("deps --json: {:?}", r.elapsed);

    // Text, and the most verbose tracing, leak nothing either.
    let r =
        netdiag_in(&w.lab.app, &["-vvv", "deps", "-w", "2s"], &[&env[..], &[("RUST_LOG", "trace")]].concat());
    r.expect_code(1);
    assert_no_secret(&r);
    let out = r.stdout();
    assert!(
        out.contains("## AzureWebJobsStorage (storage_blob) -> fakeacct.blob.core.windows.net:443"),
        "{r}"
    );
    assert!(out.contains("## SQLAZURECONNSTR_Main (sql) -> sql.netdiag.test:1433"), "{r}");
    assert!(out.contains("Dependencies: 7 checked in"), "{r}");

    // `env` lists the same settings, redacted, and the DNS servers with their source.
    let r = netdiag_in(&w.lab.app, &["env", "--json"], &env);
    r.expect_code(0);
    assert_no_secret(&r);
    assert_eq!(
        r.json()["dns_servers"],
        serde_json::json!([{"address": "10.77.0.2:53", "source": "WEBSITE_DNS_SERVER"}])
    );

    // No connection strings at all: say so and succeed.
    let r = netdiag_in(&w.lab.app, &["deps"], &[APP_DNS]);
    r.expect_code(0);
    assert!(r.stdout().starts_with("No dependencies found"), "{r}");
    let r = netdiag_in(&w.lab.app, &["deps", "--json"], &[APP_DNS]);
    r.expect_code(0);
    assert_eq!(r.stream()["dependencies"], serde_json::json!([]));
}

/// Splits Test-NetConnection's `Name : value` lines, checking every colon sits in one column.
fn tnc_fields(out: &str, column: usize) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| !l.starts_with("WARNING: "))
        .map(|l| {
            assert_eq!(l.as_bytes().get(column), Some(&b':'), "colon not at column {column}: {l:?}\n{out}");
            (l[..column].trim_end().to_owned(), l[column + 1..].trim().to_owned())
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name} in {fields:?}")).1
}

#[test]
fn tnc_prints_test_netconnection_fields() {
    if !support::privileged() {
        return;
    }
    let w = world();
    w.lab.vnet.iptables("-A INPUT -p tcp --dport 9000 -j DROP");
    let app_if = w.lab.app.output(&format!("ip -o addr show to {APP_ADDR} | awk '{{print $2}}'"));
    let app_if = app_if.trim();
    assert!(!app_if.is_empty());

    // Default: PowerShell's six fields in its order and column, then ours.
    let r = netdiag_in(&w.lab.app, &["tnc", "ok.netdiag.test", "-p", "443"], &[APP_DNS]);
    r.expect_code(0);
    let f = tnc_fields(&r.stdout(), 17);
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ComputerName",
            "RemoteAddress",
            "RemotePort",
            "InterfaceAlias",
            "SourceAddress",
            "TcpTestSucceeded",
            "ConnectTime",
            "FailureClass"
        ],
        "{r}"
    );
    assert_eq!(field(&f, "ComputerName"), "ok.netdiag.test");
    assert_eq!(field(&f, "RemoteAddress"), VNET_ADDR);
    assert_eq!(field(&f, "RemotePort"), "443");
    assert_eq!(field(&f, "InterfaceAlias"), app_if);
    assert_eq!(field(&f, "SourceAddress"), APP_ADDR);
    assert_eq!(field(&f, "TcpTestSucceeded"), "True");
    assert!(field(&f, "ConnectTime").ends_with(" ms"), "{r}");
    assert_eq!(field(&f, "FailureClass"), "");
    assert!(r.stdout().starts_with("ComputerName     : ok.netdiag.test\n"), "{r}");

    // --common-tcp-port and Detailed: every address, continuation lines aligned, the next hop.
    let r = netdiag_in(
        &w.lab.app,
        &[
            "tnc",
            "multi.netdiag.test",
            "--common-tcp-port",
            "HTTP",
            "--information-level",
            "Detailed",
            "-w",
            "1s",
        ],
        &[APP_DNS],
    );
    let out = r.stdout();
    let lines: Vec<&str> = out.lines().collect();
    let at =
        lines.iter().position(|l| l.starts_with("NameResolutionResults : ")).unwrap_or_else(|| panic!("{r}"));
    let mut resolved = vec![lines[at]["NameResolutionResults : ".len()..].to_owned()];
    resolved.push(lines[at + 1].trim().to_owned());
    resolved.sort();
    assert_eq!(resolved, ["10.77.0.2", "10.77.0.3"], "{r}");
    assert_eq!(lines[at + 1].find(|c: char| c != ' '), Some(24), "continuation aligned: {r}");
    let f: Vec<(String, String)> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i != at + 1 && !l.starts_with("WARNING"))
        .map(|(_, l)| (l[..22].trim_end().to_owned(), l[23..].trim().to_owned()))
        .collect();
    assert_eq!(field(&f, "RemotePort"), "80");
    assert_eq!(field(&f, "NetRoute (NextHop)"), "0.0.0.0", "on-link: {r}");
    // Nothing listens on 80: refused on both addresses.
    r.expect_code(1);
    assert_eq!(field(&f, "FailureClass"), "refused");

    // A gateway shows as the next hop.
    let r = netdiag_in(&w.lab.app, &["tnc", CGNAT_ADDR, "-p", "443", "--information-level", "detailed"], &[]);
    r.expect_code(0);
    assert!(r.stdout().contains(&format!("NetRoute (NextHop)    : {VNET_ADDR}\n")), "{r}");

    // Quiet: only True/False on stdout.
    let r = netdiag_in(
        &w.lab.app,
        &["tnc", "ok.netdiag.test", "-p", "443", "--information-level", "quiet"],
        &[APP_DNS],
    );
    r.expect_code(0);
    assert_eq!(r.stdout(), "True\n");
    let r = netdiag_in(
        &w.lab.app,
        &["tnc", VNET_ADDR, "-p", "9000", "--information-level", "quiet", "-w", "300ms"],
        &[],
    );
    r.expect_code(1);
    assert_eq!(r.stdout(), "False\n");
    assert_eq!(r.stderr(), "WARNING: TCP connect to (10.77.0.2 : 9000) failed\n");

    // A failed connect: the warning comes first, then the fields.
    let r = netdiag_in(&w.lab.app, &["tnc", VNET_ADDR, "-p", "9000", "-w", "300ms"], &[]);
    r.expect_code(1);
    assert!(
        r.stdout()
            .starts_with("WARNING: TCP connect to (10.77.0.2 : 9000) failed\nComputerName     : 10.77.0.2\n"),
        "{r}"
    );
    let f = tnc_fields(&r.stdout(), 17);
    assert_eq!(field(&f, "TcpTestSucceeded"), "False");
    assert_eq!(field(&f, "FailureClass"), "timed_out");
    assert_eq!(field(&f, "ConnectTime"), "");

    // A name that does not resolve.
    let r = netdiag_in(&w.lab.app, &["tnc", "nosuch.netdiag.test", "-p", "443"], &[APP_DNS]);
    r.expect_code(1);
    assert!(r.stdout().starts_with("WARNING: Name resolution of nosuch.netdiag.test failed\n"), "{r}");
    let f = tnc_fields(&r.stdout(), 17);
    assert_eq!(field(&f, "RemoteAddress"), "");
    assert_eq!(field(&f, "TcpTestSucceeded"), "False");
    assert_eq!(field(&f, "FailureClass"), "name_not_found");

    // JSON uses PowerShell's property names.
    let r = netdiag_in(&w.lab.app, &["tnc", "ok.netdiag.test", "-p", "443", "--json"], &[APP_DNS]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["ComputerName"], "ok.netdiag.test");
    assert_eq!(v["RemoteAddress"], VNET_ADDR);
    assert_eq!(v["TcpTestSucceeded"], true);
    assert_eq!(v["NameResolutionResults"], serde_json::json!([VNET_ADDR]));
    assert!(v["ConnectTimeMs"].as_f64().unwrap() > 0.0);
}

/// An Azure virtual network may use any address space but 224.0.0.0/4, 255.255.255.255,
/// 127.0.0.0/8, 169.254.0.0/16 and 168.63.129.16: documentation and benchmarking ranges are
/// real hosts there, so they are connected to, with their class as evidence and the Route All
/// warning that applies to every non-RFC1918 destination.
#[test]
fn special_purpose_ranges_are_probed() {
    if !support::privileged() {
        return;
    }
    let w = world();
    for (net, host) in [("192.0.2.0/24", "192.0.2.10"), ("198.18.0.0/24", "198.18.0.10")] {
        w.lab.vnet.ip(&format!("addr add {host}/32 dev lo"));
        w.lab.app.ip(&format!("route add {net} via {VNET_ADDR}"));
    }
    let vnet = [("WEBSITE_PRIVATE_IP", APP_ADDR)];
    for (host, class) in [("192.0.2.10", "documentation"), ("198.18.0.10", "reserved")] {
        let (found, t, r) = check_ids(&w, &[&format!("{host}:443"), "-w", "2s"], &vnet, 0);
        assert_eq!(found, ["public_destination_without_route_all", "tcp_connected"], "{r}");
        let a = &t["addresses"][0];
        assert_eq!(a["class"], class, "{r}");
        assert_eq!(a["tcp"]["connected"], true, "{r}");
        assert!(a["tcp_skipped"].is_null(), "{r}");
        let evidence = t["findings"][1]["evidence"][0].as_str().unwrap();
        assert!(evidence.starts_with(&format!("address {host}: ")), "{r}");
    }
    // Nothing listens on 9000 there: refused is the verdict, not "unusable".
    let (found, _, r) = check_ids(&w, &["198.18.0.10:9000", "-w", "2s"], &[], 1);
    assert_eq!(found, ["tcp_refused"], "{r}");
    // tnc probes them too.
    let r = netdiag_in(&w.lab.app, &["tnc", "192.0.2.10", "-p", "443", "--json"], &[]);
    r.expect_code(0);
    assert_eq!(r.json()["TcpTestSucceeded"], true, "{r}");
}

/// An address on the app's own link where nothing answers ARP: the kernel says "host
/// unreachable" itself, and the finding must agree with the on-link route next to it.
#[test]
fn unanswered_address_on_the_link_is_not_blamed_on_a_router() {
    if !support::privileged() {
        return;
    }
    let w = world();
    let app_if = w.lab.app.output(&format!("ip -o addr show to {APP_ADDR} | awk '{{print $2}}'"));
    // Give up on ARP after one try of 200 ms rather than three of a second.
    w.lab.app.sh(&format!(
        "sysctl -qw net.ipv4.neigh.{0}.mcast_solicit=1 net.ipv4.neigh.{0}.retrans_time_ms=200",
        app_if.trim()
    ));
    let (found, t, r) = check_ids(&w, &["10.77.0.99:443", "-w", "5s"], &[], 1);
    assert_eq!(found, ["tcp_unreachable"], "{r}");
    let a = &t["addresses"][0];
    assert_eq!(a["tcp"]["class"], "host_unreachable", "{r}");
    assert!(a["route"]["gateway"].is_null() && a["route"]["gateway_known"] == true, "{r}");
    let summary = t["findings"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("on the local link") && !summary.contains("router"), "{r}");
}
