//! The blog's models.

pub mod post;

/// Every model of the app.
pub fn registry() -> keel::db::Models {
    keel::db::Models::new().seedable::<post::Entity>()
}
