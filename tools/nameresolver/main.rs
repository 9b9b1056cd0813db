//! nameresolver: what do the DNS servers this app uses say about a name, and which of them is
//! broken? Asks each server on its own, 3 s each, as App Service does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

#[path = "../cli.rs"]
mod cli;

use clap::Parser;
use netdiag_common::dns::{self, LookupOptions, QueryTarget, RecordKind, Transport, servers};
use netdiag_common::name::DomainName;
use netdiag_common::report::nameresolver as report;

/// Resolve a name with the DNS servers this app uses, one server at a time.
///
/// Servers: DNS_SERVER if given; else WEBSITE_DNS_SERVER (up to 5, comma-separated) then
/// WEBSITE_DNS_ALT_SERVER; else /etc/resolv.conf (the system's servers on Windows). Without an
/// explicit server the hosts file answers first, as the operating system does.
#[derive(Parser, Debug)]
#[command(
    name = "nameresolver",
    version,
    after_help = "Examples:\n  \
        nameresolver mystorage.blob.core.windows.net            # the app's own servers\n  \
        nameresolver mystorage.blob.core.windows.net 10.0.0.4   # one server\n  \
        nameresolver contoso.com --type MX --all-servers --json\n  \
        nameresolver @127.0.0.1:5353 www.example.test -t HTTPS,TYPE65  # dig's @server\n  \
        nameresolver -x 127.0.0.1 127.0.0.1:5353                    # reverse (PTR)\n\n\
        Exit codes: 0 resolved, 1 not resolved (NXDOMAIN, no data, every server failed), 2 bad usage."
)]
struct Cli {
    /// Name to resolve, or an IP address for a reverse (PTR) lookup; `@server` may come first,
    /// as with dig.
    #[arg(required_unless_present = "reverse")]
    hostname: Option<String>,
    /// DNS server to ask instead of the app's own: ip, ip:port or [v6]:port (`@` prefix allowed).
    dns_server: Option<String>,
    /// Reverse lookup of this address (PTR), as dig -x.
    #[arg(short = 'x', value_name = "ADDR")]
    reverse: Option<String>,
    /// Record type(s) to ask for: A, AAAA, CNAME, MX, TXT, SRV, NS, SOA, PTR, CAA, DS, DNSKEY,
    /// NAPTR, SVCB, HTTPS, DNAME or TYPE<n> [default: A and AAAA].
    #[arg(long = "type", short = 't', value_delimiter = ',')]
    types: Vec<String>,
    /// Do not send EDNS0 (by default a 1232-byte UDP payload is advertised).
    #[arg(long)]
    no_edns: bool,
    /// Show each record's TTL.
    #[arg(long)]
    ttl: bool,
    /// Query over TCP instead of UDP.
    #[arg(long)]
    tcp: bool,
    /// Time given to each server (e.g. 3s, 500ms) [default: WEBSITE_DNS_TIMEOUT seconds, else 3s].
    #[arg(long, value_parser = cli::positive_duration)]
    timeout: Option<Duration>,
    /// Print one JSON document with every server's outcome.
    #[arg(long)]
    json: bool,
    /// Ask every server, not just until one answers, and say whether their answers agree.
    #[arg(long)]
    all_servers: bool,
    /// Diagnostics on stderr (-v debug, -vv trace); RUST_LOG also works.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

const TOOL: &str = "nameresolver";

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    ExitCode::from(cli::bad_input(TOOL, message))
}

/// The command line's definition, for netdiag's shell completions and man pages.
#[allow(dead_code, reason = "only netdiag, which includes this file, generates them")]
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[allow(dead_code, reason = "netdiag includes this file as a module and calls run_with")]
fn main() -> ExitCode {
    run_with(std::env::args_os())
}

