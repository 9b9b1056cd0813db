//! Which servers nameresolver asks, when nothing is named on the command line: tested inside
//! network namespaces whose resolv.conf and hosts file the test wrote, with dnsmasq serving on
//! the namespace's own loopback. The machine's resolver is never involved.

mod support;

use serde_json::Value;
use support::dns::{Dnsmasq, dnsmasq_records, names::*};
use support::netns::Netns;
use support::{Run, bin, privileged, run};

/// A second dnsmasq that answers the same name differently, to tell servers apart.
const OTHER_V4: &str = "10.0.0.55";

fn nameresolver_in(ns: &Netns, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = ns.command(&bin("nameresolver"));
    // Nothing from the developer's environment (WEBSITE_*, RUST_LOG) may leak in.
    cmd.env_clear();
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    run(cmd)
}

fn addresses(doc: &Value) -> Vec<String> {
    doc["answer"]["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn other_records() -> Vec<String> {
    vec!["--local=/netdiag.test/".to_owned(), format!("--host-record={WWW},{OTHER_V4}")]
}

#[test]
fn precedence_argument_then_website_variables_then_resolv_conf() {
    if !privileged() {
        return;
    }
    let ns = Netns::new("nrp");
    ns.set_resolv_conf("# written by the test\nnameserver 127.0.0.1\n");
    let _system = Dnsmasq::start_in(&ns, "127.0.0.1", &dnsmasq_records());
    let _website = Dnsmasq::start_in(&ns, "127.0.0.2", &other_records());

    // Nothing set: resolv.conf.
    let out = nameresolver_in(&ns, &[WWW, "--json", "--timeout", "1s"], &[]);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(
        doc["servers"]["source"],
        serde_json::json!({"kind": "resolv_conf", "path": "/etc/resolv.conf"}),
        "{out}"
    );
    assert_eq!(doc["answered_by"]["server"], "127.0.0.1:53", "{out}");
    assert_eq!(addresses(&doc), [WWW_V4, WWW_V6]);

    // WEBSITE_DNS_SERVER beats resolv.conf.
    let website = [("WEBSITE_DNS_SERVER", "127.0.0.2")];
    let out = nameresolver_in(&ns, &[WWW, "--json", "--timeout", "1s"], &website);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(doc["servers"]["source"]["kind"], "website_dns_server", "{out}");
    assert_eq!(addresses(&doc), [OTHER_V4], "{out}");

    // The alternate is asked after the primary fails (127.0.0.3 has no server: port unreachable).
    let out = nameresolver_in(
        &ns,
        &[WWW, "--json", "--timeout", "1s"],
        &[("WEBSITE_DNS_SERVER", "127.0.0.3"), ("WEBSITE_DNS_ALT_SERVER", "127.0.0.2")],
    );
    out.expect_code(0);
    let doc = out.json();
    let servers: Vec<&str> =
        doc["servers"]["servers"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(servers, ["127.0.0.3:53", "127.0.0.2:53"], "{out}");
    assert_eq!(doc["attempts"][0]["outcome"]["status"], "network_error", "{out}");
    assert_eq!(addresses(&doc), [OTHER_V4], "{out}");

    // An explicit server beats both.
    let out = nameresolver_in(&ns, &[WWW, "127.0.0.1", "--json", "--timeout", "1s"], &website);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(doc["servers"]["source"]["kind"], "argument", "{out}");
    assert_eq!(addresses(&doc), [WWW_V4, WWW_V6], "{out}");

    // Text names the server as the original does (port 53 is implied).
    let out = nameresolver_in(&ns, &[WWW], &[]);
    out.expect_code(0);
    assert!(out.stdout().starts_with("Server: 127.0.0.1\n\n"), "{out}");
}

#[test]
fn hosts_file_answers_first_unless_a_server_is_named() {
    if !privileged() {
        return;
    }
    let ns = Netns::new("nrh");
    ns.set_resolv_conf("nameserver 127.0.0.1\n");
    std::fs::write(format!("/etc/netns/{}/hosts", ns.name), format!("127.0.0.1 localhost\n10.9.9.9 {WWW}\n"))
        .expect("write hosts");
    let _dns = Dnsmasq::start_in(&ns, "127.0.0.1", &dnsmasq_records());

    let out = nameresolver_in(&ns, &[WWW, "--json", "--timeout", "1s"], &[]);
    out.expect_code(0);
    let doc = out.json();
    assert_eq!(doc["answered_by"], serde_json::json!({"kind": "hosts_file", "path": "/etc/hosts"}), "{out}");
    assert_eq!(addresses(&doc), ["10.9.9.9"]);
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 0, "no server may be asked\n{out}");
    let out = nameresolver_in(&ns, &[WWW], &[]);
    assert!(out.stdout().starts_with("Server: hosts file (/etc/hosts)\n"), "{out}");

    // Names the hosts file lacks go to the servers.
    let doc = nameresolver_in(&ns, &[ALIAS, "--json", "--timeout", "1s"], &[]).expect_code(0).json();
    assert_eq!(doc["answered_by"]["kind"], "server");

    // An explicit server means "ask this server": the hosts file stays out of it.
    let doc =
        nameresolver_in(&ns, &[WWW, "127.0.0.1", "--json", "--timeout", "1s"], &[]).expect_code(0).json();
    assert_eq!(doc["answered_by"]["server"], "127.0.0.1:53");
    assert_eq!(addresses(&doc), [WWW_V4, WWW_V6]);
}

#[test]
fn resolv_conf_without_servers_exits_1() {
    if !privileged() {
        return;
    }
    let ns = Netns::new("nre");
    ns.set_resolv_conf("search example.internal\n");
    let out = nameresolver_in(&ns, &[WWW, "--timeout", "200ms"], &[]);
    out.expect_code(1);
    assert!(out.stderr().contains("no DNS servers configured in /etc/resolv.conf"), "{out}");
}

#[test]
fn a_firewall_that_drops_aaaa_queries_is_named_and_aaaa_moves_on() {
    if !privileged() {
        return;
    }
    let ns = Netns::new("nr6");
    let _first = Dnsmasq::start_in(&ns, "127.0.0.1", &dnsmasq_records());
    let _second = Dnsmasq::start_in(&ns, "127.0.0.2", &dnsmasq_records());
    // A middlebox that silently drops AAAA queries to the first server: the question section
    // ends with QTYPE 28 (0x001c) and QCLASS IN after the root label.
    ns.iptables(
        "-A INPUT -p udp -d 127.0.0.1 --dport 53 -m string --algo bm --hex-string \"|00001c0001|\" -j DROP",
    );
    let website = [("WEBSITE_DNS_SERVER", "127.0.0.1,127.0.0.2")];

    let out = nameresolver_in(&ns, &[WWW, "--json", "--timeout", "500ms"], &website);
    let doc = out.expect_code(0).json();
    assert_eq!(doc["attempts"][0]["failed_types"], serde_json::json!(["AAAA"]), "{out}");
    assert_eq!(doc["attempts"][0]["queries"][1]["status"], "timed_out", "{out}");
    assert_eq!(doc["questions"][0]["answered_by"]["server"], "127.0.0.1:53", "{out}");
    assert_eq!(doc["questions"][1]["answered_by"]["server"], "127.0.0.2:53", "{out}");
    assert_eq!(addresses(&doc), [WWW_V4, WWW_V6], "{out}");

    let out = nameresolver_in(&ns, &[WWW, "--timeout", "500ms"], &website);
    let text = out.expect_code(0).stdout();
    assert!(text.contains("DNS server 127.0.0.1 answered A but AAAA timed out"), "{out}");
    assert!(text.contains("Server: 127.0.0.1 (A), 127.0.0.2 (AAAA)"), "{out}");
}
