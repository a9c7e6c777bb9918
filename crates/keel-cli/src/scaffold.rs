//! `keel generate scaffold`: a model plus its CRUD routes — HTML pages with forms, or
//! JSON handlers with `--api` — and tests that drive them through the test client.

use std::fmt::Write as _;

use crate::generate::{Field, FieldType};

/// The plural of an English noun, well enough for route and table-ish names.
pub(crate) fn plural(name: &str) -> String {
    let consonant_y = name.len() > 1
        && name.ends_with('y')
        && !name[..name.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else if name.ends_with(['s', 'x', 'z']) || name.ends_with("ch") || name.ends_with("sh") {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}

fn words(name: &str) -> String {
    name.replace('_', " ")
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The garde rule of a required text field, or `skip`.
fn rule(f: &Field) -> &'static str {
    match f.ty {
        FieldType::String => "length(chars, min = 1, max = 255)",
        FieldType::Text => "length(min = 1)",
        _ => "skip",
    }
}

fn camel(name: &str) -> String {
    name.split('_').map(capitalized).collect()
}

/// A JSON value of the field's type for tests.
fn sample_json(f: &Field) -> &'static str {
    match f.ty {
        FieldType::String | FieldType::Text => "\"first\"",
        FieldType::Int | FieldType::BigInt => "3",
        FieldType::Bool => "true",
        FieldType::Float => "1.5",
    }
}

/// A form value of the field's type for tests.
fn sample_form(f: &Field) -> &'static str {
    match f.ty {
        FieldType::String | FieldType::Text => "first",
        FieldType::Int | FieldType::BigInt => "3",
        FieldType::Bool => "true",
        FieldType::Float => "1.5",
    }
}

