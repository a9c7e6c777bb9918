//! Server-side session storage, as a trait: the HTTP layer keeps sessions through a
//! [`SessionStore`], and the crates that own a storage (the database, Redis) implement
//! it without depending on the HTTP layer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::Error;

/// One stored session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session's values.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// When it was created (seconds since the epoch): the absolute expiry counts from here.
    pub created: u64,
    /// When it expires if not used again (seconds since the epoch).
    pub expires: u64,
}

impl SessionRecord {
    /// Whether it has expired at `now`, idle or absolute (`absolute_ttl` seconds after
    /// creation).
    pub fn expired(&self, now: u64, absolute_ttl: u64) -> bool {
        now >= self.expires || now >= self.created.saturating_add(absolute_ttl)
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where server-side sessions live.
pub trait SessionStore: Send + Sync + 'static {
    /// The session `id`, if stored and not expired.
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionRecord>, Error>>;
    /// Stores (creates or replaces) session `id`.
    fn save<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Removes session `id`.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>>;
    /// Removes expired sessions; returns how many.
    fn cleanup(&self) -> BoxFuture<'_, Result<u64, Error>>;
}

/// Sessions in this process's memory: fast, lost on restart, not shared between nodes.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions it holds (expired ones included until cleaned up).
    pub fn len(&self) -> usize {
        self.sessions.lock().map_or(0, |s| s.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionRecord>, Error>> {
        let found = self
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(id).cloned())
            .filter(|r| r.expires > unix_now());
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(id.to_owned(), record.clone());
        }
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
        Box::pin(async { Ok(()) })
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<u64, Error>> {
        let now = unix_now();
        let removed = self.sessions.lock().map_or(0, |mut s| {
            let before = s.len();
            s.retain(|_, r| r.expires > now);
            (before - s.len()) as u64
        });
        Box::pin(async move { Ok(removed) })
    }
}

/// Session stores plugins offer, by the name `session.store` uses.
#[derive(Clone, Default)]
pub struct SessionStores(pub BTreeMap<String, Arc<dyn SessionStore>>);

impl std::fmt::Debug for SessionStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Offers `store` under `name` (`[session] store = "name"`).
pub fn register_store(app: &mut App, name: &str, store: Arc<dyn SessionStore>) {
    let mut stores = app
        .extensions()
        .get::<SessionStores>()
        .cloned()
        .unwrap_or_default();
    stores.0.insert(name.to_owned(), store);
    app.extensions().insert(stores);
}
