//! `netdiag`: the App Service networking troubleshooting checklist as a program.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[path = "../cli.rs"]
mod cli;
mod serve;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use netdiag_common::check::{self, CheckOptions};
use netdiag_common::dns::{ServerList, servers};
use netdiag_common::env::{AppSettings, EnvSnapshot};
use netdiag_common::report::netdiag as report;
use netdiag_common::sanitize;
use netdiag_common::subnet::{PlanOs, SubnetPlan, SubnetSpec};
use netdiag_common::target::{Host, Port, Target};
use netdiag_common::targets_file::TargetsReader;

#[derive(Parser)]
#[command(
    name = "netdiag",
    version,
    about = "Why can't this app reach that host:port? The troubleshooting checklist as a program.",
    after_help = "Exit codes: 0 nothing failed, 1 a failure was found, 2 bad usage or input."
)]
struct Cli {
    /// More diagnostics on stderr (repeat for more); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check host[:port] targets: DNS through the app's servers, address classes, route and
    /// source address, TCP connect, and a verdict with the checklist's next steps.
    #[command(after_help = "Examples:\n  \
        netdiag check mydb.database.windows.net:1433 myvault.vault.azure.net\n  \
        netdiag check 10.0.1.4:5432 --timeout 5s --json\n\n\
        A TCP timeout means something drops the packets (firewall, NSG); refused means the host \
        answered and nothing listens. Exit codes: 0 nothing failed, 1 a failure was found, 2 bad usage.")]
    Check(CheckArgs),
    /// What the app sees: App Service settings, connection strings (redacted), interfaces and
    /// default routes. Sends no traffic.
    Env(EnvArgs),
    /// Test-NetConnection, anywhere: resolve, pick the route, connect, print the familiar fields.
    #[command(after_help = "Examples:\n  \
        netdiag tnc myvm.contoso.internal --common-tcp-port rdp\n  \
        netdiag tnc 10.0.1.4 -p 443 --information-level detailed\n  \
        netdiag tnc myapp.azurewebsites.net -p 443 --information-level quiet   # True or False")]
    Tnc(TncArgs),
    /// Check every host:port the app's own connection strings name (storage, Service Bus, SQL, ...).
    Deps(DepsArgs),
    /// Size a virtual network integration subnet: addresses Azure keeps, instances it fits.
    Subnet(SubnetArgs),
    /// Prometheus exporter: /probe?target=HOST[:PORT]&module=tcp|dns|check, drop-in for
    /// blackbox_exporter's scrape config, with the failure class and findings as metrics.
    Serve(serve::ServeArgs),
}

