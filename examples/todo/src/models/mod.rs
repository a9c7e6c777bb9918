//! The models: SeaORM entities, registered in [`registry`].

pub mod list;
pub mod todo;

/// Every model of the app (what `db makemigrations` compares the migrations with).
pub fn registry() -> keel::db::Models {
    keel::db::Models::new()
        .seedable::<list::Entity>()
        .seedable::<todo::Entity>()
}
