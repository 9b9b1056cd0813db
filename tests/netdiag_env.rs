//! `netdiag env`: settings as the app sees them, connection strings never unredacted, and
//! interfaces and default routes from a namespace we built.

// The shared harness reports skipped namespace tests on stderr.
mod support;

use std::process::Command;

use support::netns::{Netns, link};
use support::{Run, bin, run, tool};

const SECRETS: [&str; 6] = [
    "SECRETKEY123storage",
    "SECRETKEY123content",
    "SECRETKEY123bus",
    "SECRETKEY123sql",
    "SECRETKEY123sig",
    "SECRETKEY123cfg",
];

fn with_fake_app_settings(mut cmd: Command) -> Command {
    cmd.env("WEBSITE_PRIVATE_IP", "10.0.1.254")
        .env("WEBSITE_VNET_ROUTE_ALL", "1")
        .env("WEBSITE_DNS_SERVER", "10.0.0.4,10.0.0.5")
        .env("WEBSITE_DNS_ALT_SERVER", "168.63.129.16")
        .env("WEBSITE_DNS_TIMEOUT", "5")
        .env("WEBSITE_DNS_ATTEMPTS", "not-a-number")
        .env("WEBSITE_CONTENTOVERVNET", "1")
        .env("WEBSITE_SITE_NAME", "fakeapp")
        .env("REGION_NAME", "West Europe")
        .env("WEBSITE_SKU", "ElasticPremium")
        .env(
            "AzureWebJobsStorage",
            format!("DefaultEndpointsProtocol=https;AccountName=fakeacct;AccountKey={};EndpointSuffix=core.windows.net", SECRETS[0]),
        )
        .env(
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
            format!("DefaultEndpointsProtocol=https;AccountName=fakecontent;AccountKey={}", SECRETS[1]),
        )
        .env(
            "SERVICEBUSCONNSTR_bus",
            format!("Endpoint=sb://fakens.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={}", SECRETS[2]),
        )
        .env("SQLAZURECONNSTR_main", format!("Server=tcp:fakedb.database.windows.net,1433;User ID=u;Password={}", SECRETS[3]))
        .env(
            "CUSTOMCONNSTR_sas",
            format!("BlobEndpoint=https://fakeacct.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig={}", SECRETS[4]),
        )
        // Invalid on purpose: the warning must not echo the secret either.
        .env("MyServiceConnectionString", format!("AccountName=bad name!;AccountKey={}", SECRETS[5]));
    cmd
}

fn assert_no_secret(r: &Run) {
    for s in SECRETS {
        assert!(!r.stdout().contains(s), "secret {s} on stdout\n{r}");
        assert!(!r.stderr().contains(s), "secret {s} on stderr\n{r}");
    }
    assert!(!r.stdout().contains("SECRETKEY123"), "{r}");
    assert!(!r.stderr().contains("SECRETKEY123"), "{r}");
}

#[test]
fn json_settings_and_redacted_connection_strings() {
    let mut cmd = with_fake_app_settings(tool("netdiag"));
    cmd.args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    assert_no_secret(&r);
    let v = r.json();
    let s = &v["settings"];
    assert_eq!(s["vnet_integration"], true, "{r}");
    assert_eq!(s["private_ip"], "10.0.1.254");
    assert_eq!(s["route_all"], true);
    assert_eq!(s["content_over_vnet"], true);
    assert_eq!(s["dns_server_setting"], "10.0.0.4,10.0.0.5");
    assert_eq!(s["dns_alt_server_setting"], "168.63.129.16");
    assert_eq!(s["dns_timeout_secs"], 5);
    assert!(s["dns_attempts"].is_null());
    assert_eq!(s["site_name"], "fakeapp");
    assert_eq!(s["region"], "West Europe");
    assert_eq!(s["sku"], "ElasticPremium");
    assert_eq!(v["dns_servers"][2]["source"], "WEBSITE_DNS_ALT_SERVER", "{r}");

    let conns = v["connection_strings"].as_array().unwrap();
    let names: Vec<&str> = conns.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "AzureWebJobsStorage",
            "CUSTOMCONNSTR_sas",
            "MyServiceConnectionString",
            "SERVICEBUSCONNSTR_bus",
            "SQLAZURECONNSTR_main",
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"
        ]
    );
    let by_name = |n: &str| conns.iter().find(|c| c["name"] == n).unwrap();
    assert!(by_name("AzureWebJobsStorage")["redacted"].as_str().unwrap().contains("AccountKey=***"));
    let deps = by_name("AzureWebJobsStorage")["dependencies"].as_array().unwrap();
    let hosts: Vec<String> =
        deps.iter().map(|d| format!("{}:{}", d["host"].as_str().unwrap(), d["port"])).collect();
    assert_eq!(
        hosts,
        [
            "fakeacct.blob.core.windows.net:443",
            "fakeacct.queue.core.windows.net:443",
            "fakeacct.table.core.windows.net:443",
            "fakeacct.file.core.windows.net:445"
        ]
    );
    let bus = by_name("SERVICEBUSCONNSTR_bus")["dependencies"].as_array().unwrap();
    assert_eq!(bus[0]["port"], 5671);
    assert_eq!(bus[1]["port"], 443);
    assert_eq!(by_name("SQLAZURECONNSTR_main")["dependencies"][0]["host"], "fakedb.database.windows.net");
    assert!(by_name("MyServiceConnectionString")["error"].is_string(), "{r}");

    let warned: Vec<&str> =
        v["warnings"].as_array().unwrap().iter().map(|w| w["setting"].as_str().unwrap()).collect();
    assert_eq!(warned, ["WEBSITE_DNS_ATTEMPTS", "MyServiceConnectionString"], "{r}");
}

