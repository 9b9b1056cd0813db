//! Statistics over a run of probes: pure arithmetic, no I/O.

use std::time::Duration;

/// Timing statistics over the successful attempts of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    pub min: Duration,
    pub avg: Duration,
    pub max: Duration,
    /// Population standard deviation, as `ping` reports it.
    pub mdev: Duration,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    /// Mean absolute difference between consecutive samples (in the order they were taken);
    /// zero for a single sample.
    pub jitter: Duration,
}

impl Timings {
    /// `None` when there is no sample. `samples` must be in the order they were taken.
    pub fn from_samples(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
        let n = secs.len() as f64;
        let mean = secs.iter().sum::<f64>() / n;
        let variance = secs.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        let jitter = if secs.len() < 2 {
            0.0
        } else {
            secs.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (n - 1.0)
        };
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Self {
            min: sorted[0],
            avg: Duration::from_secs_f64(mean),
            max: sorted[sorted.len() - 1],
            mdev: Duration::from_secs_f64(variance.sqrt()),
            p50: percentile(&sorted, 50.0),
            p95: percentile(&sorted, 95.0),
            p99: percentile(&sorted, 99.0),
            jitter: Duration::from_secs_f64(jitter),
        })
    }
}

/// Timing statistics kept as samples arrive, in constant memory however long the run: count,
/// min, max, mean and mdev exactly (Welford's running mean and sum of squared deviations),
/// jitter exactly (a running sum of consecutive differences), and percentiles exactly
/// (nearest rank over the kept samples) for the first [`EXACT_SAMPLES`] samples, then from an
/// HDR histogram with 3 significant digits: a percentile is then within 0.1 % of a measured
/// value (never outside the measured min..max), whatever the duration of the run. Memory: the
/// kept samples (16 KiB) plus a histogram that grows with the logarithm of the largest value
/// (a few hundred KiB at most for nanosecond values up to hours).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamingTimings {
    count: u64,
    /// Seconds.
    mean: f64,
    /// Sum of squared deviations from the running mean, seconds².
    m2: f64,
    min: Duration,
    max: Duration,
    last: Option<Duration>,
    /// Sum of |x(i) - x(i-1)|, seconds.
    jitter_sum: f64,
    /// The first samples, for exact percentiles of short runs; dropped once the histogram takes over.
    exact: Vec<Duration>,
    /// Nanoseconds.
    histogram: hdrhistogram::Histogram<u64>,
}

/// Up to this many samples, percentiles are exact (nearest rank over the samples themselves).
pub const EXACT_SAMPLES: usize = 2048;

/// Significant digits kept by the histogram: relative error at most 10^-3.
const HISTOGRAM_SIGFIG: u8 = 3;

/// The largest value an auto-resizing histogram accepts.
const HISTOGRAM_MAX_NANOS: u64 = i64::MAX as u64 / 2;

impl Default for StreamingTimings {
    fn default() -> Self {
        Self {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: Duration::MAX,
            max: Duration::ZERO,
            last: None,
            jitter_sum: 0.0,
            exact: Vec::new(),
            // An auto-resizing histogram: valid for any sigfig in 0..=5, so this cannot fail.
            histogram: hdrhistogram::Histogram::new(HISTOGRAM_SIGFIG)
                .expect("3 significant digits are supported"),
        }
    }
}

