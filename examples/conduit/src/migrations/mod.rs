//! The app's migrations, oldest first. `db makemigrations` keeps this file up to date.

mod m0001_initial;

/// Every migration, in order.
pub fn all() -> Vec<keel::db::migrate::Migration> {
    vec![m0001_initial::migration()]
}
