//! The RealWorld endpoints.

use std::collections::{HashMap, HashSet};

use garde::Validate;
use keel::api::{Created, NoContent};
use keel::auth::{Auth, AuthUser, CurrentUser, RequireUser};
use keel::axum::http::request::Parts;
use keel::db::Db;
use keel::db::sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use keel::openapi::{delete, get, post};
use keel::routing::Router;
use keel::{Error, FieldError, Json, Path, Query, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::models::{article, article_tag, comment, favorite, follow, profile};
use crate::{iso8601, now_ms, slugify};

/// The API, under `/api`.
pub fn routes() -> Router {
    let api = Router::new()
        .route(
            "/users/login",
            post(login).name("login").tag("User and Authentication"),
        )
        .route(
            "/users",
            post(register)
                .name("register")
                .tag("User and Authentication"),
        )
        .route(
            "/user",
            get(current_user)
                .operation_id("getCurrentUser")
                .put(update_user)
                .operation_id("updateCurrentUser")
                .name("user")
                .tag("User and Authentication"),
        )
        .route(
            "/profiles/{username}",
            get(show_profile).name("profile").tag("Profile"),
        )
        .route(
            "/profiles/{username}/follow",
            post(follow_user)
                .operation_id("followUserByUsername")
                .delete(unfollow_user)
                .operation_id("unfollowUserByUsername")
                .name("follow")
                .tag("Profile"),
        )
        .route("/articles/feed", get(feed).name("feed").tag("Articles"))
        .route(
            "/articles",
            get(list_articles)
                .operation_id("getArticles")
                .post(create_article)
                .operation_id("createArticle")
                .name("articles")
                .tag("Articles"),
        )
        .route(
            "/articles/{slug}",
            get(show_article)
                .operation_id("getArticle")
                .put(update_article)
                .operation_id("updateArticle")
                .delete(delete_article)
                .operation_id("deleteArticle")
                .name("article")
                .tag("Articles"),
        )
        .route(
            "/articles/{slug}/favorite",
            post(favorite_article)
                .operation_id("createArticleFavorite")
                .delete(unfavorite_article)
                .operation_id("deleteArticleFavorite")
                .name("favorite")
                .tag("Favorites"),
        )
        .route(
            "/articles/{slug}/comments",
            get(list_comments)
                .operation_id("getArticleComments")
                .post(create_comment)
                .operation_id("createArticleComment")
                .name("comments")
                .tag("Comments"),
        )
        .route(
            "/articles/{slug}/comments/{id}",
            delete(delete_comment).name("comment").tag("Comments"),
        )
        .route("/tags", get(tags).name("tags").tag("Tags"));
    Router::new().nest("/api", api)
}

// ------------------------------------------------------------------ representations

/// The caller, with a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    /// The address.
    pub email: String,
    /// A JWT for `Authorization: Token <jwt>`.
    pub token: String,
    /// The public name.
    pub username: String,
    /// About the user.
    pub bio: Option<String>,
    /// The user's picture.
    pub image: Option<String>,
}

/// `{"user": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// The user.
    pub user: User,
}

/// Another user, as the caller sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// The public name.
    pub username: String,
    /// About the user.
    pub bio: Option<String>,
    /// The user's picture.
    pub image: Option<String>,
    /// Whether the caller follows them.
    pub following: bool,
}

/// `{"profile": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    /// The profile.
    pub profile: Profile,
}

/// An article, as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    /// Its URL name.
    pub slug: String,
    /// The title.
    pub title: String,
    /// A one-line description.
    pub description: String,
    /// The text; left out of lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Its tags, sorted.
    pub tag_list: Vec<String>,
    /// When it was written (ISO 8601, milliseconds).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// Whether the caller favorited it.
    pub favorited: bool,
    /// How many users favorited it.
    pub favorites_count: u64,
    /// Who wrote it.
    pub author: Profile,
}

/// `{"article": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SingleArticleResponse {
    /// The article.
    pub article: Article,
}

/// A page of articles and the count of all that match.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultipleArticlesResponse {
    /// The page.
    pub articles: Vec<Article>,
    /// How many articles match, over all pages.
    pub articles_count: u64,
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Its id.
    pub id: i32,
    /// When it was written.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: Profile,
}