#[test]
fn text_never_shows_secrets() {
    let mut cmd = with_fake_app_settings(tool("netdiag"));
    cmd.arg("env");
    let r = run(cmd);
    r.expect_code(0);
    assert_no_secret(&r);
    let out = r.stdout();
    assert!(out.contains("virtual network integration: on (WEBSITE_PRIVATE_IP 10.0.1.254)"), "{r}");
    assert!(out.contains("AccountKey=***"), "{r}");
    assert!(out.contains("sig=***") || out.contains("SharedAccessSignature=***"), "{r}");
    assert!(out.contains("-> fakens.servicebus.windows.net:5671"), "{r}");
}

#[test]
fn verbose_logging_never_shows_secrets() {
    let mut cmd = with_fake_app_settings(tool("netdiag"));
    cmd.args(["-vvv", "env", "--json"]).env("RUST_LOG", "trace");
    let r = run(cmd);
    r.expect_code(0);
    assert_no_secret(&r);
}

#[test]
fn empty_environment() {
    let mut cmd = tool("netdiag");
    cmd.args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["settings"]["vnet_integration"], false, "{r}");
    assert_eq!(v["settings"]["route_all"], false);
    assert_eq!(v["connection_strings"].as_array().unwrap().len(), 0);
    let ifaces = v["interfaces"].as_array().unwrap();
    assert!(ifaces.iter().any(|i| i["address"] == "127.0.0.1" && i["is_loopback"] == true), "{r}");
}

/// Runs `netdiag` inside `ns` with the same clean environment as `support::tool`.
fn tool_in(ns: &Netns) -> Command {
    let clean = tool("netdiag");
    let mut cmd = ns.command(&bin("netdiag"));
    for (key, value) in clean.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

#[test]
fn interfaces_and_default_route_in_a_namespace() {
    if !support::privileged() {
        return;
    }
    let app = Netns::new("ea");
    let peer = Netns::new("ep");
    link(&app, "10.78.3.2/24", &peer, "10.78.3.1/24");
    app.ip("route add default via 10.78.3.1");
    link(&app, "fd78:3::2/64", &peer, "fd78:3::1/64");
    app.ip("-6 route add default via fd78:3::1 metric 77");

    let mut cmd = tool_in(&app);
    cmd.args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let v = r.json();
    let ifaces = v["interfaces"].as_array().unwrap();
    let veth =
        ifaces.iter().find(|i| i["address"] == "10.78.3.2").unwrap_or_else(|| panic!("no veth address\n{r}"));
    assert_eq!(veth["prefix_len"], 24);
    assert_eq!(veth["is_loopback"], false);
    let veth_name = veth["interface"].as_str().unwrap();
    assert!(ifaces.iter().any(|i| i["address"] == "127.0.0.1"), "{r}");
    // IPv6 link-local addresses come and go with the kernel's timing; everything else is ours.
    let ours: Vec<&str> =
        ifaces.iter().map(|i| i["address"].as_str().unwrap()).filter(|a| !a.starts_with("fe80:")).collect();
    assert_eq!(ours.len(), 4, "lo v4+v6 and the two veth addresses only\n{r}");
    assert!(ours.contains(&"fd78:3::2"), "{r}");

    let defaults = v["default_routes"].as_array().unwrap();
    let v4 = defaults
        .iter()
        .find(|d| d["destination"] == "0.0.0.0")
        .unwrap_or_else(|| panic!("no v4 default\n{r}"));
    assert_eq!(v4["gateway"], "10.78.3.1");
    assert_eq!(v4["interface"], veth_name);
    assert_eq!(v4["prefix_len"], 0);
    let v6 =
        defaults.iter().find(|d| d["destination"] == "::").unwrap_or_else(|| panic!("no v6 default\n{r}"));
    assert_eq!(v6["gateway"], "fd78:3::1");
    assert_eq!(v6["metric"], 77);

    let mut cmd = tool_in(&app);
    cmd.arg("env");
    let r = run(cmd);
    r.expect_code(0);
    assert!(r.stdout().contains(&format!("0.0.0.0/0 via 10.78.3.1 dev {veth_name}")), "{r}");
}

/// `--route-to` asks the kernel for a route with a connected UDP socket: no packet leaves,
/// and the probing process runs inside the namespace anyway.
#[test]
fn route_to_in_a_namespace() {
    if !support::privileged() {
        return;
    }
    let app = Netns::new("ra");
    let peer = Netns::new("rp");
    link(&app, "10.78.4.2/24", &peer, "10.78.4.1/24");
    link(&app, "10.78.5.2/24", &peer, "10.78.5.1/24");
    app.ip("route add default via 10.78.4.1");
    app.ip("route add 10.78.200.0/24 via 10.78.5.1");

    let mut cmd = tool_in(&app);
    cmd.args([
        "env",
        "--json",
        "--route-to",
        "10.78.4.1",
        "--route-to",
        "10.99.0.1",
        "--route-to",
        "10.78.200.9",
    ]);
    let r = run(cmd);
    r.expect_code(0);
    let v = r.json();
    let iface_of = |addr: &str| -> String {
        let ifaces = v["interfaces"].as_array().unwrap();
        ifaces.iter().find(|i| i["address"] == addr).unwrap()["interface"].as_str().unwrap().to_owned()
    };
    let checks = v["route_checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{r}");
    // (destination, source, interface owning the source, gateway)
    let want = [
        ("10.78.4.1", "10.78.4.2", iface_of("10.78.4.2"), None),
        ("10.99.0.1", "10.78.4.2", iface_of("10.78.4.2"), Some("10.78.4.1")),
        ("10.78.200.9", "10.78.5.2", iface_of("10.78.5.2"), Some("10.78.5.1")),
    ];
    for (check, (dest, source, iface, gateway)) in checks.iter().zip(want) {
        assert_eq!(check["destination"], dest, "{r}");
        let route = &check["route"];
        assert_eq!(route["source"], source, "{dest}\n{r}");
        assert_eq!(route["interface"], iface.as_str(), "{dest}\n{r}");
        assert_eq!(
            route["via_gateway"],
            gateway.map_or(serde_json::Value::Null, |g| g.into()),
            "{dest}\n{r}"
        );
        assert_eq!(route["gateway_known"], true);
    }
}

#[test]
fn no_default_route_in_an_empty_namespace() {
    if !support::privileged() {
        return;
    }
    let ns = Netns::new("en");
    let mut cmd = tool_in(&ns);
    cmd.args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["default_routes"].as_array().unwrap().len(), 0, "{r}");
    let ifaces = v["interfaces"].as_array().unwrap();
    assert!(ifaces.iter().all(|i| i["is_loopback"] == true), "{r}");

    let mut cmd = tool_in(&ns);
    cmd.args(["env", "--route-to", "10.78.9.9"]);
    let r = run(cmd);
    r.expect_code(0);
    assert!(r.stdout().contains("10.78.9.9: no route to 10.78.9.9"), "{r}");
}

