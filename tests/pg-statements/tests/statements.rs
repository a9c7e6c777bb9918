//! A `per-core` worker's statements on PostgreSQL, through `Db::open_local`: values
//! of every type both ways, column order, server errors as 409s, a killed backend,
//! a cancelled statement and many statements at once.
//!
//! The same tests run twice in CI: on the sqlx lanes (default), and with
//! `--features pipeline` through keel-db's pipelining client, where they also check
//! which statements the pipeline took and which it handed to the lanes.
//!
//! They need a PostgreSQL server whose user may create databases, named by
//! `KEEL_TEST_DATABASE_URL`; without one they are ignored:
//!
//! ```text
//! KEEL_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test -p keel-pg-statements [--features pipeline] -- --include-ignored
//! ```

// Helpers here are test code too: an unwrap that fails is a failed test.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keel_db::{Db, DbErrorClassifier, DbSettings};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, QueryOrder, QuerySelect, Statement};

/// Every column type the pipeline reads, named in ascending order so SeaORM's
/// selects keep them in name order.
mod sample {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sample")]
    pub(crate) struct Model {
        #[sea_orm(primary_key)]
        pub(crate) a_id: i32,
        pub(crate) b_flag: bool,
        pub(crate) c_small: i16,
        pub(crate) d_int: i32,
        pub(crate) e_big: i64,
        pub(crate) f_real: f32,
        pub(crate) g_double: f64,
        pub(crate) h_text: String,
        pub(crate) i_varchar: String,
        pub(crate) j_bytes: Vec<u8>,
        pub(crate) k_json: Json,
        pub(crate) l_date: Date,
        pub(crate) m_time: Time,
        pub(crate) n_stamp: DateTime,
        pub(crate) o_uuid: Uuid,
        pub(crate) p_maybe: Option<i32>,
        pub(crate) q_note: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Columns out of name order and `timestamptz` read two ways: the pipeline hands
/// these to the lanes.
mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "event")]
    pub(crate) struct Model {
        #[sea_orm(primary_key)]
        pub(crate) id: i32,
        pub(crate) name: String,
        pub(crate) at_utc: DateTimeUtc,
        pub(crate) at_fixed: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE sample (a_id serial PRIMARY KEY, b_flag boolean NOT NULL, c_small smallint NOT NULL,
       d_int integer NOT NULL, e_big bigint NOT NULL, f_real real NOT NULL, g_double double precision NOT NULL,
       h_text text NOT NULL, i_varchar varchar(40) NOT NULL, j_bytes bytea NOT NULL, k_json jsonb NOT NULL,
       l_date date NOT NULL, m_time time NOT NULL, n_stamp timestamp NOT NULL, o_uuid uuid NOT NULL,
       p_maybe integer, q_note text)",
    "CREATE TABLE event (id serial PRIMARY KEY, name text NOT NULL, at_utc timestamptz NOT NULL,
       at_fixed timestamptz NOT NULL)",
    "CREATE TABLE account (id serial PRIMARY KEY, email text NOT NULL)",
    "CREATE UNIQUE INDEX account_email_key ON account (email)",
    "CREATE TABLE post (id serial PRIMARY KEY, account_id integer NOT NULL REFERENCES account (id))",
];

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of the test's own with [`SCHEMA`], dropped afterwards.
struct Fixture {
    admin: DatabaseConnection,
    name: String,
    url: String,
}

