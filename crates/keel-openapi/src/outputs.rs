//! How handlers' return types appear in the document.

use keel_http::api::{Created, NoContent};
use keel_http::extract::Json;
use utoipa::{PartialSchema, ToSchema};

use crate::{ApiOutput, Operation};

impl<T: ToSchema> ApiOutput for Json<T> {
    fn describe(op: &mut Operation) {
        let schema = op.schema_of::<T>();
        op.response(200, "OK", Some(("application/json", schema)));
    }
}

impl<T: ToSchema> ApiOutput for axum::Json<T> {
    fn describe(op: &mut Operation) {
        Json::<T>::describe(op);
    }
}

impl<T: ToSchema> ApiOutput for Created<T> {
    fn describe(op: &mut Operation) {
        let schema = op.schema_of::<T>();
        op.response_with_headers(
            201,
            "Created",
            Some(("application/json", schema)),
            &[("Location", "The new resource's URL.")],
        );
    }
}

impl ApiOutput for NoContent {
    fn describe(op: &mut Operation) {
        op.response(204, "No Content", None);
    }
}

impl<T: ApiOutput> ApiOutput for Result<T, keel_core::Error> {
    fn describe(op: &mut Operation) {
        T::describe(op);
        op.default_problem();
    }
}

impl ApiOutput for String {
    fn describe(op: &mut Operation) {
        op.response(200, "OK", Some(("text/plain", String::schema())));
    }
}

impl ApiOutput for &'static str {
    fn describe(op: &mut Operation) {
        String::describe(op);
    }
}

impl<T> ApiOutput for axum::response::Html<T> {
    fn describe(op: &mut Operation) {
        op.response(200, "OK", Some(("text/html", String::schema())));
    }
}

impl ApiOutput for axum::response::Redirect {
    fn describe(op: &mut Operation) {
        op.response_with_headers(303, "See Other", None, &[("Location", "Where to go next.")]);
    }
}

impl ApiOutput for http::StatusCode {
    fn describe(op: &mut Operation) {
        op.response(200, "The status says it all; no documented body.", None);
    }
}

impl ApiOutput for axum::response::Response {
    fn describe(op: &mut Operation) {
        op.response(200, "OK (a response built by the handler).", None);
    }
}
