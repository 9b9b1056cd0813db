//! Which DNS servers an app uses, in the order it asks them.
//!
//! Precedence follows App Service: an explicit server wins; otherwise `WEBSITE_DNS_SERVER`
//! (up to five, comma-separated) followed by `WEBSITE_DNS_ALT_SERVER`; otherwise the system
//! configuration (`/etc/resolv.conf` on Unix, the adapters' settings on Windows).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

/// The port every configured DNS server listens on unless told otherwise.
pub const DNS_PORT: u16 = 53;
/// App Service reads at most this many servers from `WEBSITE_DNS_SERVER`.
pub const MAX_WEBSITE_DNS_SERVERS: usize = 5;

pub const ENV_DNS_SERVER: &str = "WEBSITE_DNS_SERVER";
pub const ENV_DNS_ALT_SERVER: &str = "WEBSITE_DNS_ALT_SERVER";
pub const ENV_DNS_TIMEOUT: &str = "WEBSITE_DNS_TIMEOUT";

/// Where the server list came from, so a report can say why these servers were asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ServerSource {
    /// Given on the command line.
    Argument,
    /// `WEBSITE_DNS_SERVER` (and `WEBSITE_DNS_ALT_SERVER`).
    WebsiteDnsServer,
    /// A resolv.conf file (Unix).
    ResolvConf(PathBuf),
    /// The operating system's adapter configuration (Windows).
    System,
}

impl std::fmt::Display for ServerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Argument => f.write_str("command line"),
            Self::WebsiteDnsServer => write!(f, "{ENV_DNS_SERVER}/{ENV_DNS_ALT_SERVER}"),
            Self::ResolvConf(path) => write!(f, "{}", path.display()),
            Self::System => f.write_str("system configuration"),
        }
    }
}

/// The ordered servers to ask, where they came from, and the per-server timeout the
/// environment asks for (`WEBSITE_DNS_TIMEOUT`), if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerList {
    pub servers: Vec<SocketAddr>,
    pub source: ServerSource,
    #[serde(skip)]
    pub env_timeout: Option<Duration>,
    /// Settings that were present but not used (e.g. a sixth `WEBSITE_DNS_SERVER` entry).
    pub warnings: Vec<String>,
}

impl ServerList {
    /// A list of explicit servers, as from the command line.
    pub fn explicit(servers: Vec<SocketAddr>) -> Self {
        Self { servers, source: ServerSource::Argument, env_timeout: None, warnings: Vec::new() }
    }

    /// True when an explicit server was given, so the hosts file must not answer first.
    pub fn is_explicit(&self) -> bool {
        self.source == ServerSource::Argument
    }

    /// The per-server timeout every tool applies: the one asked for on the command line, else
    /// `WEBSITE_DNS_TIMEOUT`, else the documented 3 s.
    pub fn timeout(&self, asked: Option<Duration>) -> Duration {
        asked.or(self.env_timeout).unwrap_or(super::DEFAULT_TIMEOUT).min(MAX_DNS_TIMEOUT)
    }
}

/// The servers a tool asks (every binary picks them this way), and what it should warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolServers {
    pub list: ServerList,
    /// Settings that were ignored; the tool prints them as warnings and carries on.
    pub warnings: Vec<String>,
}

