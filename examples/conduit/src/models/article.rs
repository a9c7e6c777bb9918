//! An article.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// An article; times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The URL name, unique.
    #[sea_orm(unique)]
    pub slug: String,
    /// The title.
    pub title: String,
    /// A one-line description.
    pub description: String,
    /// The text (Markdown).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Who wrote it.
    #[sea_orm(indexed)]
    pub author_id: i64,
    /// When it was written.
    #[sea_orm(indexed)]
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// An article belongs to its author.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
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
