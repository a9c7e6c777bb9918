//! The process-wide tracing subscriber, installed once by `run()`.

use keel_core::config::Environment;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber: `RUST_LOG` or `log.level` as the filter; JSON lines
/// in production (or `log.format = "json"`), human-readable otherwise. Does nothing if
/// a subscriber is already installed.
pub fn init(settings: &LogSettings, environment: Environment) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let format = match settings.format {
        LogFormat::Auto if environment.is_production() => LogFormat::Json,
        LogFormat::Auto => LogFormat::Compact,
        other => other,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
        LogFormat::Compact | LogFormat::Auto => builder.compact().try_init(),
    };
    // An app or test that installed its own subscriber keeps it.
    let _ = result;
}
