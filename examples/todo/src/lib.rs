//! Keel's data-layer example: a JSON todo API over two related SeaORM models.
//!
//! ```sh
//! cargo run -p example-todo -- db migrate                  # SQLite file under data/
//! cargo run -p example-todo -- db seed fixtures/demo.json  # demo rows (idempotent)
//! cargo run -p example-todo                                # serve on 127.0.0.1:8000
//! curl localhost:8000/api/lists
//! ```
//!
//! After changing a model: `cargo run -p example-todo -- db makemigrations` writes the
//! migration into `src/migrations/`; CI runs `db makemigrations --check`.

pub mod migrations;
pub mod models;

use keel::axum::http::{HeaderName, StatusCode, header};
use keel::db::sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use keel::db::{CursorPage, CursorParams, Db, Page, PageParams, keyset, paginate};
use keel::routing::{Router, get, patch};
use keel::{App, Error, FieldError, Json, Path, Result};
use serde::{Deserialize, Serialize};

use models::{list, todo};

/// The app, for `main` and for tests.
pub fn app() -> App {
    App::new("todo")
        .plugin(keel::db::plugin(models::registry(), migrations::all))
        .routes(routes())
}

/// The API routes.
pub fn routes() -> Router {
    Router::new()
        .route("/api/lists", get(lists).post(create_list).name("lists"))
        .route(
            "/api/lists/{id}",
            get(show_list).delete(delete_list).name("list"),
        )
        .route(
            "/api/lists/{id}/todos",
            get(list_todos).post(create_todo).name("list_todos"),
        )
        .route(
            "/api/todos/{id}",
            patch(update_todo).delete(delete_todo).name("todo"),
        )
}

fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::validation([FieldError::new(
            field,
            "required",
            "must not be empty",
        )]));
    }
    if value.chars().count() > max {
        return Err(Error::validation([FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        )]));
    }
    Ok(value.to_owned())
}

async fn lists(db: Db, page: PageParams) -> Result<Json<Page<list::Model>>> {
    let select = list::Entity::find().order_by_asc(list::Column::Id);
    Ok(Json(paginate(&*db, select, page).await?))
}

/// The body of `POST /api/lists`.
// Checked by hand below (trimmed first), so no garde rules.
#[derive(Debug, Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    /// The list's name.
    pub name: String,
}

async fn create_list(db: Db, Json(new): Json<NewList>) -> Result<Created<list::Model>> {
    let name = required("name", &new.name, 100)?;
    let model = list::ActiveModel {
        name: Set(name),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    Ok(created(format!("/api/lists/{}", model.id), model))
}

/// A list with its todos.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListWithTodos {
    /// The list.
    #[serde(flatten)]
    pub list: list::Model,
    /// Its todos, highest priority first, then oldest first.
    pub todos: Vec<todo::Model>,
}

async fn find_list(db: &Db, id: i32) -> Result<list::Model> {
    list::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no list {id}.")))
}

async fn show_list(db: Db, Path(id): Path<i32>) -> Result<Json<ListWithTodos>> {
    let list = find_list(&db, id).await?;
    let todos = list
        .find_related(todo::Entity)
        .order_by_desc(todo::Column::Priority)
        .order_by_asc(todo::Column::Id)
        .all(&*db)
        .await?;
    Ok(Json(ListWithTodos { list, todos }))
}

async fn delete_list(db: Db, Path(id): Path<i32>) -> Result<StatusCode> {
    find_list(&db, id).await?.delete(&*db).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_todos(
    db: Db,
    Path(id): Path<i32>,
    cursor: CursorParams,
) -> Result<Json<CursorPage<todo::Model>>> {
    find_list(&db, id).await?;
    let select = todo::Entity::find().filter(todo::Column::ListId.eq(id));
    Ok(Json(keyset(&*db, select, todo::Column::Id, cursor).await?))
}

/// The body of `POST /api/lists/{id}/todos`.
// Checked by hand below (trimmed first), so no garde rules.
#[derive(Debug, Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
#[serde(deny_unknown_fields)]
pub struct NewTodo {
    /// What to do.
    pub title: String,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Priority (higher first), 0 when absent.
    #[serde(default)]
    pub priority: i32,
}

async fn create_todo(
    db: Db,
    Path(id): Path<i32>,
    Json(new): Json<NewTodo>,
) -> Result<Created<todo::Model>> {
    let title = required("title", &new.title, 200)?;
    find_list(&db, id).await?;
    let model = todo::ActiveModel {
        list_id: Set(id),
        title: Set(title),
        done: Set(false),
        notes: Set(new.notes),
        priority: Set(new.priority),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    Ok(created(format!("/api/todos/{}", model.id), model))
}

/// The body of `PATCH /api/todos/{id}`: the fields to change.
// Checked by hand below (trimmed first), so no garde rules.
#[derive(Debug, Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
#[serde(deny_unknown_fields)]
pub struct TodoChange {
    /// New title.
    pub title: Option<String>,
    /// Done or not.
    pub done: Option<bool>,
    /// New priority.
    pub priority: Option<i32>,
}

async fn update_todo(
    db: Db,
    Path(id): Path<i32>,
    Json(change): Json<TodoChange>,
) -> Result<Json<todo::Model>> {
    let found = todo::Entity::find_by_id(id)
        .one(&*db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no todo {id}.")))?;
    let mut model = found.into_active_model();
    if let Some(title) = change.title {
        model.title = Set(required("title", &title, 200)?);
    }
    if let Some(done) = change.done {
        model.done = Set(done);
    }
    if let Some(priority) = change.priority {
        model.priority = Set(priority);
    }
    Ok(Json(model.update(&*db).await?))
}

async fn delete_todo(db: Db, Path(id): Path<i32>) -> Result<StatusCode> {
    let res = todo::Entity::delete_by_id(id).exec(&*db).await?;
    if res.rows_affected == 0 {
        return Err(Error::not_found(format!("There is no todo {id}.")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `201 Created` with `Location` and the new resource.
type Created<T> = (StatusCode, [(HeaderName, String); 1], Json<T>);

fn created<T>(location: String, body: T) -> Created<T> {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
}