/// The servers a probing tool asks: `explicit` (in order, no hosts file) when any were given,
/// else the app's own as [`servers_for_app`] finds them. A bad server, given or configured, is
/// an error: the user must fix it. An unusable `WEBSITE_DNS_TIMEOUT` is ignored, as App
/// Service would, and a missing or empty resolv.conf leaves an empty list, so IP literals
/// still work and names fail as "no DNS servers"; both come back as warnings.
pub fn servers_for_tool(
    explicit: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    resolv_conf: &Path,
) -> Result<ToolServers, ServerError> {
    let mut warnings = Vec::new();
    let env_timeout = match website_dns_timeout_clamped(env) {
        Ok((timeout, clamped)) => {
            warnings.extend(clamped);
            timeout
        }
        Err(e) => {
            warnings.push(format!("ignoring {e}"));
            None
        }
    };
    let env_without_timeout = |name: &str| if name == ENV_DNS_TIMEOUT { None } else { env(name) };
    let mut list = if explicit.is_empty() {
        warnings.extend(blank_website_dns_server(env));
        match servers_for_app(None, &env_without_timeout, resolv_conf) {
            Ok(list) => list,
            Err(e @ ServerError::BadServer { .. }) => return Err(e),
            Err(e) => {
                warnings.push(format!("{e}; only IP addresses can be used"));
                ServerList {
                    servers: Vec::new(),
                    source: ServerSource::ResolvConf(resolv_conf.to_owned()),
                    env_timeout: None,
                    warnings: Vec::new(),
                }
            }
        }
    } else {
        ServerList::explicit(explicit.iter().map(|s| parse_server(s)).collect::<Result<_, _>>()?)
    };
    list.env_timeout = env_timeout;
    Ok(ToolServers { list, warnings })
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ServerError {
    #[error("invalid DNS server {value:?}: {reason}")]
    BadServer { value: String, reason: &'static str },
    #[error("invalid {variable} {value:?}: expected whole seconds greater than zero")]
    BadTimeout { variable: &'static str, value: String },
    #[error("cannot read {path}: {message}")]
    ReadConfig { path: PathBuf, message: String },
    #[error("no DNS servers configured in {from}")]
    NoServers { from: ServerSource },
}

/// Parses `ip`, `ip:port` or `[v6]:port` (port 53 when absent).
pub fn parse_server(value: &str) -> Result<SocketAddr, ServerError> {
    let text = value.trim();
    let bad = |reason| ServerError::BadServer { value: value.to_owned(), reason };
    if text.is_empty() {
        return Err(bad("empty"));
    }
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DNS_PORT));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        if addr.port() == 0 {
            return Err(bad("port 0 is not a DNS port"));
        }
        return Ok(addr);
    }
    // Distinguish a bad port from a bad address so the user knows what to fix.
    if let Some((host, port)) = text.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().is_ok() {
            return Err(bad(if port.parse::<u32>().is_ok() {
                "port out of range (1-65535)"
            } else {
                "port is not a number"
            }));
        }
    }
    Err(bad("not an IP address (use ip, ip:port or [v6]:port)"))
}

/// The servers an app uses: `explicit` wins, then `WEBSITE_DNS_SERVER` and
/// `WEBSITE_DNS_ALT_SERVER`, then the system configuration read from `resolv_conf` (Unix) or
/// the adapters (Windows). `env` is injected so precedence is testable without touching the
/// process environment.
pub fn servers_for_app(
    explicit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    resolv_conf: &Path,
) -> Result<ServerList, ServerError> {
    let env_timeout = website_dns_timeout(env)?;
    if let Some(value) = explicit {
        let mut list = ServerList::explicit(vec![parse_server(value)?]);
        list.env_timeout = env_timeout;
        return Ok(list);
    }
    if let Some(mut list) = website_dns_servers(env)? {
        list.env_timeout = env_timeout;
        return Ok(list);
    }
    let mut list = system_servers(resolv_conf)?;
    list.env_timeout = env_timeout;
    list.warnings.extend(blank_website_dns_server(env));
    Ok(list)
}

/// A `WEBSITE_DNS_SERVER` that is set but names no server (only commas or spaces) is a broken
/// setting, not an absent one: say so rather than fall back to the system's servers silently.
pub fn blank_website_dns_server(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let value = env(ENV_DNS_SERVER).filter(|v| !v.is_empty())?;
    value.split(',').all(|entry| entry.trim().is_empty()).then(|| {
        format!("{ENV_DNS_SERVER} is set but names no server (only separators or spaces); the system's servers are used instead")
    })
}

/// The longest per-server DNS timeout any tool applies. Far beyond any resolver's patience,
/// and small enough that a deadline computed from it never overflows a clock.
pub const MAX_DNS_TIMEOUT: Duration = Duration::from_secs(300);