/// `{"comment": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SingleCommentResponse {
    /// The comment.
    pub comment: Comment,
}

/// `{"comments": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MultipleCommentsResponse {
    /// The comments, newest first.
    pub comments: Vec<Comment>,
}

/// `{"tags": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagsResponse {
    /// Every tag in use.
    pub tags: Vec<String>,
}

// ------------------------------------------------------------------------ requests

/// Credentials.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct LoginUser {
    /// The address.
    #[garde(length(min = 1))]
    pub email: String,
    /// The password.
    #[garde(length(min = 1))]
    pub password: String,
}

/// `{"user": {"email", "password"}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct LoginUserRequest {
    /// The credentials.
    #[garde(dive)]
    pub user: LoginUser,
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct NewUser {
    /// The public name.
    #[garde(length(chars, min = 1, max = 64))]
    pub username: String,
    /// The address.
    #[garde(email)]
    pub email: String,
    /// The password.
    #[garde(length(min = 1))]
    pub password: String,
}

/// `{"user": {"username", "email", "password"}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct NewUserRequest {
    /// The account.
    #[garde(dive)]
    pub user: NewUser,
}

/// Changes to the caller's account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct UpdateUser {
    /// A new address.
    #[garde(email)]
    pub email: Option<String>,
    /// A new public name.
    #[garde(length(chars, min = 1, max = 64))]
    pub username: Option<String>,
    /// A new password.
    #[garde(length(min = 1))]
    pub password: Option<String>,
    /// About the user.
    #[garde(skip)]
    pub bio: Option<String>,
    /// The user's picture.
    #[garde(skip)]
    pub image: Option<String>,
}

/// `{"user": {…}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct UpdateUserRequest {
    /// The changes.
    #[garde(dive)]
    pub user: UpdateUser,
}

/// A new article.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct NewArticle {
    /// The title.
    #[garde(length(chars, min = 1, max = 200))]
    pub title: String,
    /// A one-line description.
    #[garde(length(chars, min = 1, max = 500))]
    pub description: String,
    /// The text.
    #[garde(length(min = 1))]
    pub body: String,
    /// Tags.
    #[serde(default)]
    #[garde(inner(length(chars, min = 1, max = 64)))]
    pub tag_list: Vec<String>,
}

/// `{"article": {…}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct NewArticleRequest {
    /// The article.
    #[garde(dive)]
    pub article: NewArticle,
}

/// Changes to an article; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct UpdateArticle {
    /// A new title (the slug follows it).
    #[garde(length(chars, min = 1, max = 200))]
    pub title: Option<String>,
    /// A new description.
    #[garde(length(chars, min = 1, max = 500))]
    pub description: Option<String>,
    /// A new text.
    #[garde(length(min = 1))]
    pub body: Option<String>,
    /// New tags.
    #[garde(inner(inner(length(chars, min = 1, max = 64))))]
    pub tag_list: Option<Vec<String>>,
}

/// `{"article": {…}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct UpdateArticleRequest {
    /// The changes.
    #[garde(dive)]
    pub article: UpdateArticle,
}

/// A new comment.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct NewComment {
    /// The text.
    #[garde(length(min = 1))]
    pub body: String,
}

/// `{"comment": {"body"}}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct NewCommentRequest {
    /// The comment.
    #[garde(dive)]
    pub comment: NewComment,
}

/// Filters and paging of `GET /articles`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ListArticlesQuery {
    /// Articles with this tag.
    #[garde(skip)]
    pub tag: Option<String>,
    /// Articles by this username.
    #[garde(skip)]
    pub author: Option<String>,
    /// Articles favorited by this username.
    #[garde(skip)]
    pub favorited: Option<String>,
    /// How many (default 20).
    #[garde(range(min = 1, max = 100))]
    pub limit: Option<u64>,
    /// How many to skip (default 0).
    #[garde(skip)]
    pub offset: Option<u64>,
}