/// The whole tool; `args` starts with the program name. `netdiag nameresolver ...` and a netdiag
/// binary renamed `nameresolver` come here too.
pub fn run_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli: Cli = match cli::parse(TOOL, args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::init_tracing(cli.verbose);

    let (input, server_arg) = match positional(&cli) {
        Ok(found) => found,
        Err(message) => return usage_error(message),
    };
    let (target, types) = match parse_target(&input, &cli.types) {
        Ok(parsed) => parsed,
        Err(message) => return usage_error(message),
    };
    let env = |key: &str| std::env::var(key).ok();
    let explicit: Vec<String> = server_arg.into_iter().collect();
    // A broken WEBSITE_DNS_TIMEOUT or a missing resolv.conf is the platform's configuration,
    // not the user's input: say so and carry on, as tcpping and netdiag do.
    let server_list = match servers::servers_for_tool(&explicit, &env, &servers::default_resolv_conf()) {
        Ok(found) => {
            for warning in &found.warnings {
                cli::stderr_line(format_args!("{TOOL}: warning: {warning}"));
            }
            found.list
        }
        Err(e) => return usage_error(e),
    };
    let timeout = server_list.timeout(cli.timeout);
    if timeout.is_zero() {
        return usage_error("--timeout must be greater than zero");
    }
    let opts = LookupOptions {
        timeout,
        transport: if cli.tcp { Transport::Tcp } else { Transport::Udp },
        all_servers: cli.all_servers,
        edns: !cli.no_edns,
        ..LookupOptions::default()
    };

    let runtime = match cli::runtime(TOOL) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // Ctrl-C or SIGTERM: the servers that finished are reported, the one being asked is marked.
    let lookup =
        runtime.block_on(dns::lookup_until(&target, &types, &server_list, &opts, cli::interrupted()));

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if cli.json {
        report::render_json(&mut out, &input, &target, &lookup, cli.all_servers)
    } else {
        let text = report::TextOptions { all_servers: cli.all_servers, ttl: cli.ttl };
        report::render_text(&mut out, &target, &lookup, text)
    }
    .and_then(|()| out.flush());
    // An interrupted run did not finish: 130, as a shell reports Ctrl-C.
    let code = if lookup.interrupted {
        130
    } else if lookup.result().is_ok() {
        0
    } else {
        1
    };
    cli::finish(TOOL, written.map(|()| code))
}

/// The name (or address) and the server, from `HOSTNAME [SERVER]`, `@SERVER HOSTNAME`,
/// `HOSTNAME @SERVER` or `-x ADDR [SERVER]`.
fn positional(cli: &Cli) -> Result<(String, Option<String>), String> {
    let mut words: Vec<&str> = cli.hostname.iter().chain(cli.dns_server.iter()).map(String::as_str).collect();
    let mut server = None;
    if let Some(at) = words.iter().position(|w| w.starts_with('@')) {
        server = Some(words.remove(at)[1..].to_owned());
    }
    let input = match (&cli.reverse, words.as_slice()) {
        (Some(addr), []) => addr.clone(),
        (Some(addr), [other]) if server.is_none() => {
            server = Some((*other).to_owned());
            addr.clone()
        }
        (None, [name]) => (*name).to_owned(),
        (None, [name, other]) if server.is_none() => {
            server = Some((*other).to_owned());
            (*name).to_owned()
        }
        (None, []) => return Err("a name to resolve is required".to_owned()),
        _ => return Err("too many arguments: give one name and at most one server".to_owned()),
    };
    if cli.reverse.is_some()
        && dns::hosts::parse_os_address(input.trim().trim_start_matches('[').trim_end_matches(']')).is_none()
    {
        return Err(format!("-x needs an IP address, not {input}"));
    }
    Ok((input, server))
}

fn parse_target(input: &str, asked: &[String]) -> Result<(QueryTarget, Vec<RecordKind>), String> {
    let mut types = Vec::new();
    for text in asked {
        let kind: RecordKind = text.trim().parse().map_err(|e| format!("{e}"))?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    let input = input.trim();
    // What the OS would take as an address (`127.1`, `0x7f.1`) is one: a reverse lookup.
    if let Some(ip) = dns::hosts::parse_os_address(input.trim_start_matches('[').trim_end_matches(']')) {
        if types.iter().any(|t| *t != RecordKind::PTR) {
            return Err(format!("{input} is an IP address: it is looked up in reverse (PTR); drop --type"));
        }
        return Ok((QueryTarget::Reverse(ip), vec![RecordKind::PTR]));
    }
    let name = DomainName::parse(input).map_err(|e| e.to_string())?;
    if types.is_empty() {
        types = vec![RecordKind::A, RecordKind::AAAA];
    }
    Ok((QueryTarget::Name(name), types))
}
