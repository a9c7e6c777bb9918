//! Failed-login throttling, per account and per client address. The counters live in
//! the app's [`Cache`] (in-process, or Redis so that every app node shares them);
//! without the cache plugin, in an in-process cache of this module.

use std::sync::{Arc, OnceLock};

use keel_cache::Cache;
use keel_core::Error;

use crate::settings::ThrottleSettings;

/// Counts failures and says when logins are refused.
#[derive(Debug, Clone)]
pub struct Throttle {
    settings: ThrottleSettings,
    cache: Arc<OnceLock<Cache>>,
}

impl Throttle {
    /// A throttle with `settings`; its cache is set when the app starts.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            cache: Arc::new(OnceLock::new()),
        }
    }

    /// Uses the app's cache (`None`: an in-process one).
    pub fn use_cache(&self, cache: Option<Cache>) {
        let _ = self
            .cache
            .set(cache.unwrap_or_else(|| Cache::memory(100_000)));
    }

    fn cache(&self) -> &Cache {
        self.cache.get_or_init(|| Cache::memory(100_000))
    }

    fn keys(account: &str, client: &str) -> [(String, String); 2] {
        [
            (
                format!("keel:auth:fail:acct:{account}"),
                format!("keel:auth:lock:acct:{account}"),
            ),
            (
                format!("keel:auth:fail:ip:{client}"),
                format!("keel:auth:lock:ip:{client}"),
            ),
        ]
    }

    /// Seconds until logins for this account or from this client are allowed again,
    /// if they are refused now.
    pub async fn blocked(&self, account: &str, client: &str) -> Result<Option<u64>, Error> {
        let now = crate::unix_now();
        let mut wait = None;
        for (_, lock) in Self::keys(account, client) {
            if let Some(until) = self.cache().get::<u64>(&lock).await?
                && until > now
            {
                wait = Some(wait.unwrap_or(0).max(until - now));
            }
        }
        Ok(wait)
    }

    /// Records a failure; locks the account or the client when it reaches its limit.
    pub async fn failed(&self, account: &str, client: &str) -> Result<(), Error> {
        let window = self.settings.window;
        let limits = [
            self.settings.max_failures,
            self.settings.max_failures_per_ip,
        ];
        for ((count_key, lock), limit) in Self::keys(account, client).into_iter().zip(limits) {
            let (count, left) = self.cache().incr(&count_key, window).await?;
            if count >= limit {
                let left = left.max(std::time::Duration::from_secs(1));
                let until = crate::unix_now() + left.as_secs().max(1);
                self.cache().set(&lock, &until, left).await?;
            }
        }
        Ok(())
    }

    /// Clears the account's failures after a successful login.
    pub async fn succeeded(&self, account: &str) -> Result<(), Error> {
        let [(count, lock), _] = Self::keys(account, "");
        self.cache().delete(&count).await?;
        self.cache().delete(&lock).await
    }
}
