//! The document from the routes, and its serving: `/openapi.json`, Swagger UI at
//! `/docs/`, and the `openapi` command.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path as AxumPath;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::{self, HeaderValue};
use keel_core::routing::{RouteInfo, Router};
use keel_core::{App, Error};
use utoipa::ToSchema;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required, Server,
};

use crate::{AuthRequirement, Operation};

/// How a signed-in caller proves it, for the security schemes of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: <scheme> <token>` with another scheme word (RealWorld's `Token`).
    Other(String),
}

/// The document's settings and the plugin that serves it. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Docs {
    title: String,
    version: String,
    description: Option<String>,
    servers: Vec<String>,
    spec_path: String,
    ui_path: Option<String>,
    token: Option<TokenScheme>,
    session_cookie: Option<String>,
    auto_security: bool,
    error: ErrorBody,
}

#[derive(Debug, Clone)]
struct ErrorBody {
    content_type: String,
    name: String,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Docs {
    /// Settings for the API called `title` at `version`.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
            servers: Vec::new(),
            spec_path: "/openapi.json".into(),
            ui_path: Some("/docs".into()),
            token: None,
            session_cookie: None,
            auto_security: true,
            error: ErrorBody {
                content_type: keel_core::error::PROBLEM_JSON.into(),
                name: "Problem".into(),
                schemas: problem_schemas(),
            },
        }
    }

    /// The API's description (Markdown).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// A server URL (`/api`, `https://api.example.com`).
    #[must_use]
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.servers.push(url.into());
        self
    }

    /// Where the document is served (default `/openapi.json`).
    #[must_use]
    pub fn spec_path(mut self, path: impl Into<String>) -> Self {
        self.spec_path = path.into();
        self
    }

    /// Where Swagger UI is served (default `/docs`); `None` serves no UI.
    #[must_use]
    pub fn ui_path(mut self, path: Option<&str>) -> Self {
        self.ui_path = path.map(|p| p.trim_end_matches('/').to_owned());
        self
    }

    /// Tokens in `Authorization: <scheme> <token>` (`Bearer` by default, from
    /// `[auth] token_scheme` when keel-auth is installed).
    #[must_use]
    pub fn token_scheme(mut self, scheme: &str) -> Self {
        self.token = Some(if scheme.eq_ignore_ascii_case("bearer") {
            TokenScheme::Bearer
        } else {
            TokenScheme::Other(scheme.to_owned())
        });
        self
    }

    /// Login sessions in the cookie `name` (found out when keel-auth is installed).
    #[must_use]
    pub fn session_cookie(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = Some(name.into());
        self
    }

    /// Documents only the token scheme, not the session cookie: for APIs whose
    /// clients never log in through the pages.
    #[must_use]
    pub fn without_session_auth(mut self) -> Self {
        self.auto_security = false;
        self.session_cookie = None;
        self
    }

    /// The error body when the app renders errors in its own shape (with an
    /// `ErrorRenderer`): its type and content type, instead of the problem document.
    #[must_use]
    pub fn error_body<T: ToSchema>(mut self, content_type: &str) -> Self {
        let mut schemas = Vec::new();
        T::schemas(&mut schemas);
        schemas.push((T::name().into_owned(), T::schema()));
        self.error = ErrorBody {
            content_type: content_type.to_owned(),
            name: T::name().into_owned(),
            schemas,
        };
        self
    }

    fn error_response(&self, description: &str) -> utoipa::openapi::response::Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                self.error.content_type.clone(),
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(self.error.name.clone())))
                    .build(),
            )
            .build()
    }

    /// The OpenAPI 3.1 document of `routes` (those registered with this crate's
    /// routing functions; others are left out).
    pub fn document(&self, routes: &[RouteInfo]) -> OpenApi {
        let mut paths = Paths::new();
        let mut schemas: BTreeMap<String, RefOr<Schema>> = BTreeMap::new();
        let mut uses_auth = false;
        for route in routes {
            let Some(op) = route.doc.as_ref().and_then(|d| d.get::<Operation>()) else {
                continue;
            };
            let Some(method) = http_method(&route.method) else {
                continue;
            };
            let siblings = routes
                .iter()
                .filter(|r| r.doc.is_some() && r.name.is_some() && r.name == route.name)
                .count();
            let operation_id = op
                .operation_id
                .clone()
                .unwrap_or_else(|| match &route.name {
                    Some(name) if siblings <= 1 => name.clone(),
                    Some(name) => format!("{name}_{}", route.method.to_ascii_lowercase()),
                    None => format!(
                        "{}{}",
                        route.method.to_ascii_lowercase(),
                        route
                            .path
                            .replace(['/', '{', '}', '*', '-', '.'], "_")
                            .trim_end_matches('_')
                    ),
                });
            let mut b = OperationBuilder::new()
                .operation_id(Some(operation_id))
                .summary(op.summary.clone())
                .description(op.description.clone());
            for tag in &op.tags {
                b = b.tag(tag.clone());
            }
            if op.deprecated {
                b = b.deprecated(Some(utoipa::openapi::Deprecated::True));
            }
            // Path parameters: names from the route, schemas from `Path<T>`.
            let names = path_params(&route.path);
            for name in &names {
                let schema = match &op.path_schema {
                    Some(RefOr::T(Schema::Object(o))) if o.schema_type == Type::Object.into() => {
                        o.properties.get(name).cloned()
                    }
                    Some(s) if names.len() == 1 => Some(s.clone()),
                    _ => None,
                }
                .unwrap_or_else(<String as utoipa::PartialSchema>::schema);
                b = b.parameter(
                    ParameterBuilder::new()
                        .name(name.clone())
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(schema)),
                );
            }
            for q in &op.parameters {
                b = b.parameter(q.clone());
            }
            if let Some(body) = &op.body {
                b = b.request_body(Some(body.clone()));
            }
            let mut has_success = false;
            for (status, response) in &op.responses {
                has_success = true;
                b = b.response(status.clone(), response.clone());
            }
            if !has_success {
                b = b.response("200", ResponseBuilder::new().description("OK").build());
            }
            for status in &op.problems {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                b = b.response(status.to_string(), self.error_response(reason));
            }
            if op.default_problem {
                b = b.response("default", self.error_response("An error (see the body)."));
            }
            if let Some(auth) = op.auth {
                uses_auth = true;
                let mut alternatives = Vec::new();
                if auth == AuthRequirement::Optional {
                    alternatives.push(SecurityRequirement::default());
                }
                if self.token.is_some() {
                    alternatives.push(SecurityRequirement::new("token", Vec::<String>::new()));
                }
                if self.session_cookie.is_some() {
                    alternatives.push(SecurityRequirement::new("session", Vec::<String>::new()));
                }
                b = b.securities(Some(alternatives));
            }
            for (name, schema) in &op.schemas {
                schemas
                    .entry(name.clone())
                    .or_insert_with(|| schema.clone());
            }
            paths.add_path_operation(openapi_path(&route.path), vec![method], b.build());
        }
        for (name, schema) in &self.error.schemas {
            schemas.insert(name.clone(), schema.clone());
        }
        let mut components = Components::new();
        components.schemas = schemas;
        if uses_auth {
            match &self.token {
                Some(TokenScheme::Bearer) => {
                    components.add_security_scheme(
                        "token",
                        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
                    );
                }
                Some(TokenScheme::Other(word)) => {
                    components.add_security_scheme(
                        "token",
                        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                            "Authorization",
                            &format!("`{word} <token>`"),
                        ))),
                    );
                }
                None => {}
            }
            if let Some(cookie) = &self.session_cookie {
                components.add_security_scheme(
                    "session",
                    SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                        cookie.as_str(),
                        "The login session's cookie (sign in at the auth pages).",
                    ))),
                );
            }
        }
        let info = InfoBuilder::new()
            .title(self.title.clone())
            .version(self.version.clone())
            .description(self.description.clone())
            .build();
        let mut builder = OpenApiBuilder::new()
            .info(info)
            .paths(paths)
            .components(Some(components));
        if !self.servers.is_empty() {
            builder = builder.servers(Some(self.servers.iter().map(Server::new)));
        }
        builder.build()
    }

    /// The plugin: once every other plugin has added its routes, builds the document,
    /// serves it and the UI, and adds the `openapi` command.
    pub fn plugin(self) -> impl FnOnce(&mut App) + Send + 'static {
        move |app: &mut App| {
            // Runs after the plugins queued so far, so that their routes are in.
            app.add_plugin(move |app: &mut App| self.install(app));
        }
    }

    fn install(mut self, app: &mut App) {
        #[cfg(feature = "auth")]
        if let Some(auth) = app.extensions().get::<keel_auth::Auth>().cloned() {
            if self.token.is_none() {
                self = self.token_scheme(&auth.settings.token_scheme.clone());
            }
            if self.auto_security && self.session_cookie.is_none() {
                let cookie = app
                    .config()
                    .get::<String>("session.cookie_name")
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "keel_session".to_owned());
                self.session_cookie = Some(cookie);
            }
        }
        if self.token.is_none() {
            self.token = Some(TokenScheme::Bearer);
        }
        let doc = self.document(app.route_infos());
        let json: Arc<[u8]> = match serde_json::to_vec_pretty(&doc) {
            Ok(j) => j.into(),
            Err(e) => {
                app.config_problem(keel_core::config::ConfigProblem {
                    key: "openapi".into(),
                    source: "the routes".into(),
                    message: format!("the OpenAPI document could not be serialized: {e}"),
                });
                return;
            }
        };
        let mut router = Router::new();
        let spec = json.clone();
        router = router.route(
            &self.spec_path,
            keel_core::routing::get(move || {
                let spec = spec.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        Body::from(bytes::Bytes::from_owner(spec)),
                    )
                }
            })
            .name("openapi.document"),
        );
        if let Some(ui) = self.ui_path.clone() {
            let config = Arc::new(utoipa_swagger_ui::Config::new([self.spec_path]));
            let with_slash = format!("{ui}/");
            let target = with_slash.clone();
            router = router.route(
                &ui,
                keel_core::routing::get(move || async move { Redirect::permanent(&target) }),
            );
            let c = config.clone();
            router = router.route(
                &with_slash,
                keel_core::routing::get(move || {
                    let c = c.clone();
                    async move { swagger_file("", c) }
                })
                .name("openapi.ui"),
            );
            router = router.route(
                &format!("{ui}/{{*file}}"),
                keel_core::routing::get(move |AxumPath(file): AxumPath<String>| {
                    let c = config.clone();
                    async move { swagger_file(&file, c) }
                }),
            );
        }
        app.add_routes(router);
        let doc_json = json;
        app.command(
            clap::Command::new("openapi")
                .about("Write the OpenAPI document, or check it against a committed snapshot")
                .arg(
                    clap::Arg::new("file")
                        .help("Write the document here (default: standard output)"),
                )
                .arg(
                    clap::Arg::new("check")
                        .long("check")
                        .value_name("FILE")
                        .help("Fail when the document differs from FILE"),
                )
                .after_help(
                    "Examples:\n  cargo run -- openapi openapi.json\n  cargo run -- openapi --check openapi.json",
                ),
            move |_, args| async move { openapi_command(&doc_json, &args) },
        );
    }
}

