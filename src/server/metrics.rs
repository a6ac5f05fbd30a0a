//! [`Metrics`]: the service's counters and latency histograms, hand-rolled
//! on atomics and rendered in the Prometheus text format (version 0.0.4).
//! Label values are bounded: routes are the app's patterns (`unmatched` for
//! any other path) and methods the standard ones (`OTHER` otherwise), so
//! random paths cannot grow the series without limit.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use super::overload::Shed;
use crate::StanceModel;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket, then the `+Inf` overflow.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

type StatusKey = (&'static str, u16);

#[derive(Default)]
struct RouteStats {
    latency: Histogram,
    by_status: RwLock<HashMap<StatusKey, AtomicU64>>,
}

impl RouteStats {
    fn observe(&self, method: &'static str, status: u16, latency: Duration) {
        self.latency.observe(latency);
        let key = (method, status);
        {
            let map = self.by_status.read().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = map.get(&key) {
                c.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut map = self.by_status.write().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters of one service instance. Cheap to update from many workers: read
/// locks and atomic adds; a write lock only the first time a route or a
/// (method, status) pair is seen.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, RouteStats>>,
    documents: AtomicU64,
    paragraphs: AtomicU64,
    bytes: AtomicU64,
    documents_rejected: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    key_reloads_ok: AtomicU64,
    key_reloads_failed: AtomicU64,
    shed_overloaded: AtomicU64,
    shed_request_timeout: AtomicU64,
    shed_deadline_exceeded: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("documents", &self.documents.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A bounded method label.
pub fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Which way a reload (of the model or of the API keys) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new model (or key set) was loaded, checked and swapped in.
    Success,
    /// The new model (or key set) was refused; the old one still serves.
    Failure,
}

impl Metrics {
    /// Counts one finished request and its latency. `route` is the matched
    /// pattern, or `None` for an unmatched path.
    pub fn observe_request(
        &self,
        route: Option<&str>,
        method: &'static str,
        status: u16,
        latency: Duration,
    ) {
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        {
            let map = self.routes.read().unwrap_or_else(|e| e.into_inner());
            if let Some(stats) = map.get(route) {
                stats.observe(method, status, latency);
                return;
            }
        }
        let mut map = self.routes.write().unwrap_or_else(|e| e.into_inner());
        map.entry(route.to_string())
            .or_default()
            .observe(method, status, latency);
    }

    /// Counts one scored document of `bytes` bytes and `paragraphs` paragraphs.
    pub fn observe_document(&self, bytes: usize, paragraphs: usize) {
        self.documents.fetch_add(1, Ordering::Relaxed);
        self.paragraphs
            .fetch_add(paragraphs as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts one batch entry that was rejected.
    pub fn observe_rejected_document(&self) {
        self.documents_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one scoring request answered without a result (503, 408 or 504).
    pub fn observe_shed(&self, shed: Shed) {
        match shed {
            Shed::Overloaded => &self.shed_overloaded,
            Shed::RequestTimeout => &self.shed_request_timeout,
            Shed::DeadlineExceeded => &self.shed_deadline_exceeded,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one reload attempt.
    pub fn observe_reload(&self, outcome: ReloadOutcome) {
        match outcome {
            ReloadOutcome::Success => &self.reloads_ok,
            ReloadOutcome::Failure => &self.reloads_failed,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one API keys reload attempt.
    pub fn observe_api_keys_reload(&self, outcome: ReloadOutcome) {
        match outcome {
            ReloadOutcome::Success => &self.key_reloads_ok,
            ReloadOutcome::Failure => &self.key_reloads_failed,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// API keys reload attempts so far that kept the old keys.
    pub fn api_keys_reload_failures(&self) -> u64 {
        self.key_reloads_failed.load(Ordering::Relaxed)
    }

    /// Documents scored so far.
    pub fn documents_scored(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }

    /// Reload attempts so far that kept the old model.
    pub fn reload_failures(&self) -> u64 {
        self.reloads_failed.load(Ordering::Relaxed)
    }

    /// Renders every metric in the Prometheus text format; `model` is the
    /// one serving now (exported as the `stance_model_info` gauge),
    /// `in_flight` the scoring requests holding a slot and `limit` their
    /// limit (`max_in_flight`).
    pub fn render(&self, model: &StanceModel, in_flight: usize, limit: usize) -> String {
        let mut out = String::with_capacity(4096);
        let _ = self.render_into(&mut out, model, in_flight, limit);
        out
    }

    fn render_into(
        &self,
        out: &mut String,
        model: &StanceModel,
        in_flight: usize,
        limit: usize,
    ) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP stance_http_requests_total HTTP requests by route, method and status."
        )?;
        writeln!(out, "# TYPE stance_http_requests_total counter")?;
        let map = self.routes.read().unwrap_or_else(|e| e.into_inner());
        let mut routes: Vec<_> = map.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        for (route, stats) in &routes {
            let by_status = stats.by_status.read().unwrap_or_else(|e| e.into_inner());
            let mut rows: Vec<_> = by_status.iter().collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for ((method, status), c) in rows {
                writeln!(
                    out,
                    "stance_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                    escape(route),
                    c.load(Ordering::Relaxed)
                )?;
            }
        }
        writeln!(
            out,
            "# HELP stance_http_request_duration_seconds Request latency by route."
        )?;
        writeln!(out, "# TYPE stance_http_request_duration_seconds histogram")?;
        for (route, stats) in &routes {
            let h = &stats.latency;
            let route = escape(route);
            let mut cumulative = 0;
            for (i, b) in h.buckets.iter().enumerate() {
                cumulative += b.load(Ordering::Relaxed);
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                writeln!(
                    out,
                    "stance_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                )?;
            }
            let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            writeln!(
                out,
                "stance_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            )?;
            writeln!(
                out,
                "stance_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count.load(Ordering::Relaxed)
            )?;
        }
        drop(routes);
        drop(map);
        let counters = [
            (
                "stance_documents_scored_total",
                "Documents scored.",
                &self.documents,
            ),
            (
                "stance_paragraphs_scored_total",
                "Paragraphs scored.",
                &self.paragraphs,
            ),
            (
                "stance_bytes_scored_total",
                "Bytes of text scored (UTF-8).",
                &self.bytes,
            ),
            (
                "stance_documents_rejected_total",
                "Batch documents answered with an error entry.",
                &self.documents_rejected,
            ),
        ];
        for (name, help, c) in counters {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} counter")?;
            writeln!(out, "{name} {}", c.load(Ordering::Relaxed))?;
        }
        writeln!(
            out,
            "# HELP stance_model_reloads_total Model reload attempts by result."
        )?;
        writeln!(out, "# TYPE stance_model_reloads_total counter")?;
        writeln!(
            out,
            "stance_model_reloads_total{{result=\"success\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "stance_model_reloads_total{{result=\"failure\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP stance_api_keys_reloads_total API keys file reload attempts (SIGHUP) by result."
        )?;
        writeln!(out, "# TYPE stance_api_keys_reloads_total counter")?;
        writeln!(
            out,
            "stance_api_keys_reloads_total{{result=\"success\"}} {}",
            self.key_reloads_ok.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "stance_api_keys_reloads_total{{result=\"failure\"}} {}",
            self.key_reloads_failed.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP stance_requests_shed_total Scoring requests answered without a result, by reason: overloaded (503, every max_in_flight slot taken), request_timeout (408, body not received by the deadline), deadline_exceeded (504, scoring not finished by the deadline)."
        )?;
        writeln!(out, "# TYPE stance_requests_shed_total counter")?;
        for shed in [
            Shed::Overloaded,
            Shed::RequestTimeout,
            Shed::DeadlineExceeded,
        ] {
            let c = match shed {
                Shed::Overloaded => &self.shed_overloaded,
                Shed::RequestTimeout => &self.shed_request_timeout,
                Shed::DeadlineExceeded => &self.shed_deadline_exceeded,
            };
            writeln!(
                out,
                "stance_requests_shed_total{{reason=\"{}\"}} {}",
                shed.as_str(),
                c.load(Ordering::Relaxed)
            )?;
        }
        writeln!(
            out,
            "# HELP stance_in_flight_requests Scoring requests holding a slot now (including work still running after its deadline)."
        )?;
        writeln!(out, "# TYPE stance_in_flight_requests gauge")?;
        writeln!(out, "stance_in_flight_requests {in_flight}")?;
        writeln!(
            out,
            "# HELP stance_in_flight_limit Most scoring requests admitted at once (max_in_flight)."
        )?;
        writeln!(out, "# TYPE stance_in_flight_limit gauge")?;
        writeln!(out, "stance_in_flight_limit {limit}")?;
        writeln!(
            out,
            "# HELP stance_model_info The model serving now (value is always 1)."
        )?;
        writeln!(out, "# TYPE stance_model_info gauge")?;
        writeln!(
            out,
            "stance_model_info{{model=\"{}\",version=\"{}\",checksum=\"{}\"}} 1",
            escape(&model.id()),
            escape(&model.meta().version),
            escape(model.checksum())
        )?;
        Ok(())
    }
}

/// Escapes a Prometheus label value.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_cumulative_buckets() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(700));
        h.observe(Duration::from_secs(60));
        let counts: Vec<u64> = h
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 1, "50us <= 0.1ms");
        assert_eq!(counts[3], 1, "700us <= 1ms");
        assert_eq!(counts[LATENCY_BUCKETS.len()], 1, "60s overflows to +Inf");
        assert_eq!(h.count.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
