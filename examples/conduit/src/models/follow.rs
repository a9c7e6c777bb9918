//! Who follows whom.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;

/// `follower_id` follows `followee_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Who follows.
    #[sea_orm(indexed)]
    pub follower_id: i64,
    /// Who is followed.
    #[sea_orm(indexed)]
    pub followee_id: i64,
}

/// A follow goes with either user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The follower.
    #[sea_orm(
        belongs_to = "keel::auth::models::user::Entity",
        from = "Column::FollowerId",
        to = "keel::auth::models::user::Column::Id",
        on_delete = "Cascade"
    )]
    Follower,
    /// The followed user.
    #[sea_orm(
        belongs_to = "keel::auth::models::user::Entity",
        from = "Column::FolloweeId",
        to = "keel::auth::models::user::Column::Id",
        on_delete = "Cascade"
    )]
    Followee,
}

impl ActiveModelBehavior for ActiveModel {}
