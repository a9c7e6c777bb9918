//! The todo example end to end: the JSON API over a migrated database of its own
//! (SQLite, or the server in `KEEL_TEST_DATABASE_URL`), its migrations being up to date
//! with its models, and two `db migrate` processes racing.

use keel::db::migrate::Migrator;
use keel_test::TestClient;
use keel_test::db::TestDb;
use serde_json::{Value, json};

/// What `db migrate` applies: Keel's own tables (sessions) first, then the app's.
fn everything() -> Vec<keel::db::migrate::Migration> {
    keel::db::with_keel_migrations(todo::migrations::all())
}

async fn client() -> (TestDb, TestClient) {
    let db = TestDb::migrated(todo::migrations::all()).await;
    let client = TestClient::new(todo::app().set("database.url", db.url())).await;
    (db, client)
}

#[tokio::test]
async fn lists_and_todos_crud() {
    let (_db, client) = client().await;
    let res = client
        .post("/api/lists")
        .json(&json!({"name": "Home"}))
        .await;
    res.assert_status(201);
    let list: Value = res.json();
    let id = list["id"].as_i64().expect("id");
    assert_eq!(
        res.header("location"),
        Some(format!("/api/lists/{id}").as_str())
    );

    for title in ["Dishes", "Laundry", "Plants"] {
        client
            .post(&format!("/api/lists/{id}/todos"))
            .json(&json!({ "title": title }))
            .await
            .assert_status(201);
    }
    let shown: Value = client
        .get(&format!("/api/lists/{id}"))
        .await
        .assert_status(200)
        .json();
    assert_eq!(shown["name"], "Home");
    assert_eq!(shown["todos"].as_array().map(Vec::len), Some(3));
    assert_eq!(shown["todos"][0]["done"], false);

    // Keyset pages of todos.
    let first: Value = client
        .get(&format!("/api/lists/{id}/todos?limit=2"))
        .await
        .assert_status(200)
        .json();
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let next = first["next"].as_i64().expect("a next cursor");
    let second: Value = client
        .get(&format!("/api/lists/{id}/todos?limit=2&after={next}"))
        .await
        .assert_status(200)
        .json();
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert!(second["next"].is_null());

    let todo_id = shown["todos"][0]["id"].as_i64().expect("todo id");
    let done: Value = client
        .patch(&format!("/api/todos/{todo_id}"))
        .json(&json!({"done": true}))
        .await
        .assert_status(200)
        .json();
    assert_eq!(done["done"], true);

    client
        .delete(&format!("/api/todos/{todo_id}"))
        .await
        .assert_status(204);
    client
        .delete(&format!("/api/todos/{todo_id}"))
        .await
        .assert_problem(404, "not_found");

    // Deleting the list deletes its todos (ON DELETE CASCADE).
    client
        .delete(&format!("/api/lists/{id}"))
        .await
        .assert_status(204);
    client
        .get(&format!("/api/lists/{id}"))
        .await
        .assert_problem(404, "not_found");
    use keel::db::sea_orm::EntityTrait;
    let db = client.state().get::<keel::db::Db>().expect("pool").clone();
    let remaining = todo::models::todo::Entity::find()
        .all(&*db)
        .await
        .expect("query");
    assert!(remaining.is_empty(), "{remaining:?}");
}

#[tokio::test]
async fn errors_are_problems() {
    let (_db, client) = client().await;
    client
        .post("/api/lists")
        .json(&json!({"name": "Dup"}))
        .await
        .assert_status(201);
    let res = client
        .post("/api/lists")
        .json(&json!({"name": "Dup"}))
        .await;
    res.assert_problem(409, "unique_violation");
    assert!(res.text().contains("name"), "{}", res.text());
    client
        .post("/api/lists")
        .json(&json!({"name": "  "}))
        .await
        .assert_problem(422, "validation_failed");
    client
        .post("/api/lists/999/todos")
        .json(&json!({"title": "x"}))
        .await
        .assert_problem(404, "not_found");
    client
        .get("/api/lists?per_page=0")
        .await
        .assert_problem(400, "invalid_page_parameter");
}

