//! `keel::db::update_column` (one statement for N rows) against one UPDATE per row,
//! for the 20-row `/updates` of the TechEmpower suite, on SQLite in memory (the
//! statement and round-trip overhead; on a networked database each saved statement
//! is also a saved round trip).
//!
//! `cargo bench -p keel-benches --bench updates`
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use keel::db::sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set};

use keel_benches::world;

fn main() {
    divan::main();
}

fn setup() -> (tokio::runtime::Runtime, DatabaseConnection) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(async {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL)",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
             INSERT INTO world SELECT i, i FROM n",
        )
        .await
        .unwrap();
        db
    });
    (rt, db)
}

fn rows() -> Vec<(i32, i32)> {
    (0..20)
        .map(|_| (fastrand::i32(1..=10_000), fastrand::i32(1..=10_000)))
        .collect()
}

#[divan::bench]
fn one_statement_per_row(b: divan::Bencher<'_, '_>) {
    let (rt, db) = setup();
    b.bench_local(|| {
        rt.block_on(async {
            for (id, n) in rows() {
                world::ActiveModel {
                    id: Set(id),
                    randomnumber: Set(n),
                }
                .update(&db)
                .await
                .unwrap();
            }
        });
    });
}

#[divan::bench]
fn update_column_batch(b: divan::Bencher<'_, '_>) {
    let (rt, db) = setup();
    b.bench_local(|| {
        rt.block_on(async {
            keel::db::update_column::<world::Entity, _, _>(
                &db,
                world::Column::Id,
                world::Column::Randomnumber,
                &rows(),
            )
            .await
            .unwrap();
        });
    });
}