/// `src/<plural>.rs` for HTML pages.
pub(crate) fn pages_source(name: &str, fields: &[Field]) -> String {
    let plural_name = plural(name);
    let ty = camel(name);
    let mut form_fields = String::new();
    let mut apply = String::new();
    let mut edit_values = String::new();
    for f in fields {
        let rust = if f.optional {
            format!("Option<{}>", f.ty.rust())
        } else {
            f.ty.rust().to_owned()
        };
        let _ = writeln!(form_fields, "    /// The {}.", words(&f.name));
        if f.ty == FieldType::Bool {
            // An unticked checkbox sends nothing.
            let _ = writeln!(form_fields, "    #[serde(default)]");
        }
        let r = if f.optional { "skip" } else { rule(f) };
        let _ = writeln!(
            form_fields,
            "    #[garde({r})]\n    pub {}: {rust},",
            f.name
        );
        let _ = writeln!(apply, "        model.{n} = Set(self.{n});", n = f.name);
        let value = match (f.optional, f.ty) {
            (false, FieldType::Bool) => format!(
                "if item.{n} {{ \"true\".to_owned() }} else {{ String::new() }}",
                n = f.name
            ),
            (true, FieldType::Bool) => format!(
                "if item.{n} == Some(true) {{ \"true\".to_owned() }} else {{ String::new() }}",
                n = f.name
            ),
            (true, _) => format!(
                "item.{n}.map(|v| v.to_string()).unwrap_or_default()",
                n = f.name
            ),
            (false, _) => format!("item.{}.to_string()", f.name),
        };
        let _ = writeln!(
            edit_values,
            "    form.values.insert(\"{}\".into(), {value});",
            f.name
        );
    }
    if fields.is_empty() {
        edit_values.push_str("    let _ = item;\n");
    }
    let apply_params = if fields.is_empty() { "_model" } else { "model" };
    let apply = apply.replace("        model.", &format!("        {apply_params}."));
    format!(
        r#"//! Pages for {w_plural}: list, show, create, edit and delete. Written by
//! `keel generate scaffold`; the app owns it now. Add `RequireUser` to the handlers
//! that change data to keep them to signed-in users.

use garde::Validate;
use keel::axum::extract::State;
use keel::axum::http::StatusCode;
use keel::axum::response::{{IntoResponse, Redirect, Response}};
use keel::db::sea_orm::{{ActiveModelTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryOrder, Set}};
use keel::db::{{Db, PageParams, paginate}};
use keel::form::{{FormData, InvalidForm}};
use keel::routing::{{Router, get, post}};
use keel::session::Session;
use keel::view::{{View, view}};
use keel::{{AppState, Error, Path, Result}};
use serde::Deserialize;
use serde_json::json;

use crate::models::{name};

/// The {w_plural} pages.
pub fn routes() -> Router {{
    Router::new()
        .route("/{plural_name}", get(index).post(create).name("{plural_name}"))
        .route("/{plural_name}/new", get(new).name("new_{name}"))
        .route("/{plural_name}/{{id}}", get(show).post(update).name("{name}"))
        .route("/{plural_name}/{{id}}/edit", get(edit).name("edit_{name}"))
        .route("/{plural_name}/{{id}}/delete", post(delete).name("delete_{name}"))
}}

/// What the {w} form submits.
#[derive(Debug, Deserialize, Validate)]
#[garde(allow_unvalidated)]
pub struct {ty}Form {{
{form_fields}}}

impl {ty}Form {{
    fn apply(self, {apply_params}: &mut {name}::ActiveModel) {{
{apply}    }}
}}

async fn find(db: &Db, id: i32) -> Result<{name}::Model> {{
    {name}::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no {w} {{id}}.")))
}}

fn form_page(heading: &str, action: &str, form: &InvalidForm) -> View {{
    view(
        "{plural_name}/form.html",
        json!({{ "heading": heading, "action": action, "form": form }}),
    )
}}

async fn index(db: Db, page: PageParams) -> Result<View> {{
    let select = {name}::Entity::find().order_by_desc({name}::Column::Id);
    let page = paginate(&*db, select, page).await?;
    Ok(view("{plural_name}/index.html", json!({{ "page": page }})))
}}

async fn show(db: Db, Path(id): Path<i32>) -> Result<View> {{
    let item = find(&db, id).await?;
    Ok(view("{plural_name}/show.html", json!({{ "item": item }})))
}}

async fn new(State(state): State<AppState>) -> Result<View> {{
    let action = state.url_for("{plural_name}", &[] as &[(&str, &str)])?;
    Ok(form_page("New {w}", &action, &InvalidForm::default()))
}}

async fn create(
    State(state): State<AppState>,
    db: Db,
    session: Session,
    form: FormData,
) -> Result<Response> {{
    let data = match form.validate::<{ty}Form>() {{
        Ok(d) => d,
        Err(invalid) => {{
            let action = state.url_for("{plural_name}", &[] as &[(&str, &str)])?;
            return Ok(form_page("New {w}", &action, &invalid)
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }}
    }};
    let mut model = <{name}::ActiveModel as Default>::default();
    data.apply(&mut model);
    let saved = model.insert(&*db).await?;
    session.flash("success", "{W} created.");
    let url = state.url_for("{name}", &[("id", saved.id)])?;
    Ok(Redirect::to(&url).into_response())
}}

async fn edit(State(state): State<AppState>, db: Db, Path(id): Path<i32>) -> Result<View> {{
    let item = find(&db, id).await?;
    let mut form = InvalidForm::default();
{edit_values}    let action = state.url_for("{name}", &[("id", id)])?;
    Ok(form_page("Edit {w}", &action, &form))
}}

async fn update(
    State(state): State<AppState>,
    db: Db,
    session: Session,
    Path(id): Path<i32>,
    form: FormData,
) -> Result<Response> {{
    let existing = find(&db, id).await?;
    let action = state.url_for("{name}", &[("id", id)])?;
    let data = match form.validate::<{ty}Form>() {{
        Ok(d) => d,
        Err(invalid) => {{
            return Ok(form_page("Edit {w}", &action, &invalid)
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }}
    }};
    let mut model = existing.into_active_model();
    data.apply(&mut model);
    model.update(&*db).await?;
    session.flash("success", "{W} saved.");
    Ok(Redirect::to(&action).into_response())
}}

async fn delete(
    State(state): State<AppState>,
    db: Db,
    session: Session,
    Path(id): Path<i32>,
) -> Result<Response> {{
    find(&db, id).await?.delete(&*db).await?;
    session.flash("success", "{W} deleted.");
    let url = state.url_for("{plural_name}", &[] as &[(&str, &str)])?;
    Ok(Redirect::to(&url).into_response())
}}
"#,
        w = words(name),
        W = capitalized(&words(name)),
        w_plural = words(&plural_name),
    )
}

/// The templates of the pages: `(path, content)`.
pub(crate) fn page_templates(name: &str, fields: &[Field]) -> Vec<(String, String)> {
    let plural_name = plural(name);
    let w = words(name);
    let mut head = String::new();
    let mut cells = String::new();
    let mut details = String::new();
    let mut inputs = String::new();
    for f in fields {
        let label = capitalized(&words(&f.name));
        let _ = write!(head, "<th>{label}</th>");
        let _ = write!(cells, "<td>{{{{ item.{} }}}}</td>", f.name);
        let _ = writeln!(
            details,
            "  <dt>{label}</dt><dd>{{{{ item.{} }}}}</dd>",
            f.name
        );
        let value = format!("{{{{ form[\"values\"].{} }}}}", f.name);
        let input = match f.ty {
            FieldType::Text => format!(
                "<textarea id=\"{n}\" name=\"{n}\">{value}</textarea>",
                n = f.name
            ),
            FieldType::Bool => format!(
                "<input type=\"checkbox\" id=\"{n}\" name=\"{n}\" value=\"true\"{{% if form[\"values\"].{n} %}} checked{{% endif %}}>",
                n = f.name
            ),
            FieldType::Int | FieldType::BigInt => format!(
                "<input type=\"number\" id=\"{n}\" name=\"{n}\" value=\"{value}\">",
                n = f.name
            ),
            FieldType::Float => format!(
                "<input type=\"number\" step=\"any\" id=\"{n}\" name=\"{n}\" value=\"{value}\">",
                n = f.name
            ),
            FieldType::String => format!(
                "<input type=\"text\" id=\"{n}\" name=\"{n}\" value=\"{value}\">",
                n = f.name
            ),
        };
        let _ = writeln!(
            inputs,
            "  <p><label for=\"{n}\">{label}</label> {input}</p>\n  {{% for e in form.errors.{n} %}}<p class=\"error\">{{{{ e }}}}</p>{{% endfor %}}",
            n = f.name
        );
    }
    let index = format!(
        "{{% extends \"base.html\" %}}\n{{% block content %}}\n<h1>{title}</h1>\n\
         <p><a href=\"{{{{ url_for('new_{name}') }}}}\">New {w}</a></p>\n\
         <table>\n<tr>{head}<th></th></tr>\n\
         {{% for item in page[\"items\"] %}}\n<tr>{cells}<td><a href=\"{{{{ url_for('{name}', id=item.id) }}}}\">Show</a></td></tr>\n\
         {{% else %}}\n<tr><td>No {w_plural} yet.</td></tr>\n{{% endfor %}}\n</table>\n\
         {{% if page.links.prev %}}<a href=\"{{{{ page.links.prev }}}}\">Previous</a>{{% endif %}}\n\
         {{% if page.links.next %}}<a href=\"{{{{ page.links.next }}}}\">Next</a>{{% endif %}}\n\
         {{% endblock %}}\n",
        title = capitalized(&words(&plural_name)),
        w_plural = words(&plural_name),
    );
    let show = format!(
        "{{% extends \"base.html\" %}}\n{{% block content %}}\n<h1>{W} {{{{ item.id }}}}</h1>\n<dl>\n{details}</dl>\n\
         <p><a href=\"{{{{ url_for('edit_{name}', id=item.id) }}}}\">Edit</a> · <a href=\"{{{{ url_for('{plural_name}') }}}}\">All {w_plural}</a></p>\n\
         <form method=\"post\" action=\"{{{{ url_for('delete_{name}', id=item.id) }}}}\">{{{{ csrf_field() }}}}<button type=\"submit\">Delete</button></form>\n\
         {{% endblock %}}\n",
        W = capitalized(&w),
        w_plural = words(&plural_name),
    );
    let form = format!(
        "{{% extends \"base.html\" %}}\n{{% block content %}}\n<h1>{{{{ heading }}}}</h1>\n\
         <form method=\"post\" action=\"{{{{ action }}}}\">\n  {{{{ csrf_field() }}}}\n{inputs}  <button type=\"submit\">Save</button>\n</form>\n\
         {{% endblock %}}\n"
    );
    vec![
        (format!("templates/{plural_name}/index.html"), index),
        (format!("templates/{plural_name}/show.html"), show),
        (format!("templates/{plural_name}/form.html"), form),
    ]
}

/// The pages' test: create through the form (with its CSRF token), see, list, refuse an
/// invalid form, delete.
pub(crate) fn pages_test_source(krate: &str, name: &str, fields: &[Field]) -> String {
    let plural_name = plural(name);
    let mut pairs = String::new();
    for f in fields {
        let _ = writeln!(pairs, "        (\"{}\", \"{}\"),", f.name, sample_form(f));
    }
    let invalid = fields
        .iter()
        .find(|f| !f.optional && matches!(f.ty, FieldType::String | FieldType::Text))
        .map(|f| {
            format!(
                "\n    // A required field left empty: the form comes back with the error.\n    \
                 let token = token_in(&client.get(\"/{plural_name}/new\").await.text());\n    \
                 client\n        .post(\"/{plural_name}\")\n        .form(&[(\"_csrf\", token.as_str()), (\"{}\", \"\")])\n        \
                 .await\n        .assert_status(422);\n",
                f.name
            )
        })
        .unwrap_or_default();
    format!(
        r##"//! The {w_plural} pages through the test client, on their own database.

use keel_test::TestClient;
use keel_test::db::TestDb;

/// The CSRF token of the page's form.
fn token_in(html: &str) -> String {{
    let marker = r#"name="_csrf" value=""#;
    let at = html.find(marker).expect("a CSRF field in the page") + marker.len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}}

#[tokio::test]
async fn {plural_name}_are_created_shown_listed_and_deleted() {{
    let db = TestDb::migrated(keel::db::all_migrations(
        &{krate}::models::registry(),
        {krate}::migrations::all(),
    ))
    .await;
    let client = TestClient::new({krate}::app().set("database.url", db.url())).await;

    let token = token_in(&client.get("/{plural_name}/new").await.assert_status(200).text());
    let mut fields = vec![("_csrf", token.as_str())];
    fields.extend([
{pairs}    ]);
    let created = client.post("/{plural_name}").form(&fields).await;
    created.assert_status(303);
    let url = created.header("location").expect("a Location").to_owned();
    client.get(&url).await.assert_status(200);
    client.get("/{plural_name}").await.assert_status(200);
{invalid}
    let token = token_in(&client.get(&url).await.text());
    client
        .post(&format!("{{url}}/delete"))
        .form(&[("_csrf", token.as_str())])
        .await
        .assert_status(303);
    client.get(&url).await.assert_status(404);
}}
"##,
        w_plural = words(&plural_name),
    )
}

/// `src/<plural>.rs` for the JSON API.
pub(crate) fn api_source(name: &str, fields: &[Field], openapi: bool) -> String {
    let plural_name = plural(name);
    let ty = camel(name);
    let derive_schema = if openapi { ", ToSchema" } else { "" };
    let mut new_fields = String::new();
    let mut change_fields = String::new();
    let mut set_new = String::new();
    let mut set_change = String::new();
    for f in fields {
        let rust = if f.optional {
            format!("Option<{}>", f.ty.rust())
        } else {
            f.ty.rust().to_owned()
        };
        let doc = format!("    /// The {}.\n", words(&f.name));
        let r = if f.optional { "skip" } else { rule(f) };
        let _ = write!(
            new_fields,
            "{doc}    #[garde({r})]\n    pub {}: {rust},\n",
            f.name
        );
        let _ = write!(
            change_fields,
            "{doc}    #[garde({})]\n    pub {}: Option<{}>,\n",
            rule(f),
            f.name,
            f.ty.rust()
        );
        let _ = writeln!(set_new, "        {n}: Set(new.{n}),", n = f.name);
        let wrap = if f.optional { "Some(v)" } else { "v" };
        let _ = writeln!(
            set_change,
            "    if let Some(v) = change.{n} {{\n        model.{n} = Set({wrap});\n    }}",
            n = f.name
        );
    }
    let (routing, tags, schema_use) = if openapi {
        (
            "use keel::openapi::get;\nuse keel::routing::Router;",
            format!(".tag(\"{plural_name}\")"),
            "use utoipa::ToSchema;\n",
        )
    } else {
        ("use keel::routing::{Router, get};", String::new(), "")
    };
    let change_binding = if fields.is_empty() {
        "_change"
    } else {
        "change"
    };
    let set_change = set_change.replace("change.", &format!("{change_binding}."));
    format!(
        r#"//! The {w_plural} API: list, create, show, update and delete. Written by
//! `keel generate scaffold --api`; the app owns it now. Add `RequireUser` to the
//! handlers that change data to keep them to signed-in clients.

use garde::Validate;
use keel::api::{{Created, NoContent}};
use keel::db::sea_orm::{{ActiveModelTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryOrder, Set}};
use keel::db::{{Db, Page, PageParams, paginate}};
{routing}
use keel::{{Error, Json, Path, Result}};
use serde::Deserialize;
{schema_use}
use crate::models::{name};

/// The {w_plural} routes.
pub fn routes() -> Router {{
    Router::new()
        .route(
            "/api/{plural_name}",
            get(list).post(create).name("{plural_name}"){tags},
        )
        .route(
            "/api/{plural_name}/{{id}}",
            get(show).put(update).delete(remove).name("{name}"){tags},
        )
}}

/// A new {w}.
#[derive(Debug, Deserialize, Validate{derive_schema})]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct New{ty} {{
{new_fields}}}

/// Changes to a {w}; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate{derive_schema})]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct {ty}Change {{
{change_fields}}}

