//! Keel's server-rendered example: a blog.
//!
//! Posts are listed, shown, written and edited through HTML forms with an optional image
//! upload; a form with mistakes comes back with the user's input and the errors; saved
//! changes are confirmed with a flash message; every form carries a CSRF token; the
//! contact form sends a text + HTML mail to the editors. Accounts come from Keel's
//! auth: anyone may read, a logged-in user may write, and a post may be edited only
//! by its author or a user holding `blog.change_post` (deleted: `blog.delete_post`).
//!
//! `cargo run -p example-blog`, then open <http://127.0.0.1:8000>. In development the
//! SQLite database under `data/` is migrated and seeded on start.

pub mod migrations;
pub mod models;

use garde::Validate;
use keel::auth::RequireUser;
use keel::axum::http::StatusCode;
use keel::axum::response::{IntoResponse, Redirect, Response};
use keel::db::sea_orm::{
    ActiveModelTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryOrder, Set,
};
use keel::db::{Db, PageParams, paginate};
use keel::form::{FormData, InvalidForm, UploadForm};
use keel::mail::Mail;
use keel::routing::{Router, get, post};
use keel::session::Session;
use keel::view::{View, view};
use keel::{App, AppState, Error, Path, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

use models::post;

#[derive(keel::view::rust_embed::RustEmbed)]
#[folder = "templates/"]
#[crate_path = "keel::view::rust_embed"]
struct Templates;

#[derive(keel::rust_embed::RustEmbed)]
#[folder = "static/"]
#[crate_path = "keel::rust_embed"]
struct Assets;

/// The `[blog]` config section.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BlogSettings {
    /// Who receives the contact form's messages.
    pub contact_to: String,
}

/// The app, for `main` and for tests.
pub fn app() -> App {
    App::new("blog")
        .plugin(|app: &mut App| {
            let settings: BlogSettings = app.section("blog");
            app.extensions().insert(settings);
        })
        .plugin(keel::db::plugin(models::registry(), migrations::all))
        .plugin(keel::view::plugin::<Templates>())
        .plugin(keel::mail::plugin)
        .plugin(keel::auth::plugin)
        .plugin(keel::statics::embed::<Assets>())
        .routes(routes())
}

/// The routes.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(index).name("home"))
        .route("/posts", post(create).name("posts"))
        .route("/posts/new", get(new_post).name("new_post"))
        .route("/posts/{id}", get(show).post(update).name("post"))
        .route("/posts/{id}/edit", get(edit).name("edit_post"))
        .route("/posts/{id}/delete", post(delete).name("delete_post"))
        .route("/contact", get(contact_form).post(contact).name("contact"))
}

/// What a post form submits.
#[derive(Debug, Deserialize, Validate)]
pub struct PostForm {
    /// The title.
    #[garde(length(min = 1, max = 200))]
    pub title: String,
    /// The text.
    #[garde(length(min = 1, max = 20000))]
    pub body: String,
}

async fn index(db: Db, page: PageParams) -> Result<View> {
    let select = post::Entity::find().order_by_desc(post::Column::Id);
    let page = paginate(&*db, select, page).await?;
    Ok(view("posts/index.html", json!({ "page": page })))
}

async fn find(db: &Db, id: i32) -> Result<post::Model> {
    post::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no post {id}.")))
}

async fn show(db: Db, Path(id): Path<i32>) -> Result<View> {
    Ok(view(
        "posts/show.html",
        json!({ "post": find(&db, id).await? }),
    ))
}

fn form_page(heading: &str, action: &str, form: &InvalidForm) -> Result<View> {
    Ok(view(
        "posts/form.html",
        json!({ "heading": heading, "action": action, "form": form }),
    ))
}

/// Whether `user` may change `post` (with `action` `change` or `delete`): its author,
/// or a holder of `blog.<action>_post`.
pub fn may(user: &keel::auth::AuthUser, action: &str, post: &post::Model) -> bool {
    post.author_id == Some(user.id) || user.has_perm(&format!("blog.{action}_post"))
}

async fn find_for(
    db: &Db,
    id: i32,
    user: &keel::auth::AuthUser,
    action: &str,
) -> Result<post::Model> {
    let post = find(db, id).await?;
    if may(user, action, &post) {
        Ok(post)
    } else {
        Err(Error::forbidden(format!(
            "Only its author or an editor may {action} this post."
        )))
    }
}

