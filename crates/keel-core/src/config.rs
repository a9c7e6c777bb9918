//! Typed, layered configuration.
//!
//! Layers, lowest first:
//!
//! 1. built-in defaults (each section's `Default`),
//! 2. `config/default.toml`,
//! 3. `config/{environment}.toml` (`development`, `test` or `production`),
//! 4. environment variables: `KEEL__SECTION__KEY=value` (double underscores separate
//!    levels), plus the conventional `PORT` (→ `server.port`), `DATABASE_URL`
//!    (→ `database.url`) and `REDIS_URL` (→ `redis.url`),
//! 5. overrides set in code or tests ([`Config::set`]).
//!
//! The environment comes from `KEEL_ENV` (default `development`), the folder from
//! `KEEL_CONFIG_DIR` (default `config`, relative to the working directory).
//!
//! Each plugin reads its own section into its own type. Sections should use
//! `#[serde(default, deny_unknown_fields)]` so that a misspelt key is an error that
//! names the file, the key and what was expected:
//!
//! ```
//! use keel_core::config::{Config, Environment};
//!
//! #[derive(serde::Deserialize, Default, Debug)]
//! #[serde(default, deny_unknown_fields)]
//! struct Greeting { text: String, times: u32 }
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("default.toml"), "[greeting]\ntext = 'hi'\ntimes = 'many'\n").unwrap();
//! let config = Config::load(Environment::Test, dir.path());
//! let err = config.section::<Greeting>("greeting").unwrap_err();
//! let problem = &err.problems()[0];
//! assert_eq!(problem.key, "greeting.times");
//! assert!(problem.source.ends_with("default.toml"));
//! assert!(problem.message.contains("expected u32"), "{}", problem.message);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Provider};
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected};
use serde::{Deserialize, Serialize};

/// The deployment environment, from `KEEL_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local development: debug on, pretty logs, templates reloaded.
    #[default]
    Development,
    /// Automated tests.
    Test,
    /// Production: debug refused, JSON logs, deploy checks enforced at startup.
    Production,
}