/// Paging of `GET /articles/feed`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct FeedQuery {
    /// How many (default 20).
    #[garde(range(min = 1, max = 100))]
    pub limit: Option<u64>,
    /// How many to skip (default 0).
    #[garde(skip)]
    pub offset: Option<u64>,
}

/// `/articles/{slug}/comments/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentPath {
    /// The article.
    pub slug: String,
    /// The comment.
    pub id: i32,
}

// -------------------------------------------------------------------------- helpers

fn taken(field: &str) -> Error {
    Error::validation([FieldError::new(field, "taken", "has already been taken")])
}

async fn profile_of(db: &Db, user_id: i64) -> Result<profile::Model> {
    profile::Entity::find_by_id(user_id)
        .one(&**db)
        .await?
        .ok_or_else(|| Error::unauthorized("This account has no profile."))
}

async fn profile_named(db: &Db, username: &str) -> Result<Option<profile::Model>> {
    Ok(profile::Entity::find()
        .filter(profile::Column::Username.eq(username))
        .one(&**db)
        .await?)
}

async fn profile_or_404(db: &Db, username: &str) -> Result<profile::Model> {
    profile_named(db, username)
        .await?
        .ok_or_else(|| Error::not_found("No user has this username."))
}

async fn is_following(db: &Db, viewer: Option<i64>, followee: i64) -> Result<bool> {
    let Some(viewer) = viewer else {
        return Ok(false);
    };
    Ok(follow::Entity::find()
        .filter(follow::Column::FollowerId.eq(viewer))
        .filter(follow::Column::FolloweeId.eq(followee))
        .count(&**db)
        .await?
        > 0)
}

fn user_response(auth: &Auth, email: String, p: profile::Model) -> Result<Json<UserResponse>> {
    let jwt = auth
        .jwt
        .as_ref()
        .ok_or_else(|| Error::internal_msg("conduit needs [auth.jwt] enabled = true"))?;
    Ok(Json(UserResponse {
        user: User {
            email,
            token: jwt.issue(p.user_id)?,
            username: p.username,
            bio: p.bio,
            image: p.image,
        },
    }))
}

fn to_profile(p: profile::Model, following: bool) -> Profile {
    Profile {
        username: p.username,
        bio: p.bio,
        image: p.image,
        following,
    }
}

fn viewer_id(viewer: &CurrentUser) -> Option<i64> {
    viewer.0.as_ref().map(|u| u.id)
}

async fn article_by_slug(db: &Db, slug: &str) -> Result<article::Model> {
    article::Entity::find()
        .filter(article::Column::Slug.eq(slug))
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found("No article has this slug."))
}

/// The profiles of `users` as `viewer` sees them (`following`), in two queries.
async fn profiles_seen_by(
    db: &Db,
    viewer: Option<i64>,
    users: Vec<i64>,
) -> Result<HashMap<i64, Profile>> {
    let followed: HashSet<i64> = match viewer {
        Some(v) => follow::Entity::find()
            .filter(follow::Column::FollowerId.eq(v))
            .filter(follow::Column::FolloweeId.is_in(users.clone()))
            .all(&**db)
            .await?
            .into_iter()
            .map(|f| f.followee_id)
            .collect(),
        None => HashSet::new(),
    };
    Ok(profile::Entity::find()
        .filter(profile::Column::UserId.is_in(users))
        .all(&**db)
        .await?
        .into_iter()
        .map(|p| {
            let following = followed.contains(&p.user_id);
            (p.user_id, to_profile(p, following))
        })
        .collect())
}

