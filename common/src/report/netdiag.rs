//! `netdiag` renderers: subnet sizing, the environment, and findings, each as text and JSON.
//! Connection strings are only ever written redacted.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use crate::connstr::Dependency;
use crate::diagnose::{Finding, Severity};
use crate::env::{EnvSnapshot, Route};
use crate::subnet::{SubnetPlan, SubnetVerdict};

fn write_json(w: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(io::Error::other)?;
    writeln!(w)
}

// ---------------------------------------------------------------------------------------------
// subnet

fn verdict_text(plan: &SubnetPlan) -> String {
    let os = match plan.os {
        crate::subnet::PlanOs::Linux => "Linux",
        crate::subnet::PlanOs::Windows => "Windows",
    };
    match plan.verdict {
        SubnetVerdict::TooSmall => format!(
            "too small: virtual network integration needs at least a /{} subnet",
            crate::subnet::MIN_INTEGRATION_PREFIX
        ),
        SubnetVerdict::BelowRecommendation => {
            format!("usable, but below the recommended /{} for {os} plans", plan.recommended_prefix)
        }
        SubnetVerdict::Recommended => {
            format!("meets the recommended /{} for {os} plans", plan.recommended_prefix)
        }
    }
}

pub fn write_subnet_text(w: &mut dyn Write, plan: &SubnetPlan) -> io::Result<()> {
    let subnet = plan.network.clone().unwrap_or_else(|| format!("/{}", plan.prefix));
    writeln!(w, "Subnet:              {subnet}")?;
    writeln!(w, "Total addresses:     {}", plan.total_addresses)?;
    writeln!(w, "Reserved by Azure:   {}", plan.reserved_by_azure)?;
    if !plan.reserved_addresses.is_empty() {
        let list: Vec<String> = plan.reserved_addresses.iter().map(|a| a.to_string()).collect();
        writeln!(w, "Reserved addresses:  {}", list.join(", "))?;
    }
    writeln!(w, "Available addresses: {}", plan.available_addresses)?;
    writeln!(
        w,
        "Max instances:       {} (a scale operation briefly needs two addresses per instance)",
        plan.max_instances
    )?;
    writeln!(w, "Verdict:             {}", verdict_text(plan))
}

pub fn write_subnet_json(w: &mut dyn Write, plan: &SubnetPlan) -> io::Result<()> {
    let mut v = serde_json::to_value(plan).map_err(io::Error::other)?;
    v["summary"] = json!(verdict_text(plan));
    write_json(w, &v)
}

// ---------------------------------------------------------------------------------------------
// env

#[derive(Serialize)]
struct ConnectionStringDto<'a> {
    name: &'a str,
    /// The only form in which a connection string is ever written.
    redacted: String,
    dependencies: Vec<Dependency>,
    error: Option<String>,
}

