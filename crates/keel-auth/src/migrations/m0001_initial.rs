//! Migration `keel_auth_0001`, written by `db makemigrations` from the auth models.
//!
//! - create table keel_groups
//! - create table keel_permissions
//! - create table keel_users
//! - create table keel_api_tokens
//! - create table keel_group_permissions
//! - create table keel_user_groups
//! - create table keel_user_permissions
//!

use keel_db::migrate::*;

/// The migration.
pub(crate) fn migration() -> Migration {
    Migration::new("keel_auth_0001")
        .up([
            Op::create_table(
                Table::new("keel_groups")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_groups-name", ["name"]).unique()),
            ),
            Op::create_table(
                Table::new("keel_permissions")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("codename", ColType::String(None)))
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_permissions-codename", ["codename"]).unique()),
            ),
            Op::create_table(
                Table::new("keel_users")
                    .column(Column::new("id", ColType::BigInteger).auto_increment())
                    .column(Column::new("email", ColType::String(None)))
                    .column(Column::new("password", ColType::String(None)))
                    .column(
                        Column::new("is_active", ColType::Boolean)
                            .default(DefaultValue::Bool(true)),
                    )
                    .column(
                        Column::new("is_staff", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(
                        Column::new("is_superuser", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(
                        Column::new("email_verified", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(Column::new("date_joined", ColType::BigInteger))
                    .column(Column::new("last_login", ColType::BigInteger).nullable())
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_users-email", ["email"]).unique()),
            ),
            Op::create_table(
                Table::new("keel_api_tokens")
                    .column(Column::new("id", ColType::BigInteger).auto_increment())
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("name", ColType::String(None)))
                    .column(Column::new("lookup", ColType::String(None)))
                    .column(Column::new("hash", ColType::String(None)))
                    .column(Column::new("scopes", ColType::String(None)))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("expires_at", ColType::BigInteger).nullable())
                    .column(Column::new("last_used_at", ColType::BigInteger).nullable())
                    .column(Column::new("revoked_at", ColType::BigInteger).nullable())
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_api_tokens-lookup", ["lookup"]).unique())
                    .index(Index::new("idx-keel_api_tokens-user_id", ["user_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_api_tokens-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("keel_group_permissions")
                    .column(Column::new("group_id", ColType::Integer))
                    .column(Column::new("permission_id", ColType::Integer))
                    .primary_key(["group_id", "permission_id"])
                    .index(Index::new(
                        "idx-keel_group_permissions-permission_id",
                        ["permission_id"],
                    ))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_group_permissions-group_id",
                            ["group_id"],
                            "keel_groups",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_group_permissions-permission_id",
                            ["permission_id"],
                            "keel_permissions",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("keel_user_groups")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("group_id", ColType::Integer))
                    .primary_key(["user_id", "group_id"])
                    .index(Index::new("idx-keel_user_groups-group_id", ["group_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_groups-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_groups-group_id",
                            ["group_id"],
                            "keel_groups",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("keel_user_permissions")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("permission_id", ColType::Integer))
                    .primary_key(["user_id", "permission_id"])
                    .index(Index::new(
                        "idx-keel_user_permissions-permission_id",
                        ["permission_id"],
                    ))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_permissions-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_permissions-permission_id",
                            ["permission_id"],
                            "keel_permissions",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
        ])
        .down([
            Op::drop_table(
                Table::new("keel_user_permissions")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("permission_id", ColType::Integer))
                    .primary_key(["user_id", "permission_id"])
                    .index(Index::new(
                        "idx-keel_user_permissions-permission_id",
                        ["permission_id"],
                    ))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_permissions-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_permissions-permission_id",
                            ["permission_id"],
                            "keel_permissions",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("keel_user_groups")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("group_id", ColType::Integer))
                    .primary_key(["user_id", "group_id"])
                    .index(Index::new("idx-keel_user_groups-group_id", ["group_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_groups-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_user_groups-group_id",
                            ["group_id"],
                            "keel_groups",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("keel_group_permissions")
                    .column(Column::new("group_id", ColType::Integer))
                    .column(Column::new("permission_id", ColType::Integer))
                    .primary_key(["group_id", "permission_id"])
                    .index(Index::new(
                        "idx-keel_group_permissions-permission_id",
                        ["permission_id"],
                    ))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_group_permissions-group_id",
                            ["group_id"],
                            "keel_groups",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_group_permissions-permission_id",
                            ["permission_id"],
                            "keel_permissions",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("keel_api_tokens")
                    .column(Column::new("id", ColType::BigInteger).auto_increment())
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("name", ColType::String(None)))
                    .column(Column::new("lookup", ColType::String(None)))
                    .column(Column::new("hash", ColType::String(None)))
                    .column(Column::new("scopes", ColType::String(None)))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("expires_at", ColType::BigInteger).nullable())
                    .column(Column::new("last_used_at", ColType::BigInteger).nullable())
                    .column(Column::new("revoked_at", ColType::BigInteger).nullable())
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_api_tokens-lookup", ["lookup"]).unique())
                    .index(Index::new("idx-keel_api_tokens-user_id", ["user_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-keel_api_tokens-user_id",
                            ["user_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("keel_users")
                    .column(Column::new("id", ColType::BigInteger).auto_increment())
                    .column(Column::new("email", ColType::String(None)))
                    .column(Column::new("password", ColType::String(None)))
                    .column(
                        Column::new("is_active", ColType::Boolean)
                            .default(DefaultValue::Bool(true)),
                    )
                    .column(
                        Column::new("is_staff", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(
                        Column::new("is_superuser", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(
                        Column::new("email_verified", ColType::Boolean)
                            .default(DefaultValue::Bool(false)),
                    )
                    .column(Column::new("date_joined", ColType::BigInteger))
                    .column(Column::new("last_login", ColType::BigInteger).nullable())
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_users-email", ["email"]).unique()),
            ),
            Op::drop_table(
                Table::new("keel_permissions")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("codename", ColType::String(None)))
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_permissions-codename", ["codename"]).unique()),
            ),
            Op::drop_table(
                Table::new("keel_groups")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-keel_groups-name", ["name"]).unique()),
            ),
        ])
}
