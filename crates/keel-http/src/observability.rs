//! `/_health` (liveness), `/_ready` (readiness: every registered probe) and `/metrics`
//! (Prometheus text).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use keel_core::{AppState, Error};
use serde_json::json;

use crate::middleware::HttpMetrics;
use crate::settings::ObservabilitySettings;

/// The handle of the process-wide `metrics` recorder, set once by `run()` so that
/// metrics recorded with the `metrics` crate's macros appear on `/metrics` too.
static GLOBAL_PROMETHEUS: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process-wide `metrics` recorder (once; later
/// calls do nothing). Called by `run()`, never by library code or tests.
pub fn install_global_recorder() {
    GLOBAL_PROMETHEUS.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::debug!(target: "keel::server", "a metrics recorder was already installed");
        }
        handle
    });
}

/// Liveness: the process answers.
pub async fn health() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

/// Readiness: 200 when every probe passes, 503 naming the ones that failed.
pub async fn ready(State(state): State<AppState>) -> Response {
    let timeout = state
        .get::<ObservabilitySettings>()
        .map(|s| s.readiness_timeout)
        .unwrap_or(std::time::Duration::from_secs(2));
    let results = state.check_readiness(timeout).await;
    let all_ok = results.iter().all(|r| r.outcome.is_ok());
    let checks: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|r| {
            let v = match r.outcome {
                Ok(()) => json!({"status": "ok"}),
                Err(why) => json!({"status": "failed", "error": why}),
            };
            (r.name, v)
        })
        .collect();
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if all_ok { "ready" } else { "unavailable" },
        "checks": checks,
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// Prometheus text exposition (HTTP series plus anything recorded with `metrics`).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    if let Some(token) = state
        .get::<ObservabilitySettings>()
        .and_then(|s| s.metrics_token.as_deref())
        .filter(|t| !t.is_empty())
    {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return Err(Error::unauthorized("A valid metrics token is required.")
                .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
    }
    let mut body = state
        .get::<Arc<HttpMetrics>>()
        .map(|m| m.render())
        .unwrap_or_default();
    if let Some(handle) = GLOBAL_PROMETHEUS.get() {
        body.push_str(&handle.render());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
