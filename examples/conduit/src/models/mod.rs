//! Conduit's models. Users are Keel's (`keel_users`); a profile adds the public name,
//! bio and image one to one.

pub mod article;
pub mod article_tag;
pub mod comment;
pub mod favorite;
pub mod follow;
pub mod profile;

/// Every model of the app, after Keel's auth tables.
pub fn registry() -> keel::db::Models {
    keel::db::Models::new()
        .include(keel::auth::models())
        .register::<profile::Entity>()
        .register::<article::Entity>()
        .register::<article_tag::Entity>()
        .register::<favorite::Entity>()
        .register::<follow::Entity>()
        .register::<comment::Entity>()
}
