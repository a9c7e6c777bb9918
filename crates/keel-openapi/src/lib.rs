//! The OpenAPI 3.1 document of a Keel app, built from the routes it already has and the
//! *types* of their handlers, so it cannot drift from the code.
//!
//! Register API routes with this crate's [`get`], [`post`], … instead of
//! `keel::routing`'s. They are the same routes, plus a description of the operation
//! read off the handler's signature:
//!
//! | in the handler | in the document |
//! |---|---|
//! | `Path<T>` | path parameters (names from the route, schemas from `T`); 400 |
//! | `Query<T>` | query parameters, one per field of `T`; 400, 422 |
//! | `Json<T>` (argument) | the JSON request body; 400, 415, 422 |
//! | `RequireUser` / `CurrentUser` (feature `auth`) | security requirement; 401 |
//! | `Json<T>` / [`Created<T>`](keel_http::api::Created) / `NoContent` (result) | 200 / 201 + `Location` / 204 |
//! | `Result<_, keel::Error>` | the problem document as the `default` response |
//!
//! Schemas come from utoipa's `#[derive(ToSchema)]` on the request and response types.
//! Route names become operation ids. [`Docs::plugin`] serves the document at
//! `/openapi.json` and Swagger UI at `/docs/` (from the binary: it works offline), and
//! adds the `openapi` command (`openapi FILE` writes it, `openapi --check FILE` fails
//! when the committed snapshot differs).
//!
//! ```
//! use keel_http::extract::{Json, Path};
//! use keel_openapi::{get, utoipa::ToSchema};
//! use serde::Serialize;
//!
//! #[derive(Serialize, ToSchema)]
//! struct Tag {
//!     name: String,
//! }
//!
//! async fn show(Path(name): Path<String>) -> keel_core::Result<Json<Tag>> {
//!     Ok(Json(Tag { name }))
//! }
//!
//! let routes = keel_core::routing::Router::new()
//!     .route("/tags/{name}", get(show).name("tag").tag("tags"));
//! let doc = keel_openapi::Docs::new("Tags", "1.0.0").document(routes.routes());
//! let json = serde_json::to_value(&doc).unwrap();
//! assert_eq!(json["openapi"], "3.1.0");
//! assert_eq!(json["paths"]["/tags/{name}"]["get"]["operationId"], "tag");
//! ```

mod docs;
mod inputs;
mod outputs;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use axum::handler::Handler;
use keel_core::routing::{self, MethodRouter};
use keel_core::state::AppState;
use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};

pub use docs::Docs;
pub use utoipa;

/// Whether an operation needs a signed-in caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRequirement {
    /// Anonymous callers are served; a credential, when sent, is used.
    Optional,
    /// A credential is required (401 without one).
    Required,
}

/// What one handler contributes to its operation in the document. Extractors add to it
/// through [`ApiInput`], the return type through [`ApiOutput`]; apps implement those
/// traits for their own extractors and responses with these methods.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    pub(crate) path_schema: Option<RefOr<Schema>>,
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) body: Option<RequestBody>,
    pub(crate) responses: Vec<(String, Response)>,
    pub(crate) problems: BTreeSet<u16>,
    pub(crate) default_problem: bool,
    pub(crate) auth: Option<AuthRequirement>,
    pub(crate) schemas: Vec<(String, RefOr<Schema>)>,
    pub(crate) summary: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) operation_id: Option<String>,
    pub(crate) deprecated: bool,
}

/// Whether `T` is the app's own named type (a component schema) rather than a
/// primitive or a standard container (described inline).
fn is_named<T: ?Sized>() -> bool {
    let full = std::any::type_name::<T>();
    let outer = full.split('<').next().unwrap_or(full);
    outer.contains("::")
        && !["alloc::", "core::", "std::", "serde_json::"]
            .iter()
            .any(|p| outer.starts_with(p))
}

