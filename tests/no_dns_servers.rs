//! No DNS server configured, and broken DNS settings, in every tool: an empty resolv.conf, no
//! resolv.conf at all, a `WEBSITE_DNS_SERVER` of only separators, and a malformed one next to
//! an IP-literal target. Every tool runs in a namespace whose only route is our veth; for "no
//! resolv.conf at all" it also runs in a private mount namespace with an empty tmpfs over
//! /etc, so the host's resolver configuration is never visible.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use support::netns::{Lab, Netns, VNET_ADDR};
use support::{Run, bin, run};

namespace_listener_entry_point!();

const NAME: &str = "sql.netdiag.test";
const SQL: (&str, &str) = ("SQLCONNSTR_Main", "Server=tcp:sql.netdiag.test,1433;Password=NOTASECRET");

/// How the tool finds (or does not find) resolv.conf.
#[derive(Clone, Copy, Debug)]
enum Resolv {
    /// `ip netns exec` bind-mounts the namespace's (empty) resolv.conf.
    Empty,
    /// An empty tmpfs hides all of /etc: there is no resolv.conf and no hosts file.
    Missing,
}

fn in_ns(ns: &Netns, resolv: Resolv, tool: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = match resolv {
        Resolv::Empty => ns.command(&bin(tool)),
        Resolv::Missing => {
            let mut cmd = ns.command("unshare");
            cmd.args([
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                r#"mount -t tmpfs none /etc && exec "$0" "$@""#,
            ])
            .arg(bin(tool));
            cmd
        }
    };
    cmd.args(args).env_clear().env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

fn finding_ids(target: &serde_json::Value) -> Vec<String> {
    target["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
}

fn every_tool_says_no_dns_servers(ns: &Netns, resolv: Resolv, env: &[(&str, &str)]) {
    let r = in_ns(ns, resolv, "netdiag", &["check", "--json", NAME], env);
    r.expect_code(1);
    let t = &r.stream()["targets"][0];
    assert_eq!(finding_ids(t), ["no_dns_servers"], "{resolv:?}\n{r}");
    assert_eq!(t["dns"]["class"], "no_dns_servers", "{r}");
    assert!(t["findings"][0]["next_step"].as_str().unwrap().contains("WEBSITE_DNS_SERVER"), "{r}");
    let text = in_ns(ns, resolv, "netdiag", &["check", NAME], env);
    assert!(text.stdout().contains("[no_dns_servers]"), "{text}");
    assert!(!text.stdout().contains("usable answer"), "{text}");

    let r = in_ns(ns, resolv, "netdiag", &["tnc", NAME, "-p", "1433", "--json"], env);
    r.expect_code(1);
    assert_eq!(r.json()["FailureClass"], "no_dns_servers", "{r}");

    let with_sql = [env, &[SQL]].concat();
    let r = in_ns(ns, resolv, "netdiag", &["deps", "--json"], &with_sql);
    r.expect_code(1);
    assert_eq!(finding_ids(&r.stream()["dependencies"][0]["check"]), ["no_dns_servers"], "{r}");

    let r = in_ns(ns, resolv, "tcpping", &[&format!("{NAME}:1433"), "-n", "1", "--json"], env);
    r.expect_code(1);
    let attempt = &r.json_lines()[0];
    assert_eq!(attempt["class"], "no_dns_servers", "{r}");
    assert!(attempt["hint"].as_str().unwrap().contains("set WEBSITE_DNS_SERVER or fix resolv.conf"), "{r}");

    let r = in_ns(ns, resolv, "nameresolver", &[NAME], env);
    r.expect_code(1);
    assert!(r.stdout().contains("set WEBSITE_DNS_SERVER or fix resolv.conf [no_dns_servers]"), "{r}");
    let r = in_ns(ns, resolv, "nameresolver", &[NAME, "--json"], env);
    r.expect_code(1);
    assert_eq!(r.json()["result"], "no_servers", "{r}");
}

#[test]
fn no_dns_server_configured_is_no_dns_servers_in_every_tool() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.app.set_resolv_conf("");
    every_tool_says_no_dns_servers(&lab.app, Resolv::Empty, &[]);
    // A resolv.conf that names no server is no better.
    lab.app.set_resolv_conf("search netdiag.test\noptions timeout:1\n");
    every_tool_says_no_dns_servers(&lab.app, Resolv::Empty, &[]);
    std::fs::remove_dir_all(format!("/etc/netns/{}", lab.app.name)).unwrap();
    let r = in_ns(&lab.app, Resolv::Missing, "netdiag", &["env", "--json"], &[]);
    assert!(r.json()["dns_servers"].is_null() || r.json()["dns_servers"] == serde_json::json!([]), "{r}");
    every_tool_says_no_dns_servers(&lab.app, Resolv::Missing, &[]);
}

#[test]
fn a_website_dns_server_of_only_separators_is_reported() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    lab.app.set_resolv_conf("");
    for blank in [",", " , ", "   "] {
        let env = [("WEBSITE_DNS_SERVER", blank)];
        every_tool_says_no_dns_servers(&lab.app, Resolv::Empty, &env);
        let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["check", "--json", NAME], &env);
        assert!(r.stderr().contains("WEBSITE_DNS_SERVER is set but names no server"), "{blank:?}\n{r}");
        let r = in_ns(&lab.app, Resolv::Empty, "tcpping", &[&format!("{NAME}:1433"), "-n", "1"], &env);
        assert!(r.stderr().contains("WEBSITE_DNS_SERVER is set but names no server"), "{blank:?}\n{r}");
        let r = in_ns(&lab.app, Resolv::Empty, "nameresolver", &[NAME], &env);
        assert!(r.stderr().contains("WEBSITE_DNS_SERVER is set but names no server"), "{blank:?}\n{r}");
    }
}

