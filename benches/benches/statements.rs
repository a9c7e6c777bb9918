//! Writing the statement of a read by primary key: SeaORM's
//! `Entity::find_by_id(id).limit(1).build(backend)` (what `.one(db)` does on every
//! call) against `keel::db::find_by_id_statement`, which copies the statement SeaORM
//! wrote on the thread's first call and binds the new key. No database: this is the
//! framework's part of `find_by_id` before the driver.
//!
//! `cargo bench -p keel-benches --bench statements`
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use keel::db::sea_orm::{DbBackend, EntityTrait, QuerySelect, QueryTrait};

use keel_benches::world;

fn main() {
    divan::main();
}

#[divan::bench(args = [DbBackend::Postgres, DbBackend::Sqlite])]
fn find_by_id_written_by_sea_orm(backend: DbBackend) -> keel::db::sea_orm::Statement {
    let id = divan::black_box(fastrand::i32(1..=10_000));
    world::Entity::find_by_id(id).limit(1).build(backend)
}

#[divan::bench(args = [DbBackend::Postgres, DbBackend::Sqlite])]
fn find_by_id_statement_copied(backend: DbBackend) -> keel::db::sea_orm::Statement {
    let id = divan::black_box(fastrand::i32(1..=10_000));
    keel::db::find_by_id_statement::<world::Entity>(backend, id)
}