/// `WEBSITE_DNS_TIMEOUT`, in whole seconds, when set; an absurd value (a digit string of any
/// length) is clamped to [`MAX_DNS_TIMEOUT`], never an error that would stop lookups.
pub fn website_dns_timeout(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Duration>, ServerError> {
    Ok(website_dns_timeout_clamped(env)?.0)
}

/// [`website_dns_timeout`] and, when it was clamped, a warning saying so.
pub fn website_dns_timeout_clamped(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Option<Duration>, Option<String>), ServerError> {
    let Some(value) = env(ENV_DNS_TIMEOUT).filter(|v| !v.trim().is_empty()) else {
        return Ok((None, None));
    };
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.bytes().all(|b| b == b'0') {
        return Err(ServerError::BadTimeout { variable: ENV_DNS_TIMEOUT, value });
    }
    match digits.parse::<u64>() {
        Ok(secs) if secs <= MAX_DNS_TIMEOUT.as_secs() => Ok((Some(Duration::from_secs(secs)), None)),
        _ => {
            let shown: String = digits.chars().take(24).collect();
            let ellipsis = if digits.len() > 24 { "..." } else { "" };
            Ok((
                Some(MAX_DNS_TIMEOUT),
                Some(format!(
                    "{ENV_DNS_TIMEOUT}={shown}{ellipsis} seconds is more than any DNS server needs; using {}s",
                    MAX_DNS_TIMEOUT.as_secs()
                )),
            ))
        }
    }
}

/// The `WEBSITE_DNS_SERVER` list with `WEBSITE_DNS_ALT_SERVER` appended, or `None` when neither
/// is set. The alternate alone still counts: App Service would use it.
pub fn website_dns_servers(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<ServerList>, ServerError> {
    let primary = env(ENV_DNS_SERVER).unwrap_or_default();
    let alternate = env(ENV_DNS_ALT_SERVER).unwrap_or_default();
    let mut servers = Vec::new();
    let mut warnings = Vec::new();
    let entries: Vec<&str> = primary.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    for (index, entry) in entries.iter().enumerate() {
        if index >= MAX_WEBSITE_DNS_SERVERS {
            warnings.push(format!(
                "{ENV_DNS_SERVER}: only the first {MAX_WEBSITE_DNS_SERVERS} servers are used; ignored {entry}"
            ));
            continue;
        }
        servers.push(parse_server(entry)?);
    }
    let alternate = alternate.trim();
    if !alternate.is_empty() {
        servers.push(parse_server(alternate)?);
    }
    if servers.is_empty() {
        return Ok(None);
    }
    Ok(Some(ServerList { servers, source: ServerSource::WebsiteDnsServer, env_timeout: None, warnings }))
}

/// The operating system's servers: the given resolv.conf on Unix, the adapters on Windows.
pub fn system_servers(resolv_conf: &Path) -> Result<ServerList, ServerError> {
    #[cfg(windows)]
    {
        let _ = resolv_conf;
        let (config, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
            ServerError::ReadConfig { path: PathBuf::from("system configuration"), message: e.to_string() }
        })?;
        let mut servers: Vec<SocketAddr> = Vec::new();
        for ns in config.name_servers() {
            let port = ns.connections.first().map_or(DNS_PORT, |c| c.port);
            let addr = SocketAddr::new(ns.ip, port);
            if !servers.contains(&addr) {
                servers.push(addr);
            }
        }
        if servers.is_empty() {
            return Err(ServerError::NoServers { from: ServerSource::System });
        }
        Ok(ServerList { servers, source: ServerSource::System, env_timeout: None, warnings: Vec::new() })
    }
    #[cfg(not(windows))]
    {
        let data = std::fs::read(resolv_conf)
            .map_err(|e| ServerError::ReadConfig { path: resolv_conf.to_owned(), message: e.to_string() })?;
        let source = ServerSource::ResolvConf(resolv_conf.to_owned());
        let servers = parse_resolv_conf(&data);
        if servers.is_empty() {
            return Err(ServerError::NoServers { from: source });
        }
        Ok(ServerList { servers, source, env_timeout: None, warnings: Vec::new() })
    }
}

/// The `nameserver` entries of a resolv.conf, in order, on port 53. hickory-resolver does the
/// parsing (the same code a hickory-based app would run); a file without servers gives none.
#[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
pub fn parse_resolv_conf(data: &[u8]) -> Vec<SocketAddr> {
    let Ok((config, _)) = hickory_resolver::system_conf::parse_resolv_conf(data) else {
        return Vec::new();
    };
    let mut servers: Vec<SocketAddr> = Vec::new();
    for ns in config.name_servers() {
        let addr = SocketAddr::new(ns.ip, DNS_PORT);
        if !servers.contains(&addr) {
            servers.push(addr);
        }
    }
    servers
}

/// Fallback for platforms hickory has no resolv.conf parser for.
#[cfg(not(all(unix, not(any(target_os = "android", target_vendor = "apple")))))]
pub fn parse_resolv_conf(data: &[u8]) -> Vec<SocketAddr> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then(|| words.next()?.parse::<IpAddr>().ok()).flatten()
        })
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .collect()
}