/// The articles as `viewer` sees them: tags, favorites and authors in a few queries
/// for the whole page.
async fn present(
    db: &Db,
    viewer: Option<i64>,
    articles: Vec<article::Model>,
    with_body: bool,
) -> Result<Vec<Article>> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = articles.iter().map(|a| a.id).collect();
    let authors: Vec<i64> = articles.iter().map(|a| a.author_id).collect();
    let mut tags: HashMap<i32, Vec<String>> = HashMap::new();
    for t in article_tag::Entity::find()
        .filter(article_tag::Column::ArticleId.is_in(ids.clone()))
        .all(&**db)
        .await?
    {
        tags.entry(t.article_id).or_default().push(t.tag);
    }
    let mut counts: HashMap<i32, u64> = HashMap::new();
    let mut mine: HashSet<i32> = HashSet::new();
    for f in favorite::Entity::find()
        .filter(favorite::Column::ArticleId.is_in(ids))
        .all(&**db)
        .await?
    {
        *counts.entry(f.article_id).or_default() += 1;
        if Some(f.user_id) == viewer {
            mine.insert(f.article_id);
        }
    }
    let profiles = profiles_seen_by(db, viewer, authors).await?;
    articles
        .into_iter()
        .map(|a| {
            let author = profiles
                .get(&a.author_id)
                .cloned()
                .ok_or_else(|| Error::internal_msg("an article's author has no profile"))?;
            let mut tag_list = tags.remove(&a.id).unwrap_or_default();
            tag_list.sort();
            tag_list.dedup();
            Ok(Article {
                favorited: mine.contains(&a.id),
                favorites_count: counts.get(&a.id).copied().unwrap_or(0),
                author,
                slug: a.slug,
                title: a.title,
                description: a.description,
                body: with_body.then_some(a.body),
                tag_list,
                created_at: iso8601(a.created_at),
                updated_at: iso8601(a.updated_at),
            })
        })
        .collect()
}

async fn one_article(db: &Db, viewer: Option<i64>, a: article::Model) -> Result<Article> {
    present(db, viewer, vec![a], true)
        .await?
        .pop()
        .ok_or_else(|| Error::internal_msg("an article went missing"))
}

async fn set_tags(db: &Db, article_id: i32, tags: &[String]) -> Result<()> {
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.eq(article_id))
        .exec(&**db)
        .await?;
    let unique: std::collections::BTreeSet<&str> = tags.iter().map(|t| t.trim()).collect();
    let rows: Vec<article_tag::ActiveModel> = unique
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(|t| article_tag::ActiveModel {
            article_id: Set(article_id),
            tag: Set(t.to_owned()),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        article_tag::Entity::insert_many(rows).exec(&**db).await?;
    }
    Ok(())
}

async fn page_of(
    db: &Db,
    viewer: Option<i64>,
    condition: Condition,
    limit: Option<u64>,
    offset: Option<u64>,
) -> Result<Json<MultipleArticlesResponse>> {
    let select = article::Entity::find().filter(condition);
    let articles_count = select.clone().count(&**db).await?;
    let rows = select
        .order_by_desc(article::Column::CreatedAt)
        .order_by_desc(article::Column::Id)
        .offset(offset.unwrap_or(0))
        .limit(limit.unwrap_or(20))
        .all(&**db)
        .await?;
    Ok(Json(MultipleArticlesResponse {
        articles: present(db, viewer, rows, false).await?,
        articles_count,
    }))
}

fn empty_page() -> Json<MultipleArticlesResponse> {
    Json(MultipleArticlesResponse {
        articles: Vec::new(),
        articles_count: 0,
    })
}

// ------------------------------------------------------------------------- handlers

async fn login(
    db: Db,
    auth: Auth,
    parts: Parts,
    Json(req): Json<LoginUserRequest>,
) -> Result<Json<UserResponse>> {
    let client = keel::auth::client_of(&parts);
    let user = auth
        .authenticate(&db, &req.user.email, &req.user.password, &client)
        .await?
        .map_err(|refusal| refusal.into_error())?;
    let p = profile_of(&db, user.id).await?;
    user_response(&auth, user.email, p)
}

async fn register(
    db: Db,
    auth: Auth,
    Json(req): Json<NewUserRequest>,
) -> Result<Created<UserResponse>> {
    let NewUser {
        username,
        email,
        password,
    } = req.user;
    let mut problems = Vec::new();
    if profile_named(&db, &username).await?.is_some() {
        problems.push(FieldError::new(
            "username",
            "taken",
            "has already been taken",
        ));
    }
    if auth.find_by_email(&db, &email).await?.is_some() {
        problems.push(FieldError::new("email", "taken", "has already been taken"));
    }
    if !problems.is_empty() {
        return Err(Error::validation(problems));
    }
    let user = auth.create_user(&db, &email, &password).await?;
    let p = profile::ActiveModel {
        user_id: Set(user.id),
        username: Set(username),
        bio: Set(None),
        image: Set(None),
    }
    .insert(&*db)
    .await?;
    let Json(body) = user_response(&auth, user.email, p)?;
    Ok(Created::new("/api/user", body))
}

