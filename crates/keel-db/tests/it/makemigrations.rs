//! For each operation: entities A → entities B, the generated migration applied to a
//! real database equals B created fresh; rolled back it equals A; the data in the
//! columns the change does not drop survives both ways. The generated file is pinned
//! by a snapshot.

use keel_db::Models;
use keel_db::migrate::writer::migration_source;
use keel_db::migrate::{Migration, Op, Schema, UnambiguousRenames, diff};
use keel_test::db::TestDb;

use crate::entities::*;
use crate::support::{exec, live, migrate, rollback, rows};

fn initial(models: &Models) -> Migration {
    let schema = models.schema().expect("models");
    let ops = diff(&Schema::new(), &schema, &mut UnambiguousRenames)
        .expect("diff from empty")
        .ops;
    Migration::new("0001_initial").up(ops)
}

/// Runs one A → B scenario. `seed` fills A; `kept` lists `(column in A, column in B)`
/// of `item` whose values must survive.
async fn scenario(name: &str, a: Models, b: Models, seed: &[&str], kept: &[(&str, &str)]) {
    let schema_a = a.schema().expect("A");
    let schema_b = b.schema().expect("B");
    let changes = diff(&schema_a, &schema_b, &mut UnambiguousRenames).expect("diff A → B");
    assert!(!changes.ops.is_empty(), "{name}: no operations generated");
    let down: Vec<Op> = changes.ops.iter().rev().filter_map(Op::reverse).collect();
    let described: Vec<String> = changes.ops.iter().map(Op::describe).collect();
    insta::assert_snapshot!(
        format!("makemigrations_{name}"),
        migration_source("0002_change", &changes.ops, &down, &described)
    );
    let m1 = initial(&a);
    let m2 = Migration::new("0002_change")
        .up(changes.ops.clone())
        .down(down);

    let db = TestDb::new().await;
    migrate(&db, vec![m1.clone()]).await;
    for sql in seed {
        exec(db.conn(), sql).await;
    }
    let select = |cols: Vec<&str>| format!("SELECT {} FROM item ORDER BY id", cols.join(", "));
    let before = if kept.is_empty() {
        Vec::new()
    } else {
        rows(db.url(), &select(kept.iter().map(|(a, _)| *a).collect())).await
    };

    assert_eq!(
        migrate(&db, vec![m1.clone(), m2.clone()]).await,
        ["0002_change"]
    );
    let fresh_b = TestDb::new().await;
    migrate(&fresh_b, vec![initial(&b)]).await;
    assert_eq!(
        live(&db).await,
        live(&fresh_b).await,
        "{name}: A + migration differs from fresh B"
    );
    if !kept.is_empty() {
        let after = rows(db.url(), &select(kept.iter().map(|(_, b)| *b).collect())).await;
        assert_eq!(
            values(&before),
            values(&after),
            "{name}: data lost going to B"
        );
    }

    assert_eq!(
        rollback(&db, vec![m1.clone(), m2], 1).await,
        ["0002_change"]
    );
    let fresh_a = TestDb::new().await;
    migrate(&fresh_a, vec![m1]).await;
    assert_eq!(
        live(&db).await,
        live(&fresh_a).await,
        "{name}: rolled back differs from fresh A"
    );
    if !kept.is_empty() {
        let back = rows(db.url(), &select(kept.iter().map(|(a, _)| *a).collect())).await;
        assert_eq!(
            values(&before),
            values(&back),
            "{name}: data lost rolling back"
        );
    }
}

