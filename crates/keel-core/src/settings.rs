//! The `[app]` config section.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Environment;

/// The secret key used outside production when none is configured. Deploy checks and
/// production startup refuse it.
pub const INSECURE_DEV_SECRET: &str =
    "keel-insecure-development-secret-key-do-not-use-in-production-0000";

/// Shortest secret key accepted in production, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// `[app]`: settings every Keel app has.
///
/// ```toml
/// [app]
/// debug = false                 # default: true in development, false otherwise
/// secret_key = "…64 random characters…"   # required in production
/// data_dir = "data"             # where the embedded database and uploads live
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    /// Detailed error pages and development conveniences. Unset = on in development only.
    pub debug: Option<bool>,
    /// The key that signs and encrypts cookies and tokens. Unset = an insecure
    /// development key (refused in production).
    pub secret_key: Option<String>,
    /// Folder for the app's local data (SQLite database, uploads). Default `data`.
    pub data_dir: Option<PathBuf>,
}

impl AppSettings {
    /// Whether debug mode is on in `environment`.
    pub fn debug(&self, environment: Environment) -> bool {
        self.debug
            .unwrap_or(environment == Environment::Development)
    }

    /// The configured secret key, or the insecure development key.
    pub fn secret_key(&self) -> &str {
        self.secret_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(INSECURE_DEV_SECRET)
    }

    /// Whether the secret key is the insecure default, empty, or too short.
    pub fn secret_key_is_insecure(&self) -> bool {
        let key = self.secret_key();
        key == INSECURE_DEV_SECRET || key.len() < MIN_SECRET_LEN || key.starts_with("insecure")
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"))
    }
}
