//! Sessions in Redis: `[session] store = "redis"` (feature `redis`).
//!
//! Each session is one key, `{prefix}{id}`, holding the JSON record, with Redis' own
//! expiry set to the session's idle expiry, so Redis removes expired sessions itself.
//! The connection is a multiplexed connection manager that reconnects after Redis
//! restarts; while Redis is down, loading a session fails (a new empty session, logged)
//! and saving fails (logged), and requests are still served.

use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use keel_core::Error;
use keel_core::session::{SessionRecord, SessionStore, unix_now};
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;

/// A [`SessionStore`] in Redis.
#[derive(Clone, Default)]
pub struct RedisStore {
    conn: Arc<OnceLock<ConnectionManager>>,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store whose connection is opened later ([`RedisStore::connect`]).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            conn: Arc::new(OnceLock::new()),
            prefix: prefix.into(),
        }
    }

    /// Opens the connection to `url` (`redis://127.0.0.1:6379/0`).
    pub async fn connect(&self, url: &str) -> Result<(), Error> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::config(format!("session.redis_url: {e}")))?;
        let conn = ConnectionManager::new(client).await.map_err(|e| {
            Error::unavailable(format!("cannot reach Redis at {url}"), None).with_source(e)
        })?;
        let _ = self.conn.set(conn);
        Ok(())
    }

    fn conn(&self) -> Result<ConnectionManager, Error> {
        self.conn
            .get()
            .cloned()
            .ok_or_else(|| Error::internal_msg("the Redis session store is not connected"))
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

fn unavailable(e: redis::RedisError) -> Error {
    Error::unavailable("Redis is unavailable.", None).with_source(e)
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionRecord>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn()?;
            let raw: Option<String> = conn.get(self.key(id)).await.map_err(unavailable)?;
            Ok(raw
                .and_then(|r| serde_json::from_str::<SessionRecord>(&r).ok())
                .filter(|r| r.expires > unix_now()))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn()?;
            let json = serde_json::to_string(record).map_err(Error::internal)?;
            let ttl = record.expires.saturating_sub(unix_now()).max(1);
            let () = conn
                .set_ex(self.key(id), json, ttl)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn()?;
            let _: i64 = conn.del(self.key(id)).await.map_err(unavailable)?;
            Ok(())
        })
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<u64, Error>> {
        // Redis expires the keys itself.
        Box::pin(async { Ok(0) })
    }
}
