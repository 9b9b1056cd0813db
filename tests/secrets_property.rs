//! No secret is ever printed: generated connection strings (every shape the platform hands an
//! app, plus malformed ones) carry a marker in every secret position, and the marker must not
//! appear in anything the library renders, nor on stdout or stderr of `env`, `deps`, `check`
//! and `tnc`, in text, JSON, `-vvv` and `RUST_LOG=trace`.
//!
//! "Secret position" is what the rule in docs/redaction.md promises to hide: the value of a
//! secret-named key, a URL's userinfo, fragment and secret query values, the value of a key the
//! redactor does not know, a segment without `=`, and anything after a quote left open.

mod support;

use std::cell::{Cell, RefCell};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

use netdiag_common::check::{DependencyReport, DepsReport, UnparsedSetting};
use netdiag_common::connstr;
use netdiag_common::env::{AppSettings, EnvSnapshot};
use netdiag_common::report::netdiag as report;
use support::netns::Netns;
use support::{bin, run};

/// Nothing else the generator writes can spell it, in any case.
const MARKER: &str = "Qz7SECRET7zQ";

fn leaks(text: &str) -> bool {
    text.to_ascii_lowercase().contains(&MARKER.to_ascii_lowercase())
}

/// Characters a well-formed secret uses (base64, URL-safe tokens).
const SECRET_CHARS: &[char] = &['a', 'Z', '0', '9', '+', '/', '=', '-', '_', '.', '!', '~', '*'];
/// Characters that break structure when they appear where they should not.
const HOSTILE_CHARS: &[char] = &[';', ',', '\'', '"', '@', ':', '?', '&', '#', ' ', '=', '/', '%', '\\'];

fn chars_from(set: &'static [char], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(select(set), 0..max).prop_map(|v| v.into_iter().collect())
}

/// A secret: the marker inside well-formed secret characters.
fn secret() -> impl Strategy<Value = String> {
    (chars_from(SECRET_CHARS, 6), chars_from(SECRET_CHARS, 6)).prop_map(|(a, b)| format!("{a}{MARKER}{b}"))
}

/// A secret with characters that break the structure around it, minus `forbidden`: those a
/// well-formed string of that shape must escape or quote, so their presence would make the
/// marker's position genuinely ambiguous rather than secret.
fn hostile_secret(forbidden: &'static [char]) -> impl Strategy<Value = String> {
    let chars = proptest::collection::vec(select(HOSTILE_CHARS), 0..4);
    (chars.clone(), secret(), chars).prop_map(move |(a, s, b)| {
        let keep = |v: Vec<char>| v.into_iter().filter(|c| !forbidden.contains(c)).collect::<String>();
        format!("{}{s}{}", keep(a), keep(b))
    })
}

/// `name` with each letter's case flipped at random.
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |flips| {
        name.chars()
            .zip(flips)
            .map(|(c, f)| if f { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect()
    })
}

const SECRET_KEYS: &[&str] = &[
    "Password",
    "Pwd",
    "AccountKey",
    "SharedAccessKey",
    "SharedAccessSignature",
    "ClientSecret",
    "Secret",
    "Token",
    "AccessToken",
    "ApiKey",
    "Key",
    "Sig",
    "Code",
    "Shared Access Key",
    "client_secret",
    "InstrumentationKey",
    "Credential",
    "Passphrase",
    "AccessKey",
    "Auth",
];
const UNKNOWN_KEYS: &[&str] = &["Foo", "Mode", "X-Custom", "Id", "Tenant"];
const HOSTS: &[&str] = &["127.0.0.1", "127.0.0.2", "127.0.0.3", "h1.example.test"];
const PORTS: &[&str] = &["1", "9", "1433", "5432", "6380"];

