//! Migration `0002_add_post_author`, written by `db makemigrations`.
//!
//! - add column post.author_id
//! - create index idx-post-author_id on post
//! - add foreign key fk-post-author_id on post
//!
//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.

use keel::db::migrate::*;

/// The migration.
pub(super) fn migration() -> Migration {
    Migration::new("0002_add_post_author")
        .up([
            Op::add_column(
                "post",
                Column::new("author_id", ColType::BigInteger).nullable(),
            ),
            Op::create_index("post", Index::new("idx-post-author_id", ["author_id"])),
            Op::add_foreign_key(
                "post",
                ForeignKey::new("fk-post-author_id", ["author_id"], "keel_users", ["id"])
                    .on_delete(FkAction::SetNull),
            ),
        ])
        .down([
            Op::drop_foreign_key(
                "post",
                ForeignKey::new("fk-post-author_id", ["author_id"], "keel_users", ["id"])
                    .on_delete(FkAction::SetNull),
            ),
            Op::drop_index("post", Index::new("idx-post-author_id", ["author_id"])),
            Op::drop_column(
                "post",
                Column::new("author_id", ColType::BigInteger).nullable(),
            ),
        ])
}
