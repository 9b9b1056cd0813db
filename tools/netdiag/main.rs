//! `netdiag`: the App Service networking troubleshooting checklist as a program.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use netdiag_common::env::EnvSnapshot;
use netdiag_common::report::netdiag as report;
use netdiag_common::subnet::{PlanOs, SubnetPlan, SubnetSpec};
use netdiag_common::target::Port;

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
    Check(CheckArgs),
    /// What the app sees: App Service settings, connection strings (redacted), interfaces and
    /// default routes. Sends no traffic.
    Env(EnvArgs),
    /// Test-NetConnection, anywhere: resolve, pick the route, connect, print the familiar fields.
    Tnc(TncArgs),
    /// Check every host:port the app's own connection strings name (storage, Service Bus, SQL, ...).
    Deps(DepsArgs),
    /// Size a virtual network integration subnet: addresses Azure keeps, instances it fits.
    Subnet(SubnetArgs),
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

#[derive(Args)]
struct CheckArgs {
    /// Targets as host, host:port, [v6]:port or an IP literal.
    #[arg(required = true, value_name = "HOST[:PORT]")]
    targets: Vec<String>,
    /// Port for targets that do not name one.
    #[arg(short, long, default_value = "443")]
    port: Port,
    /// TCP connect timeout (Windows gives up after 21 s).
    #[arg(long, default_value = "21s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Timeout per DNS server (the platform's is 3 s per server).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    dns_timeout: Duration,
    /// Ask these DNS servers instead of the app's own (repeatable).
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    dns_servers: Vec<String>,
    #[command(flatten)]
    output: JsonArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum CommonTcpPort {
    Http,
    Rdp,
    Smb,
    Winrm,
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
    /// TCP port to test.
    #[arg(short, long, conflicts_with = "common_tcp_port")]
    port: Option<Port>,
    /// A well-known port: http 80, rdp 3389, smb 445, winrm 5985.
    #[arg(long, value_enum, ignore_case = true)]
    common_tcp_port: Option<CommonTcpPort>,
    /// quiet prints only True/False; detailed adds every resolved address and the next hop.
    #[arg(long, value_enum, ignore_case = true)]
    information_level: Option<InformationLevel>,
    /// TCP connect timeout.
    #[arg(long, default_value = "21s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    output: JsonArg,
}

#[derive(Args)]
struct DepsArgs {
    /// TCP connect timeout per dependency.
    #[arg(long, default_value = "21s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    output: JsonArg,
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
const USAGE: u8 = 2;

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).try_init();
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on usage errors and 0 for --help/--version.
        Err(e) => e.exit(),
    };
    init_tracing(cli.verbose);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(OK),
        Err(e) => {
            eprintln!("netdiag: cannot write output: {e}");
            ExitCode::from(FAILED)
        }
    }
}

fn run(command: Command) -> io::Result<u8> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let code = match command {
        Command::Env(args) => {
            let mut snapshot = EnvSnapshot::collect();
            snapshot.check_routes(&args.route_to);
            tracing::debug!(warnings = snapshot.settings.warnings.len(), "collected environment");
            if args.output.json {
                report::write_env_json(&mut out, &snapshot)?;
            } else {
                report::write_env_text(&mut out, &snapshot)?;
            }
            OK
        }
        Command::Subnet(args) => match args.subnet.parse::<SubnetSpec>() {
            Err(e) => {
                eprintln!("netdiag subnet: {e}");
                USAGE
            }
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
        // Placeholders until the TCP and DNS engines are wired in (phase 2).
        Command::Check(_) => not_implemented("check"),
        Command::Tnc(_) => not_implemented("tnc"),
        Command::Deps(_) => not_implemented("deps"),
    };
    out.flush()?;
    Ok(code)
}

fn not_implemented(name: &str) -> u8 {
    eprintln!("netdiag {name}: not implemented yet");
    USAGE
}

/// Colour for humans only: a terminal, and no `NO_COLOR` (https://no-color.org).
#[allow(dead_code)] // used by `check` once the engines are wired in
fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
