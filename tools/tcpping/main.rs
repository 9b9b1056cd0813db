//! tcpping: Azure's tcpping.exe for any OS, with precise timing, failure classes, statistics,
//! NDJSON and exit codes that scripts can trust.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

#[path = "../cli.rs"]
mod cli;

use clap::Parser;
use netdiag_common::dns::{Family, servers};
use netdiag_common::probe::{self, Attempt, Resolver, RunRecord};
use netdiag_common::report::tcpping as report;
use netdiag_common::target::{Port, Target};
use netdiag_common::tcp::{CloseMode, ConnectOptions, WINDOWS_CONNECT_TIMEOUT};
use tokio::time::Instant;

const DEFAULT_PORT: u16 = 80;
const DEFAULT_COUNT: u64 = 4;

/// TCP connect probe: does anything listen at host:port, and how long does connecting take?
#[derive(Debug, Parser)]
#[command(
    name = "tcpping",
    version,
    after_help = "Examples:\n  \
        tcpping mydb.database.windows.net:1433\n  \
        tcpping 10.0.1.4 443 -n 10 -i 200ms\n  \
        tcpping myapp.azurewebsites.net:443 -t --json      # until Ctrl-C, NDJSON\n  \
        tcpping 10.0.1.4:443 -n 20 --max-loss 5 -q         # for scripts\n\n\
        Exit codes: 0 at least one attempt connected (and loss within --max-loss), \
        1 none connected or loss above --max-loss, 2 bad usage or input."
)]
struct Cli {
    /// host[:port], [IPv6]:port, or a bare IPv6 address (the port then comes separately).
    target: String,
    /// The port, when the target does not include one [default: 80].
    port: Option<String>,
    /// Number of attempts [default: 4].
    #[arg(short = 'n', long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "forever")]
    count: Option<u64>,
    /// Probe until interrupted with Ctrl-C.
    #[arg(short = 't')]
    forever: bool,
    /// Time between the starts of two attempts (a slow attempt delays the next one, never
    /// overlaps it).
    #[arg(short = 'i', long, value_parser = parse_interval, default_value = "1s")]
    interval: Duration,
    /// Give up on an attempt after this long. The default is Windows' documented TCP
    /// connect timeout (SYN at 0, 3 and 9 s, give up at 21 s).
    #[arg(short = 'w', long, value_parser = parse_timeout, default_value = "21s")]
    timeout: Duration,
    /// Use IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    ipv4: bool,
    /// Use IPv6 only.
    #[arg(short = '6')]
    ipv6: bool,
    /// Local address to connect from: ADDR, ADDR:PORT or [IPv6]:PORT.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_source)]
    source: Option<SocketAddr>,
    /// Ask this DNS server instead of the app's own (repeatable, asked in order): IP, IP:PORT
    /// or [IPv6]:PORT. The hosts file is then skipped. Without it: WEBSITE_DNS_SERVER and
    /// WEBSITE_DNS_ALT_SERVER, else the system's servers, hosts file first, as the app does.
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    dns_servers: Vec<String>,
    /// Time given to each DNS server [default: WEBSITE_DNS_TIMEOUT seconds, else 3s].
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    dns_timeout: Option<Duration>,
    /// Network interface to connect through (SO_BINDTODEVICE; Linux only).
    #[arg(long, value_name = "NAME")]
    interface: Option<String>,
    /// NDJSON on stdout: one "attempt" record per attempt, then one "summary" record.
    #[arg(long)]
    json: bool,
    /// Exit 1 when more than this percentage of attempts failed (0 to 100).
    #[arg(long, value_name = "PCT", value_parser = parse_max_loss, allow_negative_numbers = true)]
    max_loss: Option<f64>,
    /// Print only the summary.
    #[arg(short, long)]
    quiet: bool,
    /// Start each text line with its time, `[2026-11-25T14:05:09.123456Z]` (UTC), as ping -D
    /// does; JSON records always carry it as `timestamp`.
    #[arg(short = 'D')]
    timestamps: bool,
    /// Close each connection with FIN instead of RST (leaves TIME_WAIT behind).
    #[arg(long)]
    graceful: bool,
    /// Log diagnostics to stderr (-v debug, -vv trace); RUST_LOG works too.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    cli::duration(text)
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    cli::positive_duration(text)
}

fn parse_source(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 0))
        .map_err(|_| format!("'{text}' is not an IP address, optionally with :port"))
}

fn parse_max_loss(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(pct) if (0.0..=100.0).contains(&pct) => Ok(pct),
        _ => Err(format!("'{text}' is not a percentage from 0 to 100")),
    }
}

/// Validated, ready-to-run settings.
struct Plan {
    target: Target,
    display: String,
    count: Option<u64>,
    interval: Duration,
    family: Family,
    resolver: Resolver,
    connect: ConnectOptions,
    json: bool,
    quiet: bool,
    timestamps: bool,
    max_loss: Option<f64>,
}

