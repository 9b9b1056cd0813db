//! `netdiag`: the App Service networking troubleshooting checklist as a program.
// tcpping's and nameresolver's files, included as modules, each include cli.rs too: three
// copies of a few small functions, so that each tool's file stays a standalone binary as well.
#![allow(clippy::duplicate_mod)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod argv;
#[path = "../cli.rs"]
mod cli;
mod docs;
#[path = "../nameresolver/main.rs"]
mod nameresolver;
mod serve;
#[path = "../tcpping/main.rs"]
mod tcpping;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use netdiag_common::check::{self, CheckOptions, RunContext, RunEnd};
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
    /// The tcpping tool, bundled: `netdiag tcpping --help` shows its options. A copy of this
    /// binary named tcpping(.exe) is tcpping too.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Tcpping(BundledArgs),
    /// The nameresolver tool, bundled: `netdiag nameresolver --help` shows its options. A copy
    /// of this binary named nameresolver(.exe) is nameresolver too.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Nameresolver(BundledArgs),
    /// Shell completions for netdiag, tcpping and nameresolver, on stdout (for packaging).
    #[command(hide = true)]
    Completions(CompletionsArgs),
    /// Man pages for netdiag, its subcommands, tcpping and nameresolver (for packaging).
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Args)]
struct CompletionsArgs {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
    /// The tool to complete.
    #[arg(value_parser = ["netdiag", "tcpping", "nameresolver"], default_value = "netdiag")]
    tool: String,
}

#[derive(Args)]
struct ManArgs {
    /// Directory to write the pages into (created if missing).
    dir: std::path::PathBuf,
}

/// Everything after a bundled tool's name goes to that tool untouched.
#[derive(Args)]
struct BundledArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<std::ffi::OsString>,
}

#[derive(Args)]
struct JsonArg {
    /// JSON on stdout instead of text. check and deps: NDJSON, one record per line as results
    /// arrive, then a "summary" record; tnc, env and subnet: one JSON record. Every record
    /// starts with type, schema, tool, command and timestamp (docs/json.md).
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
    /// How many targets are checked at the same time; the rest wait their turn. Open sockets
    /// are bounded separately, below the file-descriptor limit, and name lookups to 64 at once
    /// (a burst of more overflows a DNS server's receive buffer and shows as timeouts).
    #[arg(long, default_value_t = check::DEFAULT_MAX_PARALLEL, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    parallel: usize,
    /// How many addresses of one name are probed; the others are counted as not probed.
    #[arg(long, default_value_t = check::DEFAULT_MAX_ADDRESSES, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    max_addresses: usize,
    /// One line per target (target, verdict, time, address) and a tally by verdict: the
    /// default above 10 targets or when reading standard input.
    #[arg(long, conflicts_with = "full")]
    brief: bool,
    /// Every stage of every target: the default for up to 10 targets.
    #[arg(long)]
    full: bool,
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
    /// The plan's OS, which decides the recommended minimum (/26 Linux, /24 Windows)
    /// [default: the OS netdiag runs on].
    #[arg(long, value_enum, ignore_case = true)]
    os: Option<OsArg>,
    #[command(flatten)]
    output: JsonArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum OsArg {
    Linux,
    Windows,
}

impl OsArg {
    /// An App Service plan runs its apps on one OS; the tool usually runs on the same.
    const CURRENT: Self = if cfg!(windows) { Self::Windows } else { Self::Linux };
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
    match argv::route(std::env::args_os().collect()) {
        argv::Tool::Tcpping(args) => tcpping::run_with(args),
        argv::Tool::Nameresolver(args) => nameresolver::run_with(args),
        argv::Tool::Netdiag(args) => netdiag(args),
    }
}

fn netdiag(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli: Cli = match cli::parse("netdiag", args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Reached only with a global option first (`netdiag -v tcpping ...`): argv::route sends
    // the usual spelling straight to the tool.
    let bundled = |name: &str, rest: Vec<std::ffi::OsString>| {
        let mut args = vec![std::ffi::OsString::from(name)];
        args.extend((0..cli.verbose).map(|_| "-v".into()));
        args.extend(rest);
        args
    };
    match cli.command {
        Command::Tcpping(rest) => tcpping::run_with(bundled("tcpping", rest.args)),
        Command::Nameresolver(rest) => nameresolver::run_with(bundled("nameresolver", rest.args)),
        command => {
            cli::init_tracing(cli.verbose);
            cli::finish("netdiag", run(command))
        }
    }
}

fn run(command: Command) -> io::Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
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
                let plan = SubnetPlan::new(spec, args.os.unwrap_or(OsArg::CURRENT).into());
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
        Command::Completions(args) => {
            docs::completions(args.shell, &args.tool, &mut out);
            OK
        }
        Command::Man(args) => {
            for page in docs::man_pages(&args.dir)? {
                writeln!(out, "{}", page.display())?;
            }
            OK
        }
        Command::Tcpping(_) | Command::Nameresolver(_) => unreachable!("dispatched before run"),
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

    /// The need of two sets of targets together.
    fn and(self, other: Self) -> Self {
        Self { any_name: self.any_name || other.any_name, any_address: self.any_address || other.any_address }
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

/// Above this many targets `check` prints one line per target unless `--full` is given.
const BRIEF_ABOVE: usize = 10;

/// Exit code when Ctrl-C, SIGTERM or SIGHUP stopped a run before anything finished (128 + SIGINT,
/// as shells report it).
const INTERRUPTED: u8 = 130;

/// Raises the soft limit on open files to the hard limit (a long list needs many sockets at
/// once) and returns how many sockets the run may hold below it.
fn socket_budget() -> usize {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => {
                tracing::debug!(limit, "open files limit");
                check::socket_budget_for(limit)
            }
            Err(e) => {
                tracing::debug!("cannot read or raise the open files limit: {e}");
                check::DEFAULT_MAX_SOCKETS
            }
        }
    }
    #[cfg(not(unix))]
    {
        check::DEFAULT_MAX_SOCKETS
    }
}

/// Bad lines reported before giving up on a file that is probably not a list of targets.
const MAX_BAD_LINES: usize = 10;

/// Where the targets of a `check` come from, read one line at a time (through the hardened
/// [`TargetsReader`]) so a list of any length costs memory only for the targets in flight.
/// The first bad line ends the input; its message is kept for the end of the run.
struct TargetLines {
    reader: TargetsReader<Box<dyn io::BufRead + Send>>,
    shown: String,
    error: Arc<Mutex<Option<String>>>,
}

impl TargetLines {
    fn open(path: &std::path::Path, default_port: Port) -> Result<Self, String> {
        let shown = sanitize::escape_for_terminal(&path.display().to_string(), 200);
        let input: Box<dyn io::BufRead + Send> = if path.as_os_str() == "-" {
            Box::new(io::BufReader::new(io::stdin()))
        } else {
            let file =
                std::fs::File::open(path).map_err(|e| format!("cannot read targets file {shown}: {e}"))?;
            Box::new(io::BufReader::new(file))
        };
        let error = Arc::default();
        Ok(Self { reader: TargetsReader::new(input, default_port), shown, error })
    }