/// A `key=value` piece of an ADO-style connection string.
fn pair() -> impl Strategy<Value = String> {
    let eq = select(&["=", " = ", "= ", " ="][..]);
    prop_oneof![
        // harmless, shown
        (select(&["Server", "Data Source", "Host"][..]), select(HOSTS), eq.clone())
            .prop_map(|(k, h, e)| format!("{k}{e}{h}")),
        (select(PORTS), eq.clone()).prop_map(|(p, e)| format!("Port{e}{p}")),
        select(
            &["Database=db1", "User ID=u", "Encrypt=True", "AccountName=acct", "SharedAccessKeyName=Root"][..]
        )
        .prop_map(str::to_owned),
        // secret-named keys, in any case, plain, quoted or with hostile characters quoted
        (select(SECRET_KEYS).prop_flat_map(any_case), eq.clone(), secret())
            .prop_map(|(k, e, s)| format!("{k}{e}{s}")),
        (select(SECRET_KEYS).prop_flat_map(any_case), hostile_secret(&['"']))
            .prop_map(|(k, s)| format!("{k}=\"{s}\"")),
        (select(SECRET_KEYS).prop_flat_map(any_case), hostile_secret(&['\'']))
            .prop_map(|(k, s)| format!("{k}='{s}'")),
        // keys the redactor does not know
        (select(UNKNOWN_KEYS), secret()).prop_map(|(k, s)| format!("{k}={s}")),
        // URLs inside values
        (select(&["Endpoint", "BlobEndpoint", "AccountEndpoint", "IngestionEndpoint"][..]), url(&[';']))
            .prop_map(|(k, u)| format!("{k}={u}")),
        // malformed pieces
        secret(),
        (secret()).prop_map(|s| format!("AccountName=acct AccountKey={s}")),
        (select(HOSTS), secret()).prop_map(|(h, s)| format!("Server=tcp:{h},Password={s}")),
        (secret()).prop_map(|s| format!("si%67={s}")),
        (secret()).prop_map(|s| format!("Port={s}")),
    ]
}

/// A value whose quote never closes, so everything after it is swallowed into it.
fn unclosed_quote() -> impl Strategy<Value = String> {
    (select(&["Database", "Server", "User ID", "Foo"][..]), select(&["\"", "'"][..]))
        .prop_map(|(k, q)| format!("{k}={q}x"))
}

fn connection_string() -> impl Strategy<Value = String> {
    (
        proptest::option::weighted(0.2, unclosed_quote()),
        proptest::collection::vec(pair(), 1..6),
        select(&[";", "; ", " ;", ";;"][..]),
        any::<bool>(),
    )
        .prop_map(|(open, pairs, sep, trailing)| {
            let mut parts = pairs;
            if let Some(open) = open {
                // The quote opens before a secret, which it then swallows.
                parts.insert(0, open);
            }
            let mut s = parts.join(sep);
            if trailing {
                s.push(';');
            }
            s
        })
}

/// A URL with secrets in its userinfo, query and fragment; `forbidden` characters are the
/// separators of the string around it.
fn url(forbidden: &'static [char]) -> impl Strategy<Value = String> {
    let userinfo = prop_oneof![
        Just(String::new()),
        secret().prop_map(|s| format!("user:{s}@")),
        secret().prop_map(|s| format!(":{s}@")),
        secret().prop_map(|s| format!("{s}@")),
        hostile_secret(forbidden).prop_map(|s| format!("acct:{s}@")),
    ];
    let host = prop_oneof![
        select(HOSTS).prop_map(str::to_owned),
        (select(HOSTS), select(PORTS)).prop_map(|(h, p)| format!("{h}:{p}")),
        Just("127.0.0.1:1,127.0.0.2:1".to_owned()),
    ];
    let param = prop_oneof![
        select(&["ssl=true", "replicaSet=globaldb", "sv=2022-11-02", "se=2030-01-01", "sp=r"][..])
            .prop_map(str::to_owned),
        (select(&["sig", "code", "token", "password", "SIG", "Signature", "api-key", "foo"][..]), secret())
            .prop_map(|(k, s)| format!("{k}={s}")),
        secret(),
    ];
    (
        select(
            &["https", "mongodb", "postgresql", "postgres", "rediss", "redis", "mysql", "amqps", "sb"][..],
        ),
        userinfo,
        host,
        select(&["", "/", "/db", "/c/p.zip", "/api/f"][..]),
        proptest::collection::vec(param, 0..4),
        proptest::option::weighted(0.2, secret()),
    )
        .prop_map(|(scheme, user, host, path, params, fragment)| {
            let mut u = format!("{scheme}://{user}{host}{path}");
            if !params.is_empty() {
                u.push('?');
                u.push_str(&params.join("&"));
            }
            if let Some(f) = fragment {
                u.push('#');
                u.push_str(&f);
            }
            u
        })
}