async fn find(db: &Db, id: i32) -> Result<{name}::Model> {{
    {name}::Entity::find_by_id(id)
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no {w} {{id}}.")))
}}

async fn list(db: Db, page: PageParams) -> Result<Json<Page<{name}::Model>>> {{
    let select = {name}::Entity::find().order_by_desc({name}::Column::Id);
    Ok(Json(paginate(&*db, select, page).await?))
}}

async fn create(db: Db, Json(new): Json<New{ty}>) -> Result<Created<{name}::Model>> {{
    let saved = {name}::ActiveModel {{
{set_new}        ..Default::default()
    }}
    .insert(&*db)
    .await?;
    Ok(Created::new(format!("/api/{plural_name}/{{}}", saved.id), saved))
}}

async fn show(db: Db, Path(id): Path<i32>) -> Result<Json<{name}::Model>> {{
    Ok(Json(find(&db, id).await?))
}}

async fn update(
    db: Db,
    Path(id): Path<i32>,
    Json({change_binding}): Json<{ty}Change>,
) -> Result<Json<{name}::Model>> {{
    let mut model = find(&db, id).await?.into_active_model();
{set_change}    Ok(Json(model.update(&*db).await?))
}}

async fn remove(db: Db, Path(id): Path<i32>) -> Result<NoContent> {{
    find(&db, id).await?.delete(&*db).await?;
    Ok(NoContent)
}}
"#,
        w = words(name),
        w_plural = words(&plural_name),
    )
}