impl Environment {
    /// The environment named by `KEEL_ENV`, or `development` when it is unset.
    ///
    /// An unknown value is an error rather than a silent fallback.
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("KEEL_ENV") {
            Ok(v) if !v.trim().is_empty() => v.parse().map_err(|msg: String| {
                ConfigError::single("KEEL_ENV", "environment variable KEEL_ENV", msg)
            }),
            _ => Ok(Self::Development),
        }
    }

    /// `development`, `test` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    /// True in production.
    pub fn is_production(self) -> bool {
        self == Self::Production
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => Err(format!(
                "unknown environment `{other}`: expected development, test or production"
            )),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The merged configuration of an app. Cheap to clone.
#[derive(Clone)]
pub struct Config {
    figment: Figment,
    environment: Environment,
    dir: PathBuf,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The environment variables that map onto a config key without the `KEEL__` prefix.
const CONVENTIONAL_VARS: &[(&str, &str)] = &[
    ("port", "server.port"),
    ("database_url", "database.url"),
    ("redis_url", "redis.url"),
];

impl Config {
    /// Loads the layers for `environment` from the folder `dir` (missing files are
    /// fine: every section has defaults). Errors surface when sections are read.
    pub fn load(environment: Environment, dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref().to_path_buf();
        let mut figment = Figment::new();
        for file in ["default", environment.as_str()] {
            // `Toml::file` would search parent folders; only this folder counts.
            let path = dir.join(format!("{file}.toml"));
            if path.exists() {
                figment = figment.merge(Toml::file_exact(path));
            }
        }
        let figment =
            figment
                .merge(Env::prefixed("KEEL__").split("__"))
                .merge(Env::raw().filter_map(|key| {
                    CONVENTIONAL_VARS
                        .iter()
                        .find(|(var, _)| key.as_str().eq_ignore_ascii_case(var))
                        .map(|(_, target)| (*target).into())
                }));
        Self {
            figment,
            environment,
            dir,
        }
    }

    /// An empty configuration (defaults and overrides only): no files, no environment
    /// variables. Handy in unit tests.
    pub fn empty(environment: Environment) -> Self {
        Self {
            figment: Figment::new(),
            environment,
            dir: PathBuf::new(),
        }
    }

    /// The environment.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The folder the files were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Overrides `key` (dotted, e.g. `server.port`) with `value`: the top layer.
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        let figment = std::mem::take(&mut self.figment);
        self.figment = figment.merge(Serialized::default(key, value));
    }

    /// Reads section `key` into `T`. Missing keys take `T`'s defaults when `T` uses
    /// `#[serde(default)]`; a missing section is read from an empty table.
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        match self.figment.find_value(key) {
            Ok(_) => self
                .figment
                .extract_inner::<T>(key)
                .map_err(|e| ConfigError::from_figment(e, key)),
            // A file that does not parse, for instance.
            Err(e) if !e.missing() => Err(ConfigError::from_figment(e, "")),
            Err(_) => self.defaults_for(key),
        }
    }

    fn defaults_for<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        {
            // Deserialize from an empty table so that `#[serde(default)]` applies and a
            // required field is reported as missing under the section's name.
            let empty = Figment::new().merge(Serialized::default(key, figment::value::Dict::new()));
            empty
                .extract_inner::<T>(key)
                .map_err(|e| ConfigError::from_figment(e, key))
        }
    }

    /// Reads one value at a dotted `key`, `None` when it is absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        if !self.figment.contains(key) {
            return Ok(None);
        }
        self.figment
            .extract_inner::<T>(key)
            .map(Some)
            .map_err(|e| ConfigError::from_figment(e, key))
    }

    /// The top-level keys present in any layer, each with where it was set.
    pub fn top_level_keys(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let dict = self
            .figment
            .data()
            .map_err(|e| ConfigError::from_figment(e, ""))?;
        let mut out = Vec::new();
        for data in dict.values() {
            for key in data.keys() {
                let source = self
                    .figment
                    .find_metadata(key)
                    .map(|md| describe_source(md, std::slice::from_ref(key)))
                    .unwrap_or_else(|| "config".to_owned());
                out.push((key.clone(), source));
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }
}

/// What went wrong while reading configuration: one or more problems.
#[derive(Debug, Clone)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

/// One configuration problem: which key, where it was set, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key, e.g. `server.port`.
    pub key: String,
    /// Where the value came from: a file path or an environment variable name.
    pub source: String,
    /// What is wrong, including the expected type.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.source, self.key, self.message)
        }
    }
}

impl ConfigError {
    /// An error with one problem.
    pub fn single(
        key: impl Into<String>,
        source: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            problems: vec![ConfigProblem {
                key: key.into(),
                source: source.into(),
                message: message.into(),
            }],
        }
    }

    /// An error made of several problems.
    pub fn from_problems(problems: Vec<ConfigProblem>) -> Self {
        Self { problems }
    }

    /// The problems.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// Consumes the error, returning the problems.
    pub fn into_problems(self) -> Vec<ConfigProblem> {
        self.problems
    }

    fn from_figment(error: figment::Error, section: &str) -> Self {
        let mut problems = Vec::new();
        for e in error {
            let mut path = e.path.clone();
            // figment appends the extracted section's path at the *end*; put it first.
            let section_parts: Vec<&str> = section.split('.').filter(|p| !p.is_empty()).collect();
            if !section_parts.is_empty() {
                if path.ends_with(
                    &section_parts
                        .iter()
                        .map(|p| (*p).to_owned())
                        .collect::<Vec<_>>(),
                ) && path.len() >= section_parts.len()
                {
                    path.truncate(path.len() - section_parts.len());
                }
                if !path.starts_with(
                    &section_parts
                        .iter()
                        .map(|p| (*p).to_owned())
                        .collect::<Vec<_>>(),
                ) {
                    for (i, part) in section_parts.iter().enumerate() {
                        path.insert(i, (*part).to_owned());
                    }
                }
            }
            let message = match &e.kind {
                figment::error::Kind::InvalidType(actual, expected) => {
                    format!("expected {expected}, found {actual}")
                }
                figment::error::Kind::InvalidValue(actual, expected) => {
                    format!("expected {expected}, found {actual}")
                }
                figment::error::Kind::UnknownField(field, expected) => {
                    if path.last() != Some(field) {
                        path.push(field.clone());
                    }
                    if expected.is_empty() {
                        "unknown key".to_owned()
                    } else {
                        format!("unknown key; expected one of: {}", expected.join(", "))
                    }
                }
                figment::error::Kind::UnknownVariant(variant, expected) => {
                    format!(
                        "unknown value `{variant}`; expected one of: {}",
                        expected.join(", ")
                    )
                }
                figment::error::Kind::MissingField(field) => {
                    if path.last().map(String::as_str) != Some(field.as_ref()) {
                        path.push(field.to_string());
                    }
                    "missing required key".to_owned()
                }
                other => other.to_string(),
            };
            let source = e
                .metadata
                .as_ref()
                .map(|md| describe_source(md, &path))
                .unwrap_or_else(|| "config".to_owned());
            problems.push(ConfigProblem {
                key: path.join("."),
                source,
                message,
            });
        }
        Self { problems }
    }
}