#[derive(Args)]
struct JsonArg {
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct EnvArgs {
    /// Also show which local address, interface and gateway the kernel would use to reach
    /// this IP (repeatable). Connecting a UDP socket picks the route; no packet is sent.
    #[arg(long = "route-to", value_name = "IP")]
    route_to: Vec<std::net::IpAddr>,
    #[command(flatten)]
    output: JsonArg,
}

/// What every probing subcommand (check, tnc, deps) takes.
#[derive(Args)]
struct ProbeArgs {
    /// TCP connect timeout per address (Windows gives up after 21 s).
    #[arg(short = 'w', long, default_value = "21s", value_parser = cli::positive_duration, value_name = "DURATION")]
    timeout: Duration,
    /// Timeout per DNS server [default: WEBSITE_DNS_TIMEOUT, else 3s, as the platform].
    #[arg(long, value_parser = cli::positive_duration, value_name = "DURATION")]
    dns_timeout: Option<Duration>,
    /// Ask these DNS servers, in this order, instead of the app's own (repeatable). The hosts
    /// file is then skipped.
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    dns_servers: Vec<String>,
    #[command(flatten)]
    output: JsonArg,
}

#[derive(Args)]
struct CheckArgs {
    /// Targets as host, host:port, [v6]:port or an IP literal; all are checked at once.
    #[arg(required_unless_present = "targets_file", value_name = "HOST[:PORT]")]
    targets: Vec<String>,
    /// Also read targets from this file, one per line (`#` comments and blank lines are
    /// skipped); `-` reads standard input.
    #[arg(short = 'f', long, value_name = "PATH")]
    targets_file: Option<std::path::PathBuf>,
    /// How many targets are checked at the same time; the rest wait their turn.
    #[arg(long, default_value_t = check::DEFAULT_MAX_PARALLEL, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    parallel: usize,
    /// How many addresses of one name are probed; the others are counted as not probed.
    #[arg(long, default_value_t = check::DEFAULT_MAX_ADDRESSES, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    max_addresses: usize,
    /// Port for targets that do not name one (443: most of an app's dependencies are HTTPS;
    /// tcpping.exe's default was 80).
    #[arg(short, long, default_value = "443")]
    port: Port,
    #[command(flatten)]
    probe: ProbeArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum CommonTcpPort {
    Http,
    Rdp,
    Smb,
    Winrm,
}

impl CommonTcpPort {
    fn port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Rdp => 3389,
            Self::Smb => 445,
            Self::Winrm => 5985,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum InformationLevel {
    Quiet,
    Detailed,
}

#[derive(Args)]
struct TncArgs {
    /// Host name or address to test.
    #[arg(value_name = "HOST")]
    host: String,
    /// TCP port to test [default: 80; there is no ICMP test].
    #[arg(short, long, conflicts_with = "common_tcp_port")]
    port: Option<Port>,
    /// A well-known port: http 80, rdp 3389, smb 445, winrm 5985.
    #[arg(long, value_enum, ignore_case = true)]
    common_tcp_port: Option<CommonTcpPort>,
    /// quiet prints only True/False; detailed adds every resolved address and the next hop.
    #[arg(long, value_enum, ignore_case = true)]
    information_level: Option<InformationLevel>,
    #[command(flatten)]
    probe: ProbeArgs,
}

#[derive(Args)]
struct DepsArgs {
    #[command(flatten)]
    probe: ProbeArgs,
}

#[derive(Args)]
struct SubnetArgs {
    /// Prefix length or subnet: /26, 26 or 10.0.0.0/26.
    #[arg(value_name = "PREFIX|CIDR", allow_hyphen_values = true)]
    subnet: String,
    /// The plan's OS, which decides the recommended minimum (/26 Linux, /24 Windows).
    #[arg(long, value_enum, default_value = "linux", ignore_case = true)]
    os: OsArg,
    #[command(flatten)]
    output: JsonArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum OsArg {
    Linux,
    Windows,
}

impl From<OsArg> for PlanOs {
    fn from(os: OsArg) -> Self {
        match os {
            OsArg::Linux => PlanOs::Linux,
            OsArg::Windows => PlanOs::Windows,
        }
    }
}

const OK: u8 = 0;
const FAILED: u8 = 1;

fn main() -> ExitCode {
    let cli: Cli = match cli::parse("netdiag") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_tracing(cli.verbose);
    cli::finish("netdiag", run(cli.command))
}

fn run(command: Command) -> io::Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = match command {
        Command::Env(args) => {
            let mut snapshot = EnvSnapshot::collect();
            snapshot.check_routes(&args.route_to);
            snapshot.collect_dns_servers(&env_var, &servers::default_resolv_conf());
            tracing::debug!(warnings = snapshot.settings.warnings.len(), "collected environment");
            if args.output.json {
                report::write_env_json(&mut out, &snapshot)?;
            } else {
                report::write_env_text(&mut out, &snapshot)?;
            }
            OK
        }
        Command::Subnet(args) => match args.subnet.parse::<SubnetSpec>() {
            Err(e) => usage("subnet", e),
            Ok(spec) => {
                let plan = SubnetPlan::new(spec, args.os.into());
                if args.output.json {
                    report::write_subnet_json(&mut out, &plan)?;
                } else {
                    report::write_subnet_text(&mut out, &plan)?;
                }
                if plan.is_failure() { FAILED } else { OK }
            }
        },
        Command::Check(args) => check(args, &mut out)?,
        Command::Tnc(args) => tnc(args, &mut out)?,
        Command::Deps(args) => deps(args, &mut out)?,
        Command::Serve(args) => serve::serve(args),
    };
    out.flush()?;
    Ok(code)
}

/// User input quoted in a message: escaped, and cut so the reason after it still shows.
fn shown(text: &str) -> String {
    sanitize::escape_for_terminal(text, 100)
}

/// Bad input found after clap: one line on stderr, exit 2.
fn usage(command: &str, message: impl std::fmt::Display) -> u8 {
    cli::bad_input(&format!("netdiag {command}"), message)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Which targets need DNS, to decide what a broken DNS setting may block.
#[derive(Clone, Copy)]
struct DnsNeed {
    any_name: bool,
    any_address: bool,
}

impl DnsNeed {
    fn of(hosts: impl IntoIterator<Item = bool>) -> Self {
        let mut need = Self { any_name: false, any_address: false };
        for is_name in hosts {
            need.any_name |= is_name;
            need.any_address |= !is_name;
        }
        need
    }

    /// Every target is a name: nothing could be checked without DNS.
    fn only_names(self) -> bool {
        self.any_name && !self.any_address
    }
}

/// The DNS servers to ask: `--dns-server` in order, else the app's own (`WEBSITE_DNS_SERVER`,
/// `WEBSITE_DNS_ALT_SERVER`, resolv.conf). A malformed `WEBSITE_DNS_SERVER` never blocks an IP
/// literal: while any target is an address it is a warning, no server is used, and names fail
/// as `no_dns_servers` naming the setting. Only when every target is a name is it bad input,
/// as in tcpping. A missing resolv.conf only leaves IP literals checkable: a warning too.
fn server_list(command: &str, dns_args: &ProbeArgs, need: DnsNeed) -> Result<ServerList, u8> {
    let found =
        match servers::servers_for_tool(&dns_args.dns_servers, &env_var, &servers::default_resolv_conf()) {
            Ok(found) => found,
            Err(e) if !need.only_names() && dns_args.dns_servers.is_empty() => {
                let consequence = if need.any_name {
                    "names cannot be resolved; IP addresses are checked"
                } else {
                    "no target needs DNS"
                };
                eprintln!("netdiag {command}: warning: ignoring {e}: {consequence}");
                return Ok(ServerList {
                    servers: Vec::new(),
                    source: servers::ServerSource::WebsiteDnsServer,
                    env_timeout: None,
                    warnings: vec![e.to_string()],
                });
            }
            Err(e) => return Err(usage(command, e)),
        };
    for warning in &found.warnings {
        cli::stderr_line(format_args!("netdiag {command}: warning: {warning}"));
    }
    Ok(found.list)
}

/// The options every probing subcommand shares; a `-w` the platform cannot wait for is lowered
/// with a warning, so reports show the timeout that really applied.
fn check_options(command: &str, probe: &ProbeArgs) -> CheckOptions {
    let applied = netdiag_common::tcp::applied_connect_timeout(probe.timeout);
    if let Some(warning) = &applied.warning {
        eprintln!("netdiag {command}: warning: {warning}");
    }
    CheckOptions {
        connect_timeout: applied.timeout,
        dns_timeout: probe.dns_timeout,
        ..CheckOptions::default()
    }
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    cli::runtime("netdiag").map_err(|_| io::Error::other("cannot start the async runtime"))
}

fn check(args: CheckArgs, out: &mut dyn Write) -> io::Result<u8> {
    let mut targets = Vec::new();
    for text in &args.targets {
        match Target::parse(text, None, args.port) {
            Ok(t) => targets.push(t),
            Err(e) => return Ok(usage("check", format_args!("bad target '{}': {e}", shown(text)))),
        }
    }
    if let Some(path) = &args.targets_file {
        match read_targets_file(path, args.port) {
            Ok(listed) => targets.extend(listed),
            Err(messages) => {
                for message in messages {
                    usage("check", message);
                }
                return Ok(cli::USAGE);
            }
        }
    }
    if targets.is_empty() {
        return Ok(usage("check", "no targets: the targets file lists none"));
    }
    let need = DnsNeed::of(targets.iter().map(|t| t.host.ip().is_none()));
    let servers = match server_list("check", &args.probe, need) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let settings = AppSettings::from_process();
    let opts = CheckOptions {
        max_parallel: args.parallel,
        max_addresses: args.max_addresses,
        ..check_options("check", &args.probe)
    };
    let start = Instant::now();
    let reports = runtime()?.block_on(check::check_targets(&targets, &opts, &settings, &servers));
    let elapsed = start.elapsed();
    if args.probe.output.json {
        report::write_check_json(out, &reports, elapsed)?;
    } else {
        report::write_check_text(out, &reports, elapsed, use_color())?;
    }
    Ok(if reports.iter().any(|r| r.failed) { FAILED } else { OK })
}

/// The most targets one run takes from a file: endless input (`yes | netdiag check -f -`)
/// must not grow memory without bound.
const MAX_TARGETS: usize = 100_000;
/// Bad lines reported before giving up on a file that is probably not a list of targets.
const MAX_BAD_LINES: usize = 10;

/// Reads `--targets-file` line by line; the errors are one line each, naming the file and the
/// line, with the line's text escaped and cut.
fn read_targets_file(path: &std::path::Path, default_port: Port) -> Result<Vec<Target>, Vec<String>> {
    let shown = sanitize::escape_for_terminal(&path.display().to_string(), 200);
    let input: Box<dyn io::BufRead> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(file) => Box::new(io::BufReader::new(file)),
            Err(e) => return Err(vec![format!("cannot read targets file {shown}: {e}")]),
        }
    };
    let mut targets = Vec::new();
    let mut bad = Vec::new();
    for item in TargetsReader::new(input, default_port) {
        match item {
            Ok(_) if targets.len() == MAX_TARGETS => {
                bad.push(format!("{shown}: more than {MAX_TARGETS} targets; split the list"));
                break;
            }
            Ok(target) => targets.push(target),
            Err(e) => {
                bad.push(format!("{shown} {e}"));
                if bad.len() == MAX_BAD_LINES && !e.is_fatal() {
                    bad.push(format!("{shown}: giving up after {MAX_BAD_LINES} bad lines"));
                    break;
                }
            }
        }
    }
    if bad.is_empty() { Ok(targets) } else { Err(bad) }
}

fn tnc(args: TncArgs, out: &mut dyn Write) -> io::Result<u8> {
    let port = match (args.port, args.common_tcp_port) {
        (Some(p), _) => p,
        (None, Some(c)) => Port::new(c.port()).unwrap_or(TNC_DEFAULT_PORT),
        (None, None) => TNC_DEFAULT_PORT,
    };
    let target = match Target::parse(&args.host, None, port) {
        Ok(t) if args.port.is_some() && t.port != port => {
            return Ok(usage("tnc", format_args!("'{}' gives a port and so does -p", shown(&args.host))));
        }
        Ok(t) => t,
        Err(e) => return Ok(usage("tnc", format_args!("bad host '{}': {e}", shown(&args.host)))),
    };
    let servers = match server_list("tnc", &args.probe, DnsNeed::of([target.host.ip().is_none()])) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let settings = AppSettings::from_process();
    let opts = check_options("tnc", &args.probe);
    let report = runtime()?.block_on(check::check_target(&target, &opts, &settings, &servers));
    let view = report::TncView::from_report(&report);
    let level = match args.information_level {
        None => report::TncLevel::Default,
        Some(InformationLevel::Quiet) => report::TncLevel::Quiet,
        Some(InformationLevel::Detailed) => report::TncLevel::Detailed,
    };
    if args.probe.output.json {
        report::write_tnc_json(out, &view)?;
    } else {
        if level == report::TncLevel::Quiet {
            // stdout carries only True/False; PowerShell's warning stream goes to stderr.
            for w in &view.warnings {
                cli::stderr_line(format_args!("WARNING: {w}"));
            }
        }
        report::write_tnc_text(out, &view, level)?;
    }
    Ok(if view.tcp_test_succeeded { OK } else { FAILED })
}

fn deps(args: DepsArgs, out: &mut dyn Write) -> io::Result<u8> {
    let settings = AppSettings::from_process();
    // Dependencies named by IP address are checked even when the DNS setting is broken.
    let need = DnsNeed::of(
        settings
            .connection_strings
            .iter()
            .filter_map(|c| c.dependencies().ok())
            .flatten()
            .map(|d| Host::parse(&d.host).map_or(true, |h| h.ip().is_none())),
    );
    let servers = match server_list("deps", &args.probe, need) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let opts = check_options("deps", &args.probe);
    let start = Instant::now();
    let found = runtime()?.block_on(check::check_dependencies(&opts, &settings, &servers));
    let elapsed = start.elapsed();
    if args.probe.output.json {
        report::write_deps_json(out, &found, elapsed)?;
    } else {
        report::write_deps_text(out, &found, elapsed, use_color())?;
    }
    Ok(if found.failed { FAILED } else { OK })
}

/// Without -p, Test-NetConnection pings; we have no ICMP, so tnc tests TCP 80 (its
/// `-CommonTCPPort HTTP`, and tcpping.exe's default).
const TNC_DEFAULT_PORT: Port = match Port::new(80) {
    Some(p) => p,
    None => unreachable!(),
};

/// Colour for humans only: a terminal, and no `NO_COLOR` (https://no-color.org).
fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
