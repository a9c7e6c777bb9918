//! keel-db's integration tests. They run on SQLite by default; set
//! `KEEL_TEST_DATABASE_URL` to a Postgres or MariaDB server URL to run the same suite
//! there (`.ci/run` does all three).

// The entity modules here are written as an app writes them (public items).
#![allow(unreachable_pub)]

mod app;
mod batch;
mod entities;
mod makemigrations;
mod runner;
mod sessions;
mod support;
