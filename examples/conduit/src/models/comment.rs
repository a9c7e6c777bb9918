//! A comment on an article.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// A comment; times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The article.
    #[sea_orm(indexed)]
    pub article_id: i32,
    /// Who wrote it.
    #[sea_orm(indexed)]
    pub author_id: i64,
    /// The text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When it was written.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// A comment goes with its article and its author.
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
    /// The author.
    #[sea_orm(
        belongs_to = "keel::auth::models::user::Entity",
        from = "Column::AuthorId",
        to = "keel::auth::models::user::Column::Id",
        on_delete = "Cascade"
    )]
    Author,
}

impl ActiveModelBehavior for ActiveModel {}