#[test]
fn a_malformed_website_dns_server_never_blocks_an_ip_literal() {
    if !support::privileged() {
        return;
    }
    let lab = Lab::new();
    let _listener = lab.vnet.listen(&[8080]);
    let literal = format!("{VNET_ADDR}:8080");
    let bad = [("WEBSITE_DNS_SERVER", "10.77.0.2,not-an-ip")];

    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["check", "--json", &literal], &bad);
    r.expect_code(0);
    assert_eq!(finding_ids(&r.stream()["targets"][0]), ["tcp_connected"], "{r}");
    assert!(r.stderr().contains("warning: ignoring invalid DNS server"), "{r}");
    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["tnc", VNET_ADDR, "-p", "8080", "--json"], &bad);
    r.expect_code(0);
    assert_eq!(r.json()["TcpTestSucceeded"], true, "{r}");
    let r = in_ns(&lab.app, Resolv::Empty, "tcpping", &[&literal, "-n", "1", "--json"], &bad);
    r.expect_code(0);
    let by_address = [bad[0], ("CUSTOMCONNSTR_cache", "Host=10.77.0.2;Port=8080;Password=NOTASECRET")];
    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["deps", "--json"], &by_address);
    r.expect_code(0);
    assert_eq!(finding_ids(&r.stream()["dependencies"][0]["check"]), ["tcp_connected"], "{r}");

    // Next to a name, the address is still checked; the name cannot be resolved.
    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["check", "--json", NAME, &literal], &bad);
    r.expect_code(1);
    let doc = r.stream();
    let name = &doc["targets"][0];
    assert_eq!(finding_ids(name), ["no_dns_servers"], "{r}");
    assert!(name["findings"][0]["summary"].as_str().unwrap().contains("not-an-ip"), "{r}");
    assert_eq!(finding_ids(&doc["targets"][1]), ["tcp_connected"], "{r}");
    assert!(r.stderr().contains("names cannot be resolved; IP addresses are checked"), "{r}");

    // No dependency at all: nothing needs DNS, and deps says so.
    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["deps"], &bad);
    r.expect_code(0);
    assert!(r.stdout().starts_with("No dependencies found"), "{r}");

    // Only names: nothing could be checked, so it is bad input, one line, as in tcpping.
    let r = in_ns(&lab.app, Resolv::Empty, "netdiag", &["check", NAME], &bad);
    r.expect_code(2);
    assert_eq!(r.stderr().lines().count(), 1, "{r}");
}
