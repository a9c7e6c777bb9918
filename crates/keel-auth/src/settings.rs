//! The `[auth]` config section.

use std::time::Duration;

use keel_core::config::duration;
use serde::Deserialize;

use crate::password::{HasherSettings, PolicySettings};

/// `[auth]`.
///
/// ```toml
/// [auth]
/// mount = "/auth"              # where the login, sign-up, reset… pages live
/// login_redirect = "/"
/// require_verified_email = false
/// remember_me = "30days"
/// token_scheme = "Bearer"      # RealWorld uses "Token"
///
/// [auth.hasher]                # argon2id
/// memory_kib = 19456
/// iterations = 2
/// parallelism = 1
///
/// [auth.throttle]
/// max_failures = 5             # per account, in `window`
/// max_failures_per_ip = 50
/// window = "15m"
///
/// [auth.jwt]
/// enabled = false
/// algorithm = "HS256"          # or "EdDSA", "RS256" with the keys below
/// ttl = "1day"
/// leeway = "60s"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Where the account pages are mounted. Empty: the app mounts
    /// [`routes`](crate::flows::routes) itself (or not at all).
    pub mount: String,
    /// Where a browser goes after logging in, when no safe `next` was given.
    pub login_redirect: String,
    /// Where a browser goes after logging out.
    pub logout_redirect: String,
    /// Refuse logins until the address is verified.
    pub require_verified_email: bool,
    /// How long "remember me" keeps a login (without it, the login ends when the
    /// browser closes). Capped by the session's own timeouts.
    #[serde(with = "duration")]
    pub remember_me: Duration,
    /// How long a password-reset link works.
    #[serde(with = "duration")]
    pub reset_token_ttl: Duration,
    /// How long an email-verification link works.
    #[serde(with = "duration")]
    pub verify_token_ttl: Duration,
    /// The `Authorization` scheme of API tokens and JWTs (`Bearer`; RealWorld: `Token`).
    pub token_scheme: String,
    /// The prefix of personal access tokens (so that secret scanners can find them).
    pub token_prefix: String,
    /// argon2id parameters. Unset in the test environment: the cheapest valid ones.
    pub hasher: Option<HasherSettings>,
    /// The password policy.
    pub password: PolicySettings,
    /// Failed-login throttling.
    pub throttle: ThrottleSettings,
    /// Stateless JWT mode.
    pub jwt: JwtSettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mount: "/auth".into(),
            login_redirect: "/".into(),
            logout_redirect: "/".into(),
            require_verified_email: false,
            remember_me: Duration::from_secs(30 * 24 * 3600),
            reset_token_ttl: Duration::from_secs(3600),
            verify_token_ttl: Duration::from_secs(3 * 24 * 3600),
            token_scheme: "Bearer".into(),
            token_prefix: "keel_".into(),
            hasher: None,
            password: PolicySettings::default(),
            throttle: ThrottleSettings::default(),
            jwt: JwtSettings::default(),
        }
    }
}

/// `[auth.throttle]`: failed logins allowed per account and per client address in a
/// window. Counters live in the app's cache (`[cache]`: in-process, or Redis so that
/// every app node sees them); without the cache plugin, in an in-process cache.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Failures per account before logins to it are refused for the rest of the window.
    pub max_failures: u64,
    /// Failures per client address.
    pub max_failures_per_ip: u64,
    /// The window.
    #[serde(with = "duration")]
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_failures_per_ip: 50,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// `[auth.jwt]`: stateless tokens. HS256 uses `secret` (or the app's secret key);
/// EdDSA and RS256 use PEM keys (`private_key` to issue, `public_key` to verify), given
/// inline or as `@path/to/key.pem`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSettings {
    /// Accept (and, on JSON login, issue) JWTs.
    pub enabled: bool,
    /// `HS256`, `EdDSA` or `RS256`.
    pub algorithm: String,
    /// The HS256 key. Unset: derived from `app.secret_key`.
    pub secret: Option<String>,
    /// PEM private key (EdDSA / RS256), or `@file`.
    pub private_key: Option<String>,
    /// PEM public key (EdDSA / RS256), or `@file`.
    pub public_key: Option<String>,
    /// How long an issued token is valid.
    #[serde(with = "duration")]
    pub ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(with = "duration")]
    pub leeway: Duration,
    /// The `iss` claim issued and required, if set.
    pub issuer: Option<String>,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            algorithm: "HS256".into(),
            secret: None,
            private_key: None,
            public_key: None,
            ttl: Duration::from_secs(24 * 3600),
            leeway: Duration::from_secs(60),
            issuer: None,
        }
    }
}