async fn current_user(db: Db, auth: Auth, me: RequireUser) -> Result<Json<UserResponse>> {
    let p = profile_of(&db, me.id).await?;
    user_response(&auth, me.email.clone(), p)
}

async fn update_user(
    db: Db,
    auth: Auth,
    me: RequireUser,
    Json(req): Json<UpdateUserRequest>,
) -> Result<Json<UserResponse>> {
    let change = req.user;
    let AuthUser { id, .. } = *me.0;
    let mut user = keel::auth::models::user::Entity::find_by_id(id)
        .one(&*db)
        .await?
        .ok_or_else(|| Error::unauthorized("This account no longer exists."))?;
    let mut p = profile_of(&db, id).await?;
    if let Some(email) = &change.email {
        let email = Auth::normalize_email(email);
        if email != user.email {
            if auth.find_by_email(&db, &email).await?.is_some() {
                return Err(taken("email"));
            }
            let mut active = user.into_active_model();
            active.email = Set(email);
            user = active.update(&*db).await?;
        }
    }
    if let Some(password) = &change.password {
        user = auth.set_password(&db, user, password).await?;
    }
    let mut active = p.clone().into_active_model();
    if let Some(username) = change.username
        && username != p.username
    {
        if profile_named(&db, &username).await?.is_some() {
            return Err(taken("username"));
        }
        active.username = Set(username);
    }
    if let Some(bio) = change.bio {
        active.bio = Set(Some(bio).filter(|b| !b.is_empty()));
    }
    if let Some(image) = change.image {
        active.image = Set(Some(image).filter(|i| !i.is_empty()));
    }
    if active.is_changed() {
        p = active.update(&*db).await?;
    }
    user_response(&auth, user.email, p)
}

async fn show_profile(
    db: Db,
    viewer: CurrentUser,
    Path(username): Path<String>,
) -> Result<Json<ProfileResponse>> {
    let p = profile_or_404(&db, &username).await?;
    let following = is_following(&db, viewer_id(&viewer), p.user_id).await?;
    Ok(Json(ProfileResponse {
        profile: to_profile(p, following),
    }))
}

async fn follow_user(
    db: Db,
    me: RequireUser,
    Path(username): Path<String>,
) -> Result<Json<ProfileResponse>> {
    let p = profile_or_404(&db, &username).await?;
    if p.user_id == me.id {
        return Err(Error::validation([FieldError::new(
            "username",
            "self",
            "is you; you cannot follow yourself",
        )]));
    }
    if !is_following(&db, Some(me.id), p.user_id).await? {
        follow::ActiveModel {
            follower_id: Set(me.id),
            followee_id: Set(p.user_id),
            ..Default::default()
        }
        .insert(&*db)
        .await?;
    }
    Ok(Json(ProfileResponse {
        profile: to_profile(p, true),
    }))
}

async fn unfollow_user(
    db: Db,
    me: RequireUser,
    Path(username): Path<String>,
) -> Result<Json<ProfileResponse>> {
    let p = profile_or_404(&db, &username).await?;
    follow::Entity::delete_many()
        .filter(follow::Column::FollowerId.eq(me.id))
        .filter(follow::Column::FolloweeId.eq(p.user_id))
        .exec(&*db)
        .await?;
    Ok(Json(ProfileResponse {
        profile: to_profile(p, false),
    }))
}