impl Fixture {
    async fn new() -> Self {
        let server = std::env::var("KEEL_TEST_DATABASE_URL")
            .expect("KEEL_TEST_DATABASE_URL=postgres://… (a user that may create databases)");
        let admin = Database::connect(&server).await.expect("connect");
        let name = format!(
            "keel_stmts_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let (base, _) = server.rsplit_once('/').expect("database URL with a path");
        let url = format!("{base}/{name}");
        let setup = Database::connect(&url)
            .await
            .expect("connect to the new database");
        for sql in SCHEMA {
            setup.execute_unprepared(sql).await.expect("schema");
        }
        setup.close().await.ok();
        Self { admin, name, url }
    }

    /// A worker's connections, as a `per-core` worker opens them.
    async fn db(&self, connections: u32) -> Db {
        let settings = DbSettings {
            acquire_timeout: Duration::from_secs(10),
            ..DbSettings::default()
        };
        Db::open_local(&settings, &self.url, connections)
            .await
            .expect("open the worker's connections")
    }

    /// The last statement of each session on the test's database, by application.
    async fn sessions(&self) -> Vec<(String, String)> {
        let rows = self
            .admin
            .query_all_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT application_name, query FROM pg_stat_activity WHERE datname = $1",
                [self.name.clone().into()],
            ))
            .await
            .expect("pg_stat_activity");
        rows.iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "application_name").unwrap(),
                    r.try_get::<String>("", "query").unwrap(),
                )
            })
            .collect()
    }

    /// Whether the last statement of a session of `app` (`keel-pipeline`, or anything
    /// else for sqlx) mentions `needle`.
    async fn ran(&self, app: &str, needle: &str) -> bool {
        let sessions = self.sessions().await;
        let found = sessions
            .iter()
            .any(|(a, q)| (a == "keel-pipeline") == (app == "keel-pipeline") && q.contains(needle));
        if !found {
            eprintln!("sessions: {sessions:?}");
        }
        found
    }

    /// Closes the pipeline's sessions from outside, as a server restart would.
    async fn kill_sessions(&self) {
        self.admin
            .execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                [self.name.clone().into()],
            ))
            .await
            .expect("terminate");
    }

    async fn drop_database(self) {
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .expect("drop database");
    }
}