impl StreamingTimings {
    pub fn record(&mut self, sample: Duration) {
        let x = sample.as_secs_f64();
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(sample);
        self.max = self.max.max(sample);
        if let Some(last) = self.last {
            self.jitter_sum += (x - last.as_secs_f64()).abs();
        }
        self.last = Some(sample);
        // The histogram grows to any value up to i64::MAX / 2 ns (146 years), so this cannot fail.
        let nanos = u64::try_from(sample.as_nanos()).unwrap_or(u64::MAX).clamp(1, HISTOGRAM_MAX_NANOS);
        let _ = self.histogram.record(nanos);
        if self.exact.len() < EXACT_SAMPLES && self.count as usize == self.exact.len() + 1 {
            self.exact.push(sample);
        } else if !self.exact.is_empty() {
            self.exact = Vec::new();
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    fn percentile(&self, pct: f64) -> Duration {
        if !self.exact.is_empty() && self.exact.len() as u64 == self.count {
            let mut sorted = self.exact.clone();
            sorted.sort_unstable();
            return percentile(&sorted, pct);
        }
        let nanos = self.histogram.value_at_quantile(pct / 100.0);
        Duration::from_nanos(nanos).clamp(self.min, self.max)
    }

    /// `None` before the first sample.
    pub fn timings(&self) -> Option<Timings> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as f64;
        let jitter = if self.count < 2 { 0.0 } else { self.jitter_sum / (n - 1.0) };
        Some(Timings {
            min: self.min,
            avg: Duration::from_secs_f64(self.mean.max(0.0)),
            max: self.max,
            mdev: Duration::from_secs_f64((self.m2 / n).max(0.0).sqrt()),
            p50: self.percentile(50.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
            jitter: Duration::from_secs_f64(jitter),
        })
    }
}

/// Nearest-rank percentile of sorted, non-empty samples: always a value that was measured.
pub fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    assert!(!sorted.is_empty(), "percentile of no samples");
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Attempts, successes and loss of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub attempts: u64,
    pub successes: u64,
}

impl Tally {
    pub fn failures(&self) -> u64 {
        self.attempts - self.successes
    }

    /// Percentage of attempts that failed; 0 for an empty run.
    pub fn loss_pct(&self) -> f64 {
        if self.attempts == 0 { 0.0 } else { self.failures() as f64 * 100.0 / self.attempts as f64 }
    }

    /// Percentage of attempts that succeeded; 0 for an empty run.
    pub fn success_pct(&self) -> f64 {
        if self.attempts == 0 { 0.0 } else { self.successes as f64 * 100.0 / self.attempts as f64 }
    }