fn redis() -> impl Strategy<Value = String> {
    (select(HOSTS), proptest::option::of(select(PORTS)), hostile_secret(&[',', '=']), any::<bool>()).prop_map(
        |(h, p, s, ssl_first)| {
            let endpoint = p.map_or(h.to_owned(), |p| format!("{h}:{p}"));
            if ssl_first {
                format!("{endpoint},ssl=True,password={s},abortConnect=False")
            } else {
                format!("{endpoint},password={s},ssl=False")
            }
        },
    )
}

/// One setting: a name the tools read, and a value of a matching shape.
fn setting() -> impl Strategy<Value = (String, String)> {
    let names = select(
        &[
            "AzureWebJobsStorage",
            "AzureWebJobsDashboard",
            "SQLCONNSTR_main",
            "SQLAZURECONNSTR_db",
            "MYSQLCONNSTR_my",
            "POSTGRESQLCONNSTR_pg",
            "CUSTOMCONNSTR_custom",
            "REDISCACHECONNSTR_cache",
            "SERVICEBUSCONNSTR_bus",
            "MyConnectionString",
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
        ][..],
    );
    prop_oneof![
        4 => (names.clone(), connection_string()).prop_map(|(n, v)| (n.to_owned(), v)),
        2 => (names.clone(), url(&[])).prop_map(|(n, v)| (n.to_owned(), v)),
        1 => (names, redis()).prop_map(|(n, v)| (n.to_owned(), v)),
        1 => url(&[]).prop_map(|u| ("WEBSITE_RUN_FROM_PACKAGE".to_owned(), u)),
        // Identity-based settings show a plain host or URL; anything else is redacted as usual.
        1 => url(&[]).prop_map(|u| ("AzureWebJobsStorage__blobServiceUri".to_owned(), u)),
        // A lone word there is the namespace by definition, so only strings with keys count.
        1 => connection_string()
            .prop_filter("has keys", |v| v.contains('='))
            .prop_map(|v| ("Bus__fullyQualifiedNamespace".to_owned(), v)),
        1 => url(&[';', ')']).prop_map(|u| ("KvSetting".to_owned(), format!("@Microsoft.KeyVault(SecretUri={u})"))),
    ]
}

fn settings() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(setting(), 1..5).prop_map(|mut list| {
        // One value per name, as in a real environment.
        let mut seen = std::collections::HashSet::new();
        list.retain(|(name, _)| seen.insert(name.clone()));
        list
    })
}

/// Everything the library can print about these settings, concatenated.
fn library_output(vars: &[(String, String)], snapshot: &mut EnvSnapshot) -> String {
    let names: Vec<String> = vars.iter().map(|(k, _)| k.clone()).collect();
    let settings =
        AppSettings::from_env(&|n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()), &names);
    let mut out = format!("{settings:?}\n");
    let mut deps = DepsReport { dependencies: Vec::new(), unparsed: Vec::new(), failed: false };
    for (name, value) in vars {
        out.push_str(&connstr::redact(value));
        out.push('\n');
        match connstr::dependencies(name, value) {
            Ok(list) => deps.dependencies.extend(list.into_iter().map(|d| DependencyReport {
                setting: d.setting_name,
                kind: d.kind,
                host: d.host,
                port: d.port,
                check: None,
                error: None,
            })),
            Err(e) => {
                out.push_str(&format!("{e}\n{e:?}\n"));
                deps.unparsed.push(UnparsedSetting { setting: name.clone(), error: e.problem() });
            }
        }
    }
    out.push_str(&serde_json::to_string(&deps).unwrap());
    snapshot.settings = settings;
    let mut rendered = Vec::new();
    report::write_env_text(&mut rendered, snapshot).unwrap();
    report::write_env_json(&mut rendered, snapshot).unwrap();
    out.push_str(&String::from_utf8_lossy(&rendered));
    out
}