fn openapi_command(doc: &[u8], args: &clap::ArgMatches) -> keel_core::Result<()> {
    use std::io::Write as _;
    if let Some(path) = args.get_one::<String>("check") {
        let committed = std::fs::read(path)
            .map_err(|e| Error::config(format!("cannot read the snapshot {path}: {e}")))?;
        let committed: serde_json::Value = serde_json::from_slice(&committed)
            .map_err(|e| Error::config(format!("the snapshot {path} is not JSON: {e}")))?;
        let live: serde_json::Value = serde_json::from_slice(doc).map_err(Error::internal)?;
        if committed == live {
            let _ = writeln!(
                std::io::stdout(),
                "openapi: {path} matches the app's document"
            );
            return Ok(());
        }
        let mut diffs = Vec::new();
        diff_values("", &committed, &live, &mut diffs);
        let mut err = std::io::stderr().lock();
        for d in diffs.iter().take(20) {
            let _ = writeln!(err, "  {d}");
        }
        if diffs.len() > 20 {
            let _ = writeln!(err, "  … and {} more", diffs.len() - 20);
        }
        return Err(Error::config(format!(
            "the OpenAPI document differs from {path} in {} place(s); review the change and \
             update the snapshot with `openapi {path}`",
            diffs.len()
        )));
    }
    let mut with_newline = doc.to_vec();
    with_newline.push(b'\n');
    match args.get_one::<String>("file") {
        Some(path) => {
            std::fs::write(path, &with_newline)
                .map_err(|e| Error::config(format!("cannot write {path}: {e}")))?;
            let _ = writeln!(std::io::stdout(), "openapi: wrote {path}");
        }
        None => std::io::stdout()
            .write_all(&with_newline)
            .map_err(Error::internal)?,
    }
    Ok(())
}

