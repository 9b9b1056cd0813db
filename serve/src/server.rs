//! The HTTP side: `/probe`, `/metrics` and `/`, behind optional basic auth and TLS.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use crate::allow::Allowlist;
use crate::exporter::{ExporterMetrics, RecentProbe, Rejection};
use crate::params::{Module, ProbeRequest, parse_query, shown};
use crate::probe::{self, ProbeContext};
use crate::render::{self, Format};
use crate::webconfig::{Authenticator, WebConfig, WebConfigError};

/// Default of `--listen`: blackbox_exporter's port, on loopback unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9115";
/// Default of `--max-concurrent`.
pub const DEFAULT_MAX_CONCURRENT: usize = 128;
/// Default of `--shutdown-timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest query string accepted; a probe request needs a few hundred bytes at most.
pub const MAX_QUERY_BYTES: usize = 4096;
/// hyper's buffer for a request head (its minimum): bounds the request line and headers.
const MAX_HEAD_BYTES: usize = 8192;
/// A client that connects and sends nothing (or a request head byte by byte) is dropped after
/// this long, so idle sockets cannot pile up.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub allow: Allowlist,
    pub web_config: Option<PathBuf>,
    pub max_concurrent: usize,
    /// How long in-flight probes may run on after SIGTERM before they are cut.
    pub shutdown_timeout: Duration,
    pub context: ProbeContext,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    WebConfig(#[from] WebConfigError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
    #[error("the HTTP server failed: {0}")]
    Server(std::io::Error),
}

impl ServeError {
    /// Bad input (a config file) rather than a failure of the machine.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::WebConfig(_))
    }
}

struct Shared {
    ctx: ProbeContext,
    allow: Allowlist,
    auth: Option<Authenticator>,
    metrics: ExporterMetrics,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    shutting_down: AtomicBool,
    tls: bool,
}

/// A bound, configured exporter, ready to run.
pub struct Server {
    listener: TcpListener,
    /// Loaded at bind time, so a bad certificate is reported before anything listens.
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shared: Arc<Shared>,
    shutdown_timeout: Duration,
}

impl Server {
    /// Reads the web config and binds the port; nothing is served until [`Server::run`].
    pub async fn bind(config: ServeConfig) -> Result<Self, ServeError> {
        let web = match &config.web_config {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
        let tls = match &web.tls_server_config {
            Some(tls) => {
                // Only ring is compiled in; installing it twice (tests) is harmless.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let shown = tls.cert_file.display().to_string();
                let loaded =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
                        .await
                        .map_err(|source| WebConfigError::Tls { path: shown, source })?;
                Some(loaded)
            }
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .map_err(|source| ServeError::Listen { address: config.listen, source })?;
        let shared = Arc::new(Shared {
            ctx: config.context,
            allow: config.allow,
            auth: Authenticator::new(&web.basic_auth_users),
            metrics: ExporterMetrics::new(),
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            max_concurrent: config.max_concurrent.max(1),
            shutting_down: AtomicBool::new(false),
            tls: web.tls_server_config.is_some(),
        });
        Ok(Self { listener, tls, shared, shutdown_timeout: config.shutdown_timeout })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn uses_tls(&self) -> bool {
        self.shared.tls
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight probes finish
    /// for up to the shutdown timeout, and cuts the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let app = router(Arc::clone(&self.shared));
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        let shared = Arc::clone(&self.shared);
        let grace = self.shutdown_timeout;
        tokio::spawn(async move {
            shutdown.await;
            shared.shutting_down.store(true, Ordering::SeqCst);
            tracing::info!("shutting down; in-flight probes get {grace:?}");
            stopper.graceful_shutdown(Some(grace));
        });
        let served = match self.tls {
            Some(config) => {
                // TLS offers HTTP/2 by ALPN (curl takes it); its header list is bounded too.
                let mut server = axum_server::tls_rustls::from_tcp_rustls(self.listener, config)
                    .map_err(ServeError::Server)?;
                server.http_builder().http1().max_buf_size(MAX_HEAD_BYTES).header_read_timeout(HEAD_TIMEOUT);
                server.http_builder().http2().max_header_list_size(MAX_HEAD_BYTES as u32);
                server.first_request_timeout(HEAD_TIMEOUT).handle(handle).serve(app.into_make_service()).await
            }
            None => {
                let mut server =
                    axum_server::from_tcp(self.listener).map_err(ServeError::Server)?.http1_only();
                server.http_builder().http1().max_buf_size(MAX_HEAD_BYTES).header_read_timeout(HEAD_TIMEOUT);
                server.first_request_timeout(HEAD_TIMEOUT).handle(handle).serve(app.into_make_service()).await
            }
        };
        served.map_err(ServeError::Server)
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/probe", get(probe_handler))
        .route("/metrics", get(metrics_handler))
        .route("/", get(index_handler))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), auth_layer))
        .with_state(shared)
}

/// A plain-text reply of one line.
fn line(status: StatusCode, text: impl Into<String>) -> Response {
    let mut body = text.into();
    body.push('\n');
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn auth_layer(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if let Some(auth) = &shared.auth {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !auth.check(given).await {
            shared.metrics.rejected(Rejection::Unauthorized);
            let mut response = line(StatusCode::UNAUTHORIZED, "unauthorized");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"netdiag\""));
            return response;
        }
    }
    next.run(request).await
}

