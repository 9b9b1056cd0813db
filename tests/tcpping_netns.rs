//! tcpping in throw-away network namespaces: the probe runs in the "app" namespace, servers and
//! firewall rules live in the "vnet" namespace. Each failure class is produced the way a real
//! network produces it: iptables DROP, REJECT with a TCP reset or an ICMP error, a missing route.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::dns::{Dnsmasq, dnsmasq_records, names::MISSING};
use support::netns::{APP_ADDR, Lab, Netns, VNET_ADDR};
use support::{Run, run};

fn tcpping_in(ns: &Netns, args: &[&str]) -> Run {
    let mut cmd = ns.command(&support::bin("tcpping"));
    cmd.args(args).env_remove("RUST_LOG");
    run(cmd)
}

fn records(run: &Run) -> (Vec<Value>, Value) {
    let mut lines = run.json_lines();
    let summary = lines.pop().unwrap_or_else(|| panic!("no output\n{run}"));
    assert_eq!(summary["type"], "summary", "{run}");
    (lines, summary)
}

namespace_listener_entry_point!();

#[test]
fn connects_across_a_veth_pair_from_the_app_address() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _server = lab.vnet.listen(&[8080]);
    let target = format!("{VNET_ADDR}:8080");
    let run = tcpping_in(&lab.app, &[&target, "-n", "2", "-i", "0", "--json"]);
    run.expect_code(0);
    let (attempts, summary) = records(&run);
    for rec in &attempts {
        assert_eq!(rec["success"], true, "{run}");
        assert_eq!(rec["remote"], target.as_str());
        assert!(rec["local"].as_str().unwrap().starts_with(&format!("{APP_ADDR}:")), "{rec}");
    }
    assert_eq!(summary["successes"], 2);
}

#[test]
fn iptables_drop_is_timed_out() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.vnet.iptables("-A INPUT -p tcp --dport 9000 -j DROP");
    let run =
        tcpping_in(&lab.app, &[&format!("{VNET_ADDR}:9000"), "-n", "2", "-i", "0", "-w", "400ms", "--json"]);
    run.expect_code(1);
    let (attempts, summary) = records(&run);
    for rec in &attempts {
        assert_eq!(rec["class"], "timed_out", "{run}");
        assert!(rec["hint"].as_str().unwrap().contains("firewall"), "{rec}");
    }
    assert_eq!(summary["failures_by_class"], serde_json::json!({"timed_out": 2}));
}

#[test]
fn reject_with_tcp_reset_is_refused() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _server = lab.vnet.listen(&[9001]);
    // The firewall answers for the listener: the probe must see what a closed port looks like.
    lab.vnet.iptables("-A INPUT -p tcp --dport 9001 -j REJECT --reject-with tcp-reset");
    let run = tcpping_in(&lab.app, &[&format!("{VNET_ADDR}:9001"), "-n", "1", "--json"]);
    run.expect_code(1);
    assert_eq!(records(&run).0[0]["class"], "refused", "{run}");
}

#[test]
fn reject_with_icmp_host_unreachable_is_host_unreachable() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.vnet.iptables("-A INPUT -p tcp --dport 9002 -j REJECT --reject-with icmp-host-unreachable");
    let run = tcpping_in(&lab.app, &[&format!("{VNET_ADDR}:9002"), "-n", "1", "-w", "5s"]);
    run.expect_code(1);
    let first = run.stdout();
    assert!(first.starts_with("Connection attempt failed: host unreachable [host_unreachable]: "), "{run}");
    assert!(first.contains("Failures: host_unreachable 1\n"), "{run}");
    assert!(run.elapsed < Duration::from_secs(4), "an ICMP error must end the attempt at once\n{run}");
}

#[test]
fn missing_route_is_network_unreachable() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    // 10.99.0.0/16 is outside the app namespace's only route (the lab's /24).
    let run = tcpping_in(&lab.app, &["10.99.0.1:80", "-n", "1", "--json"]);
    run.expect_code(1);
    let rec = &records(&run).0[0];
    assert_eq!(rec["class"], "network_unreachable", "{run}");
    assert_eq!(rec["remote"], "10.99.0.1:80");
}

#[test]
fn interface_binding() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _server = lab.vnet.listen(&[9003]);
    let veth = lab.app.output("ip -o link show type veth | cut -d: -f2 | cut -d@ -f1");
    let veth = veth.trim();
    assert!(!veth.is_empty(), "no veth in the app namespace");
    let target = format!("{VNET_ADDR}:9003");
    tcpping_in(&lab.app, &[&target, "-n", "1", "--interface", veth]).expect_code(0);
    let run = tcpping_in(&lab.app, &[&target, "-n", "1", "--json", "--interface", "nosuchif0"]);
    run.expect_code(1);
    let rec = &records(&run).0[0];
    assert_eq!(rec["class"], "local_error", "{run}");
    assert!(rec["error"].as_str().unwrap().contains("bind to interface"), "{rec}");
}

#[test]
fn max_loss_with_partial_loss() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _server = lab.vnet.listen(&[9004]);
    // Every second SYN is refused: two of four attempts fail, deterministically.
    lab.vnet.iptables(
        "-A INPUT -p tcp --syn --dport 9004 -m statistic --mode nth --every 2 --packet 0 -j REJECT --reject-with tcp-reset",
    );
    let target = format!("{VNET_ADDR}:9004");
    let run = tcpping_in(&lab.app, &[&target, "-n", "4", "-i", "0", "--json", "--max-loss", "50"]);
    run.expect_code(0);
    let (_, summary) = records(&run);
    assert_eq!(summary["loss_pct"], 50.0, "{run}");
    assert_eq!(summary["failures_by_class"], serde_json::json!({"refused": 2}));
    let run = tcpping_in(&lab.app, &[&target, "-n", "4", "-i", "0", "-q", "--max-loss", "25"]);
    run.expect_code(1);
    assert!(run.stdout().starts_with("Complete: 2/4 successful attempts (50%)."), "{run}");
}