/// The default resolv.conf location.
pub fn default_resolv_conf() -> PathBuf {
    PathBuf::from("/etc/resolv.conf")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |key| map.get(key).cloned()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_server_table() {
        let ok = [
            ("127.0.0.1", "127.0.0.1:53"),
            (" 127.0.0.1:5353 ", "127.0.0.1:5353"),
            ("::1", "[::1]:53"),
            ("[::1]:5353", "[::1]:5353"),
            ("[fd00::1]", "[fd00::1]:53"),
        ];
        for (input, want) in ok {
            assert_eq!(parse_server(input), Ok(addr(want)), "{input}");
        }
        let bad = [
            ("", "empty"),
            ("dns.example", "not an IP address (use ip, ip:port or [v6]:port)"),
            ("127.0.0.1:99999", "port out of range (1-65535)"),
            ("127.0.0.1:x", "port is not a number"),
            ("127.0.0.1:0", "port 0 is not a DNS port"),
            ("300.1.1.1", "not an IP address (use ip, ip:port or [v6]:port)"),
        ];
        for (input, reason) in bad {
            assert_eq!(
                parse_server(input),
                Err(ServerError::BadServer { value: input.to_owned(), reason }),
                "{input}"
            );
        }
    }

    #[test]
    fn website_servers_table() {
        struct Case {
            env: &'static [(&'static str, &'static str)],
            want: Option<&'static [&'static str]>,
            warnings: usize,
        }
        let cases = [
            Case { env: &[], want: None, warnings: 0 },
            Case { env: &[(ENV_DNS_SERVER, "")], want: None, warnings: 0 },
            Case { env: &[(ENV_DNS_SERVER, "10.0.0.1")], want: Some(&["10.0.0.1:53"]), warnings: 0 },
            Case {
                env: &[(ENV_DNS_SERVER, "10.0.0.1,10.0.0.2"), (ENV_DNS_ALT_SERVER, "10.0.0.9")],
                want: Some(&["10.0.0.1:53", "10.0.0.2:53", "10.0.0.9:53"]),
                warnings: 0,
            },
            Case { env: &[(ENV_DNS_ALT_SERVER, "10.0.0.9")], want: Some(&["10.0.0.9:53"]), warnings: 0 },
            Case {
                env: &[
                    (ENV_DNS_SERVER, "1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6"),
                    (ENV_DNS_ALT_SERVER, "1.0.0.9"),
                ],
                want: Some(&[
                    "1.0.0.1:53",
                    "1.0.0.2:53",
                    "1.0.0.3:53",
                    "1.0.0.4:53",
                    "1.0.0.5:53",
                    "1.0.0.9:53",
                ]),
                warnings: 1,
            },
            Case {
                env: &[(ENV_DNS_SERVER, " 127.0.0.1:5300 , [::1]:5301 ")],
                want: Some(&["127.0.0.1:5300", "[::1]:5301"]),
                warnings: 0,
            },
        ];
        for case in cases {
            let env = env_of(case.env);
            let got = website_dns_servers(&env).unwrap();
            match case.want {
                None => assert_eq!(got, None, "{:?}", case.env),
                Some(want) => {
                    let got = got.unwrap();
                    assert_eq!(
                        got.servers,
                        want.iter().map(|s| addr(s)).collect::<Vec<_>>(),
                        "{:?}",
                        case.env
                    );
                    assert_eq!(got.source, ServerSource::WebsiteDnsServer);
                    assert_eq!(got.warnings.len(), case.warnings, "{:?}", case.env);
                }
            }
        }
        let env = env_of(&[(ENV_DNS_SERVER, "10.0.0.1,nonsense")]);
        assert!(matches!(website_dns_servers(&env), Err(ServerError::BadServer { .. })));
    }

    #[test]
    fn timeout_table() {
        let cases: [(&str, Result<Option<Duration>, ()>); 9] = [
            ("", Ok(None)),
            ("10000000000000000000", Ok(Some(MAX_DNS_TIMEOUT))),
            ("99999999999999999999999999", Ok(Some(MAX_DNS_TIMEOUT))),
            ("000", Err(())),
            ("-3", Err(())),
            ("5", Ok(Some(Duration::from_secs(5)))),
            (" 1 ", Ok(Some(Duration::from_secs(1)))),
            ("0", Err(())),
            ("1.5", Err(())),
        ];
        for (value, want) in cases {
            let env = env_of(&[(ENV_DNS_TIMEOUT, value)]);
            assert_eq!(website_dns_timeout(&env).map_err(|_| ()), want, "{value:?}");
        }
        assert_eq!(website_dns_timeout(&env_of(&[])), Ok(None));
        let huge = env_of(&[(ENV_DNS_TIMEOUT, "10000000000000000000")]);
        let (_, warning) = website_dns_timeout_clamped(&huge).unwrap();
        assert!(warning.unwrap().contains("using 300s"));
        let picked = servers_for_tool(&["127.0.0.1".to_owned()], &huge, Path::new("/nonexistent")).unwrap();
        assert_eq!(picked.list.timeout(None), MAX_DNS_TIMEOUT);
        assert_eq!(picked.warnings.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn resolv_conf_table() {
        let cases: [(&str, &[&str]); 4] = [
            ("nameserver 10.0.0.1\nnameserver 10.0.0.2\n", &["10.0.0.1:53", "10.0.0.2:53"]),
            ("# comment\nsearch example.internal\noptions timeout:1\nnameserver ::1\n", &["[::1]:53"]),
            ("search only.example\n", &[]),
            ("nameserver 10.0.0.1\nnameserver 10.0.0.1\n", &["10.0.0.1:53"]),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_resolv_conf(text.as_bytes()),
                want.iter().map(|s| addr(s)).collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn tool_servers_table() {
        let missing = Path::new("/nonexistent/netdiag/resolv.conf");
        let given = ["127.0.0.1:5300".to_owned(), "[::1]".to_owned()];
        let got = servers_for_tool(&given, &env_of(&[(ENV_DNS_TIMEOUT, "4")]), missing).unwrap();
        assert_eq!(got.list.servers, [addr("127.0.0.1:5300"), addr("[::1]:53")]);
        assert!(got.list.is_explicit());
        assert_eq!(got.list.timeout(None), Duration::from_secs(4));
        assert_eq!(got.list.timeout(Some(Duration::from_millis(200))), Duration::from_millis(200));
        assert!(got.warnings.is_empty());

        let got =
            servers_for_tool(&[], &env_of(&[(ENV_DNS_SERVER, "127.0.0.2"), (ENV_DNS_TIMEOUT, "x")]), missing)
                .unwrap();
        assert_eq!(got.list.servers, [addr("127.0.0.2:53")]);
        assert_eq!(got.list.timeout(None), crate::dns::DEFAULT_TIMEOUT);
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);

        for blank in [",", " , ,", "   "] {
            let got = servers_for_tool(&[], &env_of(&[(ENV_DNS_SERVER, blank)]), missing).unwrap();
            assert!(got.list.servers.is_empty());
            assert!(got.warnings[0].contains("names no server"), "{blank:?}: {:?}", got.warnings);
        }
        assert_eq!(blank_website_dns_server(&env_of(&[(ENV_DNS_SERVER, "")])), None);
        assert_eq!(blank_website_dns_server(&env_of(&[(ENV_DNS_SERVER, "10.0.0.1")])), None);

        let got = servers_for_tool(&[], &env_of(&[]), missing).unwrap();
        assert!(got.list.servers.is_empty());
        assert!(got.warnings[0].ends_with("only IP addresses can be used"), "{:?}", got.warnings);

        assert!(matches!(
            servers_for_tool(&["dns.example".to_owned()], &env_of(&[]), missing),
            Err(ServerError::BadServer { .. })
        ));
        assert!(matches!(
            servers_for_tool(&[], &env_of(&[(ENV_DNS_SERVER, "nonsense")]), missing),
            Err(ServerError::BadServer { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn precedence() {
        let dir = std::env::temp_dir().join(format!("netdiag-resolv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("resolv.conf");
        std::fs::write(&conf, "nameserver 127.0.0.53\n").unwrap();
        let empty = dir.join("empty.conf");
        std::fs::write(&empty, "search x\n").unwrap();

        let website = env_of(&[(ENV_DNS_SERVER, "127.0.0.2"), (ENV_DNS_TIMEOUT, "7")]);
        let none = env_of(&[]);

        let got = servers_for_app(Some("127.0.0.9:5300"), &website, &conf).unwrap();
        assert_eq!(
            (got.servers, got.source, got.env_timeout),
            (vec![addr("127.0.0.9:5300")], ServerSource::Argument, Some(Duration::from_secs(7)))
        );
        let got = servers_for_app(None, &website, &conf).unwrap();
        assert_eq!((got.servers, got.source), (vec![addr("127.0.0.2:53")], ServerSource::WebsiteDnsServer));
        let got = servers_for_app(None, &none, &conf).unwrap();
        assert_eq!(
            (got.servers, got.source),
            (vec![addr("127.0.0.53:53")], ServerSource::ResolvConf(conf.clone()))
        );
        assert!(matches!(servers_for_app(None, &none, &empty), Err(ServerError::NoServers { .. })));
        assert!(matches!(
            servers_for_app(None, &none, &dir.join("missing")),
            Err(ServerError::ReadConfig { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
