//! The app's own dependencies, read from its connection strings, and redaction of the secrets
//! those strings carry. Connection strings are `Key=Value;Key=Value`, keys case-insensitive,
//! values may contain `=` (base64 padding) and may be quoted to hold `;`.

use serde::Serialize;

/// What the replacement for every secret value looks like.
pub const REDACTED: &str = "***";

/// A parsed connection string: its pairs in order, keys as written.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ConnectionString {
    pairs: Vec<(String, String)>,
}

// Never print values: they hold secrets.
impl std::fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pairs.iter().map(|(k, _)| k)).finish()
    }
}

/// One `Key=Value` segment as it appears in the text, with byte ranges for rewriting.
struct Segment<'a> {
    text: &'a str,
    /// Where the value starts inside `text`, if the segment has `=`.
    value_at: Option<usize>,
}

/// Splits on `;` outside a quoted value (`Password="a;b"`). Only a quote that opens a value
/// counts, so `User ID=O'Brien` stays literal.
fn segments(input: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut seen_equals = false;
    let mut expect_value = false;
    for (i, c) in input.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            ';' => {
                out.push(segment(&input[start..i]));
                start = i + 1;
                seen_equals = false;
                expect_value = false;
            }
            '=' if !seen_equals => {
                seen_equals = true;
                expect_value = true;
            }
            '"' | '\'' if expect_value => {
                quote = Some(c);
                expect_value = false;
            }
            c if c.is_whitespace() => {}
            _ => expect_value = false,
        }
    }
    out.push(segment(&input[start..]));
    out
}

fn segment(text: &str) -> Segment<'_> {
    Segment { text, value_at: text.find('=').map(|i| i + 1) }
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

impl ConnectionString {
    /// Parses leniently: empty segments are skipped, a segment without `=` becomes a key with
    /// an empty value.
    pub fn parse(input: &str) -> Self {
        let pairs = segments(input)
            .into_iter()
            .filter(|s| !s.text.trim().is_empty())
            .map(|s| match s.value_at {
                Some(at) => (s.text[..at - 1].trim().to_owned(), unquote(&s.text[at..]).to_owned()),
                None => (s.text.trim().to_owned(), String::new()),
            })
            .collect();
        Self { pairs }
    }

    /// The value of `key`, compared case-insensitively; the first one wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// The first of `keys` that is present.
    pub fn get_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }
}

/// True when the value under `key` is a secret. Over-redacting a harmless value is cheaper
/// than leaking a key, so anything that smells of a credential counts.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    // The name of a shared access policy identifies, it does not authenticate.
    if k == "sharedaccesskeyname" {
        return false;
    }
    const MARKERS: [&str; 9] =
        ["key", "secret", "password", "pwd", "token", "signature", "sig", "credential", "passphrase"];
    MARKERS.iter().any(|m| k.contains(m))
}