fn connection_strings(snapshot: &EnvSnapshot) -> Vec<ConnectionStringDto<'_>> {
    snapshot
        .settings
        .connection_strings
        .iter()
        .map(|c| {
            let (dependencies, error) = match c.dependencies() {
                Ok(d) => (d, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            ConnectionStringDto { name: &c.name, redacted: c.redacted(), dependencies, error }
        })
        .collect()
}

fn default_routes(snapshot: &EnvSnapshot) -> Vec<&Route> {
    snapshot.routes.as_ref().map(|t| t.defaults()).unwrap_or_default()
}

pub fn write_env_json(w: &mut dyn Write, snapshot: &EnvSnapshot) -> io::Result<()> {
    let s = &snapshot.settings;
    let v = json!({
        "settings": {
            "site_name": s.site_name,
            "region": s.region,
            "sku": s.sku,
            "in_app_service": s.in_app_service(),
            "vnet_integration": s.vnet_integration,
            "private_ip": s.private_ip,
            "route_all": s.route_all,
            "content_over_vnet": s.content_over_vnet,
            "dns_server_setting": s.dns_server_setting,
            "dns_alt_server_setting": s.dns_alt_server_setting,
            "dns_timeout_secs": s.dns_timeout.map(|d| d.as_secs()),
            "dns_attempts": s.dns_attempts,
        },
        // Phase 2: filled by the DNS engine; null means "not collected by this build".
        "dns_servers": snapshot.dns_servers,
        "connection_strings": connection_strings(snapshot),
        "warnings": s.warnings,
        "interfaces": snapshot.interfaces.as_ref().ok(),
        "interfaces_error": snapshot.interfaces.as_ref().err(),
        "default_routes": default_routes(snapshot),
        "routes": snapshot.routes.as_ref().ok().map(|t| &t.routes),
        "routes_error": snapshot.routes.as_ref().err(),
        "route_checks": snapshot.route_checks.iter().map(|(dest, r)| match r {
            Ok(info) => json!({"destination": dest, "route": info, "error": null}),
            Err(e) => json!({"destination": dest, "route": null, "error": e}),
        }).collect::<Vec<_>>(),
    });
    write_json(w, &v)
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(not set)")
}

pub fn write_env_text(w: &mut dyn Write, snapshot: &EnvSnapshot) -> io::Result<()> {
    let s = &snapshot.settings;
    writeln!(w, "App Service settings")?;
    writeln!(w, "  site:                        {}", opt(&s.site_name))?;
    writeln!(w, "  region:                      {}", opt(&s.region))?;
    writeln!(w, "  sku:                         {}", opt(&s.sku))?;
    match (s.vnet_integration, s.private_ip) {
        (true, Some(ip)) => writeln!(w, "  virtual network integration: on (WEBSITE_PRIVATE_IP {ip})")?,
        (true, None) => writeln!(w, "  virtual network integration: on (WEBSITE_PRIVATE_IP unparsable)")?,
        (false, _) => writeln!(w, "  virtual network integration: off (WEBSITE_PRIVATE_IP not set)")?,
    }
    if s.route_all {
        writeln!(w, "  Route All:                   on (WEBSITE_VNET_ROUTE_ALL=1)")?;
    } else {
        writeln!(
            w,
            "  Route All:                   off as far as the app can see (WEBSITE_VNET_ROUTE_ALL is not 1; the site-level setting is invisible to the app)"
        )?;
    }
    writeln!(w, "  content over vnet:           {}", if s.content_over_vnet { "on" } else { "off" })?;
    writeln!(w, "  WEBSITE_DNS_SERVER:          {}", opt(&s.dns_server_setting))?;
    writeln!(w, "  WEBSITE_DNS_ALT_SERVER:      {}", opt(&s.dns_alt_server_setting))?;
    let timeout = s.dns_timeout.map(|d| format!("{} s", d.as_secs()));
    writeln!(w, "  WEBSITE_DNS_TIMEOUT:         {}", opt(&timeout))?;
    writeln!(w, "  WEBSITE_DNS_ATTEMPTS:        {}", opt(&s.dns_attempts.map(|n| n.to_string())))?;

    // Phase 2: the DNS engine provides the list; until then say so instead of guessing.
    writeln!(w, "\nDNS servers the app uses")?;
    match &snapshot.dns_servers {
        None => writeln!(w, "  (not collected by this build)")?,
        Some(list) if list.is_empty() => writeln!(w, "  (none found)")?,
        Some(list) => {
            for d in list {
                writeln!(w, "  {:<40} from {}", d.address, d.source)?;
            }
        }
    }

    writeln!(w, "\nConnection strings (secrets redacted)")?;
    let conns = connection_strings(snapshot);
    if conns.is_empty() {
        writeln!(w, "  (none)")?;
    }
    for c in conns {
        writeln!(w, "  {} = {}", c.name, c.redacted)?;
        for d in &c.dependencies {
            writeln!(
                w,
                "    -> {}:{} ({})",
                d.host,
                d.port,
                serde_json::to_value(d.kind).unwrap_or_default().as_str().unwrap_or("")
            )?;
        }
        if let Some(e) = &c.error {
            writeln!(w, "    !! {e}")?;
        }
    }

    if !s.warnings.is_empty() {
        writeln!(w, "\nWarnings")?;
        for warn in &s.warnings {
            writeln!(w, "  {}={}: {}", warn.setting, warn.value, warn.problem)?;
        }
    }

    writeln!(w, "\nInterfaces")?;
    match &snapshot.interfaces {
        Ok(list) => {
            for i in list {
                writeln!(w, "  {:<16} {}/{}", i.interface, i.address, i.prefix_len)?;
            }
        }
        Err(e) => writeln!(w, "  unknown: {e}")?,
    }

    writeln!(w, "\nDefault routes")?;
    match &snapshot.routes {
        Ok(_) => {
            let defaults = default_routes(snapshot);
            if defaults.is_empty() {
                writeln!(w, "  (none: only directly connected networks are reachable)")?;
            }
            for r in defaults {
                let via = r.gateway.map(|g| format!("via {g} ")).unwrap_or_default();
                writeln!(
                    w,
                    "  {}/{} {via}dev {} metric {}",
                    r.destination, r.prefix_len, r.interface, r.metric
                )?;
            }
        }
        Err(e) => writeln!(w, "  unknown: {e}")?,
    }

    if !snapshot.route_checks.is_empty() {
        writeln!(w, "\nRoute to (no packet sent)")?;
    }
    for (dest, r) in &snapshot.route_checks {
        match r {
            Ok(info) => {
                let iface = info.interface.as_deref().map(|i| format!(" on {i}")).unwrap_or_default();
                let via = match (info.via_gateway, info.gateway_known) {
                    (Some(g), _) => format!("via gateway {g}"),
                    (None, true) => "on-link".to_owned(),
                    (None, false) => "gateway unknown".to_owned(),
                };
                writeln!(w, "  {dest}: source {}{iface}, {via}", info.source)?;
            }
            Err(e) => writeln!(w, "  {dest}: {e}")?,
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// findings

fn paint(text: &str, severity: Severity, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match severity {
        Severity::Ok => "32",
        Severity::Info => "36",
        Severity::Warning => "33",
        Severity::Failure => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn counts(findings: &[Finding]) -> (usize, usize) {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Failure), n(Severity::Warning))
}

/// Findings for humans. `color` adds ANSI colours; the binary decides (terminal, `NO_COLOR`).
pub fn write_findings_text(w: &mut dyn Write, findings: &[Finding], color: bool) -> io::Result<()> {
    for f in findings {
        let tag = format!("{:<7}", f.severity.as_str().to_ascii_uppercase());
        writeln!(w, "{} {} [{}]", paint(&tag, f.severity, color), f.subject, f.id)?;
        writeln!(w, "  {}", f.summary)?;
        for e in &f.evidence {
            writeln!(w, "    - {e}")?;
        }
        writeln!(w, "  next: {}", f.next_step)?;
    }
    let (failures, warnings) = counts(findings);
    let worst = crate::diagnose::worst(findings);
    let verdict = format!("Verdict: {failures} failure(s), {warnings} warning(s)");
    writeln!(w, "{}", paint(&verdict, worst, color))
}

/// Findings as one JSON document: `{"failed": bool, "failures": n, "warnings": n, "findings": [...]}`.
pub fn write_findings_json(w: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    let (failures, warnings) = counts(findings);
    write_json(
        w,
        &json!({
            "failed": crate::diagnose::has_failure(findings),
            "failures": failures,
            "warnings": warnings,
            "findings": findings,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::FindingId;
    use crate::env::{AppSettings, ConnectionSetting, InterfaceAddress, RouteTable};
    use crate::subnet::{PlanOs, SubnetPlan};

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            id: FindingId::TcpRefused,
            severity,
            subject: "10.0.0.5:443".into(),
            summary: "refused".into(),
            evidence: vec!["route: source 10.0.0.4".into()],
            next_step: "start the app".into(),
        }
    }

    #[test]
    fn findings_text_colour_only_when_asked() {
        let f = [finding(Severity::Failure)];
        let plain = text(|w| write_findings_text(w, &f, false));
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("FAILURE 10.0.0.5:443 [tcp_refused]"), "{plain}");
        assert!(plain.contains("next: start the app"));
        assert!(plain.ends_with("Verdict: 1 failure(s), 0 warning(s)\n"), "{plain}");
        let coloured = text(|w| write_findings_text(w, &f, true));
        assert!(coloured.contains("\x1b[1;31m"));
    }

    #[test]
    fn findings_json() {
        let f = [finding(Severity::Warning)];
        let out = text(|w| write_findings_json(w, &f));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["failed"], false);
        assert_eq!(v["warnings"], 1);
        assert_eq!(v["findings"][0]["id"], "tcp_refused");
        assert_eq!(v["findings"][0]["severity"], "warning");
        assert_eq!(v["findings"][0]["next_step"], "start the app");
    }

    #[test]
    fn subnet_renderers() {
        let plan = SubnetPlan::new("10.0.0.0/28".parse().unwrap(), PlanOs::Linux);
        let t = text(|w| write_subnet_text(w, &plan));
        assert!(t.contains("Available addresses: 11"), "{t}");
        assert!(t.contains("Max instances:       5"), "{t}");
        assert!(t.contains("below the recommended /26"), "{t}");
        let v: serde_json::Value = serde_json::from_str(&text(|w| write_subnet_json(w, &plan))).unwrap();
        assert_eq!(v["available_addresses"], 11);
        assert_eq!(v["verdict"], "below_recommendation");
        assert_eq!(v["reserved_addresses"][4], "10.0.0.15");
    }

    #[test]
    fn env_renderers_redact_and_mark_dns_placeholder() {
        let settings = AppSettings {
            connection_strings: vec![ConnectionSetting::new(
                "AzureWebJobsStorage",
                "AccountName=acct;AccountKey=SECRETKEY123",
            )],
            ..Default::default()
        };
        let snap = EnvSnapshot {
            settings,
            interfaces: Ok(vec![InterfaceAddress {
                interface: "eth0".into(),
                address: "10.1.0.2".parse().unwrap(),
                prefix_len: 24,
                index: Some(2),
                is_loopback: false,
            }]),
            routes: Ok(RouteTable::parse_proc_ipv4(
                "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n eth0\t00000000\t0101000A\t0003\t0\t0\t0\t00000000\n",
            )),
            dns_servers: None,
            route_checks: vec![],
        };
        let t = text(|w| write_env_text(w, &snap));
        let j = text(|w| write_env_json(w, &snap));
        for out in [&t, &j] {
            assert!(!out.contains("SECRETKEY123"), "{out}");
            assert!(out.contains("AccountKey=***"), "{out}");
        }
        assert!(t.contains("0.0.0.0/0 via 10.0.1.1 dev eth0"), "{t}");
        assert!(t.contains("(not collected by this build)"));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert!(v["dns_servers"].is_null());
        assert_eq!(v["default_routes"][0]["gateway"], "10.0.1.1");
        assert_eq!(v["connection_strings"][0]["dependencies"][0]["host"], "acct.blob.core.windows.net");
        assert_eq!(v["interfaces"][0]["address"], "10.1.0.2");
    }
}
