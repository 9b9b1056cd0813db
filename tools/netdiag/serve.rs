//! `netdiag serve`: the arguments, then the exporter of `netdiag-serve` until SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;
use netdiag_common::dns::{ServerList, servers};
use netdiag_common::env::AppSettings;
use netdiag_serve::{AllowRule, Allowlist, ProbeContext, ServeConfig, Server, server};

use crate::cli;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    netdiag serve\n  \
    netdiag serve --listen 0.0.0.0:9115 --allow-target 10.0.0.0/8 --allow-target '*.database.windows.net:1433'\n  \
    curl 'http://127.0.0.1:9115/probe?target=10.0.1.4:5432&module=tcp'\n\n\
    Modules: tcp (one connect), dns (every DNS server asked), check (the whole checklist, the default).\n\
    Scrape it as blackbox_exporter: /probe?target=HOST[:PORT]&module=NAME; see docs/serve.md.")]
pub struct ServeArgs {
    /// Address and port to listen on (blackbox_exporter's port, loopback only by default);
    /// blackbox's spelling --web.listen-address also works.
    #[arg(long, alias = "web.listen-address", default_value = server::DEFAULT_LISTEN, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// What may be probed (repeatable): a CIDR, an IP, a host name, *.suffix or *, each with an
    /// optional :PORT or :LOW-HIGH ([v6]:PORT for IPv6). Without any rule, anything may be.
    #[arg(long = "allow-target", value_name = "RULE")]
    allow_target: Vec<AllowRule>,
    /// TLS and basic auth, in the YAML format of Prometheus' exporter-toolkit.
    #[arg(long = "web.config.file", value_name = "PATH")]
    web_config_file: Option<PathBuf>,
    /// Probes running at once; more requests get 503.
    #[arg(long, default_value_t = server::DEFAULT_MAX_CONCURRENT, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    max_concurrent: usize,
    /// After SIGTERM, how long in-flight probes may finish before they are cut.
    #[arg(long, default_value = "10s", value_parser = cli::duration, value_name = "DURATION")]
    shutdown_timeout: Duration,
    /// DNS servers to ask, in order, instead of the app's own (repeatable); a probe's
    /// dns_server parameters override them.
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    dns_servers: Vec<String>,
}

pub fn serve(args: ServeArgs) -> u8 {
    let found = match servers::servers_for_tool(
        &args.dns_servers,
        &crate::env_var,
        &servers::default_resolv_conf(),
    ) {
        Ok(found) => found,
        // A broken WEBSITE_DNS_SERVER must not stop probes of IP addresses, nor of names with
        // their own dns_server: names without one fail as no_dns_servers.
        Err(e) if args.dns_servers.is_empty() => {
            cli::stderr_line(format_args!(
                "netdiag serve: warning: ignoring {e}: names need a dns_server parameter"
            ));
            servers::ToolServers {
                list: ServerList {
                    servers: Vec::new(),
                    source: servers::ServerSource::WebsiteDnsServer,
                    env_timeout: None,
                    warnings: vec![e.to_string()],
                },
                warnings: Vec::new(),
            }
        }
        Err(e) => return crate::usage("serve", e),
    };
    for warning in &found.warnings {
        cli::stderr_line(format_args!("netdiag serve: warning: {warning}"));
    }
    let allow = Allowlist { rules: args.allow_target };
    if let Some(warning) = server::open_listener_warning(args.listen, &allow) {
        cli::stderr_line(format_args!("netdiag serve: warning: {warning}"));
    }
    let hosts_file = (!found.list.is_explicit()).then(netdiag_common::dns::default_hosts_path);
    let config = ServeConfig {
        listen: args.listen,
        allow,
        web_config: args.web_config_file,
        max_concurrent: args.max_concurrent,
        shutdown_timeout: args.shutdown_timeout,
        context: ProbeContext { servers: found.list, settings: AppSettings::from_process(), hosts_file },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            cli::stderr_line(format_args!("netdiag serve: cannot start the async runtime: {e}"));
            return 1;
        }
    };
    let served = runtime.block_on(async {
        let server = Server::bind(config).await?;
        let scheme = if server.uses_tls() { "https" } else { "http" };
        if let Ok(address) = server.local_addr() {
            cli::stderr_line(format_args!("netdiag serve: listening on {scheme}://{address}"));
        }
        server.run(cli::interrupted()).await
    });
    match served {
        Ok(()) => {
            cli::stderr_line(format_args!("netdiag serve: stopped"));
            0
        }
        Err(e) if e.is_usage() => crate::usage("serve", e),
        Err(e) => {
            cli::stderr_line(format_args!("netdiag serve: {e}"));
            1
        }
    }
}