/// Replaces `sig=...` (and other secret query parameters) inside a URL-ish value.
fn redact_query_params(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    // Parameters start after '?' or '&'; the very first token may also be a bare SAS
    // ("sv=...&sig=..."), so treat the start of the value as a boundary too.
    let mut at_boundary = true;
    while !rest.is_empty() {
        if at_boundary && let Some(eq) = rest.find('=') {
            let name = &rest[..eq];
            let ends_param = name.contains(['&', '?', '/', ' ', ',']);
            if !ends_param && is_secret_key(name) {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
                let after = &rest[eq + 1..];
                let end = after.find(['&', ',']).unwrap_or(after.len());
                rest = &after[end..];
                at_boundary = false;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
        at_boundary = matches!(c, '?' | '&' | ',');
    }
    out
}

/// The connection string with every secret value replaced by `***`. Keys, order and
/// non-secret values are kept so the output still shows which endpoint is meant. A segment
/// without `=` cannot be told apart from a stray secret, so it is replaced whole.
pub fn redact(conn_str: &str) -> String {
    segments(conn_str)
        .into_iter()
        .map(|s| match s.value_at {
            None if s.text.trim().is_empty() => s.text.to_owned(),
            None => REDACTED.to_owned(),
            Some(at) => {
                let key = &s.text[..at - 1];
                if is_secret_key(key) {
                    format!("{key}={REDACTED}")
                } else {
                    format!("{key}={}", redact_query_params(&s.text[at..]))
                }
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// What a dependency is, which decides its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    StorageBlob,
    StorageQueue,
    StorageTable,
    /// Azure Files over SMB, as the content share is mounted.
    StorageFile,
    /// Service Bus or Event Hubs over AMQP (5671).
    ServiceBusAmqp,
    /// Service Bus or Event Hubs over HTTPS / AMQP over WebSockets (443).
    ServiceBusHttps,
    Sql,
    /// `Host=...;Port=...` databases (PostgreSQL, MySQL) and `host:port,...` (Redis).
    Database,
    /// A generic `Endpoint=` or `AccountEndpoint=` URL.
    Endpoint,
}

/// One host:port an app setting makes the app depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub setting_name: String,
    pub kind: DependencyKind,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnStrError {
    /// The value is shown redacted: errors end up printed.
    #[error("{setting}: {problem} (value: {redacted})")]
    Invalid { setting: String, problem: String, redacted: String },
}

const STORAGE_SERVICES: [(&str, &str, DependencyKind); 4] = [
    ("BlobEndpoint", "blob", DependencyKind::StorageBlob),
    ("QueueEndpoint", "queue", DependencyKind::StorageQueue),
    ("TableEndpoint", "table", DependencyKind::StorageTable),
    ("FileEndpoint", "file", DependencyKind::StorageFile),
];

fn default_port(kind: DependencyKind, scheme: &str) -> u16 {
    match (kind, scheme) {
        (DependencyKind::StorageFile, _) => 445,
        (_, "http") => 80,
        _ => 443,
    }
}

/// Host and explicit port of an endpoint URL.
fn url_host_port(text: &str) -> Result<(String, String, Option<u16>), String> {
    // Endpoint URLs may carry a SAS token: quote them redacted.
    let shown = || redact_query_params(text);
    let url = url::Url::parse(text.trim()).map_err(|e| format!("'{}' is not a URL: {e}", shown()))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(format!("'{}' has no host", shown())),
    };
    Ok((url.scheme().to_owned(), host, url.port()))
}

/// The host:port dependencies a connection-string setting names. `Ok(vec![])` means the
/// string is understood but needs no network (development storage) or is of a kind this
/// module does not know.
pub fn dependencies(setting_name: &str, value: &str) -> Result<Vec<Dependency>, ConnStrError> {
    let invalid = |problem: String| ConnStrError::Invalid {
        setting: setting_name.to_owned(),
        problem,
        redacted: redact(value),
    };
    let dep =
        |kind, host: String, port| Dependency { setting_name: setting_name.to_owned(), kind, host, port };
    let cs = ConnectionString::parse(value);

    if cs.get("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(Vec::new());
    }

    let is_storage = cs.get("AccountName").is_some()
        || STORAGE_SERVICES.iter().any(|(key, _, _)| cs.get(key).is_some())
        || cs.get("DefaultEndpointsProtocol").is_some();
    if is_storage && cs.get("AccountEndpoint").is_none() {
        let protocol = cs.get("DefaultEndpointsProtocol").unwrap_or("https").to_ascii_lowercase();
        let suffix = cs.get("EndpointSuffix").unwrap_or("core.windows.net").trim_matches('.');
        let account = cs.get("AccountName");
        let mut out = Vec::new();
        for (key, service, kind) in STORAGE_SERVICES {
            if let Some(endpoint) = cs.get(key) {
                let (scheme, host, port) = url_host_port(endpoint).map_err(invalid)?;
                let port = match kind {
                    DependencyKind::StorageFile => 445,
                    _ => port.unwrap_or_else(|| default_port(kind, &scheme)),
                };
                out.push(dep(kind, host, port));
            } else if let Some(account) = account {
                if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid(format!("AccountName '{account}' is not a storage account name")));
                }
                let host = format!("{}.{service}.{suffix}", account.to_ascii_lowercase());
                out.push(dep(kind, host, default_port(kind, &protocol)));
            }
        }
        if out.is_empty() {
            return Err(invalid("storage connection string without AccountName or endpoints".into()));
        }
        return Ok(out);
    }

    if let Some(endpoint) = cs.get("Endpoint") {
        let (scheme, host, port) = url_host_port(endpoint).map_err(invalid)?;
        return Ok(match scheme.as_str() {
            "sb" | "amqps" => vec![
                dep(DependencyKind::ServiceBusAmqp, host.clone(), 5671),
                dep(DependencyKind::ServiceBusHttps, host, 443),
            ],
            _ => vec![dep(
                DependencyKind::Endpoint,
                host,
                port.unwrap_or_else(|| default_port(DependencyKind::Endpoint, &scheme)),
            )],
        });
    }
    if let Some(endpoint) = cs.get_any(&["AccountEndpoint", "IngestionEndpoint"]) {
        let (scheme, host, port) = url_host_port(endpoint).map_err(invalid)?;
        return Ok(vec![dep(
            DependencyKind::Endpoint,
            host,
            port.unwrap_or_else(|| default_port(DependencyKind::Endpoint, &scheme)),
        )]);
    }

    if let Some(server) = cs.get_any(&["Server", "Data Source", "Address", "Addr", "Network Address"]) {
        let (host, port) = sql_server(server).map_err(invalid)?;
        return Ok(vec![dep(DependencyKind::Sql, host, port)]);
    }

    if let (Some(host), Some(port)) = (cs.get("Host"), cs.get("Port")) {
        let port = port.trim().parse::<u16>().ok().filter(|p| *p != 0);
        let port = port.ok_or_else(|| invalid("Port is not a port number".into()))?;
        return Ok(vec![dep(DependencyKind::Database, host.trim().to_owned(), port)]);
    }

    // StackExchange.Redis style: "name.redis.cache.windows.net:6380,password=...,ssl=True".
    if let Some(first) = value.split(',').next()
        && !first.contains('=')
        && let Some((host, port)) = first.trim().rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
        && !host.is_empty()
        && port != 0
    {
        return Ok(vec![dep(DependencyKind::Database, host.to_owned(), port)]);
    }

    Ok(Vec::new())
}

/// `tcp:host,1433`, `host`, `host\instance`, `host,port` → host and port (1433 by default).
fn sql_server(text: &str) -> Result<(String, u16), String> {
    let mut t = text.trim();
    for prefix in ["tcp:", "TCP:"] {
        t = t.strip_prefix(prefix).unwrap_or(t);
    }
    if t.contains(':') && !t.starts_with('[') && t.matches(':').count() == 1 {
        return Err(format!("'{text}' uses a protocol other than TCP"));
    }
    let (host, port) = match t.rsplit_once(',') {
        Some((h, p)) => {
            (h, p.trim().parse::<u16>().ok().filter(|p| *p != 0).ok_or(format!("'{p}' is not a port"))?)
        }
        None => (t, 1433),
    };
    // A named instance is found through SQL Browser; Azure SQL has none, so keep the host.
    let host = host.split('\\').next().unwrap_or(host).trim().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("'{text}' has no host"));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Dep = (DependencyKind, String, u16);

    fn deps(value: &str) -> Vec<Dep> {
        dependencies("S", value).unwrap().into_iter().map(|d| (d.kind, d.host, d.port)).collect()
    }

    #[test]
    fn parse_keys_case_insensitive_values_with_equals() {
        let cs = ConnectionString::parse("accountname=acct;AccountKey=abc+/def==;  EndpointSuffix = x.net ;");
        assert_eq!(cs.get("AccountName"), Some("acct"));
        assert_eq!(cs.get("ACCOUNTKEY"), Some("abc+/def=="));
        assert_eq!(cs.get("endpointsuffix"), Some("x.net"));
        assert_eq!(cs.keys().count(), 3);
        let quoted = ConnectionString::parse("Server=h;Password=\"a;b=c\";User ID=O'Brien");
        assert_eq!(quoted.get("password"), Some("a;b=c"));
        assert_eq!(quoted.get("user id"), Some("O'Brien"));
    }

    #[test]
    fn debug_never_shows_values() {
        let cs = ConnectionString::parse("AccountKey=SECRETKEY123");
        assert!(!format!("{cs:?}").contains("SECRETKEY123"));
    }

    #[test]
    fn storage() {
        use DependencyKind::*;
        let s = |h: &str| h.to_owned();
        let cases: Vec<(&str, Vec<Dep>)> = vec![
            (
                "DefaultEndpointsProtocol=https;AccountName=MyAcct;AccountKey=K==;EndpointSuffix=core.windows.net",
                vec![
                    (StorageBlob, s("myacct.blob.core.windows.net"), 443),
                    (StorageQueue, s("myacct.queue.core.windows.net"), 443),
                    (StorageTable, s("myacct.table.core.windows.net"), 443),
                    (StorageFile, s("myacct.file.core.windows.net"), 445),
                ],
            ),
            (
                "AccountName=a;AccountKey=K",
                vec![
                    (StorageBlob, s("a.blob.core.windows.net"), 443),
                    (StorageQueue, s("a.queue.core.windows.net"), 443),
                    (StorageTable, s("a.table.core.windows.net"), 443),
                    (StorageFile, s("a.file.core.windows.net"), 445),
                ],
            ),
            (
                "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=K;EndpointSuffix=core.chinacloudapi.cn",
                vec![
                    (StorageBlob, s("a.blob.core.chinacloudapi.cn"), 80),
                    (StorageQueue, s("a.queue.core.chinacloudapi.cn"), 80),
                    (StorageTable, s("a.table.core.chinacloudapi.cn"), 80),
                    (StorageFile, s("a.file.core.chinacloudapi.cn"), 445),
                ],
            ),
            (
                "BlobEndpoint=https://blob.example.test:8443/;SharedAccessSignature=sv=1&sig=S",
                vec![(StorageBlob, s("blob.example.test"), 8443)],
            ),
            (
                "AccountName=a;AccountKey=K;BlobEndpoint=https://a.privatelink.blob.core.windows.net",
                vec![
                    (StorageBlob, s("a.privatelink.blob.core.windows.net"), 443),
                    (StorageQueue, s("a.queue.core.windows.net"), 443),
                    (StorageTable, s("a.table.core.windows.net"), 443),
                    (StorageFile, s("a.file.core.windows.net"), 445),
                ],
            ),
            ("UseDevelopmentStorage=true", vec![]),
        ];
        for (value, want) in cases {
            assert_eq!(deps(value), want, "{value}");
        }
    }

    #[test]
    fn messaging_sql_and_others() {
        use DependencyKind::*;
        let s = |h: &str| h.to_owned();
        let cases: Vec<(&str, Vec<Dep>)> = vec![
            (
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=K=",
                vec![
                    (ServiceBusAmqp, s("ns.servicebus.windows.net"), 5671),
                    (ServiceBusHttps, s("ns.servicebus.windows.net"), 443),
                ],
            ),
            (
                "Server=tcp:db.database.windows.net,1433;Database=d;Password=p",
                vec![(Sql, s("db.database.windows.net"), 1433)],
            ),
            ("Data Source=sql.corp.test,14330;Initial Catalog=x", vec![(Sql, s("sql.corp.test"), 14330)]),
            ("server=sqlhost\\INST;pwd=x", vec![(Sql, s("sqlhost"), 1433)]),
            ("Endpoint=https://cfg.azconfig.io;Id=abc;Secret=S", vec![(Endpoint, s("cfg.azconfig.io"), 443)]),
            (
                "AccountEndpoint=https://c.documents.azure.com:443/;AccountKey=K==;",
                vec![(Endpoint, s("c.documents.azure.com"), 443)],
            ),
            (
                "InstrumentationKey=00000000-0000;IngestionEndpoint=https://in.example.test/",
                vec![(Endpoint, s("in.example.test"), 443)],
            ),
            ("Host=pg.example.test;Port=5432;Password=x", vec![(Database, s("pg.example.test"), 5432)]),
            (
                "r.redis.cache.windows.net:6380,password=P,ssl=True",
                vec![(Database, s("r.redis.cache.windows.net"), 6380)],
            ),
            ("Something=else", vec![]),
        ];
        for (value, want) in cases {
            assert_eq!(deps(value), want, "{value}");
        }
    }

    #[test]
    fn invalid_values_are_errors_with_redacted_value() {
        for value in [
            "AccountName=bad name!;AccountKey=SECRETKEY123",
            "Endpoint=not a url;SharedAccessKey=SECRETKEY123",
            "BlobEndpoint=::;AccountKey=SECRETKEY123",
            "BlobEndpoint=nota url?sig=SECRETKEY123",
            "Server=tcp:h,notaport;Password=SECRETKEY123",
            "Host=h;Port=x;Password=SECRETKEY123",
            "DefaultEndpointsProtocol=https;AccountKey=SECRETKEY123",
        ] {
            let err = dependencies("MySetting", value).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("MySetting: "), "{text}");
            assert!(!text.contains("SECRETKEY123"), "{text}");
        }
    }

    #[test]
    fn redaction_table() {
        let cases = [
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc/def+==;EndpointSuffix=core.windows.net",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net",
            ),
            (
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abc=",
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=***",
            ),
            (
                "BlobEndpoint=https://a.blob.core.windows.net/c?sv=2020&sig=abc%2B&se=1;SharedAccessSignature=sv=1&sig=x",
                "BlobEndpoint=https://a.blob.core.windows.net/c?sv=2020&sig=***&se=1;SharedAccessSignature=***",
            ),
            ("Server=h;User ID=u;Password=\"p;w\";", "Server=h;User ID=u;Password=***;"),
            ("Server=h;Pwd=x", "Server=h;Pwd=***"),
            (
                "Endpoint=https://c.azconfig.io;Id=i;Secret=s",
                "Endpoint=https://c.azconfig.io;Id=i;Secret=***",
            ),
            ("TenantId=t;ClientSecret=s;AccessToken=t2", "TenantId=t;ClientSecret=***;AccessToken=***"),
            ("justsomesecret", "***"),
            ("", ""),
            ("https://a.blob.core.windows.net/?sv=1&sig=S", "https://a.blob.core.windows.net/?sv=1&sig=***"),
            ("sv=2020&sig=S&se=1", "sv=2020&sig=***&se=1"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn no_secret_survives_redaction() {
        let secret = "SECRETKEY123";
        let templates = [
            "AccountName=a;AccountKey={S}",
            "accountkey={S};AccountName=a",
            "ACCOUNTKEY = {S}",
            "Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey={S}",
            "SharedAccessSignature=sv=1&sig={S}",
            "BlobEndpoint=https://h/?sig={S}",
            "BlobEndpoint=https://h/?sv=1&SIG={S}&x=1",
            "Server=h;Password={S}",
            "Server=h;Password=\"a;{S};b\"",
            "Server=h;Password='{S}'",
            "Server=h;PWD={S}",
            "ClientSecret={S}",
            "Token={S}",
            "ApiKey={S}",
            "{S}",
            "a=b;{S};c=d",
            "r.redis.cache.windows.net:6380,password={S},ssl=True",
            "r.redis.cache.windows.net:6380,ssl=True,password={S}",
            "Endpoint=https://h;Secret={S}",
            "Key={S}",
            "signature={S}",
            "Credential={S}",
            "Password=a=b={S}",
        ];
        for template in templates {
            let input = template.replace("{S}", secret);
            let out = redact(&input);
            assert!(!out.contains(secret), "{input} -> {out}");
            assert!(!out.to_ascii_lowercase().contains(&secret.to_ascii_lowercase()), "{input} -> {out}");
        }
    }
}
