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
/// than leaking a key, so anything that smells of a credential counts. Spaces, `_`, `-` and
/// `.` are ignored (`Shared Access Key`, `client_secret`), case too.
pub fn is_secret_key(key: &str) -> bool {
    let k = normalized_key(key);
    // Names that identify, not authenticate: a shared access policy, a Key Vault secret.
    if matches!(k.as_str(), "sharedaccesskeyname" | "secreturi" | "secretname" | "secretversion") {
        return false;
    }
    // A percent-encoded name (`si%67`) could spell anything.
    if k.contains('%') {
        return true;
    }
    const MARKERS: [&str; 17] = [
        "key",
        "secret",
        "pass",
        "pwd",
        "token",
        "sig",
        "credential",
        "auth",
        "code",
        "cert",
        "private",
        "sas",
        "session",
        "cookie",
        "bearer",
        "access",
        "salt",
    ];
    MARKERS.iter().any(|m| k.contains(m))
}

fn normalized_key(key: &str) -> String {
    key.chars().filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\t')).flat_map(char::to_lowercase).collect()
}

/// Keys (connection-string keys, URL query parameters, Redis options) whose values are shown:
/// they name endpoints and options, never credentials. Any other key's value is hidden, so a
/// key this list does not know costs a little detail, never a secret.
const SHOWN_KEYS: [&str; 62] = [
    // endpoints
    "server",
    "datasource",
    "address",
    "addr",
    "networkaddress",
    "host",
    "hostname",
    "port",
    "endpoint",
    "accountendpoint",
    "ingestionendpoint",
    "liveendpoint",
    "profilerendpoint",
    "snapshotendpoint",
    "blobendpoint",
    "queueendpoint",
    "tableendpoint",
    "fileendpoint",
    "endpointsuffix",
    "accountname",
    "defaultendpointsprotocol",
    "usedevelopmentstorage",
    "developmentstorageproxyuri",
    "secreturi",
    "vaultname",
    "secretname",
    "secretversion",
    "entitypath",
    "sharedaccesskeyname",
    "transporttype",
    "protocol",
    "failoverpartner",
    // databases
    "database",
    "initialcatalog",
    "db",
    "userid",
    "uid",
    "user",
    "username",
    "applicationname",
    "appname",
    "applicationintent",
    "multisubnetfailover",
    "encrypt",
    "trustservercertificate",
    "sslmode",
    "ssl",
    "tls",
    "connectiontimeout",
    "connecttimeout",
    "commandtimeout",
    "timeout",
    "pooling",
    "minpoolsize",
    "maxpoolsize",
    "multipleactiveresultsets",
    "charset",
    "abortconnect",
    "synctimeout",
    "replicaset",
    "retrywrites",
    "apiversion",
];

/// SAS parameters that are not the signature: version, times, permissions, resource types.
const SHOWN_SAS_PARAMS: [&str; 10] = ["sv", "ss", "srt", "sp", "se", "st", "spr", "sr", "si", "sdd"];

fn is_shown_key(key: &str) -> bool {
    let k = normalized_key(key);
    !is_secret_key(key) && (SHOWN_KEYS.contains(&k.as_str()) || SHOWN_SAS_PARAMS.contains(&k.as_str()))
}

/// What a value we do not show looks like: `***` and its length, which helps tell an empty or
/// truncated setting from a full one without saying anything about its content.
fn hidden(text: &str) -> String {
    format!("{REDACTED}({} chars)", text.chars().count())
}

/// A key worth printing: a short word (`User ID`, `api-version`, `Key2`). Anything else
/// (`Qz7x9`, `abc==` split at its padding) may be a stray secret turned into a key: random
/// tokens have digits inside, words at most at the end.
fn is_plain_key(key: &str) -> bool {
    let k = key.trim();
    let word = k.trim_end_matches(|c: char| c.is_ascii_digit());
    k.len() <= 40
        && word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '_' | '-' | '.'))
}

/// A value with nothing in it that could belong to another key or to a URL's credentials.
fn is_plain_value(value: &str) -> bool {
    value.len() <= 256
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '.'
                        | '-'
                        | '_'
                        | ':'
                        | ','
                        | '/'
                        | '\\'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '+'
                        | '!'
                        | '~'
                        | '*'
                        | '$'
                )
        })
}

/// What database connection strings put under `Server=` and its synonyms: `tcp:host,1433`,
/// `host\instance`, `host:port`, `h1,h2:5433`.
fn is_server_value(text: &str) -> bool {
    let t = text.trim();
    let t = t.get(..4).filter(|p| p.eq_ignore_ascii_case("tcp:")).map_or(t, |_| &t[4..]);
    t.split(',').enumerate().all(|(i, piece)| {
        let piece = piece.trim();
        let host = piece.split_once('\\').map_or(piece, |(host, instance)| {
            if instance.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                host
            } else {
                ""
            }
        });
        let port_only = !piece.is_empty() && piece.len() <= 5 && piece.bytes().all(|b| b.is_ascii_digit());
        // After a comma comes a port (SQL Server) or another host (Npgsql); a bare word there
        // is neither, whatever it is.
        let another_host =
            is_host_port(host) && (piece.contains(['.', ':']) || piece.parse::<std::net::IpAddr>().is_ok());
        if i == 0 { is_host_port(host) } else { port_only || another_host }
    })
}

/// One host, with or without a port: `name`, `1.2.3.4`, `[::1]`, `name:443`.
fn is_host_port(text: &str) -> bool {
    let (host, port) = split_host_port(text);
    is_host(host)
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => (h, Some(p.strip_prefix(':').unwrap_or("x"))),
            None => ("", None),
        };
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (text, None),
    }
}

