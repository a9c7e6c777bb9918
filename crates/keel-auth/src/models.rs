//! The tables of Keel's auth: users, groups, permissions, the links between them, and
//! API tokens. An app includes them in its models with
//! `Models::new().include(keel_auth::models())`, which also applies their migrations
//! before the app's own, so the app's models can refer to `keel_users` by foreign key.
//!
//! To keep more about a user, give the app a profile model with a unique `user_id`
//! foreign key to `keel_users` (one-to-one), as Django recommends.

use keel_db::sea_orm;
use keel_db::{Migration, Models};

/// A user account.
pub mod user {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A user. `password` holds an argon2id PHC string, never the password.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "keel_users")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The email address, lower-cased; the login name.
        #[sea_orm(unique)]
        pub email: String,
        /// The password hash (argon2id PHC string); empty when no password is set.
        #[serde(skip_serializing)]
        pub password: String,
        /// Inactive users cannot log in.
        #[sea_orm(default_value = true)]
        pub is_active: bool,
        /// Staff may use the admin.
        #[sea_orm(default_value = false)]
        pub is_staff: bool,
        /// A superuser has every permission.
        #[sea_orm(default_value = false)]
        pub is_superuser: bool,
        /// Whether the address was confirmed through the emailed link.
        #[sea_orm(default_value = false)]
        pub email_verified: bool,
        /// When the account was made (Unix seconds).
        pub date_joined: i64,
        /// The last successful login (Unix seconds).
        pub last_login: Option<i64>,
    }

    /// No relations are navigated from here.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A named set of permissions that users join.
pub mod group {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A group.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "keel_groups")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Its name, unique.
        #[sea_orm(unique)]
        pub name: String,
    }

    /// No relations are navigated from here.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A permission: `app.codename`, such as `blog.change_post`.
pub mod permission {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A permission.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "keel_permissions")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// `app.action_model` (`blog.change_post`) or a custom `app.name`.
        #[sea_orm(unique)]
        pub codename: String,
        /// A human-readable description.
        pub name: String,
    }

    /// No relations are navigated from here.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user's membership of a group.
pub mod user_group {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;

    /// One link.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "keel_user_groups")]
    pub struct Model {
        /// One side.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// The other side.
        #[sea_orm(primary_key, auto_increment = false, indexed)]
        pub group_id: i32,
    }

    /// Both sides; deleting either deletes the link.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The first side.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        First,
        /// The second side.
        #[sea_orm(
            belongs_to = "super::group::Entity",
            from = "Column::GroupId",
            to = "super::group::Column::Id",
            on_delete = "Cascade"
        )]
        Second,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A permission granted to a group.
pub mod group_permission {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;

    /// One link.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "keel_group_permissions")]
    pub struct Model {
        /// One side.
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: i32,
        /// The other side.
        #[sea_orm(primary_key, auto_increment = false, indexed)]
        pub permission_id: i32,
    }

    /// Both sides; deleting either deletes the link.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The first side.
        #[sea_orm(
            belongs_to = "super::group::Entity",
            from = "Column::GroupId",
            to = "super::group::Column::Id",
            on_delete = "Cascade"
        )]
        First,
        /// The second side.
        #[sea_orm(
            belongs_to = "super::permission::Entity",
            from = "Column::PermissionId",
            to = "super::permission::Column::Id",
            on_delete = "Cascade"
        )]
        Second,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A permission granted to a user directly.
pub mod user_permission {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;

    /// One link.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "keel_user_permissions")]
    pub struct Model {
        /// One side.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// The other side.
        #[sea_orm(primary_key, auto_increment = false, indexed)]
        pub permission_id: i32,
    }

    /// Both sides; deleting either deletes the link.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The first side.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        First,
        /// The second side.
        #[sea_orm(
            belongs_to = "super::permission::Entity",
            from = "Column::PermissionId",
            to = "super::permission::Column::Id",
            on_delete = "Cascade"
        )]
        Second,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A personal access token: only the hash of its secret is stored.
pub mod api_token {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A token.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "keel_api_tokens")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Whose it is.
        #[sea_orm(indexed)]
        pub user_id: i64,
        /// What the user called it.
        pub name: String,
        /// The public part of the token, to find it by.
        #[sea_orm(unique)]
        pub lookup: String,
        /// SHA-256 of the secret part, hex.
        #[serde(skip_serializing)]
        pub hash: String,
        /// Space-separated scopes.
        pub scopes: String,
        /// When it was made (Unix seconds).
        pub created_at: i64,
        /// When it stops working.
        pub expires_at: Option<i64>,
        /// When it was last used.
        pub last_used_at: Option<i64>,
        /// When it was revoked.
        pub revoked_at: Option<i64>,
    }

    /// Its user; deleting the user deletes the tokens.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The owner.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// Keel's auth models, for `Models::new().include(keel_auth::models())`.
pub fn models() -> Models {
    Models::new()
        .register::<user::Entity>()
        .register::<group::Entity>()
        .register::<permission::Entity>()
        .register::<user_group::Entity>()
        .register::<group_permission::Entity>()
        .register::<user_permission::Entity>()
        .register::<api_token::Entity>()
        .with_migrations(migrations)
}

/// The migrations that create the auth tables (applied before the app's).
pub fn migrations() -> Vec<Migration> {
    vec![crate::migrations::m0001_initial::migration()]
}
