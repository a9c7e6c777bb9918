//! Migration `0001_initial`, written by `db makemigrations`.
//!
//! - create table article
//! - create table article_tag
//! - create table comment
//! - create table favorite
//! - create table follow
//! - create table profile
//!
//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.

use keel::db::migrate::*;

/// The migration.
pub(super) fn migration() -> Migration {
    Migration::new("0001_initial")
        .up([
            Op::create_table(
                Table::new("article")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("slug", ColType::String(None)))
                    .column(Column::new("title", ColType::String(None)))
                    .column(Column::new("description", ColType::String(None)))
                    .column(Column::new("body", ColType::Text))
                    .column(Column::new("author_id", ColType::BigInteger))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("updated_at", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("uq-article-slug", ["slug"]).unique())
                    .index(Index::new("idx-article-author_id", ["author_id"]))
                    .index(Index::new("idx-article-created_at", ["created_at"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-article-author_id",
                            ["author_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("article_tag")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("article_id", ColType::Integer))
                    .column(Column::new("tag", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("idx-article_tag-article_id", ["article_id"]))
                    .index(Index::new("idx-article_tag-tag", ["tag"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-article_tag-article_id",
                            ["article_id"],
                            "article",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("comment")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("article_id", ColType::Integer))
                    .column(Column::new("author_id", ColType::BigInteger))
                    .column(Column::new("body", ColType::Text))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("updated_at", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("idx-comment-article_id", ["article_id"]))
                    .index(Index::new("idx-comment-author_id", ["author_id"]))
                    .foreign_key(
                        ForeignKey::new("fk-comment-article_id", ["article_id"], "article", ["id"])
                            .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-comment-author_id",
                            ["author_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("favorite")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("article_id", ColType::Integer))
                    .primary_key(["id"])
                    .index(Index::new("idx-favorite-user_id", ["user_id"]))
                    .index(Index::new("idx-favorite-article_id", ["article_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-favorite-article_id",
                            ["article_id"],
                            "article",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new("fk-favorite-user_id", ["user_id"], "keel_users", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("follow")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("follower_id", ColType::BigInteger))
                    .column(Column::new("followee_id", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("idx-follow-follower_id", ["follower_id"]))
                    .index(Index::new("idx-follow-followee_id", ["followee_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-follow-follower_id",
                            ["follower_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-follow-followee_id",
                            ["followee_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::create_table(
                Table::new("profile")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("username", ColType::String(None)))
                    .column(Column::new("bio", ColType::Text).nullable())
                    .column(Column::new("image", ColType::String(None)).nullable())
                    .primary_key(["user_id"])
                    .index(Index::new("uq-profile-username", ["username"]).unique())
                    .foreign_key(
                        ForeignKey::new("fk-profile-user_id", ["user_id"], "keel_users", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
        ])
        .down([
            Op::drop_table(
                Table::new("profile")
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("username", ColType::String(None)))
                    .column(Column::new("bio", ColType::Text).nullable())
                    .column(Column::new("image", ColType::String(None)).nullable())
                    .primary_key(["user_id"])
                    .index(Index::new("uq-profile-username", ["username"]).unique())
                    .foreign_key(
                        ForeignKey::new("fk-profile-user_id", ["user_id"], "keel_users", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("follow")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("follower_id", ColType::BigInteger))
                    .column(Column::new("followee_id", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("idx-follow-follower_id", ["follower_id"]))
                    .index(Index::new("idx-follow-followee_id", ["followee_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-follow-follower_id",
                            ["follower_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-follow-followee_id",
                            ["followee_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("favorite")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("user_id", ColType::BigInteger))
                    .column(Column::new("article_id", ColType::Integer))
                    .primary_key(["id"])
                    .index(Index::new("idx-favorite-user_id", ["user_id"]))
                    .index(Index::new("idx-favorite-article_id", ["article_id"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-favorite-article_id",
                            ["article_id"],
                            "article",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new("fk-favorite-user_id", ["user_id"], "keel_users", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("comment")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("article_id", ColType::Integer))
                    .column(Column::new("author_id", ColType::BigInteger))
                    .column(Column::new("body", ColType::Text))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("updated_at", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("idx-comment-article_id", ["article_id"]))
                    .index(Index::new("idx-comment-author_id", ["author_id"]))
                    .foreign_key(
                        ForeignKey::new("fk-comment-article_id", ["article_id"], "article", ["id"])
                            .on_delete(FkAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::new(
                            "fk-comment-author_id",
                            ["author_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("article_tag")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("article_id", ColType::Integer))
                    .column(Column::new("tag", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("idx-article_tag-article_id", ["article_id"]))
                    .index(Index::new("idx-article_tag-tag", ["tag"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-article_tag-article_id",
                            ["article_id"],
                            "article",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("article")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("slug", ColType::String(None)))
                    .column(Column::new("title", ColType::String(None)))
                    .column(Column::new("description", ColType::String(None)))
                    .column(Column::new("body", ColType::Text))
                    .column(Column::new("author_id", ColType::BigInteger))
                    .column(Column::new("created_at", ColType::BigInteger))
                    .column(Column::new("updated_at", ColType::BigInteger))
                    .primary_key(["id"])
                    .index(Index::new("uq-article-slug", ["slug"]).unique())
                    .index(Index::new("idx-article-author_id", ["author_id"]))
                    .index(Index::new("idx-article-created_at", ["created_at"]))
                    .foreign_key(
                        ForeignKey::new(
                            "fk-article-author_id",
                            ["author_id"],
                            "keel_users",
                            ["id"],
                        )
                        .on_delete(FkAction::Cascade),
                    ),
            ),
        ])
}
