//! Prometheus metrics: requests by route, method and status with latency
//! histograms, tool calls by tool and outcome, and database pool use.
//! Routes are normalised (ids become `{id}`, unmatched paths one label) so
//! label sets stay bounded whatever clients send.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    tool_calls: IntCounterVec,
    pool: IntGaugeVec,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("aiapi".into()), None).expect("a valid prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("valid metric");
        let tool_calls = IntCounterVec::new(
            Opts::new("tool_calls_total", "Tool calls by tool and outcome"),
            &["tool", "outcome"],
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(tool_calls.clone()),
            Box::new(pool.clone()),
        ] {
            registry.register(collector).expect("registered once");
        }
        Self {
            registry,
            requests,
            latency,
            tool_calls,
            pool,
        }
    }

    /// Counts a finished request.
    pub fn request(&self, path: &str, method: &str, status: u16, elapsed: Duration) {
        let route = if status == 404 {
            "unmatched".to_owned()
        } else {
            route(path)
        };
        self.requests
            .with_label_values(&[route.as_str(), method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a tool call; unknown tools share one label.
    pub fn tool_call(&self, tool: &str, known: bool, outcome: &str) {
        let tool = if known { tool } else { "unknown" };
        self.tool_calls.with_label_values(&[tool, outcome]).inc();
    }

    /// The text exposition, with the pool gauges as of now.
    pub fn render(&self, pool_in_use: u32, pool_idle: u32) -> String {
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool_in_use));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool_idle));
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The path with every id-like segment replaced by `{id}`.
fn route(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id_like = segment.chars().all(|c| c.is_ascii_digit() || c == '-')
                && !segment.is_empty()
                || segment.len() > 24
                || segment.starts_with("aiapi_");
            if id_like { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_bounded() {
        assert_eq!(route("/api/v1/items/42"), "/api/v1/items/{id}");
        assert_eq!(
            route("/api/v1/mcp/session/0b0bebeb-a82a-40d3-a96e-c5180ff7a16e/context"),
            "/api/v1/mcp/session/{id}/context"
        );
        assert_eq!(route("/auth/me"), "/auth/me");
        let metrics = Metrics::new();
        metrics.request("/api/v1/items/7", "GET", 200, Duration::from_millis(3));
        metrics.tool_call("create_item", true, "success");
        let text = metrics.render(1, 2);
        assert!(text.contains(r#"aiapi_http_requests_total{method="GET",route="/api/v1/items/{id}",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"aiapi_tool_calls_total{outcome="success",tool="create_item"} 1"#));
        assert!(text.contains(r#"aiapi_db_pool_connections{state="idle"} 2"#));
    }
}