impl Operation {
    /// The schema of `T` for use in this operation: a reference to a component for the
    /// app's own types (registered with everything they refer to), inline otherwise.
    pub fn schema_of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        T::schemas(&mut self.schemas);
        let schema = T::schema();
        if is_named::<T>() {
            let name = T::name().into_owned();
            self.schemas.push((name.clone(), schema));
            RefOr::Ref(Ref::from_schema_name(name))
        } else {
            schema
        }
    }

    /// Path parameters deserialized as `T`: a struct (one parameter per field) or a
    /// single value (the route's one parameter).
    pub fn path_params<T: ToSchema>(&mut self) {
        T::schemas(&mut self.schemas);
        self.path_schema = Some(T::schema());
        self.problems.insert(400);
    }

    /// One optional parameter `name` in `place` (query, header…) with `schema`.
    pub fn parameter(
        &mut self,
        name: &str,
        place: utoipa::openapi::path::ParameterIn,
        description: &str,
        schema: RefOr<Schema>,
    ) {
        self.parameters.push(
            utoipa::openapi::path::ParameterBuilder::new()
                .name(name)
                .parameter_in(place)
                .description(Some(description))
                .schema(Some(schema))
                .build(),
        );
    }

    /// Query parameters: one per field of the struct `T`.
    pub fn query_params<T: ToSchema>(&mut self) {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        T::schemas(&mut self.schemas);
        if let RefOr::T(Schema::Object(object)) = T::schema() {
            for (name, schema) in object.properties {
                let required = object.required.contains(&name);
                self.parameters.push(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Query)
                        .required(if required {
                            Required::True
                        } else {
                            Required::False
                        })
                        .schema(Some(schema))
                        .build(),
                );
            }
        }
        self.problems.extend([400, 422]);
    }

    /// A request body of `content_type` with `schema`.
    pub fn body(&mut self, content_type: &str, schema: RefOr<Schema>) {
        use utoipa::openapi::Required;
        use utoipa::openapi::content::ContentBuilder;
        use utoipa::openapi::request_body::RequestBodyBuilder;
        self.body = Some(
            RequestBodyBuilder::new()
                .content(
                    content_type,
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .required(Some(Required::True))
                .build(),
        );
    }

    /// A JSON request body of type `T`, with its 400/415/422 answers.
    pub fn json_body<T: ToSchema>(&mut self) {
        let schema = self.schema_of::<T>();
        self.body("application/json", schema);
        self.problems.extend([400, 413, 415, 422]);
    }

    /// A success response: `status`, its description and, if it has a body, the
    /// content type and schema.
    pub fn response(
        &mut self,
        status: u16,
        description: &str,
        content: Option<(&str, RefOr<Schema>)>,
    ) {
        self.response_with_headers(status, description, content, &[]);
    }

    /// A success response with documented response headers `(name, description)`.
    pub fn response_with_headers(
        &mut self,
        status: u16,
        description: &str,
        content: Option<(&str, RefOr<Schema>)>,
        headers: &[(&str, &str)],
    ) {
        use utoipa::openapi::content::ContentBuilder;
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::response::ResponseBuilder;
        let mut b = ResponseBuilder::new().description(description);
        if let Some((ct, schema)) = content {
            b = b.content(ct, ContentBuilder::new().schema(Some(schema)).build());
        }
        for (name, description) in headers {
            b = b.header(
                *name,
                HeaderBuilder::new()
                    .schema(Some(<String as utoipa::PartialSchema>::schema()))
                    .description(Some(*description))
                    .build(),
            );
        }
        let status = status.to_string();
        self.responses.retain(|(s, _)| *s != status);
        self.responses.push((status, b.build()));
    }

    /// An error answer with `status`, whose body is the problem document.
    pub fn problem(&mut self, status: u16) {
        self.problems.insert(status);
    }

    /// Any other error: the problem document as the `default` response.
    pub fn default_problem(&mut self) {
        self.default_problem = true;
    }

    /// The operation needs a signed-in caller (or takes one when sent).
    pub fn auth(&mut self, requirement: AuthRequirement) {
        if self.auth != Some(AuthRequirement::Required) {
            self.auth = Some(requirement);
        }
        if requirement == AuthRequirement::Required {
            self.problems.insert(401);
        }
    }
}

/// An extractor's part in the operation (parameters, body, security, errors). Implement
/// it for an app's own extractors; those that add nothing visible implement it empty.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say how it appears in the OpenAPI document",
    note = "implement `keel_openapi::ApiInput` for it (an empty impl if it adds nothing to the API's surface)"
)]
pub trait ApiInput {
    /// Adds this extractor's part to `op`.
    fn describe(op: &mut Operation);
}

/// A response type's part in the operation (success responses, errors).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say how it appears in the OpenAPI document",
    note = "return `Json<T>` (with `T: ToSchema`), `Created<T>`, `NoContent` or implement `keel_openapi::ApiOutput`"
)]
pub trait ApiOutput {
    /// Adds this response's part to `op`.
    fn describe(op: &mut Operation);
}

