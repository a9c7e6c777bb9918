//! The public side of a user: a unique username, a bio and an image.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// A profile, one per `keel_users` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "profile")]
pub struct Model {
    /// The user's id (also the key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// The public name, unique.
    #[sea_orm(unique)]
    pub username: String,
    /// About the user.
    #[sea_orm(column_type = "Text", nullable)]
    pub bio: Option<String>,
    /// The URL of the user's picture.
    pub image: Option<String>,
}

/// A profile belongs to its user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user.
    #[sea_orm(
        belongs_to = "keel::auth::models::user::Entity",
        from = "Column::UserId",
        to = "keel::auth::models::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl ActiveModelBehavior for ActiveModel {}
