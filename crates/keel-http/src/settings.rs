//! The config sections the HTTP layer reads: `[server]`, `[security]`, `[cors]`, `[log]`,
//! `[observability]`, `[static]` and `[middleware]`. Every key has a default; see
//! `docs/config.md` for the full reference.

use std::path::PathBuf;
use std::time::Duration;

use keel_core::config::{ByteSize, Environment, duration};
use serde::{Deserialize, Serialize};

/// How the server schedules connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeMode {
    /// Serve on the application's multi-threaded tokio runtime (work-stealing): robust
    /// when requests differ a lot in cost. The default.
    #[default]
    MultiThread,
    /// One OS thread per worker, each with a single-threaded runtime and its own
    /// `SO_REUSEPORT` listener: no cross-thread wake-ups, the fastest for uniform,
    /// short requests (what TechEmpower entries do).
    PerCore,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind. Default `127.0.0.1`.
    pub host: String,
    /// Port to bind (`PORT` sets it too). `0` picks a free port. Default `8000`.
    pub port: u16,
    /// `multi-thread` (default) or `per-core`.
    pub runtime: RuntimeMode,
    /// Worker threads for `per-core` (0 = one per CPU).
    pub workers: usize,
    /// Accept HTTP/2 (h2c with prior knowledge, or ALPN `h2` over TLS). Default on.
    pub http2: bool,
    /// Keep HTTP/1.1 connections alive between requests. Default on.
    pub keep_alive: bool,
    /// Close a connection whose request head has not arrived within this time.
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// Answer 503 when a handler runs longer than this (`0s` = no limit).
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// On SIGTERM/SIGINT, wait this long for in-flight requests before exiting.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// The one request body limit (413 above it). Default `2MiB`.
    pub body_limit: ByteSize,
    /// How much of an oversized body (declared by `Content-Length`) is read and thrown
    /// away so the connection can be reused after the 413. Larger bodies close the
    /// connection instead.
    pub body_drain_limit: ByteSize,
    /// Value of the `Server` response header; empty = no header (the default).
    pub server_header: String,
    /// Listen backlog.
    pub backlog: u32,
    /// TLS: certificate chain and private key (PEM). Both or neither.
    pub tls: Option<TlsSettings>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            runtime: RuntimeMode::default(),
            workers: 0,
            http2: true,
            keep_alive: true,
            header_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            body_limit: ByteSize::mib(2),
            body_drain_limit: ByteSize::mib(1),
            server_header: String::new(),
            backlog: 1024,
            tls: None,
        }
    }
}

/// `[server.tls]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file with the certificate chain.
    pub cert: PathBuf,
    /// PEM file with the private key.
    pub key: PathBuf,
}

/// `[security]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Host names this app answers to (Django's `ALLOWED_HOSTS`): exact names,
    /// `.example.com` for a domain and its subdomains, or `*` for any. Unset = the
    /// local names outside production, nothing in production (which `check --deploy`
    /// reports).
    pub allowed_hosts: Option<Vec<String>>,
    /// `Content-Security-Policy` for HTML responses; empty = none.
    pub content_security_policy: String,
    /// `X-Frame-Options` for HTML responses; empty = none.
    pub frame_options: String,
    /// `Referrer-Policy`; empty = none.
    pub referrer_policy: String,
    /// `Cross-Origin-Opener-Policy` for HTML responses; empty = none.
    pub cross_origin_opener_policy: String,
    /// Send `X-Content-Type-Options: nosniff`.
    pub content_type_nosniff: bool,
    /// `Strict-Transport-Security` max-age; unset = one year in production, none
    /// elsewhere. `0s` turns it off.
    #[serde(default, with = "opt_duration")]
    pub hsts_max_age: Option<Duration>,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Add `preload` to HSTS.
    pub hsts_preload: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            allowed_hosts: None,
            content_security_policy:
                "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                                      base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
                    .to_owned(),
            frame_options: "DENY".to_owned(),
            referrer_policy: "same-origin".to_owned(),
            cross_origin_opener_policy: "same-origin".to_owned(),
            content_type_nosniff: true,
            hsts_max_age: None,
            hsts_include_subdomains: true,
            hsts_preload: false,
        }
    }
}

impl SecuritySettings {
    /// The allowed hosts in effect for `environment`.
    pub fn effective_allowed_hosts(&self, environment: Environment) -> Vec<String> {
        match &self.allowed_hosts {
            Some(hosts) => hosts.clone(),
            None if environment.is_production() => Vec::new(),
            None => ["localhost", ".localhost", "127.0.0.1", "[::1]"]
                .map(str::to_owned)
                .to_vec(),
        }
    }

