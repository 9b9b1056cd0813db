//! `netdiag` renderers: subnet sizing, the environment, and findings, each as text and JSON.
//! Connection strings are only ever written redacted.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use std::net::IpAddr;
use std::time::Duration;

use crate::check::{
    AddressStage, DependencyReport, DepsReport, EnvironmentStage, RouteStage, RunEnd, TargetReport,
    UnparsedSetting,
};
use crate::connstr::Dependency;
use crate::diagnose::{Finding, Severity};
use crate::dns::AnsweredBy;
use crate::env::{EnvSnapshot, Route};
use crate::subnet::{SubnetPlan, SubnetVerdict};

use super::envelope::{Command, Envelope, Enveloped, Tool};

const CHECK: Tool = Tool::Netdiag(Command::Check);
const DEPS: Tool = Tool::Netdiag(Command::Deps);

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
    write_json(
        w,
        &Enveloped { envelope: Envelope::new(Tool::Netdiag(Command::Subnet), "subnet_plan"), record: v },
    )
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
        // null when the snapshot was taken without asking the DNS engine.
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
    write_json(
        w,
        &Enveloped { envelope: Envelope::new(Tool::Netdiag(Command::Env), "environment"), record: v },
    )
}

/// A setting's text as typed, escaped: it is user input bound for a terminal.
fn opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "(not set)".to_owned(), |s| crate::sanitize::escape_for_terminal(s, 200))
}