/// `X-Prometheus-Scrape-Timeout-Seconds`, when present and sensible.
fn scrape_timeout(headers: &HeaderMap) -> Result<Option<Duration>, String> {
    let Some(value) = headers.get("x-prometheus-scrape-timeout-seconds") else { return Ok(None) };
    let text = value.to_str().unwrap_or_default();
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s.min(86_400.0)))),
        _ => Err(format!("bad X-Prometheus-Scrape-Timeout-Seconds '{}'", shown(text))),
    }
}

/// Why the allowlist refuses `req`, if it does.
fn refusal(allow: &Allowlist, req: &ProbeRequest) -> Option<String> {
    let port = (req.module != Module::Dns).then(|| req.target.port.get());
    if !allow.allows(&req.target.host, port) {
        return Some(format!("target '{}' is not allowed by --allow-target", shown(&req.target.to_string())));
    }
    req.dns_servers
        .iter()
        .find(|s| !allow.allows_server(**s))
        .map(|s| format!("dns_server '{s}' is not allowed by --allow-target"))
}

async fn probe_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let reject = |why: Rejection, status: StatusCode, text: String| {
        shared.metrics.rejected(why);
        line(status, text)
    };
    if shared.shutting_down.load(Ordering::SeqCst) {
        return reject(Rejection::ShuttingDown, StatusCode::SERVICE_UNAVAILABLE, "shutting down".into());
    }
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY_BYTES {
        let text = format!("query string over {MAX_QUERY_BYTES} bytes");
        return reject(Rejection::BadRequest, StatusCode::URI_TOO_LONG, text);
    }
    let req = match parse_query(&query) {
        Ok(req) => req,
        Err(e) => return reject(Rejection::BadRequest, StatusCode::BAD_REQUEST, e),
    };
    let scrape = match scrape_timeout(&headers) {
        Ok(t) => t,
        Err(e) => return reject(Rejection::BadRequest, StatusCode::BAD_REQUEST, e),
    };
    if let Some(why) = refusal(&shared.allow, &req) {
        return reject(Rejection::NotAllowed, StatusCode::FORBIDDEN, why);
    }
    let Ok(_slot) = Arc::clone(&shared.slots).try_acquire_owned() else {
        let text = format!("too many probes in flight (--max-concurrent {})", shared.max_concurrent);
        return reject(Rejection::Overloaded, StatusCode::SERVICE_UNAVAILABLE, text);
    };
    let budget = probe::budget(&req, &shared.ctx, scrape);
    shared.metrics.started();
    let result = probe::run(&req, &shared.ctx, budget).await;
    shared.metrics.finished(RecentProbe {
        at: SystemTime::now(),
        module: req.module,
        target: req.target.to_string(),
        success: result.success(),
        verdict: render::failure_class(&result).unwrap_or("ok"),
        elapsed: result.elapsed,
    });
    let mut body = Vec::with_capacity(2048);
    let (written, content_type) = if req.debug {
        (render::write_debug(&mut body, &req, &result), "text/plain; charset=utf-8")
    } else {
        let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
        (render::write_probe_metrics(&mut body, &result, format), format.content_type())
    };
    match written {
        Ok(()) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => line(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn metrics_handler(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut body = Vec::with_capacity(4096);
    match render::write_registry(&mut body, shared.metrics.registry(), format) {
        Ok(()) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(e) => line(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A percent-encoded query value.
fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn index_handler(State(shared): State<Arc<Shared>>) -> Response {
    let mut rows = String::new();
    for p in shared.metrics.recent() {
        let at = humantime::format_rfc3339_seconds(p.at).to_string();
        let debug_link =
            format!("/probe?module={}&target={}&debug=true", p.module.as_str(), query_value(&p.target));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{:.3}s</td></tr>\n",
            escape_html(&at),
            p.module.as_str(),
            escape_html(&debug_link),
            escape_html(&p.target),
            if p.success { "success" } else { "failure" },
            escape_html(p.verdict),
            p.elapsed.as_secs_f64(),
        ));
    }
    let options: String = Module::ALL
        .iter()
        .map(|m| {
            format!("<option{}>{}</option>", if *m == Module::Check { " selected" } else { "" }, m.as_str())
        })
        .collect();
    let allow = if shared.allow.is_open() {
        "any target (no --allow-target)".to_owned()
    } else {
        shared.allow.rules.iter().map(|r| escape_html(&r.to_string())).collect::<Vec<_>>().join(", ")
    };
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>netdiag exporter</title></head><body>\n\
         <h1>netdiag exporter</h1>\n<p>Version {version}. Modules: tcp, dns, check (default). Allowed: {allow}.</p>\n\
         <p><a href=\"/metrics\">Exporter metrics</a></p>\n\
         <form action=\"/probe\" method=\"get\">\n<label>Target <input name=\"target\" placeholder=\"host:port\" required></label>\n\
         <label>Module <select name=\"module\">{options}</select></label>\n\
         <label><input type=\"checkbox\" name=\"debug\" value=\"true\"> Debug</label>\n<button>Probe</button>\n</form>\n\
         <h2>Recent probes</h2>\n<table>\n<tr><th>Time</th><th>Module</th><th>Target</th><th>Result</th><th>Verdict</th><th>Duration</th></tr>\n\
         {rows}</table>\n</body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// Shown at start-up: a prober reachable from the network probes for whoever finds it.
pub fn open_listener_warning(listen: SocketAddr, allow: &Allowlist) -> Option<String> {
    (allow.is_open() && !listen.ip().is_loopback()).then(|| {
        format!(
            "listening on {listen} without --allow-target: anyone who can reach it can make it probe any host"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<a href='x'>\"&\u{7}"), "&lt;a href=&#39;x&#39;&gt;&quot;&amp;\u{FFFD}");
    }

    #[test]
    fn warning_only_for_an_open_non_loopback_listener() {
        let open = Allowlist::default();
        let closed = Allowlist { rules: vec!["127.0.0.1".parse().unwrap()] };
        assert!(open_listener_warning("0.0.0.0:9115".parse().unwrap(), &open).is_some());
        assert!(open_listener_warning("127.0.0.1:9115".parse().unwrap(), &open).is_none());
        assert!(open_listener_warning("0.0.0.0:9115".parse().unwrap(), &closed).is_none());
    }

    #[test]
    fn scrape_timeout_header() {
        let mut h = HeaderMap::new();
        assert_eq!(scrape_timeout(&h), Ok(None));
        h.insert("x-prometheus-scrape-timeout-seconds", HeaderValue::from_static("2.5"));
        assert_eq!(scrape_timeout(&h), Ok(Some(Duration::from_millis(2500))));
        h.insert("x-prometheus-scrape-timeout-seconds", HeaderValue::from_static("-1"));
        assert!(scrape_timeout(&h).is_err());
    }
}
