//! Pagination: page/per-page with totals, and keyset (cursor) pages.
//!
//! Both read their parameters from the query string and answer a 400 problem for
//! nonsense (`per_page=0`, negative numbers, numbers too large to be meant, text).
//! A `per_page` above `database.max_per_page` is capped, never honoured.
//!
//! A [`Page`] read through the [`PageParams`] extractor carries `links` to the first,
//! previous, next and last pages: relative references holding the request's query with
//! `page` changed (`?tag=rust&page=3&per_page=20`), which resolve against the URL the
//! client asked for, wherever the router is mounted.

use axum_core::extract::FromRequestParts;
use http::request::Parts;
use keel_core::{AppState, Error, FieldError};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::Serialize;

use crate::settings::DbSettings;

/// `?page=2&per_page=50`, validated. Pages count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParams {
    /// The page, from 1.
    pub page: u64,
    /// Items per page, at most the configured maximum.
    pub per_page: u64,
    /// The request's other query pairs, for the page links.
    link_base: Option<Vec<(String, String)>>,
}

/// `?after=120&limit=50`: the items after a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorParams {
    /// The last key of the previous page; `None` for the first page.
    pub after: Option<i64>,
    /// Items per page, at most the configured maximum.
    pub limit: u64,
}

/// One page of items with totals, and links to the neighbouring pages when the
/// parameters came from a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// This page's number, from 1.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
    /// Items in all pages.
    pub total_items: u64,
    /// Number of pages.
    pub total_pages: u64,
    /// URLs of the first, previous, next and last pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<PageLinks>,
}

/// Where the other pages are: the request's query with `page` changed, as relative
/// references (`?page=3&per_page=20`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLinks {
    /// The first page.
    pub first: String,
    /// The page before, if any.
    pub prev: Option<String>,
    /// The page after, if any.
    pub next: Option<String>,
    /// The last page (the first when there are none).
    pub last: String,
}

/// One keyset page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CursorPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor for the next page, if there is one.
    pub next: Option<i64>,
}

/// The largest number a page parameter may be before it is called nonsense.
const SANE_LIMIT: u64 = u32::MAX as u64;

fn parse_param(name: &str, raw: Option<&str>) -> Result<Option<u64>, Error> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = |detail: &str| {
        Error::bad_request(format!("Invalid `{name}`: {detail}."))
            .with_code("invalid_page_parameter")
            .with_field(FieldError::new(name, "invalid", detail))
    };
    let value: i128 = raw
        .trim()
        .parse()
        .map_err(|_| bad("must be a positive whole number"))?;
    if value < 1 {
        return Err(bad("must be at least 1"));
    }
    if value > i128::from(SANE_LIMIT) {
        return Err(bad("is too large"));
    }
    Ok(Some(u64::try_from(value).unwrap_or(SANE_LIMIT)))
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn limits(state: &AppState) -> (u64, u64) {
    let s = state.get::<DbSettings>().cloned().unwrap_or_default();
    (s.per_page.max(1), s.max_per_page.max(1))
}

impl PageParams {
    /// Page `page` (from 1) of `per_page` items, without links.
    pub fn new(page: u64, per_page: u64) -> Self {
        Self {
            page: page.max(1),
            per_page: per_page.max(1),
            link_base: None,
        }
    }

    /// Parses `page` and `per_page` from a query string's pairs.
    pub fn from_pairs(pairs: &[(String, String)], default: u64, max: u64) -> Result<Self, Error> {
        let page = parse_param("page", get(pairs, "page"))?.unwrap_or(1);
        let per_page = parse_param("per_page", get(pairs, "per_page"))?
            .unwrap_or(default)
            .min(max);
        Ok(Self {
            page,
            per_page,
            link_base: None,
        })
    }

    /// Links for a result of `total_pages` pages, when the request is known.
    fn links(&self, total_pages: u64) -> Option<PageLinks> {
        let others = self.link_base.as_ref()?;
        let url = |page: u64| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in others {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            q.append_pair("per_page", &self.per_page.to_string());
            format!("?{}", q.finish())
        };
        let last = total_pages.max(1);
        Some(PageLinks {
            first: url(1),
            prev: (self.page > 1).then(|| url((self.page - 1).min(last))),
            next: (self.page < last).then(|| url(self.page + 1)),
            last: url(last),
        })
    }
}

