//! A blog post.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "post")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The title.
    pub title: String,
    /// The text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// The URL of its image, if it has one.
    pub image_url: Option<String>,
}

/// No relations yet (accounts come with authentication).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
