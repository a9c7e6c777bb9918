//! `update_column` (many rows' column in one statement) and `find_by_id` (one row by
//! key, its statement written once) on the test backend: SQLite, and PostgreSQL and
//! MariaDB in CI.

use keel_db::sea_orm::EntityTrait;
use keel_test::db::TestDb;

use crate::support::exec;

pub mod counter {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "counter")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub n: i32,
        pub label: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A composite key, text first.
pub mod slot {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "slot")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub pos: i64,
        pub label: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

async fn setup() -> TestDb {
    let db = TestDb::new().await;
    let conn = db.conn();
    exec(
        conn,
        "CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL, label varchar(40) NULL)",
    )
    .await;
    exec(
        conn,
        "CREATE TABLE slot (owner varchar(40) NOT NULL, pos bigint NOT NULL, \
         label varchar(40) NOT NULL, PRIMARY KEY (owner, pos))",
    )
    .await;
    for id in 1..=6 {
        exec(
            conn,
            &format!("INSERT INTO counter (id, n, label) VALUES ({id}, {id}, NULL)"),
        )
        .await;
    }
    exec(
        conn,
        "INSERT INTO slot (owner, pos, label) VALUES ('ada', 1, 'one'), ('ada', 2, 'two'), ('bob', 1, 'b')",
    )
    .await;
    db
}

async fn counters(db: &TestDb) -> Vec<(i32, i32, Option<String>)> {
    let mut all: Vec<_> = counter::Entity::find()
        .all(db.conn())
        .await
        .expect("counters")
        .into_iter()
        .map(|c| (c.id, c.n, c.label))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn update_column_sets_each_row_its_value_in_one_statement() {
    let db = setup().await;
    let conn = db.conn();
    use counter::Column as C;
    // Out of order, a key given twice (the last value wins), a key that is not there.
    let changed = keel_db::update_column::<counter::Entity, _, _>(
        conn,
        C::Id,
        C::N,
        &[(5, 50), (2, 20), (5, 55), (99, 1)],
    )
    .await
    .expect("update");
    assert_eq!(changed, 2);
    let labels = [(3, "three".to_owned()), (1, "it's \"one\"".to_owned())];
    let changed = keel_db::update_column::<counter::Entity, _, _>(conn, C::Id, C::Label, &labels)
        .await
        .expect("update labels");
    assert_eq!(changed, 2);
    assert_eq!(
        counters(&db).await,
        vec![
            (1, 1, Some("it's \"one\"".to_owned())),
            (2, 20, None),
            (3, 3, Some("three".to_owned())),
            (4, 4, None),
            (5, 55, None),
            (6, 6, None),
        ]
    );
    // NULLs, and nothing to do.
    let changed = keel_db::update_column::<counter::Entity, _, _>(
        conn,
        C::Id,
        C::Label,
        &[(1, None::<String>), (3, Some("3".to_owned()))],
    )
    .await
    .expect("update to NULL");
    assert_eq!(changed, 2);
    let rows = counters(&db).await;
    assert_eq!(
        (rows[0].2.as_deref(), rows[2].2.as_deref()),
        (None, Some("3"))
    );
    let none: &[(i32, i32)] = &[];
    assert_eq!(
        keel_db::update_column::<counter::Entity, _, _>(conn, C::Id, C::N, none)
            .await
            .expect("empty"),
        0
    );
}

#[tokio::test]
async fn find_by_id_reads_what_sea_orm_reads() {
    let db = setup().await;
    let conn = db.conn();
    for id in [1, 4, 6, 7, -1] {
        let ours = keel_db::find_by_id::<counter::Entity>(conn, id)
            .await
            .expect("find_by_id");
        let theirs = counter::Entity::find_by_id(id)
            .one(conn)
            .await
            .expect("one");
        assert_eq!(ours, theirs, "id {id}");
        assert_eq!(ours.is_some(), (1..=6).contains(&id));
    }
    for key in [("ada", 2), ("bob", 1), ("ada", 3), ("carol", 1)] {
        let key = (key.0.to_owned(), key.1);
        let ours = keel_db::find_by_id::<slot::Entity>(conn, key.clone())
            .await
            .expect("find_by_id");
        let theirs = slot::Entity::find_by_id(key.clone())
            .one(conn)
            .await
            .expect("one");
        assert_eq!(ours, theirs, "key {key:?}");
    }
    let two = keel_db::find_by_id::<slot::Entity>(conn, ("ada".to_owned(), 2))
        .await
        .expect("find_by_id");
    assert_eq!(two.map(|s| s.label), Some("two".to_owned()));
    // A database error is an error, not a missing row.
    exec(conn, "DROP TABLE counter").await;
    let gone = keel_db::find_by_id::<counter::Entity>(conn, 1).await;
    assert!(gone.is_err(), "{gone:?}");
}
