//! The blog's models.

pub mod post;

/// Every model of the app.
pub fn registry() -> keel::db::Models {
    keel::db::Models::new()
        .include(keel::auth::models())
        .seedable::<post::Entity>()
}
