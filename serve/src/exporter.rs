//! The exporter's own metrics (`/metrics`) and the list of recent probes that `/` shows.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::params::Module;

/// Why a request got no probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    BadRequest,
    NotAllowed,
    Unauthorized,
    Overloaded,
    ShuttingDown,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::NotAllowed => "not_allowed",
            Self::Unauthorized => "unauthorized",
            Self::Overloaded => "overloaded",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// One probe as `/` lists it.
#[derive(Debug, Clone)]
pub struct RecentProbe {
    pub at: SystemTime,
    pub module: Module,
    pub target: String,
    pub success: bool,
    /// The failure class, or `ok`.
    pub verdict: &'static str,
    pub elapsed: Duration,
}

/// How many probes `/` remembers.
pub const RECENT_PROBES: usize = 20;

type ModuleResult = Vec<(&'static str, &'static str)>;

/// The counters and histograms behind `/metrics`.
pub struct ExporterMetrics {
    registry: Registry,
    probes: Family<ModuleResult, Counter>,
    durations: Family<Vec<(&'static str, &'static str)>, Histogram>,
    rejected: Family<Vec<(&'static str, &'static str)>, Counter>,
    in_flight: Gauge,
    recent: Mutex<VecDeque<RecentProbe>>,
}

fn duration_histogram() -> Histogram {
    Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 21.0])
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ExporterMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let build = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        build.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))]).set(1);
        registry.register("netdiag_build_info", "The exporter's version; always 1", build);
        let probes = Family::<ModuleResult, Counter>::default();
        registry.register(
            "netdiag_probes",
            "Probes run, by module and result (success or failure)",
            probes.clone(),
        );
        let durations = Family::<Vec<(&'static str, &'static str)>, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        registry.register(
            "netdiag_probe_duration_seconds",
            "How long probes took, by module",
            durations.clone(),
        );
        let rejected = Family::default();
        registry.register(
            "netdiag_probe_requests_rejected",
            "Probe requests refused before probing, by reason (bad_request, not_allowed, unauthorized, overloaded, shutting_down)",
            rejected.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("netdiag_probes_in_flight", "Probes running now", in_flight.clone());
        registry.register_collector(Box::new(ProcessCollector));
        // Every module and result exists from the start, so rate() sees the first probe.
        for module in Module::ALL {
            for result in ["success", "failure"] {
                let _ = probes.get_or_create(&vec![("module", module.as_str()), ("result", result)]);
            }
        }
        Self { registry, probes, durations, rejected, in_flight, recent: Mutex::new(VecDeque::new()) }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn rejected(&self, why: Rejection) {
        self.rejected.get_or_create(&vec![("reason", why.as_str())]).inc();
    }

    pub fn started(&self) {
        self.in_flight.inc();
    }

    pub fn finished(&self, probe: RecentProbe) {
        self.in_flight.dec();
        let result = if probe.success { "success" } else { "failure" };
        self.probes.get_or_create(&vec![("module", probe.module.as_str()), ("result", result)]).inc();
        self.durations
            .get_or_create(&vec![("module", probe.module.as_str())])
            .observe(probe.elapsed.as_secs_f64());
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == RECENT_PROBES {
            recent.pop_back();
        }
        recent.push_front(probe);
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<RecentProbe> {
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect()
    }
}

/// The standard `process_*` metrics, read from /proc on each scrape (Linux; elsewhere none).
#[derive(Debug)]
struct ProcessCollector;

/// What /proc says about this process.
#[derive(Debug, Default, PartialEq)]
struct ProcessStats {
    cpu_seconds: f64,
    start_time_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    threads: u64,
    open_fds: u64,
    max_fds: Option<u64>,
}

/// Clock ticks per second of /proc/self/stat: 100 on every Linux architecture we build for
/// (asking sysconf would need unsafe code).
const TICKS_PER_SECOND: f64 = 100.0;

/// Parses /proc/self/stat, /proc/self/status and the boot time from /proc/stat.
fn parse_proc(stat: &str, status: &str, boot_time: f64) -> Option<ProcessStats> {
    // The command name in parentheses may contain spaces: fields start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Field numbers of proc(5) are 1-based and count pid and comm, hence the offset of 3.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some(ProcessStats {
        cpu_seconds: (field(14)? + field(15)?) / TICKS_PER_SECOND,
        start_time_seconds: boot_time + field(22)? / TICKS_PER_SECOND,
        resident_bytes: kib("VmRSS:").unwrap_or(0) * 1024,
        virtual_bytes: kib("VmSize:").unwrap_or(0) * 1024,
        threads: field(20)? as u64,
        open_fds: 0,
        max_fds: None,
    })
}

fn read_process_stats() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let boot_time = boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse::<f64>().ok()?;
    let mut stats = parse_proc(&stat, &status, boot_time)?;
    stats.open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0);
    stats.max_fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|l| {
        l.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?.parse().ok()
    });
    Some(stats)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(s) = read_process_stats() else { return Ok(()) };
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                s.start_time_seconds,
            ),
            ("process_resident_memory_bytes", "Resident memory size in bytes", s.resident_bytes as f64),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes", s.virtual_bytes as f64),
            ("process_threads", "Number of OS threads in the process", s.threads as f64),
            ("process_open_fds", "Number of open file descriptors", s.open_fds as f64),
        ];
        for (name, help, value) in gauges.into_iter().chain(
            s.max_fds.map(|m| ("process_max_fds", "Maximum number of open file descriptors", m as f64)),
        ) {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_with_a_space_and_parenthesis_in_the_name() {
        let stat = "4242 (net diag)) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 7 0 1000 123456 789 18446744073709551615";
        let status = "Name:\tnetdiag\nVmSize:\t  20000 kB\nVmRSS:\t    5000 kB\n";
        let s = parse_proc(stat, status, 1_700_000_000.0).unwrap();
        assert_eq!(s.cpu_seconds, 2.0);
        assert_eq!(s.threads, 7);
        assert_eq!(s.start_time_seconds, 1_700_000_010.0);
        assert_eq!((s.resident_bytes, s.virtual_bytes), (5_120_000, 20_480_000));
        assert_eq!(parse_proc("garbage", status, 0.0), None);
    }

    #[test]
    fn recent_probes_are_bounded_and_newest_first() {
        let m = ExporterMetrics::new();
        for i in 0..RECENT_PROBES + 5 {
            m.started();
            m.finished(RecentProbe {
                at: SystemTime::now(),
                module: Module::Tcp,
                target: format!("t{i}"),
                success: true,
                verdict: "ok",
                elapsed: Duration::from_millis(1),
            });
        }
        let recent = m.recent();
        assert_eq!(recent.len(), RECENT_PROBES);
        assert_eq!(recent[0].target, format!("t{}", RECENT_PROBES + 4));
    }
}
