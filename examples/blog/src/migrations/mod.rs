//! The app's migrations, oldest first. `db makemigrations` keeps this file up to date.

mod m0001_initial;
mod m0002_add_post_author;

/// Every migration, in order.
pub fn all() -> Vec<keel::db::migrate::Migration> {
    vec![
        m0001_initial::migration(),
        m0002_add_post_author::migration(),
    ]
}
