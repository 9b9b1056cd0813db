//! `netdiag deps` finds every kind of dependency an app setting can name, on loopback: IP
//! literals, or names asked of a dead loopback DNS server, so nothing leaves this machine.

mod support;

use std::net::TcpListener;

use support::{run, tool};

#[test]
fn deps_reads_every_kind_of_setting_and_lists_what_it_cannot_understand() {
    let mysql = TcpListener::bind("127.0.0.1:0").unwrap();
    let mysql_port = mysql.local_addr().unwrap().port();
    let mut cmd = tool("netdiag");
    cmd.env_clear()
        .env("NO_COLOR", "1")
        .env("MYSQLCONNSTR_my", format!("Server=127.0.0.1;Port={mysql_port};Uid=u;Pwd=Qz7SECRET7zQ"))
        .env("POSTGRESQLCONNSTR_pg", "Host=127.0.0.2;Username=u;Password=Qz7SECRET7zQ")
        .env("REDISCACHECONNSTR_cache", "127.0.0.3,password=Qz7SECRET7zQ,ssl=True,abortConnect=False")
        .env("CUSTOMCONNSTR_plainredis", "127.0.0.3,password=Qz7SECRET7zQ")
        .env("MyVaultSecret", "@Microsoft.KeyVault(SecretUri=https://127.0.0.4/secrets/s/v1)")
        .env("OtherVaultSecret", "@Microsoft.KeyVault(VaultName=myvault;SecretName=s)")
        .env("AzureWebJobsStorage__blobServiceUri", "https://127.0.0.5:8443")
        .env("Bus__fullyQualifiedNamespace", "127.0.0.6")
        .env("WEBSITE_RUN_FROM_PACKAGE", "https://127.0.0.7/c/p.zip?sv=2022&sig=Qz7SECRET7zQ")
        .env("CUSTOMCONNSTR_weird", "Something=else;Other=Qz7SECRET7zQ")
        .args(["deps", "--json", "-w", "500ms", "--dns-timeout", "200ms", "--dns-server", "127.0.0.1:9"]);
    let r = run(cmd);
    r.expect_code(1);
    assert!(!r.stdout().contains("Qz7SECRET7zQ") && !r.stderr().contains("Qz7SECRET7zQ"), "{r}");
    let doc = r.stream();
    let mut got: Vec<(String, String, String, u64)> = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (s("setting"), s("kind"), s("host"), d["port"].as_u64().unwrap())
        })
        .collect();
    got.sort();
    let want = |s: &str, k: &str, h: &str, p: u64| (s.to_owned(), k.to_owned(), h.to_owned(), p);
    let mut expected = vec![
        want("MYSQLCONNSTR_my", "mysql", "127.0.0.1", u64::from(mysql_port)),
        want("POSTGRESQLCONNSTR_pg", "postgresql", "127.0.0.2", 5432),
        want("REDISCACHECONNSTR_cache", "redis", "127.0.0.3", 6380),
        want("CUSTOMCONNSTR_plainredis", "redis", "127.0.0.3", 6379),
        want("MyVaultSecret", "key_vault", "127.0.0.4", 443),
        want("OtherVaultSecret", "key_vault", "myvault.vault.azure.net", 443),
        want("AzureWebJobsStorage__blobServiceUri", "storage_blob", "127.0.0.5", 8443),
        want("Bus__fullyQualifiedNamespace", "service_bus_amqp", "127.0.0.6", 5671),
        want("Bus__fullyQualifiedNamespace", "service_bus_https", "127.0.0.6", 443),
        want("WEBSITE_RUN_FROM_PACKAGE", "package", "127.0.0.7", 443),
    ];
    expected.sort();
    assert_eq!(got, expected, "{r}");
    // The listener is really probed, and connects.
    let my =
        doc["dependencies"].as_array().unwrap().iter().find(|d| d["setting"] == "MYSQLCONNSTR_my").unwrap();
    assert_eq!(my["check"]["failed"], false, "{r}");
    // A setting read but not understood is listed by name, never dropped.
    let unparsed = doc["unparsed"].as_array().unwrap();
    assert_eq!(unparsed.len(), 1, "{r}");
    assert_eq!(unparsed[0]["setting"], "CUSTOMCONNSTR_weird", "{r}");
    drop(mysql);
}