/// Row values without column names (a rename changes the names, not the values),
/// numbers and strings compared as text (a widened integer is the same value).
fn values(rows: &[serde_json::Value]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.as_object()
                .map(|o| {
                    o.values()
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

const SEED: &str = "INSERT INTO item (id, name) VALUES (1, 'alpha'), (2, 'beta')";

#[tokio::test]
async fn create_table() {
    scenario(
        "create_table",
        Models::new(),
        Models::new().register::<base::Entity>(),
        &[],
        &[],
    )
    .await;
}

#[tokio::test]
async fn drop_table() {
    scenario(
        "drop_table",
        Models::new().register::<base::Entity>(),
        Models::new(),
        &[SEED],
        &[],
    )
    .await;
}

#[tokio::test]
async fn add_nullable_column() {
    scenario(
        "add_nullable_column",
        Models::new().register::<base::Entity>(),
        Models::new().register::<with_note::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn add_not_null_column_with_backfill() {
    scenario(
        "add_not_null_column",
        Models::new().register::<base::Entity>(),
        Models::new().register::<with_qty::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn drop_column() {
    scenario(
        "drop_column",
        Models::new().register::<with_note::Entity>(),
        Models::new().register::<base::Entity>(),
        &["INSERT INTO item (id, name, note) VALUES (1, 'alpha', 'x'), (2, 'beta', NULL)"],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn change_type() {
    scenario(
        "change_type",
        Models::new().register::<with_qty::Entity>(),
        Models::new().register::<with_big_qty::Entity>(),
        &["INSERT INTO item (id, name, qty) VALUES (1, 'alpha', 7), (2, 'beta', 2147483647)"],
        &[("id", "id"), ("name", "name"), ("qty", "qty")],
    )
    .await;
}

#[tokio::test]
async fn change_default() {
    scenario(
        "change_default",
        Models::new().register::<with_qty::Entity>(),
        Models::new().register::<with_qty_default::Entity>(),
        &["INSERT INTO item (id, name, qty) VALUES (1, 'alpha', 7), (2, 'beta', 8)"],
        &[("id", "id"), ("name", "name"), ("qty", "qty")],
    )
    .await;
}

#[tokio::test]
async fn change_nullability() {
    scenario(
        "change_nullability",
        Models::new().register::<base::Entity>(),
        Models::new().register::<nullable_name::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn add_index() {
    scenario(
        "add_index",
        Models::new().register::<base::Entity>(),
        Models::new().register::<indexed_name::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn drop_index() {
    scenario(
        "drop_index",
        Models::new().register::<indexed_name::Entity>(),
        Models::new().register::<base::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn add_unique() {
    scenario(
        "add_unique",
        Models::new().register::<base::Entity>(),
        Models::new().register::<unique_name::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

#[tokio::test]
async fn drop_unique() {
    scenario(
        "drop_unique",
        Models::new().register::<unique_name::Entity>(),
        Models::new().register::<base::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "name")],
    )
    .await;
}

const OWNED_SEED: [&str; 2] = [
    "INSERT INTO owner (id, name) VALUES (1, 'ada'), (2, 'bob')",
    "INSERT INTO item (id, name, owner_id) VALUES (1, 'alpha', 1), (2, 'beta', 2)",
];

#[tokio::test]
async fn add_foreign_key() {
    scenario(
        "add_foreign_key",
        Models::new()
            .register::<owner::Entity>()
            .register::<with_owner_id::Entity>(),
        Models::new()
            .register::<owner::Entity>()
            .register::<owned::Entity>(),
        &OWNED_SEED,
        &[("id", "id"), ("name", "name"), ("owner_id", "owner_id")],
    )
    .await;
}

#[tokio::test]
async fn drop_foreign_key() {
    scenario(
        "drop_foreign_key",
        Models::new()
            .register::<owner::Entity>()
            .register::<owned::Entity>(),
        Models::new()
            .register::<owner::Entity>()
            .register::<with_owner_id::Entity>(),
        &OWNED_SEED,
        &[("id", "id"), ("name", "name"), ("owner_id", "owner_id")],
    )
    .await;
}

#[tokio::test]
async fn rename_column_when_unambiguous() {
    scenario(
        "rename_column",
        Models::new().register::<base::Entity>(),
        Models::new().register::<titled::Entity>(),
        &[SEED],
        &[("id", "id"), ("name", "title")],
    )
    .await;
}

#[tokio::test]
async fn rebuilding_a_parent_table_on_sqlite_keeps_child_rows() {
    // A rebuilt parent (here: owner gains a NOT NULL column) must not cascade-delete
    // the rows that reference it.
    scenario(
        "parent_rebuild",
        Models::new()
            .register::<owner::Entity>()
            .register::<owned::Entity>(),
        Models::new()
            .register::<owner_with_email::Entity>()
            .register::<owned::Entity>(),
        &OWNED_SEED,
        &[("id", "id"), ("name", "name"), ("owner_id", "owner_id")],
    )
    .await;
}

pub mod owner_with_email {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "owner")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
        pub email: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[test]
fn ambiguous_renames_become_drop_and_add_with_a_warning() {
    use keel_db::migrate::{ColType, Column, Table};
    let table = |cols: &[&str]| {
        let mut t = Table::new("t")
            .column(Column::new("id", ColType::Integer).auto_increment())
            .primary_key(["id"]);
        for c in cols {
            t = t.column(Column::new(*c, ColType::Text).nullable());
        }
        t
    };
    let mut a = Schema::new();
    a.tables.insert("t".into(), table(&["a", "b"]));
    let mut b = Schema::new();
    b.tables.insert("t".into(), table(&["c", "d"]));
    let changes = diff(&a, &b, &mut UnambiguousRenames).expect("diff");
    assert!(
        !changes
            .ops
            .iter()
            .any(|o| matches!(o, Op::RenameColumn { .. })),
        "ambiguous pairs must not be guessed: {:?}",
        changes.ops
    );
    assert_eq!(
        changes
            .ops
            .iter()
            .filter(|o| matches!(o, Op::AddColumn { .. }))
            .count(),
        2
    );
    assert!(
        changes.warnings.iter().any(|w| w.contains("ambiguous")),
        "{:?}",
        changes.warnings
    );
}

#[test]
fn a_model_referencing_an_unregistered_model_is_reported() {
    let err = Models::new()
        .register::<owned::Entity>()
        .schema()
        .unwrap_err();
    assert!(err.contains("not a registered model"), "{err}");
}

pub mod thing {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    /// `item` renamed to `thing`, columns unchanged.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "thing")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[tokio::test]
async fn rename_table_when_unambiguous_keeps_rows() {
    let a = Models::new().register::<base::Entity>();
    let b = Models::new().register::<thing::Entity>();
    let changes = diff(
        &a.schema().expect("A"),
        &b.schema().expect("B"),
        &mut UnambiguousRenames,
    )
    .expect("diff");
    assert_eq!(changes.ops, [Op::rename_table("item", "thing")]);
    let m1 = initial(&a);
    let m2 = Migration::new("0002_rename").up(changes.ops);
    let db = TestDb::new().await;
    migrate(&db, vec![m1.clone()]).await;
    exec(db.conn(), SEED).await;
    migrate(&db, vec![m1.clone(), m2.clone()]).await;
    let fresh = TestDb::new().await;
    migrate(&fresh, vec![initial(&b)]).await;
    assert_eq!(live(&db).await, live(&fresh).await);
    let kept = rows(db.url(), "SELECT id, name FROM thing ORDER BY id").await;
    assert_eq!(values(&kept), [["1", "alpha"], ["2", "beta"]]);
    rollback(&db, vec![m1, m2], 1).await;
    let back = rows(db.url(), "SELECT id, name FROM item ORDER BY id").await;
    assert_eq!(values(&back), [["1", "alpha"], ["2", "beta"]]);
}

#[test]
fn makemigrations_writes_the_module_and_keeps_mod_rs_listing() {
    use keel_db::commands::{MakeOutcome, makemigrations};
    use keel_db::migrate::Migrator;

    let dir = tempfile::tempdir().expect("temp dir");
    let a = Models::new().register::<base::Entity>();
    let b = Models::new().register::<with_note::Entity>();
    let first = makemigrations(
        &Migrator::new(vec![]).expect("empty"),
        &a,
        dir.path(),
        None,
        false,
        &mut UnambiguousRenames,
    )
    .expect("first");
    let MakeOutcome::Written(path) = first else {
        panic!("expected a file: {first:?}")
    };
    assert!(path.ends_with("m0001_create_item.rs"), "{}", path.display());
    let migrator = Migrator::new(vec![initial(&a)]).expect("valid");
    // mod.rs lists 0001_create_item; the binary was "built" with 0001_initial: refused.
    let err = makemigrations(
        &migrator,
        &b,
        dir.path(),
        Some("add note"),
        false,
        &mut UnambiguousRenames,
    )
    .unwrap_err();
    assert!(err.to_string().contains("rebuild"), "{err}");
    std::fs::write(
        dir.path().join("mod.rs"),
        keel_db::migrate::writer::mod_source(&["0001_initial".to_owned()]),
    )
    .expect("mod.rs");
    let second = makemigrations(
        &migrator,
        &b,
        dir.path(),
        Some("add note"),
        false,
        &mut UnambiguousRenames,
    )
    .expect("second");
    assert_eq!(
        second,
        MakeOutcome::Written(dir.path().join("m0002_add_note.rs"))
    );
    let text = std::fs::read_to_string(dir.path().join("m0002_add_note.rs")).expect("file");
    assert!(
        text.contains("Op::add_column(")
            && text.contains(r#"Column::new("note", ColType::String(None)).nullable()"#),
        "{text}"
    );
    let listing = std::fs::read_to_string(dir.path().join("mod.rs")).expect("mod.rs");
    assert!(
        listing.contains("mod m0001_initial;") && listing.contains("mod m0002_add_note;"),
        "{listing}"
    );
    assert!(listing.contains("m0002_add_note::migration()"), "{listing}");
    // --check: differences are an error, agreement is not.
    let check = makemigrations(
        &migrator,
        &b,
        dir.path(),
        None,
        true,
        &mut UnambiguousRenames,
    )
    .unwrap_err();
    assert!(check.to_string().contains("db makemigrations"), "{check}");
    let same = makemigrations(
        &migrator,
        &a,
        dir.path(),
        None,
        true,
        &mut UnambiguousRenames,
    )
    .expect("agree");
    assert_eq!(same, MakeOutcome::NoChanges);
}

#[test]
fn renames_can_be_refused_by_the_policy() {
    use keel_db::migrate::NoRenames;
    let a = Models::new()
        .register::<base::Entity>()
        .schema()
        .expect("A");
    let b = Models::new()
        .register::<titled::Entity>()
        .schema()
        .expect("B");
    let ops = diff(&a, &b, &mut NoRenames).expect("diff").ops;
    assert!(
        ops.iter().any(|o| matches!(o, Op::DropColumn { .. })),
        "{ops:?}"
    );
    assert!(
        ops.iter().any(|o| matches!(o, Op::AddColumn { .. })),
        "{ops:?}"
    );
}