/// Where two JSON values differ, as JSON pointers.
fn diff_values(at: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    Some(vb) => diff_values(&p, va, vb, out),
                    None => out.push(format!("removed {p}")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!(
                    "added {at}/{}",
                    k.replace('~', "~0").replace('/', "~1")
                ));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff_values(&format!("{at}/{i}"), va, vb, out);
            }
        }
        _ if old == new => {}
        _ => out.push(format!("changed {}", if at.is_empty() { "/" } else { at })),
    }
}

/// Swagger UI's own policy: its scripts and styles come from the binary; it injects
/// inline styles, and fetches only the document.
const UI_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                      script-src 'self'; connect-src 'self'; object-src 'none'; \
                      frame-ancestors 'none'; base-uri 'self'";

fn swagger_file(file: &str, config: Arc<utoipa_swagger_ui::Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(f)) => {
            let mut res = Response::new(Body::from(f.bytes.into_owned()));
            if let Ok(ct) = HeaderValue::from_str(&f.content_type) {
                res.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            if f.gzpipped {
                res.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            res.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(UI_CSP),
            );
            res
        }
        Ok(None) => Error::not_found("No such file in the API docs.").into_response(),
        Err(e) => {
            Error::internal_msg(format!("the API docs could not be served: {e}")).into_response()
        }
    }
}

