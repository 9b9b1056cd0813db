//! The query string of `/probe`: what to probe, with which module, and the per-probe overrides.
//! Every error is one line that names the parameter, returned to the scraper as a 400 body.

use std::net::SocketAddr;
use std::time::Duration;

use netdiag_common::dns::Family;
use netdiag_common::dns::servers::parse_server;
use netdiag_common::target::{Host, Port, Target};

/// The probe modules; `check` when the request names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    /// One TCP connect, resolving a name first, as `tcpping` does.
    Tcp,
    /// Every DNS server asked for the target name, as `nameresolver` does.
    Dns,
    /// The whole checklist of `netdiag check`.
    Check,
}

impl Module {
    pub const ALL: [Module; 3] = [Module::Tcp, Module::Dns, Module::Check];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Tcp => "tcp",
            Module::Dns => "dns",
            Module::Check => "check",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| format!("unknown module '{}' (tcp, dns or check)", shown(text)))
    }
}

/// Port of a target that names none, as `netdiag check` assumes: most of an app's dependencies
/// are HTTPS.
pub const DEFAULT_PORT: Port = match Port::new(443) {
    Some(p) => p,
    None => unreachable!(),
};

/// The longest probe anyone may ask for; Prometheus' own scrape timeouts are far shorter.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// One `/probe` request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub module: Module,
    pub target: Target,
    /// The overall probe timeout asked for with `timeout=`.
    pub timeout: Option<Duration>,
    /// `dns_server=`, in order; empty means the app's own servers.
    pub dns_servers: Vec<SocketAddr>,
    pub family: Family,
    /// `debug=true`: the human report instead of metrics.
    pub debug: bool,
}

/// A value echoed in an error: bounded and stripped of anything that could break the line.
pub fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(80).map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Parses `timeout=`: humantime (`500ms`, `2s`) or a bare number of seconds (`1.5`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT.as_secs_f64() => {
            Duration::from_secs_f64(seconds)
        }
        Ok(_) => return Err(format!("timeout '{}' must be above 0 and at most 300 seconds", shown(text))),
        Err(_) => humantime::parse_duration(text)
            .map_err(|_| format!("bad timeout '{}' (examples: 500ms, 2s, 1.5)", shown(text)))?,
    };
    if parsed.is_zero() || parsed > MAX_TIMEOUT {
        return Err(format!("timeout '{}' must be above 0 and at most 300 seconds", shown(text)));
    }
    Ok(parsed)
}

fn parse_family(text: &str) -> Result<Family, String> {
    match text {
        "ip4" => Ok(Family::V4),
        "ip6" => Ok(Family::V6),
        other => Err(format!("bad family '{}' (ip4 or ip6)", shown(other))),
    }
}

fn parse_bool(name: &str, text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(format!("bad {name} '{}' (true or false)", shown(other))),
    }
}

/// Keeps the first value of a single-valued parameter; a second one is an error, so that a
/// scrape config and a relabelling rule never silently disagree.
fn once(slot: &mut Option<String>, name: &str, value: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("parameter '{name}' given twice"));
    }
    *slot = Some(value.to_owned());
    Ok(())
}

