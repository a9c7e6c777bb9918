//! Values that belong to one server worker.
//!
//! In the `per-core` server runtime every worker is an OS thread with its own
//! single-threaded tokio runtime. A socket (a database connection, say) opened on one
//! runtime is polled by that runtime's I/O driver: used from another worker, every
//! read wakes a second thread. Plugins that hold connections therefore open a set per
//! worker: they register a hook with [`App::on_worker_start`](crate::App::on_worker_start),
//! which runs inside each worker's runtime before it accepts, and the hook keeps what
//! it opened with [`provide`]. Extractors look there first with [`get`] and fall back
//! to the app-wide value outside the workers (the multi-thread runtime, tests,
//! commands, background jobs).
//!
//! ```
//! #[derive(Clone, Debug, PartialEq)]
//! struct Conn(u32);
//!
//! assert_eq!(keel_core::worker::get::<Conn>(), None); // not in a worker
//! keel_core::worker::provide(Conn(7));
//! assert_eq!(keel_core::worker::get::<Conn>(), Some(Conn(7)));
//! ```

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::{AppState, Result};

thread_local! {
    static LOCALS: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Keeps `value` for the current thread (a worker, when called from a worker hook),
/// replacing any earlier value of its type.
pub fn provide<T: Clone + 'static>(value: T) {
    LOCALS.with(|m| m.borrow_mut().insert(TypeId::of::<T>(), Box::new(value)));
}

/// A clone of the current thread's value of type `T`, if one was provided.
pub fn get<T: Clone + 'static>() -> Option<T> {
    LOCALS.with(|m| {
        m.borrow()
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    })
}

/// Drops the current thread's value of type `T` (a worker's hook undoing its work when
/// the worker stops).
pub fn remove<T: 'static>() {
    LOCALS.with(|m| m.borrow_mut().remove(&TypeId::of::<T>()));
}

/// Drops every value kept for the current thread (the server does this in each worker
/// once it has drained, while the worker's runtime still runs).
pub fn clear() {
    let values = LOCALS.with(|m| std::mem::take(&mut *m.borrow_mut()));
    drop(values);
}

/// Which worker a hook runs in, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerInfo {
    /// 0-based index of this worker.
    pub index: usize,
    /// How many workers the server runs.
    pub count: usize,
}

/// A hook run in each worker before it accepts connections.
pub type WorkerHook =
    Arc<dyn Fn(AppState, WorkerInfo) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// The app's worker hooks, in registration order (kept in the app's state).
#[derive(Clone, Default)]
pub struct WorkerHooks(pub(crate) Vec<WorkerHook>);

impl std::fmt::Debug for WorkerHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHooks")
            .field("count", &self.0.len())
            .finish()
    }
}

impl WorkerHooks {
    /// Runs every hook, in order, for the worker `info` on the current runtime; the
    /// first error stops the worker from starting.
    pub async fn run(&self, state: &AppState, info: WorkerInfo) -> Result<()> {
        for hook in &self.0 {
            hook(state.clone(), info).await?;
        }
        Ok(())
    }

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