    /// A run passes when something connected and, if a threshold is given, the loss stays
    /// within it.
    pub fn passes(&self, max_loss_pct: Option<f64>) -> bool {
        self.successes > 0 && max_loss_pct.is_none_or(|max| self.loss_pct() <= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_nanos(10)
    }

    #[test]
    fn timings_table() {
        // samples (ms), then expected min, avg, max (ms), mdev (µs), p50, p95 (ms), jitter (µs)
        type Case = (&'static [u64], u64, u64, u64, u64, u64, u64, u64);
        let cases: [Case; 5] = [
            (&[5], 5, 5, 5, 0, 5, 5, 0),
            (&[1, 3], 1, 2, 3, 1_000, 1, 3, 2_000),
            (&[2, 4, 4, 4, 5, 5, 7, 9], 2, 5, 9, 2_000, 4, 9, 1_000),
            (&[10, 10, 10, 10], 10, 10, 10, 0, 10, 10, 0),
            (&[30, 10, 20], 10, 20, 30, 8_165, 20, 30, 15_000),
        ];
        for (samples, min, avg, max, mdev_us, p50, p95, jitter_us) in cases {
            let t = Timings::from_samples(&ms(samples)).unwrap();
            assert_eq!(t.min, Duration::from_millis(min), "{samples:?}");
            assert!(close(t.avg, Duration::from_millis(avg)), "{samples:?} avg {:?}", t.avg);
            assert_eq!(t.max, Duration::from_millis(max), "{samples:?}");
            assert!(t.mdev.as_micros().abs_diff(mdev_us.into()) <= 1, "{samples:?} mdev {:?}", t.mdev);
            assert_eq!(t.p50, Duration::from_millis(p50), "{samples:?}");
            assert_eq!(t.p95, Duration::from_millis(p95), "{samples:?}");
            assert!(
                t.jitter.as_micros().abs_diff(jitter_us.into()) <= 1,
                "{samples:?} jitter {:?}",
                t.jitter
            );
        }
        assert_eq!(Timings::from_samples(&[]), None);
    }

    #[test]
    fn streaming_matches_the_exact_statistics() {
        let cases: [&[u64]; 5] = [&[5], &[1, 3], &[2, 4, 4, 4, 5, 5, 7, 9], &[10, 10, 10, 10], &[30, 10, 20]];
        for samples in cases {
            let mut streaming = StreamingTimings::default();
            for s in ms(samples) {
                streaming.record(s);
            }
            let want = Timings::from_samples(&ms(samples)).unwrap();
            let got = streaming.timings().unwrap();
            assert_eq!(
                (got.min, got.max, got.p50, got.p95, got.p99),
                (want.min, want.max, want.p50, want.p95, want.p99)
            );
            for (a, b) in [(got.avg, want.avg), (got.mdev, want.mdev), (got.jitter, want.jitter)] {
                assert!(a.abs_diff(b) < Duration::from_nanos(10), "{samples:?}: {a:?} vs {b:?}");
            }
        }
        assert_eq!(StreamingTimings::default().timings(), None);
    }

    #[test]
    fn long_runs_stay_within_the_histogram_error_bound() {
        // 100,000 samples from 50 us to 21 s, in a scrambled but reproducible order.
        let samples: Vec<Duration> =
            (0..100_000u64).map(|i| Duration::from_nanos(50_000 + (i * 7_919 % 100_000) * 210_000)).collect();
        let mut streaming = StreamingTimings::default();
        for s in &samples {
            streaming.record(*s);
        }
        let want = Timings::from_samples(&samples).unwrap();
        let got = streaming.timings().unwrap();
        assert_eq!((got.min, got.max), (want.min, want.max));
        let relative = |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()).abs() / b.as_secs_f64();
        assert!(relative(got.avg, want.avg) < 1e-9, "{:?} {:?}", got.avg, want.avg);
        assert!(relative(got.mdev, want.mdev) < 1e-9, "{:?} {:?}", got.mdev, want.mdev);
        assert!(relative(got.jitter, want.jitter) < 1e-9, "{:?} {:?}", got.jitter, want.jitter);
        for (g, w) in [(got.p50, want.p50), (got.p95, want.p95), (got.p99, want.p99)] {
            assert!(relative(g, w) <= 1e-3, "percentile {g:?} vs exact {w:?}");
        }
        assert!(streaming.exact.is_empty(), "past the exact window only the histogram remains");
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        let cases = [(0.0, 1), (1.0, 1), (50.0, 50), (95.0, 95), (99.0, 99), (99.5, 100), (100.0, 100)];
        for (pct, want) in cases {
            assert_eq!(percentile(&sorted, pct), Duration::from_millis(want), "p{pct}");
        }
    }

    #[test]
    fn tally_table() {
        // attempts, successes, loss %, passes without threshold, passes with 25 %
        let cases = [
            (4, 4, 0.0, true, true),
            (4, 3, 25.0, true, true),
            (4, 2, 50.0, true, false),
            (4, 0, 100.0, false, false),
            (0, 0, 0.0, false, false),
            (3, 2, 100.0 / 3.0, true, false),
        ];
        for (attempts, successes, loss, pass, pass_25) in cases {
            let tally = Tally { attempts, successes };
            assert!((tally.loss_pct() - loss).abs() < 1e-9, "{tally:?}");
            assert_eq!(tally.passes(None), pass, "{tally:?}");
            assert_eq!(tally.passes(Some(25.0)), pass_25, "{tally:?}");
        }
        assert!(Tally { attempts: 4, successes: 1 }.passes(Some(100.0)));
        assert!(!Tally { attempts: 4, successes: 3 }.passes(Some(0.0)));
    }
}