#[test]
fn reset_close_leaves_no_time_wait_and_graceful_does() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _server = lab.vnet.listen(&[9005]);
    let target = format!("{VNET_ADDR}:9005");
    let time_wait = |ns: &Netns| ns.output("ss -Htan state time-wait").lines().count();

    tcpping_in(&lab.app, &[&target, "-n", "3", "-i", "0"]).expect_code(0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(time_wait(&lab.app), 0, "RST close left TIME_WAIT in the app namespace");
    assert_eq!(time_wait(&lab.vnet), 0, "RST close left TIME_WAIT on the server");

    tcpping_in(&lab.app, &[&target, "-n", "3", "-i", "0", "--graceful"]).expect_code(0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(time_wait(&lab.app), 3, "each graceful close should leave one TIME_WAIT on the prober");
}

#[test]
fn default_timeout_is_the_documented_21_seconds() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.vnet.iptables("-A INPUT -p tcp --dport 9006 -j DROP");
    let run = tcpping_in(&lab.app, &[&format!("{VNET_ADDR}:9006"), "-n", "1", "--json"]);
    run.expect_code(1);
    let secs = run.elapsed.as_secs_f64();
    assert!((20.5..22.5).contains(&secs), "took {secs:.2}s\n{run}");
    let rec = &records(&run).0[0];
    assert_eq!(rec["class"], "timed_out", "{run}");
    assert_eq!(rec["error"], "connection timed out after 21 s");
}

#[test]
fn name_resolves_through_the_resolv_conf_the_app_sees() {
    if !support::privileged() {
        return;
    }
    // The lab's app namespace has a resolv.conf naming VNET_ADDR, where dnsmasq serves the
    // test zone plus a name for the listener. No flag and no WEBSITE_* variable is given: the
    // only way tcpping can find that server is the system configuration the app sees.
    let lab = Lab::new();
    const SERVICE: &str = "svc.netdiag.test";
    let mut zone = dnsmasq_records();
    zone.push(format!("--host-record={SERVICE},{VNET_ADDR}"));
    let _dns = Dnsmasq::start_in(&lab.vnet, VNET_ADDR, &zone);
    let _server = lab.vnet.listen(&[8080]);
    let tcpping_clean = |args: &[&str]| {
        let mut cmd = lab.app.command(&support::bin("tcpping"));
        cmd.env_clear().args(args);
        run(cmd)
    };

    let target = format!("{SERVICE}:8080");
    let out = tcpping_clean(&[&target, "-n", "2", "-i", "0", "--json"]);
    out.expect_code(0);
    let (attempts, _) = records(&out);
    for rec in &attempts {
        assert_eq!(rec["success"], true, "{out}");
        assert_eq!(rec["remote"], format!("{VNET_ADDR}:8080"), "{out}");
        assert_eq!(rec["dns_server"], format!("{VNET_ADDR}:53"), "{out}");
    }

    let out = tcpping_clean(&[&format!("{MISSING}:8080"), "-n", "1", "--json"]);
    out.expect_code(1);
    let (attempts, _) = records(&out);
    assert_eq!(attempts[0]["class"], "name_not_found", "{out}");
    assert_eq!(attempts[0]["dns_servers"][0]["server"], format!("{VNET_ADDR}:53"), "{out}");
}

/// With `tcp_syn_retries` = 1 the kernel alone gives up after ~3 s (SYN at 0 and 1 s, then
/// 2 s more). A `-w` of 5 s must still be waited in full (each socket's TCP_USER_TIMEOUT
/// outlasts it), and both tools report the 5 s that applied.
#[test]
fn a_timeout_longer_than_the_kernel_waits_still_applies() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.app.sh("sysctl -qw net.ipv4.tcp_syn_retries=1");
    lab.vnet.iptables("-A INPUT -p tcp --dport 9007 -j DROP");
    let target = format!("{VNET_ADDR}:9007");
    let netdiag = {
        let mut cmd = lab.app.command(&support::bin("netdiag"));
        cmd.env_clear().args(["check", "--json", "-w", "5s", &target]);
        std::thread::spawn(move || run(cmd))
    };
    let tcp = tcpping_in(&lab.app, &[&target, "-n", "1", "-w", "5s", "--json"]);
    let netdiag = netdiag.join().unwrap();

    tcp.expect_code(1);
    let (attempts, summary) = records(&tcp);
    assert_eq!(attempts[0]["error"], "connection timed out after 5 s", "{tcp}");
    assert_eq!(summary["timeout_ms"], 5000.0, "{tcp}");
    assert!(tcp.elapsed >= Duration::from_millis(4900), "the kernel gave up first\n{tcp}");

    netdiag.expect_code(1);
    let t = &netdiag.stream()["targets"][0];
    assert_eq!(t["environment"]["tcp_timeout_ms"], 5000.0, "{netdiag}");
    assert_eq!(t["addresses"][0]["tcp"]["error"], "connection timed out after 5 s", "{netdiag}");
    assert!(netdiag.elapsed >= Duration::from_millis(4900), "{netdiag}");
}
