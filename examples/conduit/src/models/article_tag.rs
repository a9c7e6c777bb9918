//! The tags of an article.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// One tag on one article.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_tag")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The article.
    #[sea_orm(indexed)]
    pub article_id: i32,
    /// The tag.
    #[sea_orm(indexed)]
    pub tag: String,
}

/// A tag belongs to its article and goes with it.
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
}

impl ActiveModelBehavior for ActiveModel {}