/// A DNS name or IP literal (the brackets of an IPv6 literal removed).
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && (text.parse::<std::net::IpAddr>().is_ok()
            || text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
}

/// A URL as `scheme://host:port/path?shown=v&secret=***`: userinfo, secret and unknown query
/// values and the fragment are hidden. A URL whose structure is ambiguous (an `@` after the
/// host, an odd host) is hidden whole: it may be credentials that broke the parse.
fn redact_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return hidden(text) };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (has_userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (true, &authority[at + 1..]),
        None => (false, authority),
    };
    if !scheme_ok || tail.contains('@') || hosts.split(',').any(|h| !is_host_port(h)) {
        return hidden(text);
    }
    let mut out = format!("{scheme}://{}{hosts}", if has_userinfo { "***@" } else { "" });
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let path_ok = path.len() <= 1024
        && path.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '-' | '_' | '~' | '%' | '+' | ':' | ',' | '!' | '(' | ')')
        });
    out.push_str(&if path_ok { path.to_owned() } else { format!("/{}", hidden(path)) });
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_pairs(query, '&', false));
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

/// `key=value` pairs joined by `separator` (query parameters, Redis options). A piece without
/// `=` is hidden unless `endpoints_allowed` and it is a host:port.
fn redact_pairs(text: &str, separator: char, endpoints_allowed: bool) -> String {
    text.split(separator)
        .enumerate()
        .map(|(i, piece)| match piece.split_once('=') {
            None if piece.trim().is_empty() => piece.to_owned(),
            None if endpoints_allowed && is_listed_endpoint(piece.trim(), i) => piece.to_owned(),
            None => hidden(piece),
            Some((key, value)) => match shown_value(key, value) {
                Some(v) => format!("{key}={v}"),
                None => hidden(piece),
            },
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

/// The `index`th piece of a comma-separated list is an endpoint: the first one may be a bare
/// name; after it, a bare word may as well be the tail of a password that held a comma.
fn is_listed_endpoint(piece: &str, index: usize) -> bool {
    is_host_port(piece) && (index == 0 || piece.contains(['.', ':']))
}

/// How the value under `key` is shown, or `None` when the key itself must not be shown.
fn shown_value(key: &str, value: &str) -> Option<String> {
    if !is_plain_key(key) {
        return None;
    }
    let trimmed = value.trim();
    if trimmed.trim_matches('=').is_empty() {
        // `abc==` is a base64 secret standing alone, not a key with an empty value; only a
        // key we know is surely a key.
        return is_shown_key(key).then(|| value.to_owned());
    }
    if is_secret_key(key) {
        return Some(REDACTED.to_owned());
    }
    let Some(inner) = strict_unquote(trimmed) else { return Some(hidden(value)) };
    if !is_shown_key(key) {
        return Some(hidden(inner));
    }
    let k = normalized_key(key);
    // An endpoint that is not a URL may be anything, a key pasted in the wrong place too.
    if inner.contains("://") || ["endpoint", "uri", "url"].iter().any(|end| k.ends_with(end)) {
        return Some(redact_url(inner));
    }
    let shape_ok = match k.as_str() {
        "port" => inner.len() <= 5 && inner.bytes().all(|b| b.is_ascii_digit()),
        "accountname" | "vaultname" => inner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "server" | "datasource" | "address" | "addr" | "networkaddress" | "host" | "hostname"
        | "failoverpartner" => is_server_value(inner),
        _ => is_plain_value(inner),
    };
    Some(if shape_ok { inner.to_owned() } else { hidden(inner) })
}

/// The text inside matching quotes, the text itself when unquoted, `None` when a quote is
/// left open or closed early (`"a"b`): such a value may have swallowed the keys after it.
fn strict_unquote(value: &str) -> Option<&str> {
    for q in ['"', '\''] {
        if let Some(rest) = value.strip_prefix(q) {
            let inner = rest.strip_suffix(q)?;
            return (!inner.contains(q)).then_some(inner);
        }
    }
    (!value.contains(['"', '\''])).then_some(value)
}

const KEY_VAULT_PREFIX: &str = "@Microsoft.KeyVault(";

/// `@Microsoft.KeyVault(...)` → the text inside the parentheses.
fn key_vault_reference(value: &str) -> Option<&str> {
    let v = value.trim();
    let head = v.get(..KEY_VAULT_PREFIX.len())?;
    head.eq_ignore_ascii_case(KEY_VAULT_PREFIX)
        .then(|| v[KEY_VAULT_PREFIX.len()..].strip_suffix(')'))
        .flatten()
}

/// StackExchange.Redis: `host[:port][,host:port...],password=...,ssl=True`: the first piece
/// is an endpoint, there is no `;`.
fn is_redis_style(value: &str) -> bool {
    let first = value.split(',').next().unwrap_or_default().trim();
    value.contains(',') && !value.contains(';') && !first.contains('=') && is_host_port(first)
}

/// The value with every secret replaced, shaped as the input so it still shows which endpoint
/// is meant. Works on structure: URLs lose their userinfo and secret or unknown query values;
/// connection strings keep their keys and the values of keys known to be harmless; anything
/// that cannot be parsed, or is ambiguous (an unclosed quote, a segment without `=`), is shown
/// as `***` with its length.
pub fn redact(value: &str) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return value.to_owned();
    }
    if let Some(inner) = key_vault_reference(trimmed) {
        return format!("{KEY_VAULT_PREFIX}{})", redact_connection_string(inner));
    }
    if trimmed.split(['=', ';']).next().is_some_and(|head| head.contains("://")) {
        return redact_url(trimmed);
    }
    if is_redis_style(trimmed) {
        return redact_pairs(trimmed, ',', true);
    }
    // A lone `host:port` (Redis); a lone word may as well be a secret.
    if !trimmed.contains(['=', ';']) && is_host_port(trimmed) && split_host_port(trimmed).1.is_some() {
        return trimmed.to_owned();
    }
    redact_connection_string(value)
}

/// [`redact`] for the value of the setting `setting_name`. Identity-based settings
/// (`X__accountName`, `X__blobServiceUri`, ...) hold no secret by design, only where to connect:
/// a plain name or a URL is shown as such (a URL still loses any userinfo and query secret).
pub fn redact_setting(setting_name: &str, value: &str) -> String {
    let trimmed = value.trim();
    if identity_suffix(setting_name).is_some() {
        if trimmed.contains("://") {
            return redact_url(trimmed);
        }
        if is_host(trimmed) {
            return trimmed.to_owned();
        }
    }
    redact(value)
}

fn redact_connection_string(conn_str: &str) -> String {
    segments(conn_str)
        .into_iter()
        .map(|s| match s.value_at {
            None if s.text.trim().is_empty() => s.text.to_owned(),
            None => hidden(s.text),
            Some(at) => {
                let key = &s.text[..at - 1];
                match shown_value(key, &s.text[at..]) {
                    Some(v) => format!("{key}={v}"),
                    None => hidden(s.text),
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
    /// `Host=...;Port=...` databases of no known engine.
    Database,
    /// MySQL (`MYSQLCONNSTR_`, `mysql://`), 3306 by default.
    Mysql,
    /// PostgreSQL (`POSTGRESQLCONNSTR_`, `postgresql://`, Npgsql's `Host=`), 5432 by default.
    Postgresql,
    /// Redis: 6380 with TLS, 6379 without.
    Redis,
    /// MongoDB (`mongodb://`, Cosmos DB's Mongo API), 27017 by default.
    Mongodb,
    /// A Key Vault that an `@Microsoft.KeyVault(...)` reference needs.
    KeyVault,
    /// The blob that `WEBSITE_RUN_FROM_PACKAGE` points at.
    Package,
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

/// Why a setting's dependencies could not be found. Errors end up printed, and a value that
/// was split in the wrong place may hold the next key's secret, so an error names the setting
/// and the key and never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnStrError {
    #[error("{setting}: {key} {problem}")]
    BadValue { setting: String, key: &'static str, problem: &'static str },
    #[error("{setting}: {problem}")]
    Unrecognized { setting: String, problem: &'static str },
}

impl ConnStrError {
    /// The message without the setting's name, for lists already grouped by setting.
    pub fn problem(&self) -> String {
        match self {
            Self::BadValue { key, problem, .. } => format!("{key} {problem}"),
            Self::Unrecognized { problem, .. } => (*problem).to_owned(),
        }
    }
}

/// A problem found while reading one key; the setting's name is added by [`dependencies`].
#[derive(Debug)]
struct Bad(&'static str, &'static str);

const STORAGE_SERVICES: [(&str, &str, DependencyKind); 4] = [
    ("BlobEndpoint", "blob", DependencyKind::StorageBlob),
    ("QueueEndpoint", "queue", DependencyKind::StorageQueue),
    ("TableEndpoint", "table", DependencyKind::StorageTable),
    ("FileEndpoint", "file", DependencyKind::StorageFile),
];

/// Identity-based connections: `<Connection>__<suffix>` settings hold no secret, only where
/// to connect (Azure Functions' `AzureWebJobsStorage__accountName` and friends).
pub const IDENTITY_SUFFIXES: [&str; 7] = [
    "__accountName",
    "__blobServiceUri",
    "__queueServiceUri",
    "__tableServiceUri",
    "__fullyQualifiedNamespace",
    "__accountEndpoint",
    "__serviceUri",
];

/// The identity-based suffix `setting_name` ends with (case-insensitively), if any.
pub fn identity_suffix(setting_name: &str) -> Option<&'static str> {
    IDENTITY_SUFFIXES.into_iter().find(|suffix| {
        setting_name.len() > suffix.len()
            && setting_name.is_char_boundary(setting_name.len() - suffix.len())
            && setting_name[setting_name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    })
}

/// True for a Key Vault reference (`@Microsoft.KeyVault(...)`), whatever setting holds it.
pub fn is_key_vault_reference(value: &str) -> bool {
    key_vault_reference(value).is_some()
}

pub const RUN_FROM_PACKAGE: &str = "WEBSITE_RUN_FROM_PACKAGE";

fn default_port(kind: DependencyKind, scheme: &str) -> u16 {
    match (kind, scheme) {
        (DependencyKind::StorageFile, _) => 445,
        (_, "http" | "ws") => 80,
        (_, "mongodb") => 27017,
        (_, "postgres" | "postgresql") => 5432,
        (_, "mysql") => 3306,
        (_, "redis") => 6379,
        (_, "rediss") => 6380,
        (_, "amqp") => 5672,
        (_, "amqps" | "sb") => 5671,
        _ => 443,
    }
}

/// Scheme, hosts (with their explicit ports) of a URL. Several hosts (`mongodb://a:1,b:2/`)
/// are allowed.
fn url_hosts(text: &str, key: &'static str) -> Result<(String, Vec<(String, Option<u16>)>), Bad> {
    let not_url = Bad(key, "is not a URL with a host");
    let (scheme, rest) = text.trim().split_once("://").ok_or(not_url)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(Bad(key, "is not a URL with a host"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // An `@` after the host means a password with an unescaped `/`, `?` or `#`: what looks
    // like the host may be part of the password.
    if tail.contains('@') {
        return Err(Bad(key, "is ambiguous: an @ after the host"));
    }
    let hosts = authority.rfind('@').map_or(authority, |at| &authority[at + 1..]);
    let mut out = Vec::new();
    for piece in hosts.split(',') {
        if !is_host_port(piece) {
            return Err(Bad(key, "is not a URL with a host"));
        }
        let (host, port) = split_host_port(piece);
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or(Bad(key, "has a bad port"))?),
            None => None,
        };
        out.push((host.to_owned(), port));
    }
    Ok((scheme, out))
}

/// Host and port of a one-host URL, the port defaulted from the kind and scheme.
fn url_endpoint(text: &str, key: &'static str, kind: DependencyKind) -> Result<(String, u16), Bad> {
    let (scheme, hosts) = url_hosts(text, key)?;
    let (host, port) = hosts.into_iter().next().ok_or(Bad(key, "is not a URL with a host"))?;
    Ok((host, port.unwrap_or_else(|| default_port(kind, &scheme))))
}

/// The database engine the setting's prefix names (`MYSQLCONNSTR_`, ...).
fn engine_from_name(setting_name: &str) -> Option<DependencyKind> {
    let upper = setting_name.to_ascii_uppercase();
    [
        ("MYSQLCONNSTR_", DependencyKind::Mysql),
        ("POSTGRESQLCONNSTR_", DependencyKind::Postgresql),
        ("REDISCACHECONNSTR_", DependencyKind::Redis),
        ("SQLCONNSTR_", DependencyKind::Sql),
        ("SQLAZURECONNSTR_", DependencyKind::Sql),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| upper.starts_with(prefix).then_some(kind))
}

/// The host:port dependencies a setting names: connection strings, URLs, Key Vault
/// references, identity-based connections and `WEBSITE_RUN_FROM_PACKAGE`. `Ok(vec![])` only
/// for settings that need no network (development storage, a package run from local files).
/// A value that names no host is an error, so the setting is listed rather than dropped.
pub fn dependencies(setting_name: &str, value: &str) -> Result<Vec<Dependency>, ConnStrError> {
    let dep =
        |kind, host: String, port| Dependency { setting_name: setting_name.to_owned(), kind, host, port };
    let found = match find_dependencies(setting_name, value) {
        Ok(found) => found,
        Err(Bad(key, problem)) => {
            return Err(ConnStrError::BadValue { setting: setting_name.to_owned(), key, problem });
        }
    };
    match found {
        Some(list) => Ok(list.into_iter().map(|(kind, host, port)| dep(kind, host, port)).collect()),
        None => Err(ConnStrError::Unrecognized {
            setting: setting_name.to_owned(),
            problem: "looks like a connection string, but names no host this tool understands",
        }),
    }
}

type Found = Vec<(DependencyKind, String, u16)>;

/// `Ok(None)` when nothing in the value could be understood.
fn find_dependencies(setting_name: &str, value: &str) -> Result<Option<Found>, Bad> {
    use DependencyKind::*;
    let value = value.trim();

    if let Some(suffix) = identity_suffix(setting_name) {
        return identity_based(suffix, value).map(Some);
    }
    if let Some(inner) = key_vault_reference(value) {
        let cs = ConnectionString::parse(inner);
        if let Some(uri) = cs.get("SecretUri") {
            let (host, port) = url_endpoint(uri, "SecretUri", KeyVault)?;
            return Ok(Some(vec![(KeyVault, host, port)]));
        }
        let vault =
            cs.get("VaultName").ok_or(Bad("@Microsoft.KeyVault", "has neither SecretUri nor VaultName"))?;
        if vault.is_empty() || !vault.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Bad("VaultName", "is not a vault name"));
        }
        return Ok(Some(vec![(KeyVault, format!("{}.vault.azure.net", vault.to_ascii_lowercase()), 443)]));
    }
    if setting_name.eq_ignore_ascii_case(RUN_FROM_PACKAGE) {
        if !value.contains("://") {
            // `1`: the package is a local file.
            return Ok(Some(Vec::new()));
        }
        let (host, port) = url_endpoint(value, RUN_FROM_PACKAGE, Package)?;
        return Ok(Some(vec![(Package, host, port)]));
    }
    // A whole URL: mongodb://user:KEY@host:10255/, postgresql://..., rediss://:PW@host, ...
    if value.split(['=', ';']).next().is_some_and(|head| head.contains("://")) {
        let (scheme, hosts) = url_hosts(value, "URL")?;
        let kind = match scheme.as_str() {
            "mongodb" | "mongodb+srv" => Mongodb,
            "postgres" | "postgresql" => Postgresql,
            "mysql" => Mysql,
            "redis" | "rediss" => Redis,
            "sb" | "amqp" | "amqps" => ServiceBusAmqp,
            _ => engine_from_name(setting_name).unwrap_or(Endpoint),
        };
        return Ok(Some(
            hosts
                .into_iter()
                .map(|(h, p)| (kind, h, p.unwrap_or_else(|| default_port(kind, &scheme))))
                .collect(),
        ));
    }
    if is_redis_style(value) || (engine_from_name(setting_name) == Some(Redis) && !value.contains(';')) {
        return redis(value).map(Some);
    }

    let cs = ConnectionString::parse(value);
    if cs.get("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(Some(Vec::new()));
    }

    let is_storage = cs.get("AccountName").is_some()
        || STORAGE_SERVICES.iter().any(|(key, _, _)| cs.get(key).is_some())
        || cs.get("DefaultEndpointsProtocol").is_some();
    if is_storage && cs.get("AccountEndpoint").is_none() {
        let protocol = cs.get("DefaultEndpointsProtocol").unwrap_or("https").to_ascii_lowercase();
        let suffix = cs.get("EndpointSuffix").unwrap_or("core.windows.net").trim_matches('.');
        if !is_host(suffix) {
            return Err(Bad("EndpointSuffix", "is not a DNS suffix"));
        }
        let account = cs.get("AccountName");
        let mut out = Vec::new();
        for (key, service, kind) in STORAGE_SERVICES {
            if let Some(endpoint) = cs.get(key) {
                let (host, port) = url_endpoint(endpoint, key, kind)?;
                let port = if kind == StorageFile { 445 } else { port };
                out.push((kind, host, port));
            } else if let Some(account) = account {
                if !is_storage_account(account) {
                    return Err(Bad("AccountName", "is not a storage account name"));
                }
                let host = format!("{}.{service}.{suffix}", account.to_ascii_lowercase());
                out.push((kind, host, default_port(kind, &protocol)));
            }
        }
        if out.is_empty() {
            return Err(Bad("AccountName", "is missing, and so are the service endpoints"));
        }
        return Ok(Some(out));
    }

    if let Some(endpoint) = cs.get("Endpoint") {
        let (scheme, hosts) = url_hosts(endpoint, "Endpoint")?;
        let (host, port) = hosts.into_iter().next().ok_or(Bad("Endpoint", "is not a URL with a host"))?;
        return Ok(Some(match scheme.as_str() {
            "sb" | "amqps" => vec![(ServiceBusAmqp, host.clone(), 5671), (ServiceBusHttps, host, 443)],
            _ => vec![(Endpoint, host, port.unwrap_or_else(|| default_port(Endpoint, &scheme)))],
        }));
    }
    for key in ["AccountEndpoint", "IngestionEndpoint"] {
        if let Some(endpoint) = cs.get(key) {
            let (host, port) = url_endpoint(endpoint, key, Endpoint)?;
            return Ok(Some(vec![(Endpoint, host, port)]));
        }
    }

    const SERVER_KEYS: [&str; 7] =
        ["Server", "Data Source", "Host", "Address", "Addr", "Network Address", "Hostname"];
    let Some((server_key, server)) = SERVER_KEYS.iter().find_map(|k| cs.get(k).map(|v| (*k, v))) else {
        return Ok(None);
    };
    // SQL Server strings never carry `Port=`; `Host=` alone is Npgsql's spelling.
    let engine = engine_from_name(setting_name).unwrap_or(match (server_key, cs.get("Port")) {
        (_, Some(_)) => Database,
        ("Host", None) => Postgresql,
        _ => Sql,
    });
    if engine == Sql {
        let (host, port) = sql_server(server, server_key)?;
        return Ok(Some(vec![(Sql, host, port)]));
    }
    let default = match engine {
        Mysql => 3306,
        Redis => 6379,
        _ => 5432,
    };
    let port = match cs.get("Port") {
        Some(p) => {
            p.trim().parse::<u16>().ok().filter(|p| *p != 0).ok_or(Bad("Port", "is not a port number"))?
        }
        None => default,
    };
    // Npgsql and MySQL connectors accept several hosts, comma-separated, each with an
    // optional port of its own.
    let mut out = Vec::new();
    for (i, piece) in server.split(',').enumerate() {
        let piece = piece.trim();
        // As the redactor reads it: after a comma, a bare word is no host.
        if !is_host_port(piece) || (i > 0 && !piece.contains(['.', ':'])) {
            return Err(Bad(server_key, "is not a host name"));
        }
        let (host, own_port) = split_host_port(piece);
        let own_port = match own_port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or(Bad(server_key, "has a bad port"))?,
            None => port,
        };
        out.push((engine, host.to_owned(), own_port));
    }
    Ok(Some(out))
}

fn is_storage_account(name: &str) -> bool {
    !name.is_empty() && name.len() <= 24 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `<Connection>__accountName` and friends: endpoints, no secret.
fn identity_based(suffix: &'static str, value: &str) -> Result<Found, Bad> {
    use DependencyKind::*;
    let key = suffix.trim_start_matches('_');
    Ok(match suffix {
        "__accountName" => {
            if !is_storage_account(value) {
                return Err(Bad(key, "is not a storage account name"));
            }
            let a = value.to_ascii_lowercase();
            vec![
                (StorageBlob, format!("{a}.blob.core.windows.net"), 443),
                (StorageQueue, format!("{a}.queue.core.windows.net"), 443),
                (StorageTable, format!("{a}.table.core.windows.net"), 443),
            ]
        }
        "__fullyQualifiedNamespace" => {
            let host = value.split_once("://").map_or(value, |(_, rest)| rest).trim_end_matches('/');
            if !is_host(host) {
                return Err(Bad(key, "is not a host name"));
            }
            vec![(ServiceBusAmqp, host.to_owned(), 5671), (ServiceBusHttps, host.to_owned(), 443)]
        }
        _ => {
            let kind = match suffix {
                "__blobServiceUri" => StorageBlob,
                "__queueServiceUri" => StorageQueue,
                "__tableServiceUri" => StorageTable,
                _ => Endpoint,
            };
            let (host, port) = url_endpoint(value, key, kind)?;
            vec![(kind, host, port)]
        }
    })
}

/// StackExchange.Redis: endpoints and `key=value` options, comma-separated. Without a port,
/// 6380 when `ssl=True`, else 6379.
fn redis(value: &str) -> Result<Found, Bad> {
    let ssl = value.split(',').any(|piece| {
        piece.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("ssl") && v.trim().eq_ignore_ascii_case("true")
        })
    });
    let default = if ssl { 6380 } else { 6379 };
    // A lone word is shown redacted (it may be a password pasted alone), so it names no host
    // either; a lone `host:port` does.
    if !value.contains(',') && split_host_port(value.trim()).1.is_none() {
        return Err(Bad("endpoint", "is missing (host:port, then options after commas)"));
    }
    let mut out = Vec::new();
    for (i, piece) in value.split(',').map(str::trim).enumerate() {
        if piece.is_empty() || piece.contains('=') {
            continue;
        }
        if !is_listed_endpoint(piece, i) {
            return Err(Bad("endpoint", "is not a host[:port]"));
        }
        let (host, port) = split_host_port(piece);
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or(Bad("endpoint", "has a bad port"))?,
            None => default,
        };
        out.push((DependencyKind::Redis, host.to_owned(), port));
    }
    if out.is_empty() {
        return Err(Bad("endpoint", "is missing"));
    }
    Ok(out)
}

/// `tcp:host,1433`, `host`, `host\instance`, `host,port` → host and port (1433 by default).
fn sql_server(text: &str, key: &'static str) -> Result<(String, u16), Bad> {
    let mut t = text.trim();
    for prefix in ["tcp:", "TCP:"] {
        t = t.strip_prefix(prefix).unwrap_or(t);
    }
    if t.contains(':') && !t.starts_with('[') && t.matches(':').count() == 1 {
        return Err(Bad(key, "uses a protocol other than TCP"));
    }
    let (host, port) = match t.rsplit_once(',') {
        Some((h, p)) => (
            h,
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(Bad(key, "has a bad port after the comma"))?,
        ),
        None => (t, 1433),
    };
    // A named instance is found through SQL Browser; Azure SQL has none, so keep the host.
    let host = host.split('\\').next().unwrap_or(host).trim().trim_start_matches('[').trim_end_matches(']');
    if !is_host(host) {
        return Err(Bad(key, "is not a host name"));
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
                vec![(Redis, s("r.redis.cache.windows.net"), 6380)],
            ),
        ];
        for (value, want) in cases {
            assert_eq!(deps(value), want, "{value}");
        }
    }

    #[test]
    fn new_kinds_and_default_ports() {
        use DependencyKind::*;
        let s = |h: &str| h.to_owned();
        let cases: Vec<(&str, &str, Vec<Dep>)> = vec![
            (
                "MYSQLCONNSTR_m",
                "Server=my.example.test;Port=3307;Uid=u;Pwd=p",
                vec![(Mysql, s("my.example.test"), 3307)],
            ),
            (
                "MYSQLCONNSTR_m",
                "Database=d;Data Source=my.example.test;User Id=u;Password=p",
                vec![(Mysql, s("my.example.test"), 3306)],
            ),
            (
                "POSTGRESQLCONNSTR_p",
                "Server=pg.example.test;Database=d;Port=5433;User Id=u;Password=p",
                vec![(Postgresql, s("pg.example.test"), 5433)],
            ),
            (
                "POSTGRESQLCONNSTR_p",
                "Host=pg.example.test;Username=u;Password=p",
                vec![(Postgresql, s("pg.example.test"), 5432)],
            ),
            (
                "CUSTOMCONNSTR_p",
                "Host=pg.example.test;Username=u;Password=p",
                vec![(Postgresql, s("pg.example.test"), 5432)],
            ),
            (
                "CUSTOMCONNSTR_p",
                "Host=a.example.test,b.example.test:5433;Port=5432",
                vec![(Database, s("a.example.test"), 5432), (Database, s("b.example.test"), 5433)],
            ),
            (
                "CUSTOMCONNSTR_p",
                "postgresql://u:p@pg.example.test/db?sslmode=require",
                vec![(Postgresql, s("pg.example.test"), 5432)],
            ),
            (
                "CUSTOMCONNSTR_m",
                "mysql://u:p@my.example.test:3310/db",
                vec![(Mysql, s("my.example.test"), 3310)],
            ),
            (
                "REDISCACHECONNSTR_r",
                "r.example.test,password=p,ssl=True,abortConnect=False",
                vec![(Redis, s("r.example.test"), 6380)],
            ),
            ("REDISCACHECONNSTR_r", "r.example.test,password=p", vec![(Redis, s("r.example.test"), 6379)]),
            ("REDISCACHECONNSTR_r", "r.example.test:7000", vec![(Redis, s("r.example.test"), 7000)]),
            (
                "CUSTOMCONNSTR_r",
                "r.example.test,ssl=true,password=p",
                vec![(Redis, s("r.example.test"), 6380)],
            ),
            ("CUSTOMCONNSTR_r", "rediss://:p@r.example.test", vec![(Redis, s("r.example.test"), 6380)]),
            ("CUSTOMCONNSTR_r", "redis://r.example.test", vec![(Redis, s("r.example.test"), 6379)]),
            (
                "CUSTOMCONNSTR_c",
                "mongodb://acct:K==@acct.mongo.cosmos.azure.com:10255/?ssl=true",
                vec![(Mongodb, s("acct.mongo.cosmos.azure.com"), 10255)],
            ),
            (
                "CUSTOMCONNSTR_c",
                "mongodb://u:p@a.example.test:27018,b.example.test/db",
                vec![(Mongodb, s("a.example.test"), 27018), (Mongodb, s("b.example.test"), 27017)],
            ),
            (
                "Secret",
                "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/s/v1)",
                vec![(KeyVault, s("myvault.vault.azure.net"), 443)],
            ),
            (
                "Secret",
                "@Microsoft.KeyVault(VaultName=MyVault;SecretName=s)",
                vec![(KeyVault, s("myvault.vault.azure.net"), 443)],
            ),
            (
                "Secret",
                "@microsoft.keyvault(SecretUri=https://v.vault.azure.cn/secrets/s/)",
                vec![(KeyVault, s("v.vault.azure.cn"), 443)],
            ),
            (
                "AzureWebJobsStorage__accountName",
                "MyAcct",
                vec![
                    (StorageBlob, s("myacct.blob.core.windows.net"), 443),
                    (StorageQueue, s("myacct.queue.core.windows.net"), 443),
                    (StorageTable, s("myacct.table.core.windows.net"), 443),
                ],
            ),
            (
                "AzureWebJobsStorage__blobServiceUri",
                "https://a.blob.core.windows.net",
                vec![(StorageBlob, s("a.blob.core.windows.net"), 443)],
            ),
            (
                "AzureWebJobsStorage__queueServiceUri",
                "https://a.queue.core.windows.net/",
                vec![(StorageQueue, s("a.queue.core.windows.net"), 443)],
            ),
            (
                "AzureWebJobsStorage__tableServiceUri",
                "https://a.table.core.windows.net:8443/",
                vec![(StorageTable, s("a.table.core.windows.net"), 8443)],
            ),
            (
                "ServiceBusConnection__fullyQualifiedNamespace",
                "ns.servicebus.windows.net",
                vec![
                    (ServiceBusAmqp, s("ns.servicebus.windows.net"), 5671),
                    (ServiceBusHttps, s("ns.servicebus.windows.net"), 443),
                ],
            ),
            (
                "WEBSITE_RUN_FROM_PACKAGE",
                "https://a.blob.core.windows.net/c/p.zip?sv=1&sig=S",
                vec![(Package, s("a.blob.core.windows.net"), 443)],
            ),
            ("WEBSITE_RUN_FROM_PACKAGE", "1", vec![]),
        ];
        for (name, value, want) in cases {
            let got: Vec<Dep> =
                dependencies(name, value).unwrap().into_iter().map(|d| (d.kind, d.host, d.port)).collect();
            assert_eq!(got, want, "{name}={value}");
        }
    }

    #[test]
    fn not_understood_is_an_error_naming_the_setting() {
        for value in ["Something=else", "InstrumentationKey=abc", "justtext"] {
            let err = dependencies("CUSTOMCONNSTR_x", value).unwrap_err();
            assert!(matches!(err, ConnStrError::Unrecognized { .. }), "{value}: {err}");
            assert!(err.to_string().starts_with("CUSTOMCONNSTR_x: "), "{err}");
        }
    }

    #[test]
    fn errors_name_the_key_and_never_quote_a_value() {
        for (value, key) in [
            ("AccountName=bad name!;AccountKey=SECRETKEY123", "AccountName"),
            ("AccountName=acct AccountKey=SECRETKEY123", "AccountName"),
            ("Endpoint=not a url SECRETKEY123;SharedAccessKey=SECRETKEY123", "Endpoint"),
            ("BlobEndpoint=::;AccountKey=SECRETKEY123", "BlobEndpoint"),
            ("BlobEndpoint=nota url?sig=SECRETKEY123", "BlobEndpoint"),
            ("Server=tcp:h,notaport;Password=SECRETKEY123", "Server"),
            ("Server=tcp:h,Password=SECRETKEY123", "Server"),
            ("Host=h;Port=x;Password=SECRETKEY123", "Port"),
            ("Host=h SECRETKEY123;Port=5432", "Host"),
            ("DefaultEndpointsProtocol=https;AccountKey=SECRETKEY123", "AccountName"),
            ("Endpoint=https://u:SECRETKEY123@h:bad/", "Endpoint"),
            ("EndpointSuffix=a b SECRETKEY123;AccountName=a", "EndpointSuffix"),
        ] {
            let err = dependencies("MySetting", value).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(&format!("MySetting: {key} ")), "{value}: {text}");
            assert!(!text.contains("SECRETKEY123"), "{text}");
            assert!(!text.contains('\''), "quotes nothing: {text}");
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
                "Endpoint=https://c.azconfig.io;Id=***(1 chars);Secret=***",
            ),
            (
                "TenantId=t;ClientSecret=s;AccessToken=t2",
                "TenantId=***(1 chars);ClientSecret=***;AccessToken=***",
            ),
            ("justsomesecret", "***(14 chars)"),
            ("", ""),
            ("https://a.blob.core.windows.net/?sv=1&sig=S", "https://a.blob.core.windows.net/?sv=1&sig=***"),
            ("sv=2020&sig=S&se=1", "sv=***(15 chars)"),
            (
                "mongodb://acct:K==@acct.mongo.cosmos.azure.com:10255/?ssl=true&replicaSet=globaldb",
                "mongodb://***@acct.mongo.cosmos.azure.com:10255/?ssl=true&replicaSet=globaldb",
            ),
            ("postgresql://user:PW@h.example.test:5432/db", "postgresql://***@h.example.test:5432/db"),
            ("rediss://:PW@h.example.test:6380", "rediss://***@h.example.test:6380"),
            (
                "Endpoint=https://user:PW@h.example.test/;Id=x",
                "Endpoint=https://***@h.example.test/;Id=***(1 chars)",
            ),
            (
                "Endpoint=https://h.example.test/api/f?code=K&x=1",
                "Endpoint=https://h.example.test/api/f?code=***&x=***(1 chars)",
            ),
            ("AccountName=acct AccountKey=K", "AccountName=***(17 chars)"),
            ("Server=tcp:h,Password=PW", "Server=***(17 chars)"),
            ("Endpoint=htp:/ /bad K", "Endpoint=***(12 chars)"),
            ("Server=h;Database=\"x;Password=PW", "Server=h;Database=***(14 chars)"),
            ("Data Source='h;Pwd=PW", "Data Source=***(9 chars)"),
            (
                "h.example.test:6380,password=PW,ssl=True,abortConnect=False",
                "h.example.test:6380,password=***,ssl=True,abortConnect=False",
            ),
            ("Server=h;PW", "Server=h;***(2 chars)"),
            ("Host=h;Port=K", "Host=h;Port=***(1 chars)"),
            (
                "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)",
                "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)",
            ),
            (
                "@Microsoft.KeyVault(VaultName=v;SecretName=s)",
                "@Microsoft.KeyVault(VaultName=v;SecretName=s)",
            ),
            ("https://h.example.test/x#frag", "https://h.example.test/x#***"),
            ("https://h.example.test/a@b?x=1", "***(30 chars)"),
            ("Server=h;Authentication=Active Directory Password", "Server=h;Authentication=***"),
            ("h.example.test:6379", "h.example.test:6379"),
            ("Server=h;abcd==;efgh=", "Server=h;***(6 chars);***(5 chars)"),
            ("Server=h;Key2=k;aB3dE9=x", "Server=h;Key2=***;***(8 chars)"),
            ("https://h.example.test/?abcd==&ssl=", "https://h.example.test/?***(6 chars)&ssl="),
            (
                "Server=tcp:h.example.test,1433;Data Source=h\\SQLEXPRESS",
                "Server=tcp:h.example.test,1433;Data Source=h\\SQLEXPRESS",
            ),
            ("Host=a.example.test,b.example.test:5433", "Host=a.example.test,b.example.test:5433"),
            ("Server=tcp:h,K;Password=x", "Server=***(7 chars);Password=***"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn identity_settings_show_their_endpoint() {
        assert_eq!(redact_setting("AzureWebJobsStorage__accountName", "myacct"), "myacct");
        assert_eq!(
            redact_setting("X__blobServiceUri", "https://a.blob.core.windows.net/"),
            "https://a.blob.core.windows.net/"
        );
        assert_eq!(
            redact_setting("X__blobServiceUri", "https://u:K@a.example.test/?sig=K"),
            "https://***@a.example.test/?sig=***"
        );
        assert_eq!(
            redact_setting("X__fullyQualifiedNamespace", "ns.servicebus.windows.net"),
            "ns.servicebus.windows.net"
        );
        assert_eq!(redact_setting("X__accountName", "not plain; Password=K"), "***(9 chars); Password=***");
        assert_eq!(redact_setting("CUSTOMCONNSTR_x", "myacct"), "***(6 chars)");
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
            "{S}.",
            "password=',{S},';Server=127.0.0.1",
            "h.example.test:6380,password=a,{S}",
            "Host=h.example.test,{S};Port=5432",
            "Password=a=b={S}",
            "mongodb://acct:{S}@h:10255/",
            "mongodb://{S}@h:10255/",
            "postgresql://u:{S}@h/db",
            "rediss://:{S}@h:6380",
            "Endpoint=https://u:{S}@h/",
            "Endpoint=https://h/api?code={S}",
            "https://h/p.zip?sv=1&sig={S}",
            "AccountName=acct AccountKey={S}",
            "Server=tcp:h,Password={S}",
            "Server=h;Database=\"x;Password={S}",
            "Server=h;Database='x;Password={S}",
            "Endpoint=htp:/ /bad {S}",
            "Endpoint=https://h/?si%67={S}",
            "mongodb://u:pa/ss{S}@h/",
            "redis://:pa?{S}@h",
            "Endpoint=https://h/#{S}",
            "Shared Access Key={S}",
            "client_secret={S}",
            "X-Functions-Key={S}",
            "Server=h;Database=d\"{S}",
            "Port={S}",
            "Unknown={S}",
        ];
        for template in templates {
            let input = template.replace("{S}", secret);
            let out = redact(&input);
            assert!(!out.contains(secret), "{input} -> {out}");
            assert!(!out.to_ascii_lowercase().contains(&secret.to_ascii_lowercase()), "{input} -> {out}");
            for name in [
                "S",
                "REDISCACHECONNSTR_r",
                "MYSQLCONNSTR_m",
                "POSTGRESQLCONNSTR_p",
                "WEBSITE_RUN_FROM_PACKAGE",
            ] {
                match dependencies(name, &input) {
                    Err(e) => assert!(!e.to_string().contains(secret), "{name}={input} -> {e}"),
                    Ok(list) => {
                        assert!(list.iter().all(|d| !d.host.contains(secret)), "{name}={input} -> {list:?}")
                    }
                }
            }
        }
    }
}