/// A handler whose every extractor and whose return type describe themselves.
pub trait ApiHandler<T>: Handler<T, AppState> {
    /// The operation this handler serves.
    fn operation() -> Operation;
}

impl<F, Fut, Res> ApiHandler<((),)> for F
where
    F: FnOnce() -> Fut + Handler<((),), AppState>,
    Fut: Future<Output = Res>,
    Res: ApiOutput,
{
    fn operation() -> Operation {
        let mut op = Operation::default();
        Res::describe(&mut op);
        op
    }
}

macro_rules! impl_api_handler {
    ($($ty:ident),+) => {
        impl<F, Fut, Res, M, $($ty,)+> ApiHandler<(M, $($ty,)+)> for F
        where
            F: FnOnce($($ty,)+) -> Fut + Handler<(M, $($ty,)+), AppState>,
            Fut: Future<Output = Res>,
            Res: ApiOutput,
            $($ty: ApiInput,)+
        {
            fn operation() -> Operation {
                let mut op = Operation::default();
                $($ty::describe(&mut op);)+
                Res::describe(&mut op);
                op
            }
        }
    };
}

impl_api_handler!(T1);
impl_api_handler!(T1, T2);
impl_api_handler!(T1, T2, T3);
impl_api_handler!(T1, T2, T3, T4);
impl_api_handler!(T1, T2, T3, T4, T5);
impl_api_handler!(T1, T2, T3, T4, T5, T6);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_api_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

/// A method router whose handlers are documented. Converts into
/// `keel::routing::MethodRouter`, so `Router::route` takes it as it is.
#[derive(Debug)]
pub struct ApiMethodRouter {
    inner: MethodRouter,
    docs: Vec<(&'static str, Operation)>,
}

macro_rules! api_methods {
    ($($(#[$doc:meta])* $fn_name:ident => $method:literal),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name<H, T>(handler: H) -> ApiMethodRouter
            where
                H: ApiHandler<T>,
                T: 'static,
            {
                ApiMethodRouter {
                    inner: routing::$fn_name(handler),
                    docs: vec![($method, H::operation())],
                }
            }
        )*

        impl ApiMethodRouter {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $fn_name<H, T>(mut self, handler: H) -> Self
                where
                    H: ApiHandler<T>,
                    T: 'static,
                {
                    self.inner = self.inner.$fn_name(handler);
                    self.docs.push(($method, H::operation()));
                    self
                }
            )*
        }
    };
}

api_methods! {
    /// A documented `GET` handler.
    get => "GET",
    /// A documented `POST` handler.
    post => "POST",
    /// A documented `PUT` handler.
    put => "PUT",
    /// A documented `PATCH` handler.
    patch => "PATCH",
    /// A documented `DELETE` handler.
    delete => "DELETE",
}

impl ApiMethodRouter {
    /// Names the route (URL reversing, and the operation ids).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner = self.inner.name(name);
        self
    }

    /// Tags every operation of this route (groups them in the docs UI).
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        let tag = tag.into();
        for (_, op) in &mut self.docs {
            op.tags.push(tag.clone());
        }
        self
    }

    fn last(&mut self) -> Option<&mut Operation> {
        self.docs.last_mut().map(|(_, op)| op)
    }

    /// A one-line summary of the operation added last.
    #[must_use]
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        if let Some(op) = self.last() {
            op.summary = Some(summary.into());
        }
        self
    }

    /// A longer description (Markdown) of the operation added last.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        if let Some(op) = self.last() {
            op.description = Some(description.into());
        }
        self
    }

    /// The operation id of the operation added last, instead of the one made from the
    /// route name.
    #[must_use]
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        if let Some(op) = self.last() {
            op.operation_id = Some(id.into());
        }
        self
    }

    /// Marks the operation added last as deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        if let Some(op) = self.last() {
            op.deprecated = true;
        }
        self
    }

    /// Changes the operation added last (for what the signature cannot say: an extra
    /// response, a problem status).
    #[must_use]
    pub fn with_operation(mut self, change: impl FnOnce(&mut Operation)) -> Self {
        if let Some(op) = self.last() {
            change(op);
        }
        self
    }
}

impl From<ApiMethodRouter> for MethodRouter {
    fn from(r: ApiMethodRouter) -> Self {
        let mut inner = r.inner;
        for (method, op) in r.docs {
            inner = inner.with_doc(method, Arc::new(op));
        }
        inner
    }
}