async fn list_articles(
    db: Db,
    viewer: CurrentUser,
    Query(q): Query<ListArticlesQuery>,
) -> Result<Json<MultipleArticlesResponse>> {
    let mut condition = Condition::all();
    if let Some(tag) = &q.tag {
        let ids: Vec<i32> = article_tag::Entity::find()
            .filter(article_tag::Column::Tag.eq(tag.as_str()))
            .all(&*db)
            .await?
            .into_iter()
            .map(|t| t.article_id)
            .collect();
        if ids.is_empty() {
            return Ok(empty_page());
        }
        condition = condition.add(article::Column::Id.is_in(ids));
    }
    if let Some(author) = &q.author {
        let Some(p) = profile_named(&db, author).await? else {
            return Ok(empty_page());
        };
        condition = condition.add(article::Column::AuthorId.eq(p.user_id));
    }
    if let Some(fan) = &q.favorited {
        let Some(p) = profile_named(&db, fan).await? else {
            return Ok(empty_page());
        };
        let ids: Vec<i32> = favorite::Entity::find()
            .filter(favorite::Column::UserId.eq(p.user_id))
            .all(&*db)
            .await?
            .into_iter()
            .map(|f| f.article_id)
            .collect();
        if ids.is_empty() {
            return Ok(empty_page());
        }
        condition = condition.add(article::Column::Id.is_in(ids));
    }
    page_of(&db, viewer_id(&viewer), condition, q.limit, q.offset).await
}

async fn feed(
    db: Db,
    me: RequireUser,
    Query(q): Query<FeedQuery>,
) -> Result<Json<MultipleArticlesResponse>> {
    let followed: Vec<i64> = follow::Entity::find()
        .filter(follow::Column::FollowerId.eq(me.id))
        .all(&*db)
        .await?
        .into_iter()
        .map(|f| f.followee_id)
        .collect();
    if followed.is_empty() {
        return Ok(empty_page());
    }
    let condition = Condition::all().add(article::Column::AuthorId.is_in(followed));
    page_of(&db, Some(me.id), condition, q.limit, q.offset).await
}

async fn create_article(
    db: Db,
    me: RequireUser,
    Json(req): Json<NewArticleRequest>,
) -> Result<Created<SingleArticleResponse>> {
    let new = req.article;
    let now = now_ms();
    let a = article::ActiveModel {
        slug: Set(slugify(&new.title)),
        title: Set(new.title),
        description: Set(new.description),
        body: Set(new.body),
        author_id: Set(me.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    set_tags(&db, a.id, &new.tag_list).await?;
    let location = format!("/api/articles/{}", a.slug);
    let article = one_article(&db, Some(me.id), a).await?;
    Ok(Created::new(location, SingleArticleResponse { article }))
}

async fn show_article(
    db: Db,
    viewer: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<SingleArticleResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    Ok(Json(SingleArticleResponse {
        article: one_article(&db, viewer_id(&viewer), a).await?,
    }))
}

async fn update_article(
    db: Db,
    me: RequireUser,
    Path(slug): Path<String>,
    Json(req): Json<UpdateArticleRequest>,
) -> Result<Json<SingleArticleResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    if a.author_id != me.id {
        return Err(Error::forbidden("Only the author may change an article."));
    }
    let change = req.article;
    let id = a.id;
    let mut active = a.clone().into_active_model();
    if let Some(title) = change.title
        && title != a.title
    {
        active.slug = Set(slugify(&title));
        active.title = Set(title);
    }
    if let Some(description) = change.description {
        active.description = Set(description);
    }
    if let Some(body) = change.body {
        active.body = Set(body);
    }
    active.updated_at = Set(now_ms().max(a.updated_at + 1));
    let a = active.update(&*db).await?;
    if let Some(tags) = &change.tag_list {
        set_tags(&db, id, tags).await?;
    }
    Ok(Json(SingleArticleResponse {
        article: one_article(&db, Some(me.id), a).await?,
    }))
}

async fn delete_article(db: Db, me: RequireUser, Path(slug): Path<String>) -> Result<NoContent> {
    let a = article_by_slug(&db, &slug).await?;
    if a.author_id != me.id {
        return Err(Error::forbidden("Only the author may delete an article."));
    }
    // The children go first, whatever the database's foreign-key enforcement.
    comment::Entity::delete_many()
        .filter(comment::Column::ArticleId.eq(a.id))
        .exec(&*db)
        .await?;
    favorite::Entity::delete_many()
        .filter(favorite::Column::ArticleId.eq(a.id))
        .exec(&*db)
        .await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.eq(a.id))
        .exec(&*db)
        .await?;
    a.delete(&*db).await?;
    Ok(NoContent)
}