/// The API's test: create, read, list, update, refuse invalid input, delete.
pub(crate) fn api_test_source(krate: &str, name: &str, fields: &[Field]) -> String {
    let plural_name = plural(name);
    let body = fields
        .iter()
        .map(|f| format!("\"{}\": {}", f.name, sample_json(f)))
        .collect::<Vec<_>>()
        .join(", ");
    let text = fields
        .iter()
        .find(|f| matches!(f.ty, FieldType::String | FieldType::Text));
    let update_and_invalid = text
        .map(|f| {
            format!(
                "    let changed: serde_json::Value = client\n        .put(&url)\n        .json(&json!({{\"{n}\": \"second\"}}))\n        .await\n        .assert_status(200)\n        .json();\n    \
                 assert_eq!(changed[\"{n}\"], \"second\");\n    \
                 client\n        .post(\"/api/{plural_name}\")\n        .json(&json!({{{body_invalid}}}))\n        .await\n        .assert_problem(422, \"validation_failed\");\n",
                n = f.name,
                body_invalid = fields
                    .iter()
                    .map(|g| if g.name == f.name {
                        format!("\"{}\": \"\"", g.name)
                    } else {
                        format!("\"{}\": {}", g.name, sample_json(g))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .unwrap_or_default();
    format!(
        r#"//! The {w_plural} API through the test client, on its own database.

use keel_test::TestClient;
use keel_test::db::TestDb;
use serde_json::json;

#[tokio::test]
async fn {plural_name}_round_trip() {{
    let db = TestDb::migrated(keel::db::all_migrations(
        &{krate}::models::registry(),
        {krate}::migrations::all(),
    ))
    .await;
    let client = TestClient::new({krate}::app().set("database.url", db.url())).await;

    let created = client.post("/api/{plural_name}").json(&json!({{{body}}})).await;
    created.assert_status(201);
    let url = created.header("location").expect("a Location").to_owned();
    client.get(&url).await.assert_status(200);
    let page: serde_json::Value = client.get("/api/{plural_name}").await.json();
    assert_eq!(page["total_items"], 1);
{update_and_invalid}    client.delete(&url).await.assert_status(204);
    client.get(&url).await.assert_problem(404, "not_found");
}}
"#,
        w_plural = words(&plural_name),
    )
}

/// The mailer module `src/<name>_mail.rs`: a typed context and the email from its two
/// templates.
pub(crate) fn mailer_source(name: &str) -> String {
    let ty = camel(name);
    let w = words(name);
    format!(
        r#"//! The {w} mail: a text and an HTML body from `templates/mail/{name}.txt` and
//! `.html`. Written by `keel generate mailer`; the app owns it now.
//!
//! ```ignore
//! async fn handler(mail: keel::mail::Mail) -> keel::Result<()> {{
//!     let email = {name}_mail::email(&mail, "ada@example.com", &{name}_mail::{ty} {{ name: "Ada".into() }})?;
//!     mail.send_later(email); // or `mail.send(&email).await?` to wait for it
//!     Ok(())
//! }}
//! ```

use keel::Result;
use keel::mail::{{Email, Mail}};
use serde::Serialize;

/// What the templates show.
#[derive(Debug, Clone, Serialize)]
pub struct {ty} {{
    /// Who it is for.
    pub name: String,
}}

/// The email to `to`, rendered from the templates.
pub fn email(mail: &Mail, to: &str, data: &{ty}) -> Result<Email> {{
    mail.templated(to, "{subject}", "mail/{name}", data)
}}
"#,
        subject = capitalized(&w),
    )
}

/// The mail's two templates.
pub(crate) fn mailer_templates(name: &str) -> Vec<(String, String)> {
    let subject = capitalized(&words(name));
    vec![
        (
            format!("templates/mail/{name}.txt"),
            format!(
                "Hello {{{{ name }}}},\n\nThis is the {} mail.\n",
                words(name)
            ),
        ),
        (
            format!("templates/mail/{name}.html"),
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><body>\n<h1>{subject}</h1>\n<p>Hello {{{{ name }}}},</p>\n<p>This is the {} mail.</p>\n</body></html>\n",
                words(name)
            ),
        ),
    ]
}

/// The mailer's test: the email is rendered and lands in the test outbox.
pub(crate) fn mailer_test_source(krate: &str, name: &str) -> String {
    let ty = camel(name);
    format!(
        r#"//! The {w} mail, rendered and sent to the in-memory outbox of the test environment.

use keel::axum::extract::FromRequestParts;
use keel_test::TestClient;
use keel_test::db::TestDb;

#[tokio::test]
async fn the_{name}_mail_is_rendered_and_sent() {{
    let db = TestDb::migrated(keel::db::all_migrations(
        &{krate}::models::registry(),
        {krate}::migrations::all(),
    ))
    .await;
    let client = TestClient::new({krate}::app().set("database.url", db.url())).await;
    let (mut parts, ()) = keel::axum::http::Request::new(()).into_parts();
    let mail = keel::mail::Mail::from_request_parts(&mut parts, client.state())
        .await
        .expect("the mail plugin");
    let data = {krate}::{name}_mail::{ty} {{
        name: "Ada".into(),
    }};
    let email = {krate}::{name}_mail::email(&mail, "ada@example.com", &data).expect("rendered");
    assert!(email.text.contains("Hello Ada"), "{{}}", email.text);
    assert!(email.html.as_deref().unwrap_or_default().contains("Ada"));
    mail.send(&email).await.expect("sent");
    let outbox = client.state().get::<keel::mail::Outbox>().expect("memory mail in tests");
    assert_eq!(outbox.messages().len(), 1);
    assert_eq!(outbox.messages()[0].to, ["ada@example.com"]);
}}
"#,
        w = words(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::parse_field;

    #[test]
    fn plurals() {
        for (one, many) in [
            ("post", "posts"),
            ("category", "categories"),
            ("day", "days"),
            ("box", "boxes"),
            ("match", "matches"),
        ] {
            assert_eq!(plural(one), many);
        }
    }

    #[test]
    fn scaffolds_are_pinned() {
        let fields: Vec<Field> = [
            "title:string",
            "body:text",
            "published:bool",
            "rating:float:optional",
        ]
        .iter()
        .map(|f| parse_field(f).expect("a field"))
        .collect();
        insta::assert_snapshot!("scaffold_pages", pages_source("post", &fields));
        let templates: String = page_templates("post", &fields)
            .into_iter()
            .map(|(p, c)| format!("==> {p}\n{c}"))
            .collect();
        insta::assert_snapshot!("scaffold_templates", templates);
        insta::assert_snapshot!(
            "scaffold_pages_test",
            pages_test_source("blog", "post", &fields)
        );
        insta::assert_snapshot!("scaffold_api", api_source("post", &fields, true));
        insta::assert_snapshot!(
            "scaffold_api_test",
            api_test_source("shop", "post", &fields)
        );
        insta::assert_snapshot!("mailer", mailer_source("welcome"));
        let templates: String = mailer_templates("welcome")
            .into_iter()
            .map(|(p, c)| format!("==> {p}\n{c}"))
            .collect();
        insta::assert_snapshot!("mailer_templates", templates);
        insta::assert_snapshot!("mailer_test", mailer_test_source("blog", "welcome"));
    }
}
