//! One SeaORM statement on a `per-core` worker's own connections (`Db::open_local`,
//! keel-db's lanes) against the same statement through sqlx's pool (`Db::new`), on
//! the local PostgreSQL. The pool pings every connection it gets back (a spawned
//! task and a `Sync` round trip); lanes put the connection back as it is.
//!
//! Also on the lanes: twenty reads through `keel::db::find_by_id` (the statement
//! written once), and the 20-row `/updates` write as `keel::db::update_column` sends
//! it on PostgreSQL (two array parameters, `unnest`) against the `CASE` form it sent
//! before (61 parameters).
//!
//! `cargo bench -p keel-benches --features postgres --bench lanes`
//! (`KEEL_BENCH_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use keel::db::sea_orm::{ConnectionTrait, Database, EntityTrait};
use keel::db::{Db, DbSettings};

mod world {
    use keel::db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "keel_bench_world")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub randomnumber: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Connections on each side: as many as examples/tfb gives each worker.
const SIZE: u32 = 2;

fn main() {
    divan::main();
}

fn url() -> String {
    std::env::var("KEEL_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A current-thread runtime (as a worker has) and the table, created once.
fn runtime() -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Database::connect(url()).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS keel_bench_world \
             (id integer PRIMARY KEY, randomnumber integer NOT NULL); \
             INSERT INTO keel_bench_world SELECT i, i FROM generate_series(1, 1000) AS i \
             ON CONFLICT DO NOTHING",
        )
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    rt
}

fn settings() -> DbSettings {
    DbSettings {
        max_connections: SIZE,
        min_connections: SIZE,
        ..DbSettings::default()
    }
}

fn lanes(rt: &tokio::runtime::Runtime) -> Db {
    let db = rt
        .block_on(Db::open_local(&settings(), &url(), SIZE))
        .unwrap();
    assert!(db.is_worker_local());
    db
}

fn pool(rt: &tokio::runtime::Runtime) -> Db {
    let pool = rt
        .block_on(keel::db::pool::connect(&settings(), &url()))
        .unwrap();
    Db::new(pool)
}

/// One `find_by_id`, awaited before the next.
fn one_at_a_time(b: divan::Bencher<'_, '_>, open: fn(&tokio::runtime::Runtime) -> Db) {
    let rt = runtime();
    let db = open(&rt);
    b.bench_local(|| {
        rt.block_on(async {
            let id = fastrand::i32(1..=1000);
            let row = world::Entity::find_by_id(id).one(&*db).await.unwrap();
            assert_eq!(row.map(|w| w.randomnumber), Some(id));
        });
    });
}

/// Twenty `find_by_id` at once (the `/queries?queries=20` shape) over `SIZE`
/// connections.
fn twenty_at_once(b: divan::Bencher<'_, '_>, open: fn(&tokio::runtime::Runtime) -> Db) {
    let rt = runtime();
    let db = open(&rt);
    b.bench_local(|| {
        rt.block_on(async {
            let all = futures_util::future::try_join_all(
                (0..20).map(|_| world::Entity::find_by_id(fastrand::i32(1..=1000)).one(&*db)),
            )
            .await
            .unwrap();
            assert_eq!(all.len(), 20);
        });
    });
}

#[divan::bench]
fn statement_on_lanes(b: divan::Bencher<'_, '_>) {
    one_at_a_time(b, lanes);
}

#[divan::bench]
fn statement_on_pool(b: divan::Bencher<'_, '_>) {
    one_at_a_time(b, pool);
}

#[divan::bench]
fn twenty_on_lanes(b: divan::Bencher<'_, '_>) {
    twenty_at_once(b, lanes);
}

#[divan::bench]
fn twenty_on_pool(b: divan::Bencher<'_, '_>) {
    twenty_at_once(b, pool);
}

#[divan::bench]
fn twenty_find_by_id_on_lanes(b: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let db = lanes(&rt);
    b.bench_local(|| {
        rt.block_on(async {
            let all = futures_util::future::try_join_all(
                (0..20)
                    .map(|_| keel::db::find_by_id::<world::Entity>(&*db, fastrand::i32(1..=1000))),
            )
            .await
            .unwrap();
            assert_eq!(all.len(), 20);
        });
    });
}

/// Twenty distinct rows in key order, each with a new value.
fn twenty_rows() -> Vec<(i32, i32)> {
    let mut ids: Vec<i32> = (0..20).map(|i| i * 50 + fastrand::i32(1..=50)).collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| (id, fastrand::i32(1..=1000)))
        .collect()
}

#[divan::bench]
fn update_twenty_with_update_column(b: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let db = lanes(&rt);
    b.bench_local(|| {
        rt.block_on(async {
            let rows = twenty_rows();
            let n = keel::db::update_column::<world::Entity, _, _>(
                &*db,
                world::Column::Id,
                world::Column::Randomnumber,
                &rows,
            )
            .await
            .unwrap();
            assert_eq!(n, 20);
        });
    });
}

#[divan::bench]
fn update_twenty_with_case(b: divan::Bencher<'_, '_>) {
    use keel::db::sea_orm::sea_query::{CaseStatement, Expr};
    use keel::db::sea_orm::{ColumnTrait, QueryFilter};
    let rt = runtime();
    let db = lanes(&rt);
    b.bench_local(|| {
        rt.block_on(async {
            let rows = twenty_rows();
            let mut case = CaseStatement::new();
            for (id, n) in &rows {
                case = case.case(world::Column::Id.eq(*id), Expr::val(*n));
            }
            let done = world::Entity::update_many()
                .col_expr(world::Column::Randomnumber, case.into())
                .filter(world::Column::Id.is_in(rows.iter().map(|r| r.0)))
                .exec(&*db)
                .await
                .unwrap();
            assert_eq!(done.rows_affected, 20);
        });
    });
}