async fn favorite_article(
    db: Db,
    me: RequireUser,
    Path(slug): Path<String>,
) -> Result<Json<SingleArticleResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    let already = favorite::Entity::find()
        .filter(favorite::Column::UserId.eq(me.id))
        .filter(favorite::Column::ArticleId.eq(a.id))
        .count(&*db)
        .await?
        > 0;
    if !already {
        favorite::ActiveModel {
            user_id: Set(me.id),
            article_id: Set(a.id),
            ..Default::default()
        }
        .insert(&*db)
        .await?;
    }
    Ok(Json(SingleArticleResponse {
        article: one_article(&db, Some(me.id), a).await?,
    }))
}

async fn unfavorite_article(
    db: Db,
    me: RequireUser,
    Path(slug): Path<String>,
) -> Result<Json<SingleArticleResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    favorite::Entity::delete_many()
        .filter(favorite::Column::UserId.eq(me.id))
        .filter(favorite::Column::ArticleId.eq(a.id))
        .exec(&*db)
        .await?;
    Ok(Json(SingleArticleResponse {
        article: one_article(&db, Some(me.id), a).await?,
    }))
}

async fn present_comments(
    db: &Db,
    viewer: Option<i64>,
    comments: Vec<comment::Model>,
) -> Result<Vec<Comment>> {
    let authors: Vec<i64> = comments.iter().map(|c| c.author_id).collect();
    let profiles = profiles_seen_by(db, viewer, authors).await?;
    comments
        .into_iter()
        .map(|c| {
            let author = profiles
                .get(&c.author_id)
                .cloned()
                .ok_or_else(|| Error::internal_msg("a comment's author has no profile"))?;
            Ok(Comment {
                id: c.id,
                created_at: iso8601(c.created_at),
                updated_at: iso8601(c.updated_at),
                body: c.body,
                author,
            })
        })
        .collect()
}

async fn list_comments(
    db: Db,
    viewer: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<MultipleCommentsResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    let rows = comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(a.id))
        .order_by_desc(comment::Column::CreatedAt)
        .order_by_desc(comment::Column::Id)
        .all(&*db)
        .await?;
    Ok(Json(MultipleCommentsResponse {
        comments: present_comments(&db, viewer_id(&viewer), rows).await?,
    }))
}

async fn create_comment(
    db: Db,
    me: RequireUser,
    Path(slug): Path<String>,
    Json(req): Json<NewCommentRequest>,
) -> Result<Json<SingleCommentResponse>> {
    let a = article_by_slug(&db, &slug).await?;
    let now = now_ms();
    let c = comment::ActiveModel {
        article_id: Set(a.id),
        author_id: Set(me.id),
        body: Set(req.comment.body),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    let comment = present_comments(&db, Some(me.id), vec![c])
        .await?
        .pop()
        .ok_or_else(|| Error::internal_msg("a comment went missing"))?;
    Ok(Json(SingleCommentResponse { comment }))
}

async fn delete_comment(
    db: Db,
    me: RequireUser,
    Path(path): Path<CommentPath>,
) -> Result<NoContent> {
    let a = article_by_slug(&db, &path.slug).await?;
    let c = comment::Entity::find_by_id(path.id)
        .filter(comment::Column::ArticleId.eq(a.id))
        .one(&*db)
        .await?
        .ok_or_else(|| Error::not_found("This article has no such comment."))?;
    if c.author_id != me.id {
        return Err(Error::forbidden("Only its author may delete a comment."));
    }
    c.delete(&*db).await?;
    Ok(NoContent)
}

async fn tags(db: Db) -> Result<Json<TagsResponse>> {
    let tags: Vec<String> = article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::Tag)
        .distinct()
        .order_by_asc(article_tag::Column::Tag)
        .into_tuple()
        .all(&*db)
        .await?;
    Ok(Json(TagsResponse { tags }))
}
