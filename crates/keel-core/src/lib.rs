//! # keel-core
//!
//! The ground floor of [Keel](https://github.com/keel-rs/keel): the [`App`] builder and
//! plugins, typed layered [`config`], the one [`Error`] type, routing with named routes
//! ([`routing`]), shared state ([`AppState`], [`Dep`]), system checks ([`check`]) and the
//! app's command line.
//!
//! Apps normally depend on the `keel` facade crate, which re-exports all of this.
//!
//! | Module | What it gives |
//! |---|---|
//! | [`app`] | `App` builder, plugins, commands, `BuiltApp` / `StartedApp` |
//! | [`config`] | layered TOML + env config, typed sections, clear errors |
//! | [`error`] | `Error`, `ErrorKind`, `FieldError`, RFC 9457 `Problem` |
//! | [`routing`] | introspectable router, named routes, `url_for` |
//! | [`state`] | `AppState`, `Extensions`, `Dep<T>` extractor |
//! | [`check`] | system and deploy checks |
//! | [`mail`] | the `Mailer` trait and `Email` |
//! | [`session`] | the `SessionStore` trait, `MemoryStore` |
//! | [`template`] | hooks templates use: per-request values, asset URLs |

pub mod app;
pub mod check;
pub mod config;
pub mod error;
pub mod html;
pub mod mail;
pub mod random;
pub mod routing;
pub mod session;
pub mod settings;
pub mod state;
pub mod template;
pub mod time;
pub mod worker;

pub use app::{App, BuiltApp, StartedApp, WorkerRouters, layer_order};
pub use config::{Config, ConfigError, Environment};
pub use error::{BoxError, Error, ErrorClassifier, ErrorKind, FieldError, Problem, Result};
pub use routing::Router;
pub use settings::AppSettings;
pub use state::{AppState, Dep, Extensions};