impl CursorParams {
    /// Parses `after` and `limit` from a query string's pairs.
    pub fn from_pairs(pairs: &[(String, String)], default: u64, max: u64) -> Result<Self, Error> {
        let after = match get(pairs, "after") {
            None | Some("") => None,
            Some(raw) => Some(raw.trim().parse::<i64>().map_err(|_| {
                Error::bad_request("Invalid `after`: must be a cursor from a previous page.")
                    .with_code("invalid_page_parameter")
                    .with_field(FieldError::new(
                        "after",
                        "invalid_cursor",
                        "is not a cursor",
                    ))
            })?),
        };
        let limit = parse_param("limit", get(pairs, "limit"))?
            .unwrap_or(default)
            .min(max);
        Ok(Self { after, limit })
    }
}

impl FromRequestParts<AppState> for PageParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let (default, max) = limits(state);
        let pairs = query_pairs(parts);
        let mut params = Self::from_pairs(&pairs, default, max)?;
        let others = pairs
            .into_iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .collect();
        params.link_base = Some(others);
        Ok(params)
    }
}

impl FromRequestParts<AppState> for CursorParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let (default, max) = limits(state);
        Self::from_pairs(&query_pairs(parts), default, max)
    }
}

/// Fetches page `params.page` of `select`, with the total count.
pub async fn paginate<E, C>(
    db: &C,
    select: Select<E>,
    params: PageParams,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let paginator = select.paginate(db, params.per_page);
    let totals = paginator.num_items_and_pages().await?;
    let items = paginator.fetch_page(params.page - 1).await?;
    Ok(Page {
        items,
        page: params.page,
        per_page: params.per_page,
        total_items: totals.number_of_items,
        total_pages: totals.number_of_pages,
        links: params.links(totals.number_of_pages),
    })
}

/// Fetches the items of `select` whose integer `key` comes after `params.after`,
/// ordered by `key`.
pub async fn keyset<E, C>(
    db: &C,
    select: Select<E>,
    key: E::Column,
    params: CursorParams,
) -> Result<CursorPage<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let mut select = select.order_by_asc(key);
    if let Some(after) = params.after {
        select = select.filter(key.gt(after));
    }
    let mut items = select.limit(params.limit + 1).all(db).await?;
    let next = if items.len() as u64 > params.limit {
        items.truncate(usize::try_from(params.limit).unwrap_or(usize::MAX));
        items.last().and_then(|m| value_as_i64(&m.get(key)))
    } else {
        None
    };
    Ok(CursorPage { items, next })
}

fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::TinyInt(Some(n)) => Some(i64::from(*n)),
        Value::SmallInt(Some(n)) => Some(i64::from(*n)),
        Value::Int(Some(n)) => Some(i64::from(*n)),
        Value::BigInt(Some(n)) => Some(*n),
        Value::TinyUnsigned(Some(n)) => Some(i64::from(*n)),
        Value::SmallUnsigned(Some(n)) => Some(i64::from(*n)),
        Value::Unsigned(Some(n)) => Some(i64::from(*n)),
        Value::BigUnsigned(Some(n)) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// The page envelopes' schemas, named after the item type (`Page_Author`).
#[cfg(feature = "openapi")]
mod schema {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use super::{CursorPage, Page};

    fn items<T: ToSchema>() -> ArrayBuilder {
        ArrayBuilder::new().items(Ref::from_schema_name(T::name()))
    }

    fn count(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .description(Some(description))
    }

    impl<T: ToSchema> PartialSchema for Page<T> {
        fn schema() -> RefOr<Schema> {
            let link = |d: &str| {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(d))
            };
            let links = ObjectBuilder::new()
                .description(Some("Relative references to the other pages."))
                .property("first", link("The first page."))
                .property("prev", link("The page before (null on the first)."))
                .property("next", link("The page after (null on the last)."))
                .property("last", link("The last page."))
                .required("first")
                .required("last");
            ObjectBuilder::new()
                .property("items", items::<T>())
                .property("page", count("This page, from 1."))
                .property("per_page", count("Items per page."))
                .property("total_items", count("Items in all pages."))
                .property("total_pages", count("Number of pages."))
                .property("links", links)
                .required("items")
                .required("page")
                .required("per_page")
                .required("total_items")
                .required("total_pages")
                .into()
        }
    }

    impl<T: ToSchema> ToSchema for Page<T> {
        fn name() -> Cow<'static, str> {
            Cow::Owned(format!("Page_{}", T::name()))
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
    }

    impl<T: ToSchema> PartialSchema for CursorPage<T> {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .property("items", items::<T>())
                .property(
                    "next",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .description(Some("The cursor of the next page (null on the last).")),
                )
                .required("items")
                .into()
        }
    }

    impl<T: ToSchema> ToSchema for CursorPage<T> {
        fn name() -> Cow<'static, str> {
            Cow::Owned(format!("CursorPage_{}", T::name()))
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
    }
}