impl Plan {
    fn from_cli(cli: Cli) -> Result<Self, String> {
        let default_port = Port::new(DEFAULT_PORT).expect("non-zero default port");
        let target =
            Target::parse(&cli.target, cli.port.as_deref(), default_port).map_err(|e| e.to_string())?;
        let family = match (cli.ipv4, cli.ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        };
        if let Some(ip) = target.host.ip()
            && !family.admits(ip)
        {
            return Err(format!("'{ip}' is not an {family} address, but -{} was given", flag_of(family)));
        }
        if let Some(source) = cli.source {
            if !family.admits(source.ip()) {
                return Err(format!("--source '{source}' is not an {family} address"));
            }
            if let Some(ip) = target.host.ip()
                && ip.is_ipv4() != source.ip().is_ipv4()
            {
                return Err(format!(
                    "--source '{}' and target '{ip}' are of different address families",
                    source.ip()
                ));
            }
        }
        if let Some(interface) = &cli.interface {
            check_interface(interface)?;
        }
        let env = |name: &str| std::env::var(name).ok();
        let found = match servers::servers_for_tool(&cli.dns_servers, &env, &servers::default_resolv_conf()) {
            Ok(found) => found,
            // A broken DNS setting of the app cannot stop a probe of an address literal.
            Err(_) if target.host.ip().is_some() && cli.dns_servers.is_empty() => {
                servers::ToolServers { list: servers::ServerList::explicit(Vec::new()), warnings: Vec::new() }
            }
            Err(e) => return Err(e.to_string()),
        };
        // Only a name needs DNS: warnings about its configuration are noise for an address.
        if target.host.ip().is_none() {
            for warning in &found.warnings {
                cli::stderr_line(format_args!("tcpping: warning: {warning}"));
            }
        }
        let resolver = Resolver::new(found.list, cli.dns_timeout);
        let applied = netdiag_common::tcp::applied_connect_timeout(cli.timeout);
        if let Some(warning) = &applied.warning {
            eprintln!("tcpping: warning: {warning}");
        }
        let display = target.display();
        Ok(Self {
            display,
            target,
            count: if cli.forever { None } else { Some(cli.count.unwrap_or(DEFAULT_COUNT)) },
            interval: cli.interval,
            family,
            resolver,
            connect: ConnectOptions {
                timeout: applied.timeout,
                source: cli.source,
                interface: cli.interface,
                close: if cli.graceful { CloseMode::Graceful } else { CloseMode::Reset },
            },
            json: cli.json,
            quiet: cli.quiet,
            timestamps: cli.timestamps,
            max_loss: cli.max_loss,
        })
    }
}

fn flag_of(family: Family) -> &'static str {
    if family == Family::V6 { "6" } else { "4" }
}

#[cfg(target_os = "linux")]
fn check_interface(name: &str) -> Result<(), String> {
    // IFNAMSIZ is 16 including the terminating NUL.
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) {
        return Err(format!("--interface '{name}' is not a valid interface name"));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn check_interface(name: &str) -> Result<(), String> {
    Err(format!(
        "--interface '{name}': binding to an interface is only supported on Linux; use --source instead"
    ))
}

fn main() -> ExitCode {
    let cli: Cli = match cli::parse("tcpping") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_tracing(cli.verbose);
    let plan = match Plan::from_cli(cli) {
        Ok(plan) => plan,
        Err(message) => return ExitCode::from(cli::bad_input("tcpping", message)),
    };
    let runtime = match cli::runtime("tcpping") {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let passed = runtime.block_on(run(&plan));
    cli::finish("tcpping", passed.map(|passed| if passed { 0 } else { 1 }))
}

/// Runs the attempts, printing as it goes; true when the run passes the exit-code rules.
async fn run(plan: &Plan) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    let mut record = RunRecord { timeout: Some(plan.connect.timeout), ..RunRecord::default() };
    let interrupted = cli::interrupted();
    tokio::pin!(interrupted);

    let mut next_start = Instant::now();
    let mut seq = 0;
    while plan.count.is_none_or(|count| seq < count) {
        // tokio's timer ticks in whole milliseconds: a zero-length sleep would still cost one,
        // so the first attempt (and any overdue one) starts without sleeping at all.
        if Instant::now() < next_start {
            tokio::select! {
                () = tokio::time::sleep_until(next_start) => {}
                () = &mut interrupted => { record.interrupted = true; break; }
            }
        }
        seq += 1;
        let started = Instant::now();
        next_start = started + plan.interval;
        let attempt = tokio::select! {
            attempt = attempt_with_progress(plan, seq) => attempt,
            () = &mut interrupted => {
                record.interrupted = true;
                record.abandoned_after = Some(started.elapsed());
                break;
            }
        };
        let new_ip = record.new_address(&attempt);
        record.record(&attempt);
        if !plan.quiet {
            if plan.json {
                report::render_attempt_json(&mut out, &plan.target, &plan.display, &attempt)?;
            } else {
                if plan.timestamps {
                    write!(out, "[{}] ", netdiag_common::timestamp::now())?;
                }
                report::render_attempt_text(&mut out, &plan.display, &attempt, new_ip)?;
            }
            out.flush()?;
        }
    }
    if record.interrupted {
        cli::erase_waiting_line();
    }
    if plan.json {
        report::render_summary_json(&mut out, &plan.display, &record)?;
    } else {
        report::render_summary_text(&mut out, &record)?;
    }
    out.flush()?;
    Ok(record.tally.passes(plan.max_loss))
}

/// One attempt, with the "waiting for ..." line on a terminal when it takes over a second.
async fn attempt_with_progress(plan: &Plan, seq: u64) -> Attempt {
    let attempt = probe::attempt(seq, &plan.target, plan.family, &plan.resolver, &plan.connect);
    cli::with_waiting_line(&plan.display, attempt).await
}

// The default must stay the documented Windows timeout; the attribute above spells it out.
const _: () = assert!(WINDOWS_CONNECT_TIMEOUT.as_secs() == 21);