    /// The HSTS max-age in effect for `environment` (`None` = no header).
    pub fn effective_hsts(&self, environment: Environment) -> Option<Duration> {
        match self.hsts_max_age {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None if environment.is_production() => Some(Duration::from_secs(31_536_000)),
            None => None,
        }
    }
}

mod opt_duration {
    use super::*;
    use serde::Deserializer;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        duration::deserialize(d).map(Some)
    }

    pub(super) fn serialize<S: serde::Serializer>(
        v: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

/// `[cors]`. CORS is off until `allow_origins` lists something.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to make cross-site requests (`https://app.example.com`), or `*`.
    pub allow_origins: Vec<String>,
    /// Methods allowed in cross-site requests.
    pub allow_methods: Vec<String>,
    /// Request headers allowed in cross-site requests.
    pub allow_headers: Vec<String>,
    /// Response headers scripts may read.
    pub expose_headers: Vec<String>,
    /// Allow cookies and `Authorization` (not with `*`).
    pub allow_credentials: bool,
    /// How long a preflight answer may be cached.
    #[serde(with = "duration")]
    pub max_age: Duration,
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self {
            allow_origins: Vec::new(),
            allow_methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
                .map(str::to_owned)
                .to_vec(),
            allow_headers: [
                "accept",
                "authorization",
                "content-type",
                "x-csrf-token",
                "x-request-id",
            ]
            .map(str::to_owned)
            .to_vec(),
            expose_headers: vec!["x-request-id".to_owned()],
            allow_credentials: false,
            max_age: Duration::from_secs(3600),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON in production, pretty elsewhere.
    #[default]
    Auto,
    /// Multi-line, coloured, for people.
    Pretty,
    /// One line per event, for people.
    Compact,
    /// One JSON object per line, for machines.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `info,my_app=debug`. `RUST_LOG` wins.
    pub level: String,
    /// `auto`, `pretty`, `compact` or `json`.
    pub format: LogFormat,
    /// Log one line per finished request (target `keel::request`).
    pub requests: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Auto,
            requests: true,
        }
    }
}

/// `[observability]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObservabilitySettings {
    /// Liveness endpoint; empty = none.
    pub health_path: String,
    /// Readiness endpoint; empty = none.
    pub ready_path: String,
    /// How long each readiness probe may take.
    #[serde(with = "duration")]
    pub readiness_timeout: Duration,
    /// Collect HTTP metrics and serve them.
    pub metrics: bool,
    /// Prometheus endpoint.
    pub metrics_path: String,
    /// If set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
}

impl Default for ObservabilitySettings {
    fn default() -> Self {
        Self {
            health_path: "/_health".to_owned(),
            ready_path: "/_ready".to_owned(),
            readiness_timeout: Duration::from_secs(2),
            metrics: true,
            metrics_path: "/metrics".to_owned(),
            metrics_token: None,
        }
    }
}

/// `[static]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaticSettings {
    /// Serve static files at all.
    pub enabled: bool,
    /// The folder (used unless the app embeds its assets).
    pub dir: PathBuf,
    /// The URL prefix.
    pub url: String,
    /// `Cache-Control: max-age` outside development (development sends `no-cache`).
    #[serde(with = "duration")]
    pub max_age: Duration,
}

impl Default for StaticSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: PathBuf::from("static"),
            url: "/static".to_owned(),
            max_age: Duration::from_secs(3600),
        }
    }
}

/// `[middleware]`: switch individual default layers off. Everything is on by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiddlewareSettings {
    /// Accept or generate `x-request-id`.
    pub request_id: bool,
    /// A tracing span per request (and the request log line).
    pub trace: bool,
    /// Turn panics into 500 problems.
    pub catch_panic: bool,
    /// Apply `server.request_timeout`.
    pub timeout: bool,
    /// Apply `server.body_limit`.
    pub body_limit: bool,
    /// gzip / br response compression.
    pub compression: bool,
    /// The `[security]` response headers.
    pub security_headers: bool,
    /// Reject requests for hosts not in `security.allowed_hosts`.
    pub trusted_hosts: bool,
}

impl Default for MiddlewareSettings {
    fn default() -> Self {
        Self {
            request_id: true,
            trace: true,
            catch_panic: true,
            timeout: true,
            body_limit: true,
            compression: true,
            security_headers: true,
            trusted_hosts: true,
        }
    }
}