#[test]
fn no_marker_in_anything_the_library_renders() {
    // The runner's closure is `Fn`; one snapshot (interfaces, routes) serves every case.
    let snapshot = RefCell::new(EnvSnapshot::with_settings(AppSettings::default()));
    let mut runner = TestRunner::new(Config { cases: 3000, failure_persistence: None, ..Config::default() });
    let result = runner.run(&settings(), |vars| {
        let out = library_output(&vars, &mut snapshot.borrow_mut());
        prop_assert!(!leaks(&out), "marker leaked for {vars:?}:\n{out}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The generator must put the marker where the renderers could show it, or the property
/// above proves nothing: the raw values do hold it, and the hosts do show.
#[test]
fn the_generator_plants_markers_and_hosts_still_show() {
    let mut runner = TestRunner::new(Config { cases: 200, failure_persistence: None, ..Config::default() });
    let with_marker = Cell::new(0);
    let with_host = Cell::new(0);
    let snapshot = RefCell::new(EnvSnapshot::with_settings(AppSettings::default()));
    runner
        .run(&settings(), |vars| {
            with_marker.set(with_marker.get() + usize::from(vars.iter().any(|(_, v)| leaks(v))));
            let out = library_output(&vars, &mut snapshot.borrow_mut());
            let shows_host = out.contains("127.0.0.") || out.contains("h1.example.test");
            with_host.set(with_host.get() + usize::from(shows_host));
            Ok(())
        })
        .unwrap();
    let (with_marker, with_host) = (with_marker.get(), with_host.get());
    assert!(with_marker > 190, "{with_marker} of 200 cases carry the marker");
    assert!(with_host > 150, "{with_host} of 200 cases show a host: redaction must not hide everything");
}

/// The real binaries, in a namespace whose only interface is loopback (so no generated
/// address can leave this machine), DNS pointed at a dead loopback port.
#[test]
fn no_marker_on_stdout_or_stderr_of_the_binaries() {
    if !support::privileged() {
        return;
    }
    let ns = Netns::new("sec");
    ns.set_resolv_conf("nameserver 127.0.0.1\n");
    let probe = ["--timeout", "200ms", "--dns-timeout", "200ms", "--dns-server", "127.0.0.1:9"];
    let invocations: Vec<(Vec<&str>, bool)> = vec![
        (vec!["env"], false),
        (vec!["-vvv", "env", "--json"], true),
        ([&["deps"][..], &probe].concat(), true),
        ([&["-vvv", "deps", "--json"][..], &probe].concat(), false),
        ([&["check", "--json"][..], &probe, &["127.0.0.1:1"]].concat(), true),
        ([&["-vvv", "tnc", "127.0.0.1", "-p", "1"][..], &probe].concat(), false),
    ];
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    let result = runner.run(&settings(), |vars| {
        for (args, trace) in &invocations {
            let mut cmd = ns.command(&bin("netdiag"));
            cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("NO_COLOR", "1");
            if *trace {
                cmd.env("RUST_LOG", "trace");
            }
            cmd.envs(vars.iter().map(|(k, v)| (k, v))).args(args);
            let r = run(cmd);
            prop_assert!(matches!(r.code(), Some(0..=2)), "exit code\n{r}");
            prop_assert!(!leaks(&r.stdout()) && !leaks(&r.stderr()), "marker leaked for {vars:?}\n{r}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