#[test]
fn route_to_rejects_non_addresses() {
    let mut cmd = tool("netdiag");
    cmd.args(["env", "--route-to", "example.invalid"]);
    let r = run(cmd);
    r.expect_code(2);
    assert!(!r.stderr().contains("panicked"), "{r}");
}

#[test]
fn tnc_help_lists_test_netconnection_options() {
    let mut cmd = tool("netdiag");
    cmd.args(["tnc", "--help"]);
    let r = run(cmd);
    r.expect_code(0);
    for flag in ["--port", "--common-tcp-port", "--information-level", "--timeout", "--dns-timeout"] {
        assert!(r.stdout().contains(flag), "{r}");
    }
}

#[test]
fn dns_servers_come_from_the_website_settings() {
    let cmd = with_fake_app_settings(tool("netdiag"));
    let mut cmd = cmd;
    cmd.args(["env", "--json"]);
    let r = run(cmd);
    r.expect_code(0);
    assert_no_secret(&r);
    let servers: Vec<(String, String)> = r.json()["dns_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["address"].as_str().unwrap().to_owned(), d["source"].as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("10.0.0.4:53", "WEBSITE_DNS_SERVER"),
        ("10.0.0.5:53", "WEBSITE_DNS_SERVER"),
        ("168.63.129.16:53", "WEBSITE_DNS_ALT_SERVER"),
    ];
    assert_eq!(servers, want.map(|(a, s)| (a.to_owned(), s.to_owned())), "{r}");
}

/// Without a default route but with a route through a gateway, `env` must not claim that only
/// directly connected networks are reachable; and a warning without a value reads cleanly.
#[test]
fn gateway_routes_without_a_default_are_not_called_directly_connected() {
    if !support::privileged() {
        return;
    }
    let app = Netns::new("ga");
    let peer = Netns::new("gp");
    link(&app, "10.78.6.2/24", &peer, "10.78.6.1/24");
    app.ip("route add 100.64.7.0/24 via 10.78.6.1");
    app.set_resolv_conf("");

    let mut cmd = tool_in(&app);
    cmd.arg("env");
    let r = run(cmd);
    r.expect_code(0);
    let out = r.stdout();
    assert!(!out.contains("only directly connected networks are reachable"), "{r}");
    assert!(out.contains("100.64.7.0/24 via 10.78.6.1 dev "), "{r}");
    assert!(!out.contains("=:"), "{r}");
    assert!(out.contains("  DNS servers: no DNS servers configured in"), "{r}");
}