/// Parses the raw query string of `/probe`.
pub fn parse_query(query: &str) -> Result<ProbeRequest, String> {
    let (mut target, mut module, mut timeout, mut family, mut port, mut debug) =
        (None, None, None, None, None, None);
    let mut dns_servers = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "target" => once(&mut target, "target", &value)?,
            "module" => once(&mut module, "module", &value)?,
            "timeout" => once(&mut timeout, "timeout", &value)?,
            "family" => once(&mut family, "family", &value)?,
            "port" => once(&mut port, "port", &value)?,
            "debug" => once(&mut debug, "debug", &value)?,
            "dns_server" => dns_servers
                .push(parse_server(&value).map_err(|e| format!("bad dns_server '{}': {e}", shown(&value)))?),
            other => {
                return Err(format!(
                    "unknown parameter '{}' (target, module, timeout, dns_server, family, port, debug)",
                    shown(other)
                ));
            }
        }
    }
    let module = module.as_deref().map(Module::parse).transpose()?.unwrap_or(Module::Check);
    let target_text = target.ok_or("parameter 'target' is missing")?;
    if target_text.trim().is_empty() {
        return Err("parameter 'target' is empty".to_owned());
    }
    let target = Target::parse(&target_text, port.as_deref(), DEFAULT_PORT)
        .map_err(|e| format!("bad target '{}': {e}", shown(&target_text)))?;
    if module == Module::Dns && matches!(target.host, Host::Ip(_)) {
        return Err(format!("the dns module needs a name, not the address '{}'", shown(&target_text)));
    }
    let family = family.as_deref().map(parse_family).transpose()?;
    if family.is_some() && module == Module::Check {
        return Err("family applies to the tcp and dns modules; check tries every address".to_owned());
    }
    Ok(ProbeRequest {
        module,
        target,
        timeout: timeout.as_deref().map(parse_timeout).transpose()?,
        dns_servers,
        family: family.unwrap_or_default(),
        debug: debug.as_deref().map(|d| parse_bool("debug", d)).transpose()?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let r = parse_query("target=127.0.0.1").unwrap();
        assert_eq!((r.module, r.target.port.get(), r.timeout, r.debug), (Module::Check, 443, None, false));
        let r = parse_query(
            "target=app.test&module=tcp&port=8080&timeout=1.5&dns_server=127.0.0.1:5353&dns_server=::1&family=ip6&debug=true",
        )
        .unwrap();
        assert_eq!(r.module, Module::Tcp);
        assert_eq!(r.target.display(), "app.test:8080");
        assert_eq!(r.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(r.dns_servers, ["127.0.0.1:5353".parse().unwrap(), "[::1]:53".parse().unwrap()]);
        assert_eq!(r.family, Family::V6);
        assert!(r.debug);
        assert_eq!(
            parse_query("target=%5B::1%5D:80&timeout=500ms").unwrap().timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn malformed_parameters_are_one_line() {
        let cases = [
            ("", "parameter 'target' is missing"),
            ("target=", "parameter 'target' is empty"),
            ("target=a.test&target=b.test", "parameter 'target' given twice"),
            ("target=a.test&module=icmp", "unknown module 'icmp' (tcp, dns or check)"),
            ("target=a.test&timeout=0", "timeout '0' must be above 0 and at most 300 seconds"),
            ("target=a.test&timeout=1e19", "timeout '1e19' must be above 0 and at most 300 seconds"),
            ("target=a.test&timeout=NaN", "timeout 'NaN' must be above 0 and at most 300 seconds"),
            ("target=a.test&timeout=soon", "bad timeout 'soon' (examples: 500ms, 2s, 1.5)"),
            ("target=a.test&family=ip5&module=tcp", "bad family 'ip5' (ip4 or ip6)"),
            (
                "target=a.test&family=ip4",
                "family applies to the tcp and dns modules; check tries every address",
            ),
            ("target=127.0.0.1&module=dns", "the dns module needs a name, not the address '127.0.0.1'"),
            ("target=a.test&debug=maybe", "bad debug 'maybe' (true or false)"),
            (
                "target=a.test&x=%0A",
                "unknown parameter 'x' (target, module, timeout, dns_server, family, port, debug)",
            ),
            (
                "tar%0Aget=1",
                "unknown parameter 'tar?get' (target, module, timeout, dns_server, family, port, debug)",
            ),
        ];
        for (query, want) in cases {
            assert_eq!(parse_query(query).unwrap_err(), want, "{query}");
        }
        for query in [
            "target=a.test:1:2",
            "target=a.test:80&port=81",
            "target=a.test&port=0",
            "target=a.test&dns_server=nope",
        ] {
            let err = parse_query(query).unwrap_err();
            assert!(!err.contains('\n') && !err.is_empty(), "{query}: {err}");
        }
    }
}
