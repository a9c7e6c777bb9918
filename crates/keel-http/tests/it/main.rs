//! keel-http integration tests: one binary, modules by topic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod errors;
mod forms;
mod middleware;
mod observability;
mod server;
mod sessions;
mod standalone;
mod statics;
mod support;