fn http_method(m: &str) -> Option<HttpMethod> {
    Some(match m {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "HEAD" => HttpMethod::Head,
        "OPTIONS" => HttpMethod::Options,
        "TRACE" => HttpMethod::Trace,
        _ => return None,
    })
}

/// The parameter names of an axum path template (`/a/{slug}/c/{*rest}` → slug, rest).
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|p| p.trim_start_matches('*').to_owned())
        .collect()
}

/// OpenAPI's spelling of an axum path (`{*rest}` → `{rest}`).
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The problem document's schema and its field error's.
fn problem_schemas() -> Vec<(String, RefOr<Schema>)> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let field_error = ObjectBuilder::new()
        .description(Some("One invalid field."))
        .property(
            "pointer",
            string().description(Some("RFC 6901 JSON Pointer to the field (`/title`).")),
        )
        .property(
            "code",
            string().description(Some(
                "Machine-readable reason (`required`, `invalid_type`, `invalid`…).",
            )),
        )
        .property(
            "detail",
            string().description(Some("Human-readable explanation.")),
        )
        .required("pointer")
        .required("code")
        .required("detail")
        .build();
    let problem = ObjectBuilder::new()
        .description(Some(
            "An RFC 9457 problem document with Keel's members `code`, `request_id` and `errors`.",
        ))
        .property("type", string().description(Some("`about:blank`.")))
        .property(
            "title",
            string().description(Some("The status' reason phrase.")),
        )
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("The HTTP status.")),
        )
        .property(
            "detail",
            string().description(Some("What went wrong, for people.")),
        )
        .property("instance", string().description(Some("The request path.")))
        .property(
            "code",
            string().description(Some("Stable machine-readable code.")),
        )
        .property(
            "request_id",
            string().description(Some("The request id, to find the logs.")),
        )
        .property(
            "errors",
            ArrayBuilder::new().items(Ref::from_schema_name("FieldError")),
        )
        .required("type")
        .required("title")
        .required("status")
        .required("code")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
        ))
        .build();
    vec![
        ("FieldError".into(), RefOr::T(Schema::Object(field_error))),
        ("Problem".into(), RefOr::T(Schema::Object(problem))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates() {
        assert_eq!(path_params("/a/{slug}/c/{*rest}"), ["slug", "rest"]);
        assert_eq!(openapi_path("/f/{*rest}"), "/f/{rest}");
    }

    #[test]
    fn diffs_name_places() {
        let a = serde_json::json!({"paths": {"/a": {"get": 1}}, "x": [1, 2]});
        let b = serde_json::json!({"paths": {"/b": {"get": 1}}, "x": [1, 3]});
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        assert_eq!(
            out,
            ["removed /paths/~1a", "added /paths/~1b", "changed /x/1"]
        );
    }
}
