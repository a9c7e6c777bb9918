//! System checks, Django style: each plugin registers functions that inspect the
//! configured app and report problems. `check` runs them; `check --deploy` adds the
//! production checks, which `serve` also enforces when `KEEL_ENV=production`.

use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::routing::RouteInfo;
use crate::settings::AppSettings;

/// How serious a diagnostic is. `Error` makes `check` fail and `serve` refuse to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// For information.
    Info,
    /// Probably a mistake, but the app can run.
    Warning,
    /// The app must not run like this.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One finding of a system check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable identifier such as `keel.D001`, to look up and to silence.
    pub id: String,
    /// How serious.
    pub level: Level,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error-level diagnostic.
    pub fn error(id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            level: Level::Error,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning-level diagnostic.
    pub fn warning(id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(id, message)
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.id, self.level, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n    hint: {h}")?;
        }
        Ok(())
    }
}

/// What a check function can look at.
#[derive(Debug)]
pub struct CheckContext<'a> {
    /// The merged configuration.
    pub config: &'a Config,
    /// The `[app]` section.
    pub settings: &'a AppSettings,
    /// Every recorded route.
    pub routes: &'a [RouteInfo],
    /// Whether deploy checks were asked for (or the environment is production).
    pub deploy: bool,
}

/// A check function.
pub type CheckFn = Arc<dyn Fn(&CheckContext<'_>) -> Vec<Diagnostic> + Send + Sync + 'static>;

/// A registered check.
#[derive(Clone)]
pub struct Check {
    pub(crate) name: String,
    pub(crate) deploy_only: bool,
    pub(crate) run: CheckFn,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("deploy_only", &self.deploy_only)
            .finish()
    }
}

pub(crate) fn builtin_checks() -> Vec<Check> {
    vec![
        Check {
            name: "keel.routes".into(),
            deploy_only: false,
            run: Arc::new(duplicate_route_names),
        },
        Check {
            name: "keel.security".into(),
            deploy_only: true,
            run: Arc::new(secret_and_debug),
        },
    ]
}

fn duplicate_route_names(cx: &CheckContext<'_>) -> Vec<Diagnostic> {
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut out = Vec::new();
    for r in cx.routes {
        let Some(name) = r.name.as_deref() else {
            continue;
        };
        match seen.get(name) {
            Some(path) if *path != r.path => out.push(
                Diagnostic::error(
                    "keel.E002",
                    format!("route name `{name}` is used for both {path} and {}", r.path),
                )
                .hint("give each route its own name; url_for would pick the first"),
            ),
            Some(_) => {}
            None => {
                seen.insert(name, &r.path);
            }
        }
    }
    out
}

fn secret_and_debug(cx: &CheckContext<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if cx.settings.secret_key_is_insecure() {
        out.push(
            Diagnostic::error(
                "keel.D001",
                "app.secret_key is missing, the development default, or shorter than 32 bytes",
            )
            .hint(
                "set KEEL__APP__SECRET_KEY to a long random value, e.g. `openssl rand -base64 48`",
            ),
        );
    }
    if cx.settings.debug(cx.config.environment()) {
        out.push(
            Diagnostic::error("keel.D002", "debug mode is on")
                .hint("set app.debug = false (it shows internals on error pages)"),
        );
    }
    out
}
