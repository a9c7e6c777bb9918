//! Who favorited which article.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// A user's favorite.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "favorite")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The user.
    #[sea_orm(indexed)]
    pub user_id: i64,
    /// The article.
    #[sea_orm(indexed)]
    pub article_id: i32,
}

/// A favorite goes with its article and its user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The article.
    #[sea_orm(
        belongs_to = "super::article::Entity",
        from = "Column::ArticleId",
        to = "super::article::Column::Id",
        on_delete = "Cascade"
    )]
    Article,
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
