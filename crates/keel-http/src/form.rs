//! HTML forms: submissions validated with [garde](https://docs.rs/garde), re-rendered
//! with the user's input and per-field errors, and file uploads streamed to disk.
//!
//! ```
//! use garde::Validate;
//! use keel_http::form::FormData;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Validate)]
//! struct NewPost {
//!     #[garde(length(min = 1, max = 200))]
//!     title: String,
//!     #[garde(skip)]
//!     body: String,
//! }
//!
//! async fn create(form: FormData) -> String {
//!     match form.validate::<NewPost>() {
//!         Ok(post) => format!("saved {}", post.title),
//!         // `invalid` serializes as {"values": {...}, "errors": {"title": ["..."]}}:
//!         // hand it to the template that renders the form again.
//!         Err(invalid) => format!("{} error(s)", invalid.errors.len()),
//!     }
//! }
//! ```
//!
//! Multipart forms go through [`UploadForm`]: text fields are collected like
//! `FormData`, file fields are streamed to a temporary file under `uploads.dir` while
//! their size and content type are checked; an upload over its limit or of a type not
//! allowed is refused with a 413 or 415 problem naming the field, and its partial file
//! is removed. [`UploadedFile::persist`] moves a file into the media folder, from which
//! `uploads.url` serves it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Multipart, Request};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use keel_core::config::ByteSize;
use keel_core::{AppState, Error, ErrorKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

/// The `[uploads]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Where uploaded files are kept (`persist`), and temporary files while streaming.
    pub dir: PathBuf,
    /// The URL prefix that serves `dir`.
    pub url: String,
    /// The largest file a field accepts.
    pub max_file_size: ByteSize,
    /// Media types a file field accepts (exact, or `image/*`).
    pub allowed_types: Vec<String>,
    /// Per-field overrides: `[uploads.fields.avatar] max_file_size = "1MiB"`.
    pub fields: BTreeMap<String, FieldRule>,
}

/// Limits for one file field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldRule {
    /// The largest file this field accepts.
    pub max_file_size: Option<ByteSize>,
    /// Media types this field accepts.
    pub allowed_types: Option<Vec<String>>,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/media"),
            url: "/media".into(),
            max_file_size: ByteSize::mib(5),
            allowed_types: vec![
                "image/png".into(),
                "image/jpeg".into(),
                "image/gif".into(),
                "image/webp".into(),
            ],
            fields: BTreeMap::new(),
        }
    }
}

impl UploadSettings {
    fn limit(&self, field: &str) -> u64 {
        self.fields
            .get(field)
            .and_then(|r| r.max_file_size)
            .unwrap_or(self.max_file_size)
            .0
    }

    fn allows(&self, field: &str, content_type: &str) -> bool {
        let types = self
            .fields
            .get(field)
            .and_then(|r| r.allowed_types.as_ref())
            .unwrap_or(&self.allowed_types);
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        types.iter().any(|t| {
            t == essence
                || t.strip_suffix("/*")
                    .is_some_and(|major| essence.split('/').next() == Some(major))
        })
    }
}

/// A submitted form's fields, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

/// A form that did not validate: what the user typed and what is wrong, per field.
/// Serializes as `{"values": {...}, "errors": {"field": ["message", ...]}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvalidForm {
    /// The submitted values (the CSRF token left out), to fill the form again.
    pub values: BTreeMap<String, String>,
    /// Messages by field name; `""` holds errors about the form as a whole.
    pub errors: BTreeMap<String, Vec<String>>,
}

impl InvalidForm {
    /// Adds an error for `field` (a check the handler makes itself, e.g. uniqueness).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }
}

impl FormData {
    /// Fields from an urlencoded body.
    pub fn from_urlencoded(body: &[u8]) -> Self {
        Self {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// Fields from name/value pairs (a JSON object's members, say).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value of `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }

    /// Deserializes and validates the fields as `T`. On failure, the values and the
    /// errors by field.
    pub fn validate<T>(&self) -> Result<T, InvalidForm>
    where
        T: DeserializeOwned + garde::Validate,
        T::Context: Default,
    {
        let values: BTreeMap<String, String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != crate::csrf::FIELD)
            .cloned()
            .collect();
        let mut invalid = InvalidForm {
            values,
            errors: BTreeMap::new(),
        };
        // Empty inputs of optional fields mean "none", as browsers send them.
        let pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, v)| k != crate::csrf::FIELD && !v.is_empty())
            .cloned()
            .collect();
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let value: T = match serde_path_to_error::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                let field = e.path().to_string();
                let message = e.inner().to_string();
                let (field, message) = if let Some(missing) = message
                    .strip_prefix("missing field `")
                    .and_then(|m| m.split('`').next())
                {
                    (missing.to_owned(), "This field is required.".to_owned())
                } else if field == "." {
                    (String::new(), message)
                } else {
                    (field, format!("Not a valid value: {message}."))
                };
                invalid.add(&field, message);
                return Err(invalid);
            }
        };
        match value.validate() {
            Ok(()) => Ok(value),
            Err(report) => {
                for (path, error) in report.iter() {
                    invalid.add(&path.to_string(), capitalize(error.message()));
                }
                Err(invalid)
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            let mut out: String = f.to_uppercase().collect();
            out.push_str(c.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(
                Error::from_kind(ErrorKind::UnsupportedMediaType).with_message(
                    "Expected a form (Content-Type: application/x-www-form-urlencoded).",
                ),
            );
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::bad_request("Could not read the form.").with_source(e))?;
        Ok(Self::from_urlencoded(&bytes))
    }
}