fn sample_row(i: i32) -> sample::ActiveModel {
    let date = Date::from_ymd_opt(2026, 11, 24).unwrap();
    sample::ActiveModel {
        b_flag: sea_orm::Set(i % 2 == 0),
        c_small: sea_orm::Set(-7 - i as i16),
        d_int: sea_orm::Set(i * 1000),
        e_big: sea_orm::Set(9_000_000_000 + i64::from(i)),
        f_real: sea_orm::Set(1.5 + i as f32),
        g_double: sea_orm::Set(2.25 + f64::from(i)),
        h_text: sea_orm::Set(format!("text {i} — ünïcode")),
        i_varchar: sea_orm::Set(format!("v{i}")),
        j_bytes: sea_orm::Set(vec![0, 1, 255, i as u8]),
        k_json: sea_orm::Set(serde_json::json!({"n": i, "tags": ["a", "b"]})),
        l_date: sea_orm::Set(date),
        m_time: sea_orm::Set(Time::from_hms_milli_opt(13, 14, 15, 250).unwrap()),
        n_stamp: sea_orm::Set(date.and_hms_opt(8, 0, i as u32).unwrap()),
        o_uuid: sea_orm::Set(Uuid::from_u128(0x1234_5678_9abc_def0_u128 + i as u128)),
        p_maybe: sea_orm::Set(if i % 2 == 0 { None } else { Some(i) }),
        q_note: sea_orm::Set(if i % 2 == 0 {
            None
        } else {
            Some("note".into())
        }),
        ..Default::default()
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn values_of_every_type_round_trip_and_bind_as_filters() {
    let fx = Fixture::new().await;
    let db = fx.db(2).await;
    let mut inserted = Vec::new();
    for i in 1..=4 {
        inserted.push(sample_row(i).insert(&*db).await.expect("insert"));
    }
    let all = sample::Entity::find()
        .order_by_asc(sample::Column::AId)
        .all(&*db)
        .await
        .unwrap();
    assert_eq!(all, inserted);
    let two = &inserted[1];
    assert_eq!(two.p_maybe, None);
    assert_eq!(inserted[0].q_note.as_deref(), Some("note"));

    // Each type bound as a parameter finds exactly its row.
    use sample::Column as C;
    let filters: Vec<(&str, sea_orm::sea_query::Expr)> = vec![
        ("id", C::AId.eq(two.a_id)),
        ("bool", C::BFlag.eq(true).and(C::DInt.eq(2000))),
        ("smallint", C::CSmall.eq(two.c_small)),
        ("bigint", C::EBig.eq(two.e_big)),
        ("real", C::FReal.eq(two.f_real)),
        ("double", C::GDouble.eq(two.g_double)),
        ("text", C::HText.eq(two.h_text.clone())),
        ("varchar", C::IVarchar.eq(two.i_varchar.clone())),
        ("bytea", C::JBytes.eq(two.j_bytes.clone())),
        ("jsonb", C::KJson.eq(two.k_json.clone())),
        ("timestamp", C::NStamp.eq(two.n_stamp)),
        ("uuid", C::OUuid.eq(two.o_uuid)),
        ("null", C::PMaybe.is_null().and(C::DInt.eq(2000))),
    ];
    for (what, filter) in filters {
        let found = sample::Entity::find()
            .filter(filter)
            .all(&*db)
            .await
            .unwrap();
        assert_eq!(found, vec![two.clone()], "filter on {what}");
    }
    let dated = sample::Entity::find()
        .filter(C::LDate.eq(two.l_date))
        .filter(C::MTime.eq(two.m_time))
        .count(&*db)
        .await
        .unwrap();
    assert_eq!(dated, 4, "date and time bound as filters");

    // Updates and deletes report the rows they touched.
    let touched = sample::Entity::update_many()
        .col_expr(C::QNote, Expr::value("changed"))
        .filter(C::DInt.gte(2000))
        .exec(&*db)
        .await
        .unwrap();
    assert_eq!(touched.rows_affected, 3);
    let deleted = sample::Entity::delete_by_id(inserted[0].a_id)
        .exec(&*db)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected, 1);
    assert_eq!(sample::Entity::find().count(&*db).await.unwrap(), 3);
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn columns_out_of_name_order_and_timestamptz_read_as_selected() {
    let fx = Fixture::new().await;
    let db = fx.db(2).await;
    for i in 1..=3 {
        sample_row(i).insert(&*db).await.unwrap();
    }
    // Read by position: the tuple follows the select, not the names.
    let pairs: Vec<(String, i32, i16)> = sample::Entity::find()
        .select_only()
        .column(sample::Column::HText)
        .column(sample::Column::DInt)
        .column(sample::Column::CSmall)
        .order_by_asc(sample::Column::AId)
        .into_tuple()
        .all(&*db)
        .await
        .unwrap();
    assert_eq!(pairs[1], ("text 2 — ünïcode".to_owned(), 2000, -9));
    if cfg!(feature = "pipeline") {
        assert!(
            fx.ran("keel-pipeline", "\"sample\"").await,
            "the pipeline ran the sample selects"
        );
    }

    let fixed = DateTimeWithTimeZone::parse_from_rfc3339("2026-03-01T14:30:00+02:00").unwrap();
    let at = fixed.to_utc();
    let made = event::ActiveModel {
        name: sea_orm::Set("launch".into()),
        at_utc: sea_orm::Set(at),
        at_fixed: sea_orm::Set(fixed),
        ..Default::default()
    }
    .insert(&*db)
    .await
    .unwrap();
    let found = event::Entity::find_by_id(made.id).one(&*db).await.unwrap();
    let found = found.expect("the event");
    assert_eq!(found.at_utc, at);
    assert_eq!(found.at_fixed.timestamp(), at.timestamp());
    assert_eq!(found.name, "launch");

    if cfg!(feature = "pipeline") {
        assert!(
            fx.ran("keel-pipeline", "\"event\"").await,
            "the pipeline prepared the event statements, then handed them on"
        );
        assert!(
            fx.ran("sqlx", "\"event\"").await,
            "the lanes ran the timestamptz select"
        );
    }
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn update_column_binds_arrays_of_each_type_and_find_by_id_reads_rows() {
    let fx = Fixture::new().await;
    let db = fx.db(2).await;
    let mut rows = Vec::new();
    for i in 1..=4 {
        rows.push(sample_row(i).insert(&*db).await.unwrap());
    }
    let (a, c) = (rows[0].a_id, rows[2].a_id);
    use sample::Column as C;
    macro_rules! set {
        ($column:expr, $first:expr, $third:expr) => {
            let changed = keel_db::update_column::<sample::Entity, _, _>(
                &*db,
                C::AId,
                $column,
                &[(c, $third), (a, $first)],
            )
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", $column));
            assert_eq!(changed, 2, "{:?}", $column);
        };
    }
    let day = Date::from_ymd_opt(2030, 1, 2).unwrap();
    set!(C::BFlag, true, false);
    set!(C::CSmall, 11_i16, -11_i16);
    set!(C::DInt, 7_i32, 70_i32);
    set!(C::EBig, 1_i64 << 40, -(1_i64 << 40));
    set!(C::FReal, 0.5_f32, -0.5_f32);
    set!(C::GDouble, 1e100_f64, -1e-100_f64);
    set!(C::HText, "ä \"quoted\"".to_owned(), String::new());
    set!(C::OUuid, Uuid::from_u128(1), Uuid::from_u128(u128::MAX));
    set!(C::LDate, day, day.succ_opt().unwrap());
    set!(
        C::NStamp,
        day.and_hms_opt(1, 2, 3).unwrap(),
        day.and_hms_opt(23, 59, 59).unwrap()
    );
    let runner = if cfg!(feature = "pipeline") {
        "keel-pipeline"
    } else {
        "sqlx"
    };
    assert!(fx.ran(runner, "unnest").await, "{runner} bound the arrays");
    // NULLs take the CASE form, and so do values without an array form here (bytea).
    set!(C::PMaybe, None::<i32>, Some(3));
    set!(C::JBytes, vec![9_u8], Vec::<u8>::new());

    let first = keel_db::find_by_id::<sample::Entity>(&*db, a)
        .await
        .unwrap()
        .unwrap();
    let third = sample::Entity::find_by_id(c)
        .one(&*db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        keel_db::find_by_id::<sample::Entity>(&*db, c)
            .await
            .unwrap()
            .as_ref(),
        Some(&third),
        "find_by_id reads what SeaORM's find_by_id(…).one reads"
    );
    assert_eq!(
        keel_db::find_by_id::<sample::Entity>(&*db, -1)
            .await
            .unwrap(),
        None
    );
    assert!(first.b_flag && !third.b_flag);
    assert_eq!((first.c_small, third.c_small), (11, -11));
    assert_eq!((first.d_int, third.d_int), (7, 70));
    assert_eq!((first.e_big, third.e_big), (1 << 40, -(1 << 40)));
    assert_eq!((first.f_real, third.f_real), (0.5, -0.5));
    assert_eq!((first.g_double, third.g_double), (1e100, -1e-100));
    assert_eq!(
        (first.h_text.as_str(), third.h_text.as_str()),
        ("ä \"quoted\"", "")
    );
    assert_eq!(
        (first.o_uuid, third.o_uuid),
        (Uuid::from_u128(1), Uuid::from_u128(u128::MAX))
    );
    assert_eq!((first.l_date, third.l_date), (day, day.succ_opt().unwrap()));
    assert_eq!(first.n_stamp, day.and_hms_opt(1, 2, 3).unwrap());
    assert_eq!((first.p_maybe, third.p_maybe), (None, Some(3)));
    assert_eq!(
        (first.j_bytes.as_slice(), third.j_bytes.as_slice()),
        (&[9_u8][..], &[][..])
    );
    // The rows between and after are untouched.
    let second = keel_db::find_by_id::<sample::Entity>(&*db, rows[1].a_id)
        .await
        .unwrap();
    assert_eq!(second.as_ref(), Some(&rows[1]));
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn unique_and_foreign_key_violations_are_409s() {
    let fx = Fixture::new().await;
    let db = fx.db(2).await;
    let pg = sea_orm::DbBackend::Postgres;
    let insert = |email: &str| {
        Statement::from_sql_and_values(
            pg,
            "INSERT INTO account (email) VALUES ($1)",
            [email.into()],
        )
    };
    db.execute_raw(insert("ann@example.com")).await.unwrap();
    let err = db
        .execute_raw(insert("ann@example.com"))
        .await
        .expect_err("a duplicate email");
    let classifier = DbErrorClassifier::new(
        BTreeMap::from([(
            "account_email_key".to_owned(),
            ("account".to_owned(), vec!["email".to_owned()]),
        )]),
        5,
    );
    let public = classifier
        .classify_db(&err)
        .expect("a known database error");
    assert_eq!(public.status().as_u16(), 409);
    assert_eq!(public.code(), "unique_violation");
    assert_eq!(public.fields()[0].field(), "email");

    let err = db
        .execute_raw(Statement::from_sql_and_values(
            pg,
            "INSERT INTO post (account_id) VALUES ($1)",
            [4242.into()],
        ))
        .await
        .expect_err("no such account");
    let public = classifier
        .classify_db(&err)
        .expect("a known database error");
    assert_eq!(public.status().as_u16(), 409);
    assert_eq!(public.code(), "reference_conflict");

    // A statement the server rejects leaves the connection usable.
    let n = db
        .query_one_raw(Statement::from_string(
            pg,
            "SELECT count(*) AS n FROM account",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(n, 1);
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn a_killed_server_session_is_replaced() {
    let fx = Fixture::new().await;
    let db = fx.db(1).await;
    sample_row(1).insert(&*db).await.unwrap();
    assert_eq!(sample::Entity::find().count(&*db).await.unwrap(), 1);
    fx.kill_sessions().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The first statement may find its connection gone (a 503), never a wrong answer;
    // the one after it is served on a new connection.
    let classifier = DbErrorClassifier::new(BTreeMap::new(), 5);
    match sample::Entity::find().count(&*db).await {
        Ok(n) => assert_eq!(n, 1),
        Err(e) => {
            let public = classifier.classify_db(&e).expect("a known database error");
            assert_eq!(public.status().as_u16(), 503, "{e}");
        }
    }
    assert_eq!(sample::Entity::find().count(&*db).await.unwrap(), 1);
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn a_cancelled_statement_leaves_right_answers_behind() {
    let fx = Fixture::new().await;
    let db = fx.db(1).await;
    for i in 1..=3 {
        sample_row(i).insert(&*db).await.unwrap();
    }
    let pg = sea_orm::DbBackend::Postgres;
    let slow = db.query_one_raw(Statement::from_string(
        pg,
        "SELECT pg_sleep(0.3)::text AS slept",
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err(),
        "the sleep was cut short"
    );
    for i in 1..=3 {
        let row = sample::Entity::find()
            .filter(sample::Column::DInt.eq(i * 1000))
            .one(&*db)
            .await
            .unwrap()
            .expect("the row");
        assert_eq!(row.i_varchar, format!("v{i}"));
    }
    fx.drop_database().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: KEEL_TEST_DATABASE_URL=postgres://…"]
async fn many_statements_at_once_each_get_their_own_answer() {
    let fx = Fixture::new().await;
    let db = fx.db(2).await;
    let mut ids = Vec::new();
    for i in 1..=20 {
        ids.push(sample_row(i).insert(&*db).await.unwrap().a_id);
    }
    let db = &db;
    let answers = futures_util::future::join_all((0..200).map(|k| async move {
        let i = (k % 20) + 1;
        let row = sample::Entity::find()
            .filter(sample::Column::DInt.eq(i * 1000))
            .one(&**db)
            .await
            .unwrap()
            .expect("the row");
        (i, row)
    }))
    .await;
    for (i, row) in answers {
        assert_eq!(row.d_int, i * 1000);
        assert_eq!(row.a_id, ids[(i - 1) as usize]);
        assert_eq!(row.i_varchar, format!("v{i}"));
    }
    fx.drop_database().await;
}
