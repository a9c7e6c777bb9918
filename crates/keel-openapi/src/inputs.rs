//! How Keel's and axum's extractors appear in the document.

use keel_http::extract::{Form, Json, Path, Query};
use utoipa::ToSchema;

use crate::{ApiInput, Operation};

impl<T: ToSchema> ApiInput for Json<T> {
    fn describe(op: &mut Operation) {
        op.json_body::<T>();
    }
}

impl<T: ToSchema> ApiInput for Form<T> {
    fn describe(op: &mut Operation) {
        let schema = op.schema_of::<T>();
        op.body("application/x-www-form-urlencoded", schema);
        op.problems.extend([413, 415, 422]);
    }
}

impl<T: ToSchema> ApiInput for Query<T> {
    fn describe(op: &mut Operation) {
        op.query_params::<T>();
    }
}

impl<T: ToSchema> ApiInput for Path<T> {
    fn describe(op: &mut Operation) {
        op.path_params::<T>();
    }
}

impl<T: ApiInput> ApiInput for Option<T> {
    fn describe(op: &mut Operation) {
        T::describe(op);
    }
}

/// Extractors that read the request or the app without adding to the API's surface.
macro_rules! silent {
    ($($(#[$m:meta])* [$($g:tt)*] $ty:ty),* $(,)?) => {
        $(
            $(#[$m])*
            impl<$($g)*> ApiInput for $ty {
                fn describe(_: &mut Operation) {}
            }
        )*
    };
}

silent! {
    [] http::HeaderMap,
    [] http::Method,
    [] http::Uri,
    [] http::request::Parts,
    [] axum::extract::Request,
    [S] axum::extract::State<S>,
    [T] axum::extract::Extension<T>,
    [T] axum::extract::ConnectInfo<T>,
    [T] keel_core::state::Dep<T>,
    [] keel_http::session::Session,
}

#[cfg(feature = "db")]
silent! {
    [] keel_db::Db,
}

impl ApiInput for keel_http::api::Preconditions {
    fn describe(op: &mut Operation) {
        use utoipa::openapi::path::ParameterIn;
        for (name, description) in [
            (
                "If-None-Match",
                "The ETag of the client's copy: 304 Not Modified when it is current.",
            ),
            (
                "If-Match",
                "The ETag the change is based on: 412 when the resource changed since.",
            ),
        ] {
            op.parameter(
                name,
                ParameterIn::Header,
                description,
                <String as utoipa::PartialSchema>::schema(),
            );
        }
        op.response(304, "Not Modified: the client's copy is current.", None);
        op.problem(412);
    }
}

#[cfg(feature = "db")]
impl ApiInput for keel_db::CursorParams {
    fn describe(op: &mut Operation) {
        use utoipa::openapi::path::ParameterIn;
        for (name, description) in [
            ("after", "The `next` cursor of the previous page."),
            ("limit", "Items per page."),
        ] {
            op.parameter(
                name,
                ParameterIn::Query,
                description,
                <i64 as utoipa::PartialSchema>::schema(),
            );
        }
        op.problem(400);
    }
}

#[cfg(feature = "db")]
impl ApiInput for keel_db::PageParams {
    fn describe(op: &mut Operation) {
        use utoipa::openapi::path::ParameterIn;
        for (name, description) in [
            ("page", "The page number, from 1."),
            ("per_page", "Items per page."),
        ] {
            op.parameter(
                name,
                ParameterIn::Query,
                description,
                <u64 as utoipa::PartialSchema>::schema(),
            );
        }
        op.problems.insert(400);
    }
}

#[cfg(feature = "auth")]
mod auth {
    use keel_auth::{Auth, CurrentUser, RequirePermission, RequireUser};

    use crate::{ApiInput, AuthRequirement, Operation};

    impl ApiInput for RequireUser {
        fn describe(op: &mut Operation) {
            op.auth(AuthRequirement::Required);
        }
    }

    impl<P> ApiInput for RequirePermission<P> {
        fn describe(op: &mut Operation) {
            op.auth(AuthRequirement::Required);
            op.problem(403);
        }
    }

    impl ApiInput for CurrentUser {
        fn describe(op: &mut Operation) {
            op.auth(AuthRequirement::Optional);
        }
    }

    impl ApiInput for Auth {
        fn describe(_: &mut Operation) {}
    }
}