/// A file received in a multipart form, in a temporary file until persisted.
#[derive(Debug)]
pub struct UploadedFile {
    /// The form field.
    pub field: String,
    /// The file name the browser sent (untrusted: never used as a path).
    pub file_name: String,
    /// The media type the browser sent (checked against the allow-list).
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    temp: Option<PathBuf>,
    dir: PathBuf,
    url: String,
}

/// Where a persisted upload lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    /// Path relative to the uploads folder (`posts/3f2a….png`).
    pub name: String,
    /// The URL that serves it (`/media/posts/3f2a….png`).
    pub url: String,
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type.split(';').next().unwrap_or_default().trim() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

impl UploadedFile {
    /// Moves the file into `subdir` of the uploads folder under a random name (the
    /// browser's file name is never trusted as a path).
    pub async fn persist(mut self, subdir: &str) -> Result<StoredFile, Error> {
        let temp = self
            .temp
            .take()
            .ok_or_else(|| Error::internal_msg("upload already persisted"))?;
        let subdir = subdir.trim_matches('/');
        if subdir.split('/').any(|p| p == ".." || p.starts_with('.')) {
            return Err(Error::internal_msg("invalid upload folder"));
        }
        let name: String = keel_core::random::hex(16);
        let rel = if subdir.is_empty() {
            format!("{name}.{}", extension_for(&self.content_type))
        } else {
            format!("{subdir}/{name}.{}", extension_for(&self.content_type))
        };
        let dest = self.dir.join(&rel);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(Error::internal)?;
        }
        tokio::fs::rename(&temp, &dest)
            .await
            .map_err(Error::internal)?;
        Ok(StoredFile {
            url: format!("{}/{rel}", self.url.trim_end_matches('/')),
            name: rel,
        })
    }
}

impl Drop for UploadedFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// A multipart form: text fields as [`FormData`], files streamed to disk.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// The text fields.
    pub fields: FormData,
    /// The files, by field (empty file inputs are left out).
    pub files: Vec<UploadedFile>,
}

impl UploadForm {
    /// The file of `field`, if one was sent (taken out of the form).
    pub fn take_file(&mut self, field: &str) -> Option<UploadedFile> {
        let i = self.files.iter().position(|f| f.field == field)?;
        Some(self.files.remove(i))
    }

    /// Validates the text fields as `T` (see [`FormData::validate`]).
    pub fn validate<T>(&self) -> Result<T, InvalidForm>
    where
        T: DeserializeOwned + garde::Validate,
        T::Context: Default,
    {
        self.fields.validate()
    }
}

fn temp_dir(settings: &UploadSettings) -> PathBuf {
    settings.dir.join(".incoming")
}

async fn stream_to_disk(
    mut field: axum::extract::multipart::Field<'_>,
    path: &Path,
    limit: u64,
    name: &str,
) -> Result<u64, Error> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(Error::internal)?;
    let mut size: u64 = 0;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(Error::bad_request("The upload was interrupted.").with_source(e)),
        };
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::from_kind(ErrorKind::PayloadTooLarge)
                .with_message(format!(
                    "The file in `{name}` is larger than {} (the limit for this field).",
                    ByteSize(limit)
                ))
                .with_code("upload_too_large")
                .with_field(keel_core::FieldError::new(
                    name,
                    "too_large",
                    "file too large",
                )));
        }
        file.write_all(&chunk).await.map_err(Error::internal)?;
    }
    file.flush().await.map_err(Error::internal)?;
    Ok(size)
}

impl FromRequest<AppState> for UploadForm {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let settings = state.get::<UploadSettings>().cloned().unwrap_or_default();
        let mut multipart = Multipart::from_request(req, state).await.map_err(|e| {
            Error::from_kind(ErrorKind::UnsupportedMediaType)
                .with_message("Expected a multipart form (multipart/form-data).")
                .with_source(e)
        })?;
        let incoming = temp_dir(&settings);
        tokio::fs::create_dir_all(&incoming)
            .await
            .map_err(Error::internal)?;
        let mut form = UploadForm::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    return Err(Error::bad_request("Malformed multipart form.").with_source(e));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            if field.file_name().is_none() {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Error::bad_request("Malformed multipart form.").with_source(e))?;
                form.fields.pairs.push((name, text));
                continue;
            }
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            if file_name.is_empty() {
                // An empty file input: the browser sends the part with no name.
                continue;
            }
            if !settings.allows(&name, &content_type) {
                return Err(Error::from_kind(ErrorKind::UnsupportedMediaType)
                    .with_message(format!(
                        "`{name}` does not accept files of type {content_type}."
                    ))
                    .with_code("upload_type_not_allowed")
                    .with_field(keel_core::FieldError::new(
                        &name,
                        "type_not_allowed",
                        "file type not allowed",
                    )));
            }
            let temp: PathBuf = incoming.join(format!("{}.part", keel_core::random::hex(16)));
            // The file is owned (and removed on drop) from the moment it exists.
            let mut file = UploadedFile {
                field: name.clone(),
                file_name,
                content_type,
                size: 0,
                temp: Some(temp.clone()),
                dir: settings.dir.clone(),
                url: settings.url.clone(),
            };
            file.size = stream_to_disk(field, &temp, settings.limit(&name), &name).await?;
            form.files.push(file);
        }
        Ok(form)
    }
}