/// `10.0.0.0/24 via 10.0.0.1 dev eth0 metric 0`, as `ip route` writes it.
fn route_line(r: &Route) -> String {
    let via = r.gateway.map(|g| format!("via {g} ")).unwrap_or_default();
    format!("{}/{} {via}dev {} metric {}", r.destination, r.prefix_len, r.interface, r.metric)
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

    writeln!(w, "\nDNS servers the app uses")?;
    match &snapshot.dns_servers {
        None => writeln!(w, "  (not collected)")?,
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
            if warn.value.is_empty() {
                writeln!(w, "  {}: {}", warn.setting, warn.problem)?;
            } else {
                let value = crate::sanitize::escape_for_terminal(&warn.value, 200);
                writeln!(w, "  {}={value}: {}", warn.setting, warn.problem)?;
            }
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
            let via_gateway: Vec<&Route> = snapshot
                .routes
                .as_ref()
                .map(|t| t.routes.iter().filter(|r| r.gateway.is_some()).collect())
                .unwrap_or_default();
            match (defaults.is_empty(), via_gateway.is_empty()) {
                (true, true) => writeln!(w, "  (none: only directly connected networks are reachable)")?,
                (true, false) => {
                    // Saying "only directly connected" here would contradict these routes.
                    writeln!(w, "  (none; beyond directly connected networks, only these are reachable:)")?;
                    for r in via_gateway {
                        writeln!(w, "  {}", route_line(r))?;
                    }
                }
                (false, _) => {}
            }
            for r in defaults {
                writeln!(w, "  {}", route_line(r))?;
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

// ---------------------------------------------------------------------------------------------
// check

fn ms_text(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

fn secs_text(d: Duration) -> String {
    crate::wording::seconds(d)
}

fn environment_line(e: &EnvironmentStage) -> String {
    let vnet = match (e.vnet_integration, e.private_ip) {
        (true, Some(ip)) => format!("virtual network integration on (WEBSITE_PRIVATE_IP {ip})"),
        (true, None) => "virtual network integration on (WEBSITE_PRIVATE_IP unparsable)".to_owned(),
        (false, _) => "virtual network integration off".to_owned(),
    };
    // The site-level Route All switch is invisible from inside the app, so "off" is only what
    // the app setting says.
    let route_all = if e.route_all { "Route All on" } else { "Route All off as far as the app can see" };
    format!("{vnet}, {route_all}; TCP timeout {}", secs_text(e.tcp_timeout))
}

fn dns_servers_line(e: &EnvironmentStage) -> String {
    let list: Vec<String> = e.dns_servers.iter().map(ToString::to_string).collect();
    if list.is_empty() {
        return format!("none configured in {}", e.dns_servers_source);
    }
    format!("{} from {}, {} per server", list.join(", "), e.dns_servers_source, secs_text(e.dns_timeout))
}

fn route_text(r: &RouteStage) -> String {
    if let Some(e) = &r.error {
        return e.clone();
    }
    let mut text = String::new();
    if let Some(source) = r.source {
        text.push_str(&format!("source {source}"));
    }
    if let Some(i) = &r.interface {
        text.push_str(&format!(" on {i}"));
    }
    text.push_str(&match (r.gateway, r.gateway_known) {
        (Some(g), _) => format!(", via gateway {g}"),
        (None, true) => ", on-link".to_owned(),
        (None, false) => ", gateway unknown".to_owned(),
    });
    match r.source_is_private_ip {
        Some(true) => text.push_str(" (WEBSITE_PRIVATE_IP)"),
        Some(false) => text.push_str(" (not WEBSITE_PRIVATE_IP)"),
        None => {}
    }
    text
}

fn tcp_text(a: &AddressStage) -> String {
    match (&a.tcp, &a.tcp_skipped) {
        (Some(t), _) if t.connected => format!(
            "connected in {}{}{}",
            ms_text(t.elapsed),
            t.local.map(|l| format!(" from {l}")).unwrap_or_default(),
            if t.reset_by_peer { ", then reset by the peer" } else { "" }
        ),
        // A timeout's message already says how long it waited.
        (Some(t), _) if t.class == Some("timed_out") => {
            format!("{} [timed_out]: {}", t.error.as_deref().unwrap_or("timed out"), t.hint.unwrap_or(""))
        }
        (Some(t), _) => format!(
            "{} after {} [{}]: {}",
            t.error.as_deref().unwrap_or("failed"),
            ms_text(t.elapsed),
            t.class.unwrap_or("unknown"),
            t.hint.unwrap_or("")
        ),
        (None, Some(why)) => format!("not attempted: {why}"),
        (None, None) => "not attempted".to_owned(),
    }
}

/// One target's stages, then its findings.
pub fn write_target_text(w: &mut dyn Write, r: &TargetReport, color: bool) -> io::Result<()> {
    writeln!(w, "== {} (checked in {})", r.target, ms_text(r.elapsed))?;
    writeln!(w, "Environment:  {}", environment_line(&r.environment))?;
    match &r.dns {
        None => writeln!(w, "DNS:          skipped ({} is an IP address)", r.host)?,
        Some(d) => {
            writeln!(w, "DNS servers:  {}", dns_servers_line(&r.environment))?;
            if let AnsweredBy::HostsFile { path } = &d.answered_by {
                writeln!(w, "DNS:          answered by the hosts file {}", path.display())?;
            }
            for s in &d.servers {
                let when = if s.status == "answered" { "in" } else { "after" };
                writeln!(w, "DNS:          {} {} {when} {}", s.server, s.detail, ms_text(s.elapsed))?;
            }
            let chain = if d.cname_chain.is_empty() {
                String::new()
            } else {
                format!(" via {}", d.cname_chain.join(" -> "))
            };
            let result = match d.result {
                "addresses" => d.addresses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                "nxdomain" => "no such name (NXDOMAIN)".to_owned(),
                "no_data" => "no address records".to_owned(),
                "no_servers" => "no DNS servers to ask".to_owned(),
                _ => "no server answered".to_owned(),
            };
            if d.result == "no_servers" {
                // Nothing was asked, so there is no time to report.
                writeln!(w, "Resolved:     {result}")?;
            } else {
                writeln!(w, "Resolved:     {result}{chain} in {}", ms_text(d.elapsed))?;
            }
            if d.addresses_not_probed > 0 {
                writeln!(
                    w,
                    "Addresses:    {} more not probed (only the first {}; --max-addresses raises it)",
                    d.addresses_not_probed,
                    d.addresses.len() - d.addresses_not_probed
                )?;
            }
        }
    }
    for a in &r.addresses {
        writeln!(w, "Address:      {} ({})", a.address, a.class.describe())?;
        writeln!(w, "  route:      {}", route_text(&a.route))?;
        writeln!(w, "  tcp:        {}", tcp_text(a))?;
    }
    writeln!(w, "Findings:")?;
    write_findings_text(w, &r.findings, color)
}

/// The verdict of one target in one word: the id of its first failure, else of its first
/// warning, else of its first good news (`tcp_connected`); information alone
/// (`loopback_destination`) never hides the outcome.
pub fn verdict_id(r: &TargetReport) -> &'static str {
    [Severity::Failure, Severity::Warning, Severity::Ok, Severity::Info]
        .into_iter()
        .find_map(|severity| r.findings.iter().find(|f| f.severity == severity))
        .map_or("no_finding", |f| f.id.as_str())
}

/// What a run adds up to, kept as reports stream past (constant memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckTally {
    pub checked: usize,
    pub failed: usize,
    /// Targets per verdict id.
    pub verdicts: BTreeMap<&'static str, usize>,
}

impl CheckTally {
    pub fn add(&mut self, r: &TargetReport) {
        self.add_verdict(verdict_id(r), r.failed);
    }

    /// Counts a target already reduced to its verdict id (see [`verdict_id`]).
    pub fn add_verdict(&mut self, verdict: &'static str, failed: bool) {
        self.checked += 1;
        self.failed += usize::from(failed);
        *self.verdicts.entry(verdict).or_default() += 1;
    }
}

/// One line per target, for long lists: target, verdict id, time, address. The address is
/// the one the verdict is about: on a failed target every address whose connect failed
/// (`a,b`), since the first or the connected one would point a reader at a healthy address.
pub fn write_target_brief(w: &mut dyn Write, r: &TargetReport, color: bool) -> io::Result<()> {
    let failed: Vec<String> = if r.failed {
        r.addresses
            .iter()
            .filter(|a| a.tcp.as_ref().is_some_and(|t| !t.connected || t.reset_by_peer))
            .map(|a| a.address.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let address = if failed.is_empty() {
        r.primary_address().map_or_else(|| "-".to_owned(), |a| a.address.to_string())
    } else {
        failed.join(",")
    };
    let worst = crate::diagnose::worst(&r.findings);
    let verdict = format!("{:<28}", verdict_id(r));
    writeln!(w, "{:<40} {} {:>10} {address}", r.target, paint(&verdict, worst, color), ms_text(r.elapsed))
}

fn interrupted_text(end: &RunEnd) -> Option<String> {
    if !end.interrupted {
        return None;
    }
    let mut text = String::from("Interrupted:");
    if end.in_flight.is_empty() {
        text.push_str(" nothing was running");
    } else {
        let cut: Vec<String> = end
            .in_flight
            .iter()
            .take(10)
            .map(|f| format!("{} after {}", f.target, ms_text(f.waited)))
            .collect();
        let more = end.in_flight.len().saturating_sub(cut.len());
        text.push_str(&format!(
            " {} target(s) still running, not counted: {}",
            end.in_flight.len(),
            cut.join(", ")
        ));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
    }
    if end.not_started {
        text.push_str("; the rest of the list was not started");
    }
    Some(text)
}

/// The closing lines of a `check` run: the count, the tally by verdict (brief mode), and
/// what an interruption cut short.
pub fn write_check_closing(
    w: &mut dyn Write,
    tally: &CheckTally,
    end: &RunEnd,
    elapsed: Duration,
    by_verdict: bool,
    color: bool,
) -> io::Result<()> {
    let worst = if tally.failed > 0 || end.interrupted { Severity::Failure } else { Severity::Ok };
    if tally.checked > 1 || by_verdict || end.interrupted {
        let line = format!(
            "\nOverall: {} target(s) checked in {}, {} failed",
            tally.checked,
            ms_text(elapsed),
            tally.failed
        );
        writeln!(w, "{}", paint(&line, worst, color))?;
    }
    if by_verdict && !tally.verdicts.is_empty() {
        let parts: Vec<String> = tally.verdicts.iter().map(|(id, n)| format!("{id} {n}")).collect();
        writeln!(w, "By verdict: {}", parts.join(", "))?;
    }
    if let Some(text) = interrupted_text(end) {
        writeln!(w, "{}", paint(&text, Severity::Warning, color))?;
    }
    Ok(())
}

/// The fields of a [`TargetReport`], in its order, after the record's own; written out rather
/// than flattened because this runs once per target of lists of 100,000: `environment` is the
/// same for every target of a run and is serialized once per thread, and a flattened struct
/// goes through serde's slower map path (which is also why the envelope's fields are spelled
/// out here, filled from [`Envelope`]). A test checks that no field of the report is missing.
#[derive(Serialize)]
struct TargetRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    tool: &'static str,
    command: Option<&'static str>,
    timestamp: String,
    index: usize,
    verdict: &'static str,
    target: &'a str,
    host: &'a str,
    port: u16,
    ip_literal: bool,
    environment: &'a serde_json::value::RawValue,
    dns: &'a Option<crate::check::DnsStage>,
    addresses: &'a [AddressStage],
    findings: &'a [Finding],
    failed: bool,
    #[serde(serialize_with = "crate::millis::serialize", rename = "elapsed_ms")]
    elapsed: Duration,
}

/// The NDJSON `target` record of `check --json`, appended to `line`: `index` is the target's
/// 0-based position in the input (arguments, then the file), so a script can restore the order.
pub fn append_target_record(line: &mut Vec<u8>, index: usize, report: &TargetReport) {
    thread_local! {
        static ENVIRONMENT: std::cell::RefCell<Option<(EnvironmentStage, Box<serde_json::value::RawValue>)>> =
            const { std::cell::RefCell::new(None) };
    }
    ENVIRONMENT.with_borrow_mut(|cached| {
        let current = match cached.take() {
            Some((stage, json)) if stage == report.environment => (stage, json),
            // Serializing these types cannot fail: no map has non-string keys.
            _ => (
                report.environment.clone(),
                serde_json::value::to_raw_value(&report.environment).unwrap_or_default(),
            ),
        };
        let (_, environment) = cached.insert(current);
        let Envelope { kind, schema, tool, command, timestamp } = Envelope::new(CHECK, "target");
        let record = TargetRecord {
            kind,
            schema,
            tool,
            command,
            timestamp,
            index,
            verdict: verdict_id(report),
            target: &report.target,
            host: &report.host,
            port: report.port,
            ip_literal: report.ip_literal,
            environment,
            dns: &report.dns,
            addresses: &report.addresses,
            findings: &report.findings,
            failed: report.failed,
            elapsed: report.elapsed,
        };
        let _ = serde_json::to_writer(&mut *line, &record);
    });
    line.push(b'\n');
}

/// The closing NDJSON `summary` record of `check --json`.
pub fn write_check_summary_record(
    w: &mut dyn Write,
    tally: &CheckTally,
    end: &RunEnd,
    elapsed: Duration,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Summary<'a> {
        #[serde(flatten)]
        envelope: Envelope,
        failed: bool,
        #[serde(flatten)]
        run: RunTotals<'a>,
    }
    write_json(
        w,
        &Summary {
            envelope: Envelope::new(CHECK, "summary"),
            failed: tally.failed > 0,
            run: RunTotals::new(tally, end, elapsed),
        },
    )
}

/// The fields every run summary (check's, deps') ends with, so the two cannot drift apart.
#[derive(Serialize)]
struct RunTotals<'a> {
    targets_checked: usize,
    targets_failed: usize,
    verdicts: &'a BTreeMap<&'static str, usize>,
    elapsed_ms: f64,
    interrupted: bool,
    in_flight: &'a [crate::check::InFlight],
    not_started: bool,
}

impl<'a> RunTotals<'a> {
    fn new(tally: &'a CheckTally, end: &'a RunEnd, elapsed: Duration) -> Self {
        Self {
            targets_checked: tally.checked,
            targets_failed: tally.failed,
            verdicts: &tally.verdicts,
            elapsed_ms: crate::millis::ms(elapsed),
            interrupted: end.interrupted,
            in_flight: &end.in_flight,
            not_started: end.not_started,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// deps

pub fn write_deps_text(
    w: &mut dyn Write,
    deps: &DepsReport,
    end: &RunEnd,
    elapsed: Duration,
    color: bool,
) -> io::Result<()> {
    if deps.dependencies.is_empty() && deps.unparsed.is_empty() {
        return writeln!(
            w,
            "No dependencies found: no connection-string setting (AzureWebJobsStorage, *ConnectionString*, CUSTOMCONNSTR_*, ...) names a host."
        );
    }
    for u in &deps.unparsed {
        writeln!(w, "{} {}: {}", paint("WARNING", Severity::Warning, color), u.setting, u.error)?;
    }
    for (i, d) in deps.dependencies.iter().enumerate() {
        if i > 0 || !deps.unparsed.is_empty() {
            writeln!(w)?;
        }
        let kind =
            serde_json::to_value(d.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        writeln!(w, "## {} ({kind}) -> {}:{}", d.setting, d.host, d.port)?;
        match (&d.check, &d.error) {
            (Some(r), _) => write_target_text(w, r, color)?,
            (None, Some(e)) => writeln!(w, "{} {e}", paint("FAILURE", Severity::Failure, color))?,
            (None, None) => writeln!(w, "not checked: the run was interrupted first")?,
        }
    }
    let failed = deps.dependencies.iter().filter(|d| d.failed()).count();
    let checked = deps.dependencies.iter().filter(|d| d.check.is_some() || d.error.is_some()).count();
    let line = format!("\nDependencies: {checked} checked in {}, {failed} failed", ms_text(elapsed));
    let worst = if failed > 0 || end.interrupted { Severity::Failure } else { Severity::Ok };
    writeln!(w, "{}", paint(&line, worst, color))?;
    if let Some(text) = interrupted_text(end) {
        writeln!(w, "{}", paint(&text, Severity::Warning, color))?;
    }
    Ok(())
}

/// One NDJSON record of `deps --json` for a setting that could not be understood.
pub fn write_unparsed_record(w: &mut dyn Write, u: &UnparsedSetting) -> io::Result<()> {
    #[derive(Serialize)]
    struct Unparsed<'a> {
        #[serde(flatten)]
        envelope: Envelope,
        #[serde(flatten)]
        setting: &'a UnparsedSetting,
    }
    write_json(w, &Unparsed { envelope: Envelope::new(DEPS, "unparsed"), setting: u })
}

#[derive(Serialize)]
struct DependencyRecord<'a> {
    #[serde(flatten)]
    envelope: Envelope,
    index: usize,
    verdict: Option<&'static str>,
    #[serde(flatten)]
    dependency: &'a DependencyReport,
}

/// One NDJSON `dependency` record of `deps --json`, as soon as its check finished; `index` is
/// its position in the settings' order.
pub fn write_dependency_record(w: &mut dyn Write, index: usize, d: &DependencyReport) -> io::Result<()> {
    write_json(
        w,
        &DependencyRecord {
            envelope: Envelope::new(DEPS, "dependency"),
            index,
            verdict: d.check.as_ref().map(verdict_id),
            dependency: d,
        },
    )
}

/// The verdict a dependency counts under in the `deps` summary: its check's, or
/// `not_checkable` when its host could not be checked at all.
pub fn dependency_verdict(d: &DependencyReport) -> &'static str {
    d.check.as_ref().map_or("not_checkable", verdict_id)
}

/// The closing NDJSON `summary` record of `deps --json`: check's summary fields (over the
/// dependencies checked) beside the `dependencies_*` counts it always had.
pub fn write_deps_summary_record(
    w: &mut dyn Write,
    dependencies: usize,
    tally: &CheckTally,
    end: &RunEnd,
    elapsed: Duration,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Summary<'a> {
        #[serde(flatten)]
        envelope: Envelope,
        failed: bool,
        dependencies: usize,
        dependencies_checked: usize,
        dependencies_failed: usize,
        #[serde(flatten)]
        run: RunTotals<'a>,
    }
    write_json(
        w,
        &Summary {
            envelope: Envelope::new(DEPS, "summary"),
            failed: tally.failed > 0,
            dependencies,
            dependencies_checked: tally.checked,
            dependencies_failed: tally.failed,
            run: RunTotals::new(tally, end, elapsed),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// tnc

/// How much `tnc` prints, as Test-NetConnection's `-InformationLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TncLevel {
    Default,
    Quiet,
    Detailed,
}

/// Test-NetConnection's result object, built from a checked target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TncView {
    pub computer_name: String,
    pub remote_address: Option<IpAddr>,
    pub remote_port: u16,
    pub name_resolution_results: Vec<IpAddr>,
    pub interface_alias: Option<String>,
    pub source_address: Option<IpAddr>,
    /// `0.0.0.0` (or `::`) when the destination is on-link, as Windows shows it.
    pub next_hop: Option<IpAddr>,
    pub tcp_test_succeeded: bool,
    #[serde(rename = "ConnectTimeMs")]
    pub connect_time_ms: Option<f64>,
    pub failure_class: Option<String>,
    /// The TCP connect timeout that really applied (after any platform limit).
    #[serde(rename = "TimeoutMs")]
    pub timeout_ms: f64,
    /// The lines Test-NetConnection writes as warnings, without the `WARNING: ` prefix.
    pub warnings: Vec<String>,
    /// When the test ended (RFC 3339, UTC); JSON only.
    pub timestamp: String,
}

impl TncView {
    pub fn from_report(r: &TargetReport) -> Self {
        let primary = r.primary_address();
        let tcp = primary.and_then(|a| a.tcp.as_ref());
        let connected = tcp.is_some_and(|t| t.connected);
        let mut warnings = Vec::new();
        if r.name_unresolved() {
            warnings.push(format!("Name resolution of {} failed", r.host));
        } else if !connected && let Some(a) = primary {
            warnings.push(format!("TCP connect to ({} : {}) failed", a.address, r.port));
        }
        let route = primary.map(|a| &a.route);
        let on_link = |a: IpAddr| match a {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let next_hop =
            primary.and_then(|a| match (a.route.gateway, a.route.gateway_known, a.route.error.is_some()) {
                (Some(g), _, _) => Some(g),
                (None, true, false) => Some(on_link(a.address)),
                _ => None,
            });
        let failure_class = match (tcp, primary) {
            (Some(t), _) => t.class.map(str::to_owned),
            (None, Some(_)) => Some("not_attempted".to_owned()),
            (None, None) if r.name_unresolved() => r.dns.as_ref().and_then(|d| d.class).map(str::to_owned),
            (None, None) => None,
        };
        Self {
            computer_name: r.host.clone(),
            remote_address: primary.map(|a| a.address),
            remote_port: r.port,
            name_resolution_results: r.addresses.iter().map(|a| a.address).collect(),
            interface_alias: route.and_then(|r| r.interface.clone()),
            source_address: tcp.and_then(|t| t.local.map(|l| l.ip())).or(route.and_then(|r| r.source)),
            next_hop,
            tcp_test_succeeded: connected,
            connect_time_ms: tcp.filter(|t| t.connected).map(|t| crate::millis::ms(t.elapsed)),
            failure_class,
            timeout_ms: crate::millis::ms(r.environment.tcp_timeout),
            warnings,
            timestamp: crate::timestamp::now(),
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Test-NetConnection's layout: `Name : value`, names padded to the longest one shown (as
/// PowerShell's Format-List does), list values continued under the first. Warnings come first,
/// as PowerShell shows them; with `Quiet` only `True`/`False` is written here and the caller
/// decides where the warnings go.
pub fn write_tnc_text(w: &mut dyn Write, v: &TncView, level: TncLevel) -> io::Result<()> {
    if level == TncLevel::Quiet {
        return writeln!(w, "{}", py_bool(v.tcp_test_succeeded));
    }
    for warning in &v.warnings {
        writeln!(w, "WARNING: {warning}")?;
    }
    let opt = |x: Option<String>| x.into_iter().collect::<Vec<_>>();
    let mut fields: Vec<(&str, Vec<String>)> = vec![
        ("ComputerName", vec![v.computer_name.clone()]),
        ("RemoteAddress", opt(v.remote_address.map(|a| a.to_string()))),
        ("RemotePort", vec![v.remote_port.to_string()]),
    ];
    if level == TncLevel::Detailed {
        fields.push((
            "NameResolutionResults",
            v.name_resolution_results.iter().map(ToString::to_string).collect(),
        ));
    }
    fields.push(("InterfaceAlias", opt(v.interface_alias.clone())));
    fields.push(("SourceAddress", opt(v.source_address.map(|a| a.to_string()))));
    if level == TncLevel::Detailed {
        fields.push(("NetRoute (NextHop)", opt(v.next_hop.map(|a| a.to_string()))));
    }
    fields.push(("TcpTestSucceeded", vec![py_bool(v.tcp_test_succeeded).to_owned()]));
    fields
        .push(("ConnectTime", opt(v.connect_time_ms.map(|m| ms_text(Duration::from_secs_f64(m / 1000.0))))));
    fields.push(("FailureClass", opt(v.failure_class.clone())));
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, values) in fields {
        let mut values = values.into_iter();
        match values.next() {
            Some(first) => writeln!(w, "{name:<width$} : {first}")?,
            None => writeln!(w, "{name:<width$} :")?,
        }
        for more in values {
            writeln!(w, "{:<width$}   {more}", "")?;
        }
    }
    Ok(())
}

const TNC: Tool = Tool::Netdiag(Command::Tnc);

/// The `result` record: the envelope, then Test-NetConnection's PascalCase fields (its own
/// `Timestamp` kept beside the envelope's `timestamp`, with the same value).
pub fn write_tnc_json(w: &mut dyn Write, v: &TncView) -> io::Result<()> {
    write_json(w, &Enveloped { envelope: Envelope::at(TNC, "result", v.timestamp.clone()), record: v })
}

/// What `tnc` prints when Ctrl-C (or SIGTERM/SIGHUP) stopped the test before it finished.
pub fn write_tnc_interrupted(
    w: &mut dyn Write,
    target: &str,
    waited: Duration,
    json: bool,
) -> io::Result<()> {
    if json {
        let envelope = Envelope::new(TNC, "interrupted");
        let record = json!({
            "ComputerName": target,
            "TcpTestSucceeded": false,
            "Interrupted": true,
            "WaitedMs": crate::millis::ms(waited),
            "Timestamp": envelope.timestamp,
        });
        return write_json(w, &Enveloped { envelope, record });
    }
    writeln!(w, "Interrupted: the test of {target} had waited {} with no result yet", ms_text(waited))
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

    fn address(ip: &str, tcp: Option<(bool, &'static str)>) -> crate::check::AddressStage {
        crate::check::AddressStage {
            address: ip.parse().unwrap(),
            class: crate::classify::AddressClass::Rfc1918,
            route: crate::check::RouteStage {
                source: None,
                interface: None,
                gateway: None,
                gateway_known: false,
                source_is_private_ip: None,
                no_route: false,
                error: None,
            },
            tcp: tcp.map(|(connected, class)| crate::check::TcpStage {
                connected,
                class: (!connected).then_some(class),
                error: None,
                hint: None,
                local: None,
                elapsed: Duration::from_millis(2003),
                kernel_rtt: None,
                reset_by_peer: false,
            }),
            tcp_skipped: None,
        }
    }

    fn report(addresses: Vec<crate::check::AddressStage>, failed: bool) -> TargetReport {
        TargetReport {
            target: "multi:443".into(),
            host: "multi".into(),
            port: 443,
            ip_literal: false,
            environment: crate::check::EnvironmentStage {
                in_app_service: false,
                vnet_integration: false,
                private_ip: None,
                route_all: false,
                dns_servers: vec![],
                dns_servers_source: crate::dns::ServerSource::Argument,
                dns_timeout: Duration::from_secs(1),
                tcp_timeout: Duration::from_secs(2),
            },
            dns: None,
            addresses,
            findings: vec![Finding { id: FindingId::TcpTimedOut, ..finding(Severity::Failure) }],
            failed,
            elapsed: Duration::from_millis(2003),
        }
    }

    #[test]
    fn check_environment_line_hedges_route_all_off() {
        let mut r = report(vec![], false);
        assert!(environment_line(&r.environment).contains("Route All off as far as the app can see;"));
        r.environment.route_all = true;
        assert!(environment_line(&r.environment).contains("Route All on;"));
    }

    #[test]
    fn brief_names_the_failed_address_not_the_first() {
        let one = report(
            vec![address("10.99.0.2", Some((true, ""))), address("10.99.0.3", Some((false, "timed_out")))],
            true,
        );
        let line = text(|w| write_target_brief(w, &one, false));
        assert!(line.trim_end().ends_with(" 10.99.0.3"), "{line}");
        let two = report(
            vec![
                address("10.99.0.2", Some((false, "refused"))),
                address("10.99.0.3", Some((false, "timed_out"))),
                address("10.99.0.4", None),
            ],
            true,
        );
        let line = text(|w| write_target_brief(w, &two, false));
        assert!(line.trim_end().ends_with(" 10.99.0.2,10.99.0.3"), "{line}");
        let ok = report(
            vec![address("10.99.0.2", Some((true, ""))), address("10.99.0.3", Some((true, "")))],
            false,
        );
        let line = text(|w| write_target_brief(w, &ok, false));
        assert!(line.trim_end().ends_with(" 10.99.0.2"), "{line}");
    }

    fn tnc_view(succeeded: bool) -> TncView {
        TncView {
            computer_name: "db.internal".into(),
            remote_address: Some("10.0.2.5".parse().unwrap()),
            remote_port: 1433,
            name_resolution_results: vec!["10.0.2.5".parse().unwrap(), "fd00::5".parse().unwrap()],
            interface_alias: Some("eth0".into()),
            source_address: Some("10.0.1.4".parse().unwrap()),
            next_hop: Some("0.0.0.0".parse().unwrap()),
            tcp_test_succeeded: succeeded,
            connect_time_ms: succeeded.then_some(1.5),
            failure_class: (!succeeded).then(|| "timed_out".to_owned()),
            timeout_ms: 21000.0,
            warnings: if succeeded { vec![] } else { vec!["TCP connect to (10.0.2.5 : 1433) failed".into()] },
            timestamp: "2026-11-25T14:00:00.000000Z".into(),
        }
    }

    #[test]
    fn tnc_layout_matches_test_netconnection() {
        let default = text(|w| write_tnc_text(w, &tnc_view(true), TncLevel::Default));
        assert_eq!(
            default,
            "ComputerName     : db.internal\nRemoteAddress    : 10.0.2.5\nRemotePort       : 1433\n\
             InterfaceAlias   : eth0\nSourceAddress    : 10.0.1.4\nTcpTestSucceeded : True\n\
             ConnectTime      : 1.50 ms\nFailureClass     :\n"
        );
        let detailed = text(|w| write_tnc_text(w, &tnc_view(false), TncLevel::Detailed));
        assert_eq!(
            detailed,
            "WARNING: TCP connect to (10.0.2.5 : 1433) failed\n\
             ComputerName          : db.internal\nRemoteAddress         : 10.0.2.5\nRemotePort            : 1433\n\
             NameResolutionResults : 10.0.2.5\n                        fd00::5\n\
             InterfaceAlias        : eth0\nSourceAddress         : 10.0.1.4\nNetRoute (NextHop)    : 0.0.0.0\n\
             TcpTestSucceeded      : False\nConnectTime           :\nFailureClass          : timed_out\n"
        );
        assert_eq!(text(|w| write_tnc_text(w, &tnc_view(false), TncLevel::Quiet)), "False\n");
        let v: serde_json::Value =
            serde_json::from_str(&text(|w| write_tnc_json(w, &tnc_view(true)))).unwrap();
        assert_eq!(v["TcpTestSucceeded"], true);
        assert_eq!(v["NameResolutionResults"][1], "fd00::5");
        assert_eq!(v["NextHop"], "0.0.0.0");
        assert_eq!(v["TimeoutMs"], 21000.0);
        assert_eq!(
            (&v["type"], &v["schema"], &v["tool"], &v["command"]),
            (&json!("result"), &json!(2), &json!("netdiag"), &json!("tnc"))
        );
        assert_eq!(v["timestamp"], v["Timestamp"]);
        let v: serde_json::Value = serde_json::from_str(&text(|w| {
            write_tnc_interrupted(w, "db.internal:1433", Duration::from_millis(5), true)
        }))
        .unwrap();
        assert_eq!((&v["type"], &v["Interrupted"]), (&json!("interrupted"), &json!(true)));
        assert_eq!(v["timestamp"], v["Timestamp"]);
    }

    #[test]
    fn finding_sub_record() {
        // The shape a finding has inside check's `target` and deps' `dependency` records.
        let v = serde_json::to_value(finding(Severity::Warning)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["evidence", "id", "next_step", "severity", "subject", "summary"]);
        assert_eq!(v["id"], "tcp_refused");
        assert_eq!(v["severity"], "warning");
        assert_eq!(v["next_step"], "start the app");
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
    fn env_text_never_contradicts_its_own_evidence() {
        let mut settings = AppSettings::default();
        settings.warnings.push(crate::env::SettingWarning {
            setting: "DNS servers".into(),
            value: String::new(),
            problem: "cannot read /etc/resolv.conf".into(),
        });
        let snap = EnvSnapshot {
            settings,
            interfaces: Ok(vec![]),
            // No default route, but 100.64.0.0/24 through 10.77.0.2.
            routes: Ok(RouteTable::parse_proc_ipv4(
                "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n \
                 eth0\t00004064\t02004D0A\t0003\t0\t0\t0\t00FFFFFF\n \
                 eth0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n",
            )),
            dns_servers: Some(vec![]),
            route_checks: vec![],
        };
        let t = text(|w| write_env_text(w, &snap));
        assert!(!t.contains("only directly connected networks are reachable"), "{t}");
        assert!(t.contains("100.64.0.0/24 via 10.77.0.2 dev eth0"), "{t}");
        assert!(t.contains("  DNS servers: cannot read /etc/resolv.conf\n"), "{t}");
        assert!(!t.contains("=:"), "{t}");
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
        assert!(t.contains("(not collected)"));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert!(v["dns_servers"].is_null());
        assert_eq!(v["default_routes"][0]["gateway"], "10.0.1.1");
        assert_eq!(v["connection_strings"][0]["dependencies"][0]["host"], "acct.blob.core.windows.net");
        assert_eq!(v["interfaces"][0]["address"], "10.1.0.2");
    }
}