    /// The first bad line, once the input has ended.
    fn take_error(error: &Mutex<Option<String>>) -> Option<String> {
        error.lock().ok().and_then(|mut e| e.take())
    }
}

impl Iterator for TargetLines {
    type Item = Target;

    fn next(&mut self) -> Option<Target> {
        if self.error.lock().map_or(true, |e| e.is_some()) {
            return None;
        }
        match self.reader.next()? {
            Ok(target) => Some(target),
            Err(e) => {
                if let Ok(mut error) = self.error.lock() {
                    *error = Some(format!("{} {e}", self.shown));
                }
                None
            }
        }
    }
}

/// Reads a targets file (not standard input) through once before anything is probed: counts
/// its targets, notes whether they include names and addresses, and collects every bad line
/// (up to [`MAX_BAD_LINES`]), each its own message. Memory stays constant.
fn count_targets_file(path: &std::path::Path, default_port: Port) -> Result<(usize, DnsNeed), Vec<String>> {
    let lines = TargetLines::open(path, default_port).map_err(|message| vec![message])?;
    let mut bad = Vec::new();
    let mut count = 0;
    let mut need = DnsNeed::of([]);
    for item in lines.reader {
        match item {
            Ok(target) => {
                count += 1;
                need = need.and(DnsNeed::of([target.host.ip().is_none()]));
            }
            Err(e) => {
                bad.push(format!("{} {e}", lines.shown));
                if bad.len() == MAX_BAD_LINES && !e.is_fatal() {
                    bad.push(format!("{}: giving up after {MAX_BAD_LINES} bad lines", lines.shown));
                    break;
                }
            }
        }
    }
    if bad.is_empty() { Ok((count, need)) } else { Err(bad) }
}

/// A live line on stderr while a list is checked: done/total, failures, elapsed, rate. Only on
/// a terminal; erased at the end.
fn progress_bar(total: Option<usize>) -> Option<indicatif::ProgressBar> {
    if !cli::live_stderr() {
        return None;
    }
    let (bar, template) = match total {
        Some(n) => {
            (indicatif::ProgressBar::new(n as u64), "{pos}/{len} targets checked, {msg}, {elapsed}, {rate}")
        }
        None => (indicatif::ProgressBar::no_length(), "{pos} targets checked, {msg}, {elapsed}, {rate}"),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        // indicatif's own {per_sec} prints four decimals; whole targets per second read better.
        let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let per_sec = state.pos() as f64 / state.elapsed().as_secs_f64().max(1e-3);
            let _ = write!(w, "{per_sec:.0}/s");
        };
        bar.set_style(style.with_key("rate", rate));
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_message("0 failed");
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn check(args: CheckArgs, out: &mut dyn Write) -> io::Result<u8> {
    let mut targets = Vec::new();
    for text in &args.targets {
        match Target::parse(text, None, args.port) {
            Ok(t) => targets.push(t),
            Err(e) => return Ok(usage("check", format_args!("bad target '{}': {e}", shown(text)))),
        }
    }
    let mut total = Some(targets.len());
    let mut listed = None;
    let mut file_need = None;
    if let Some(path) = &args.targets_file {
        if path.as_os_str() != "-" {
            match count_targets_file(path, args.port) {
                Ok((n, names)) => {
                    total = total.map(|t| t + n);
                    file_need = Some(names);
                }
                Err(messages) => {
                    for message in messages {
                        usage("check", message);
                    }
                    return Ok(cli::USAGE);
                }
            }
        } else {
            total = None;
        }
        match TargetLines::open(path, args.port) {
            Ok(lines) => listed = Some(lines),
            Err(message) => return Ok(usage("check", message)),
        }
    }
    if total == Some(0) {
        return Ok(usage("check", "no targets: the targets file lists none"));
    }
    // Standard input is read as the run goes: it may hold names and addresses alike.
    let listed_need = match (&args.targets_file, file_need) {
        (None, _) => DnsNeed::of([]),
        (Some(_), Some(need)) => need,
        (Some(_), None) => DnsNeed::of([true, false]),
    };
    let need = DnsNeed::of(targets.iter().map(|t| t.host.ip().is_none())).and(listed_need);
    let servers = match server_list("check", &args.probe, need) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let settings = AppSettings::from_process();
    let opts = CheckOptions {
        max_parallel: args.parallel,
        max_sockets: socket_budget(),
        max_addresses: args.max_addresses,
        ..check_options("check", &args.probe)
    };
    let json = args.probe.output.json;
    let brief = !json && (args.brief || (!args.full && total.is_none_or(|n| n > BRIEF_ABOVE)));
    // A handful of full reports are printed in the order given, as a person reads them;
    // anything longer streams in the order targets finish.
    let in_order = !json && !brief && total.is_some_and(|n| n <= BRIEF_ABOVE);
    let color = use_color();
    let input_error = listed.as_ref().map(|l| Arc::clone(&l.error));
    let input = targets.into_iter().chain(listed.into_iter().flatten());

    let single = total == Some(1);
    let bar = if single { None } else { progress_bar(total) };
    let mut tally = report::CheckTally::default();
    let mut held: Vec<(usize, check::TargetReport)> = Vec::new();
    let start = Instant::now();
    let ctx = Arc::new(RunContext::new(opts, settings, servers));
    // A list uses every core all the same: the run gives each core a shard of its own.
    let runtime = runtime()?;
    let ran = runtime.block_on(async {
        // Each report is rendered on the worker that checked it; this thread only writes.
        let render = move |index: usize, r: check::TargetReport| {
            let mut rendered = Vec::with_capacity(if json { 2048 } else { 128 });
            // Writing into a Vec cannot fail.
            let _ = if json {
                report::append_target_record(&mut rendered, index, &r);
                Ok(())
            } else if brief {
                report::write_target_brief(&mut rendered, &r, color)
            } else if !in_order {
                report::write_target_text(&mut rendered, &r, color)
            } else {
                Ok(())
            };
            let verdict = report::verdict_id(&r);
            RenderedTarget { verdict, failed: r.failed, rendered, report: in_order.then_some(r) }
        };
        let run = check::run_targets_prepared(
            ctx,
            input,
            render,
            |index, r: RenderedTarget, more_ready| -> io::Result<()> {
                tally.add_verdict(r.verdict, r.failed);
                let mut write = || -> io::Result<()> {
                    if !json && !brief && !in_order && tally.checked > 1 {
                        writeln!(out)?;
                    }
                    out.write_all(&r.rendered)?;
                    if more_ready { Ok(()) } else { out.flush() }
                };
                match &bar {
                    Some(bar) => {
                        bar.suspend(&mut write)?;
                        bar.inc(1);
                        bar.set_message(format!("{} failed", tally.failed));
                    }
                    None => write()?,
                }
                if let Some(report) = r.report {
                    held.push((index, report));
                }
                Ok(())
            },
            cli::interrupted(),
        );
        match single {
            true => cli::with_waiting_line(&args_display(&args), run).await,
            false => run.await,
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let end: RunEnd = ran?;
    let elapsed = start.elapsed();
    held.sort_by_key(|(index, _)| *index);
    for (i, (_, r)) in held.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        report::write_target_text(out, r, color)?;
    }
    if json {
        report::write_check_summary_record(out, &tally, &end, elapsed)?;
    } else {
        report::write_check_closing(out, &tally, &end, elapsed, brief, color)?;
    }
    out.flush()?;
    if let Some(message) = input_error.and_then(|e| TargetLines::take_error(&e)) {
        return Ok(usage("check", message));
    }
    Ok(exit_code(end.interrupted, tally.checked, tally.failed > 0))
}

/// One finished target of `check`, rendered where it was checked.
struct RenderedTarget {
    verdict: &'static str,
    failed: bool,
    rendered: Vec<u8>,
    /// Kept only when the reports are printed in input order at the end.
    report: Option<check::TargetReport>,
}

/// The normal rules (0 nothing failed, 1 a failure found) over what finished; 130 when an
/// interruption left nothing finished to judge.
fn exit_code(interrupted: bool, finished: usize, failed: bool) -> u8 {
    match (interrupted, finished, failed) {
        (true, 0, _) => INTERRUPTED,
        (_, _, true) => FAILED,
        _ => OK,
    }
}

/// The single target of a `check`, as the waiting line names it.
fn args_display(args: &CheckArgs) -> String {
    args.targets.first().cloned().unwrap_or_else(|| "the target".to_owned())
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
    let opts = CheckOptions { max_sockets: socket_budget(), ..check_options("tnc", &args.probe) };
    let ctx = RunContext::new(opts, settings, servers);
    let started = Instant::now();
    let checked = runtime()?.block_on(async {
        tokio::select! {
            r = cli::with_waiting_line(&args.host, check::check_target(&target, &ctx)) => Some(r),
            () = cli::interrupted() => None,
        }
    });
    let Some(report) = checked else {
        report::write_tnc_interrupted(out, &target.display(), started.elapsed(), args.probe.output.json)?;
        return Ok(INTERRUPTED);
    };
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
    let plan = check::plan_dependencies(&settings);
    let opts = CheckOptions { max_sockets: socket_budget(), ..check_options("deps", &args.probe) };
    let json = args.probe.output.json;
    let start = Instant::now();
    let mut checks: Vec<Option<check::TargetReport>> = vec![None; plan.targets.len()];
    let mut tally = report::CheckTally::default();
    if json {
        for u in &plan.unparsed {
            report::write_unparsed_record(out, u)?;
        }
        // A dependency that cannot be checked is already a finding.
        for (index, dep) in plan.dependencies.iter().enumerate().filter(|(_, d)| d.target.is_err()) {
            let d = dep.report(None);
            tally.add_verdict(report::dependency_verdict(&d), true);
            report::write_dependency_record(out, index, &d)?;
        }
        out.flush()?;
    }
    let ctx = Arc::new(RunContext::new(opts, settings, servers));
    let ran = runtime()?.block_on(check::run_targets(
        ctx,
        plan.targets.clone(),
        |target_index, r, more_ready| -> io::Result<()> {
            if json {
                let named =
                    plan.dependencies.iter().enumerate().filter(|(_, d)| d.target == Ok(target_index));
                for (index, dep) in named {
                    let d = dep.report(Some(r.clone()));
                    tally.add_verdict(report::dependency_verdict(&d), d.failed());
                    report::write_dependency_record(out, index, &d)?;
                }
                if !more_ready {
                    out.flush()?;
                }
            }
            checks[target_index] = Some(r);
            Ok(())
        },
        cli::interrupted(),
    ));
    let end = ran?;
    let elapsed = start.elapsed();
    if json {
        report::write_deps_summary_record(out, plan.dependencies.len(), &tally, &end, elapsed)?;
        return Ok(exit_code(end.interrupted, tally.checked, tally.failed > 0));
    }
    let dependencies: Vec<check::DependencyReport> = plan
        .dependencies
        .iter()
        .map(|d| d.report(d.target.as_ref().ok().and_then(|i| checks[*i].clone())))
        .collect();
    let found = check::DepsReport {
        failed: dependencies.iter().any(check::DependencyReport::failed),
        dependencies,
        unparsed: plan.unparsed,
    };
    report::write_deps_text(out, &found, &end, elapsed, use_color())?;
    let finished = found.dependencies.iter().filter(|d| d.check.is_some() || d.error.is_some()).count();
    Ok(exit_code(end.interrupted && !found.dependencies.is_empty(), finished, found.failed))
}

/// Without -p, Test-NetConnection pings; we have no ICMP, so tnc tests TCP 80 (its
/// `-CommonTCPPort HTTP`, and tcpping.exe's default).
const TNC_DEFAULT_PORT: Port = match Port::new(80) {
    Some(p) => p,
    None => unreachable!(),
};

/// Colour for humans only: a terminal, and no `NO_COLOR` (https://no-color.org).
fn use_color() -> bool {
    io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && cli::ansi_console()
}