#[tokio::test]
async fn seeds_load_the_demo_fixture() {
    let (db, client) = client().await;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo.json"))
        .expect("fixture");
    let loaded = todo::models::registry()
        .seeders()
        .load(db.conn(), &doc)
        .await
        .expect("seed");
    assert_eq!(
        loaded,
        [("list".to_owned(), 2, 0), ("todo".to_owned(), 3, 0)]
    );
    let again = todo::models::registry()
        .seeders()
        .load(db.conn(), &doc)
        .await
        .expect("seed again");
    assert_eq!(
        again,
        [("list".to_owned(), 0, 2), ("todo".to_owned(), 0, 3)]
    );
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/more.yaml"))
        .expect("yaml fixture");
    let loaded = todo::models::registry()
        .seeders()
        .load_yaml(db.conn(), &yaml)
        .await
        .expect("seed yaml");
    assert_eq!(
        loaded,
        [("list".to_owned(), 1, 0), ("todo".to_owned(), 1, 0)]
    );
    // Keys the database numbers continue after the seeded ones (Postgres sequences).
    let res = client
        .post("/api/lists")
        .json(&json!({"name": "After seeds"}))
        .await;
    res.assert_status(201);
    assert!(
        res.json::<Value>()["id"].as_i64() > Some(3),
        "{}",
        res.text()
    );
}

#[test]
fn migrations_are_up_to_date_with_the_models() {
    keel_test::db::assert_migrations_current(
        todo::migrations::all(),
        &todo::models::registry(),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/migrations"),
    );
}

/// Two `todo db migrate` processes at once: every migration is applied exactly once.
#[tokio::test]
async fn two_processes_migrating_at_once_apply_each_migration_once() {
    let db = TestDb::new().await;
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_todo"))
            .args(["db", "migrate"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", db.url())
            .env("KEEL_ENV", "test")
            .env("KEEL__LOG__LEVEL", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn todo")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "db migrate failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let applied: usize = [&a, &b]
        .iter()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .matches("Applied ")
                .count()
        })
        .sum();
    assert_eq!(
        applied,
        everything().len(),
        "each migration applied by exactly one process"
    );
    let conn = Migrator::connect(db.url()).await.expect("connect");
    let status = Migrator::new(everything())
        .expect("valid")
        .status(&conn)
        .await
        .expect("status");
    assert!(
        status
            .iter()
            .all(|s| s.applied_at.is_some() && !s.changed())
    );
}

/// The `db` commands as a developer runs them, against a database of the test's own.
#[tokio::test]
async fn db_commands_from_the_binary() {
    let db = TestDb::new().await;
    let run = |args: &[&str], env: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_todo"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", db.url())
            .env("KEEL_ENV", env)
            .env("KEEL__LOG__LEVEL", "warn")
            .output()
            .expect("run todo");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let names: Vec<String> = everything().iter().map(|m| m.name().to_owned()).collect();
    let last = names.last().expect("a migration").clone();

    let (ok, out) = run(&["db", "status"], "test");
    assert!(ok && out.matches("pending").count() == names.len(), "{out}");
    let (ok, out) = run(&["db", "migrate"], "test");
    assert!(
        ok && names.iter().all(|n| out.contains(&format!("Applied {n}"))),
        "{out}"
    );
    let (ok, out) = run(&["db", "status"], "test");
    assert!(
        ok && !out.contains("pending") && out.contains("applied"),
        "{out}"
    );
    let (ok, out) = run(
        &["db", "sqlmigrate", "0001", "--backend", "postgres"],
        "test",
    );
    assert!(ok && out.contains(r#"CREATE TABLE "list""#), "{out}");
    let (ok, out) = run(&["db", "seed", "fixtures/demo.json"], "test");
    assert!(ok && out.contains("list: 2 inserted"), "{out}");
    let (ok, out) = run(&["db", "rollback"], "test");
    assert!(ok && out.contains(&format!("Rolled back {last}")), "{out}");
    let (ok, out) = run(&["db", "reset"], "production");
    assert!(!ok && out.contains("refused in production"), "{out}");
    let (ok, out) = run(&["db", "reset"], "test");
    assert!(
        ok && out.contains(&format!("Applied {} migration(s)", names.len())),
        "{out}"
    );
}

#[tokio::test]
async fn factories_make_distinct_rows() {
    use keel::db::sea_orm::Set;
    use keel_test::db::Factory;
    use todo::models::{list, todo as item};

    let db = TestDb::migrated(todo::migrations::all()).await;
    let lists = Factory::new(|n| list::ActiveModel {
        name: Set(format!("List {n}")),
        ..Default::default()
    });
    let made = lists.create_many(db.conn(), 3).await;
    assert_eq!(
        made.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["List 1", "List 2", "List 3"]
    );
    let list_id = made[0].id;
    let todos = Factory::new(move |n| item::ActiveModel {
        list_id: Set(list_id),
        title: Set(format!("Task {n}")),
        done: Set(n % 2 == 0),
        ..Default::default()
    });
    let t = todos.create(db.conn()).await;
    assert_eq!(
        (t.title.as_str(), t.done, t.list_id),
        ("Task 1", false, list_id)
    );
}