async fn new_post(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    _user: RequireUser,
) -> Result<View> {
    let action = state.url_for("posts", &[] as &[(&str, &str)])?;
    form_page("New post", &action, &InvalidForm::default())
}

async fn edit(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    user: RequireUser,
    db: Db,
    Path(id): Path<i32>,
) -> Result<View> {
    let post = find_for(&db, id, &user, "change").await?;
    let mut form = InvalidForm::default();
    form.values.insert("title".into(), post.title);
    form.values.insert("body".into(), post.body);
    let action = state.url_for("post", &[("id", id)])?;
    form_page("Edit post", &action, &form)
}

fn redirect_to_post(state: &AppState, id: i32) -> Result<Response> {
    let url = state.url_for("post", &[("id", id)])?;
    Ok(Redirect::to(&url).into_response())
}

async fn create(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    user: RequireUser,
    db: Db,
    session: Session,
    mut form: UploadForm,
) -> Result<Response> {
    let action = state.url_for("posts", &[] as &[(&str, &str)])?;
    let data = match form.validate::<PostForm>() {
        Ok(d) => d,
        Err(invalid) => {
            return Ok(form_page("New post", &action, &invalid)?
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }
    };
    let image_url = match form.take_file("image") {
        Some(file) => Some(file.persist("posts").await?.url),
        None => None,
    };
    let saved = post::ActiveModel {
        title: Set(data.title),
        body: Set(data.body),
        image_url: Set(image_url),
        author_id: Set(Some(user.id)),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    session.flash("success", "Post published.");
    redirect_to_post(&state, saved.id)
}

async fn update(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    user: RequireUser,
    db: Db,
    session: Session,
    Path(id): Path<i32>,
    mut form: UploadForm,
) -> Result<Response> {
    let existing = find_for(&db, id, &user, "change").await?;
    let action = state.url_for("post", &[("id", id)])?;
    let data = match form.validate::<PostForm>() {
        Ok(d) => d,
        Err(invalid) => {
            return Ok(form_page("Edit post", &action, &invalid)?
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }
    };
    let new_image = match form.take_file("image") {
        Some(file) => Some(file.persist("posts").await?.url),
        None => None,
    };
    let mut model = existing.into_active_model();
    model.title = Set(data.title);
    model.body = Set(data.body);
    if let Some(url) = new_image {
        model.image_url = Set(Some(url));
    }
    model.update(&*db).await?;
    session.flash("success", "Post updated.");
    redirect_to_post(&state, id)
}

async fn delete(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    user: RequireUser,
    db: Db,
    session: Session,
    Path(id): Path<i32>,
) -> Result<Response> {
    find_for(&db, id, &user, "delete")
        .await?
        .delete(&*db)
        .await?;
    session.flash("success", "Post deleted.");
    let home = state.url_for("home", &[] as &[(&str, &str)])?;
    Ok(Redirect::to(&home).into_response())
}

/// What the contact form submits.
#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct ContactForm {
    /// The sender's name.
    #[garde(length(min = 1, max = 100))]
    pub name: String,
    /// The sender's address.
    #[garde(email)]
    pub email: String,
    /// The message.
    #[garde(length(min = 10, max = 5000))]
    pub message: String,
}

async fn contact_form() -> View {
    view("contact.html", json!({ "form": InvalidForm::default() }))
}

async fn contact(
    keel::axum::extract::State(state): keel::axum::extract::State<AppState>,
    mail: Mail,
    session: Session,
    form: FormData,
) -> Result<Response> {
    let msg = match form.validate::<ContactForm>() {
        Ok(m) => m,
        Err(invalid) => {
            return Ok(view("contact.html", json!({ "form": invalid }))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }
    };
    let to = state
        .get::<BlogSettings>()
        .map(|s| s.contact_to.clone())
        .unwrap_or_default();
    let mut email = mail.templated(
        to,
        format!("Contact form: {}", msg.name),
        "mail/contact",
        &msg,
    )?;
    email.reply_to = Some(msg.email);
    mail.send_later(email);
    session.flash("success", "Thanks! Your message is on its way.");
    let home = state.url_for("home", &[] as &[(&str, &str)])?;
    Ok(Redirect::to(&home).into_response())
}