fn describe_source(md: &figment::Metadata, path: &[String]) -> String {
    match &md.source {
        Some(figment::Source::File(file)) => relative(file),
        Some(figment::Source::Code(_)) | Some(figment::Source::Custom(_)) | None => {
            if md.name.contains("environment") {
                format!("environment variable {}", env_var_name(md, &path.join(".")))
            } else if md.name.contains("Serialized") {
                "code override".to_owned()
            } else {
                md.name.to_string()
            }
        }
        Some(other) => other.to_string(),
    }
}

/// The variable a user would set for the dotted key.
fn env_var_name(md: &figment::Metadata, dotted: &str) -> String {
    let dotted = dotted.to_ascii_lowercase();
    if md.name.contains("KEEL__") {
        format!("KEEL__{}", dotted.replace('.', "__").to_ascii_uppercase())
    } else {
        CONVENTIONAL_VARS
            .iter()
            .find(|(_, target)| *target == dotted.as_str())
            .map(|(var, _)| var.to_ascii_uppercase())
            .unwrap_or_else(|| dotted.to_ascii_uppercase())
    }
}

fn relative(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => path
            .strip_prefix(&cwd)
            .unwrap_or(path)
            .display()
            .to_string(),
        Err(_) => path.display().to_string(),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid configuration: {one}"),
            many => {
                write!(f, "invalid configuration ({} problems):", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// As a Keel [`Error`](crate::Error) of kind `Config` whose message lists the problems.
    pub fn into_error(self) -> crate::Error {
        crate::Error::config(self.to_string())
    }
}

/// Parses a duration written as `"30s"`, `"500ms"`, `"2m"`, `"1h 30m"` or a number of
/// seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration ({e})"))
}

/// Serde helpers for `std::time::Duration` fields in config sections:
/// `#[serde(with = "keel_core::config::duration")]`.
pub mod duration {
    use super::*;

    /// Deserializes `"30s"`, `"500ms"` or an integer number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\" or \"500ms\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::try_from_secs_f64(v)
                    .map_err(|_| E::invalid_value(Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }

    /// Serializes as a humantime string (`"30s"`).
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// A number of bytes, written in config as `"2MiB"`, `"512KB"`, `"10mb"` or a plain
/// integer.
///
/// ```
/// use keel_core::config::ByteSize;
/// assert_eq!("2MiB".parse::<ByteSize>().unwrap().0, 2 * 1024 * 1024);
/// assert_eq!("10 kB".parse::<ByteSize>().unwrap().0, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// `n` kibibytes.
    pub const fn kib(n: u64) -> Self {
        Self(n * 1024)
    }
    /// `n` mebibytes.
    pub const fn mib(n: u64) -> Self {
        Self(n * 1024 * 1024)
    }
    /// As `usize`, saturating.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let num: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a size such as \"2MiB\""))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            other => return Err(format!("unknown size unit `{other}` in `{s}`")),
        };
        Ok(Self((num * mult as f64) as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", b >> 20)
        } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", b >> 10)
        } else {
            write!(f, "{b}B")
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"2MiB\" or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Server {
        host: String,
        port: u16,
        #[serde(with = "duration")]
        timeout: Duration,
        body_limit: ByteSize,
    }

    impl Default for Server {
        fn default() -> Self {
            Self {
                host: "127.0.0.1".into(),
                port: 8000,
                timeout: Duration::from_secs(30),
                body_limit: ByteSize::mib(2),
            }
        }
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_when_nothing_is_configured() {
        let dir = dir_with(&[]);
        let cfg = Config::load(Environment::Test, dir.path());
        assert_eq!(cfg.section::<Server>("server").unwrap(), Server::default());
    }

    #[test]
    fn layers_override_in_order() {
        let dir = dir_with(&[
            (
                "default.toml",
                "[server]\nhost = '0.0.0.0'\nport = 1000\ntimeout = '5s'\n",
            ),
            ("test.toml", "[server]\nport = 2000\n"),
            ("production.toml", "[server]\nport = 3000\n"),
        ]);
        let mut cfg = Config::load(Environment::Test, dir.path());
        let s: Server = cfg.section("server").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("0.0.0.0", 2000));
        assert_eq!(s.timeout, Duration::from_secs(5));
        cfg.set("server.port", 4000);
        assert_eq!(cfg.section::<Server>("server").unwrap().port, 4000);
        let prod = Config::load(Environment::Production, dir.path());
        assert_eq!(prod.section::<Server>("server").unwrap().port, 3000);
    }

    #[test]
    fn unknown_key_names_file_key_and_alternatives() {
        let dir = dir_with(&[("default.toml", "[server]\nprot = 1\n")]);
        let cfg = Config::load(Environment::Test, dir.path());
        let err = cfg.section::<Server>("server").unwrap_err();
        let p = &err.problems()[0];
        assert_eq!(p.key, "server.prot");
        assert!(p.source.ends_with("default.toml"), "{p}");
        assert!(p.message.contains("unknown key"), "{p}");
        assert!(p.message.contains("port"), "{p}");
    }

    #[test]
    fn wrong_type_names_expected_type() {
        let dir = dir_with(&[("test.toml", "[server]\nport = 'eighty'\n")]);
        let cfg = Config::load(Environment::Test, dir.path());
        let err = cfg.section::<Server>("server").unwrap_err();
        let p = &err.problems()[0];
        assert_eq!(p.key, "server.port");
        assert!(p.source.ends_with("test.toml"), "{p}");
        assert!(p.message.contains("expected u16"), "{p}");
        assert!(p.message.contains("eighty"), "{p}");
    }

    #[test]
    fn bad_duration_and_size_say_what_is_expected() {
        let dir = dir_with(&[("default.toml", "[server]\ntimeout = 'soon'\n")]);
        let cfg = Config::load(Environment::Test, dir.path());
        let err = cfg.section::<Server>("server").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a duration such as"), "{text}");
        let dir = dir_with(&[("default.toml", "[server]\nbody_limit = 'huge'\n")]);
        let cfg = Config::load(Environment::Test, dir.path());
        let text = cfg.section::<Server>("server").unwrap_err().to_string();
        assert!(text.contains("a size such as"), "{text}");
    }

    #[test]
    fn toml_syntax_error_names_the_file() {
        let dir = dir_with(&[("default.toml", "[server\nport = 1\n")]);
        let cfg = Config::load(Environment::Test, dir.path());
        let err = cfg.section::<Server>("server").unwrap_err();
        assert!(err.to_string().contains("default.toml"), "{err}");
    }

    #[test]
    fn environment_names_parse() {
        assert_eq!(
            "production".parse::<Environment>(),
            Ok(Environment::Production)
        );
        assert_eq!("Dev".parse::<Environment>(), Ok(Environment::Development));
        assert!(
            "staging"
                .parse::<Environment>()
                .unwrap_err()
                .contains("staging")
        );
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!("1.5KiB".parse::<ByteSize>().unwrap(), ByteSize(1536));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("later").is_err());
    }
}
