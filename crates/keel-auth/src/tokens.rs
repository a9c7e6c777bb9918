//! Tokens: signed single-use links (password reset, email verification), personal
//! access tokens (only a hash stored) and JWTs.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keel_core::Error;
use keel_db::sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use ring::hmac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::models::{api_token, user};
use crate::settings::JwtSettings;
use crate::unix_now;

/// Signs and checks the single-use links of the account flows, with a key derived
/// from the app's secret. A link is `id-issued-mac`; the MAC covers the user's
/// password hash, last login, address and verification state, so a link stops
/// working once it has been used (the state it covers changed) and after its TTL.
#[derive(Clone)]
pub struct Signer {
    key: hmac::Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer")
    }
}

/// What a link is for: a reset link cannot verify an address, and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Password reset.
    Reset,
    /// Email verification.
    Verify,
    /// The session's login, tied to the password (a password change ends other logins).
    Session,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Reset => "keel.auth.reset",
            Purpose::Verify => "keel.auth.verify",
            Purpose::Session => "keel.auth.session",
        }
    }
}

impl Signer {
    /// A signer keyed by `secret` (the app's secret key).
    pub fn new(secret: &str) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"keel-auth key derivation"),
            secret.as_bytes(),
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    fn message(purpose: Purpose, u: &user::Model, issued: u64) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            purpose.label(),
            u.id,
            u.password,
            u.last_login.unwrap_or(0),
            u.email,
            u.email_verified,
            issued
        )
    }

    /// A link token for `u`.
    pub fn link_token(&self, purpose: Purpose, u: &user::Model) -> String {
        let issued = unix_now();
        let tag = hmac::sign(&self.key, Self::message(purpose, u, issued).as_bytes());
        format!("{}-{issued}-{}", u.id, URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The user id a link token names (not yet checked).
    pub fn link_user(token: &str) -> Option<i64> {
        token.split('-').next()?.parse().ok()
    }

    /// Whether `token` is a valid, unexpired link for `u`.
    pub fn check_link(
        &self,
        purpose: Purpose,
        u: &user::Model,
        token: &str,
        ttl: Duration,
    ) -> bool {
        let mut parts = token.splitn(3, '-');
        let (Some(id), Some(issued), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let (Ok(id), Ok(issued)) = (id.parse::<i64>(), issued.parse::<u64>()) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        id == u.id
            && unix_now().saturating_sub(issued) <= ttl.as_secs()
            && hmac::verify(
                &self.key,
                Self::message(purpose, u, issued).as_bytes(),
                &tag,
            )
            .is_ok()
    }

    /// The value a session keeps to prove its login still matches the password.
    pub fn session_hash(&self, u: &user::Model) -> String {
        let tag = hmac::sign(
            &self.key,
            format!("{}|{}|{}", Purpose::Session.label(), u.id, u.password).as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}

fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the bytes differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A personal access token as created: `token` is shown to the user once.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    /// The token to send as `Authorization: <scheme> <token>`; not stored anywhere.
    pub token: String,
    /// The stored record (with only the hash of the secret).
    pub record: api_token::Model,
}

/// Creates a personal access token for `user_id`.
pub async fn create_token<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
    user_id: i64,
    name: &str,
    scopes: &[&str],
    ttl: Option<Duration>,
) -> Result<NewToken, Error> {
    let lookup = keel_core::random::hex(8);
    let secret = URL_SAFE_NO_PAD.encode(keel_core::random::bytes(32));
    let now = unix_now_i64();
    let record = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        lookup: Set(lookup.clone()),
        hash: Set(sha256_hex(&secret)),
        scopes: Set(scopes.join(" ")),
        created_at: Set(now),
        expires_at: Set(ttl.map(|t| now + i64::try_from(t.as_secs()).unwrap_or(i64::MAX / 2))),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(NewToken {
        token: format!("{prefix}{lookup}_{secret}"),
        record,
    })
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a token of this app.
    Invalid,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl TokenRefusal {
    /// The message for the client.
    pub fn message(self) -> &'static str {
        match self {
            TokenRefusal::Invalid => "The token is not valid.",
            TokenRefusal::Revoked => "The token was revoked.",
            TokenRefusal::Expired => "The token has expired.",
        }
    }
}

/// Checks a personal access token; on success, its record (last-used time updated).
pub async fn check_token<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
    token: &str,
) -> Result<Result<api_token::Model, TokenRefusal>, Error> {
    let Some((lookup, secret)) = token
        .strip_prefix(prefix)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(Err(TokenRefusal::Invalid));
    };
    let Some(record) = api_token::Entity::find()
        .filter(api_token::Column::Lookup.eq(lookup))
        .one(db)
        .await?
    else {
        return Ok(Err(TokenRefusal::Invalid));
    };
    if !same(sha256_hex(secret).as_bytes(), record.hash.as_bytes()) {
        return Ok(Err(TokenRefusal::Invalid));
    }
    if record.revoked_at.is_some() {
        return Ok(Err(TokenRefusal::Revoked));
    }
    let now = unix_now_i64();
    if record.expires_at.is_some_and(|e| e <= now) {
        return Ok(Err(TokenRefusal::Expired));
    }
    // Record use at most once a minute per token: a busy client does not write on
    // every request.
    if record.last_used_at.is_none_or(|t| now - t >= 60) {
        let mut active: api_token::ActiveModel = record.clone().into();
        active.last_used_at = Set(Some(now));
        let record = active.update(db).await?;
        return Ok(Ok(record));
    }
    Ok(Ok(record))
}

/// Revokes token `id` of `user_id`; whether there was one.
pub async fn revoke_token<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    id: i64,
) -> Result<bool, Error> {
    let Some(record) = api_token::Entity::find_by_id(id)
        .filter(api_token::Column::UserId.eq(user_id))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    if record.revoked_at.is_none() {
        let mut active: api_token::ActiveModel = record.into();
        active.revoked_at = Set(Some(unix_now_i64()));
        active.update(db).await?;
    }
    Ok(true)
}

pub(crate) fn unix_now_i64() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

/// The claims of Keel's JWTs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// The issuer, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// Issues and checks JWTs.
#[derive(Clone)]
pub struct Jwt {
    algorithm: Algorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    issuer: Option<String>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn pem(value: &str, key: &str) -> Result<Vec<u8>, Error> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map_err(|e| Error::config(format!("auth.jwt.{key}: cannot read {path}: {e}"))),
        None => Ok(value.as_bytes().to_vec()),
    }
}

impl Jwt {
    /// From `[auth.jwt]`; `app_secret` keys HS256 when no `secret` is set.
    pub fn new(settings: &JwtSettings, app_secret: &str) -> Result<Self, Error> {
        let bad = |key: &str, e: jsonwebtoken::errors::Error| {
            Error::config(format!("auth.jwt.{key}: {e}"))
        };
        let (algorithm, encoding, decoding) = match settings.algorithm.as_str() {
            "HS256" => {
                let secret = settings
                    .secret
                    .clone()
                    .unwrap_or_else(|| format!("keel-jwt:{app_secret}"));
                (
                    Algorithm::HS256,
                    Some(EncodingKey::from_secret(secret.as_bytes())),
                    DecodingKey::from_secret(secret.as_bytes()),
                )
            }
            alg @ ("EdDSA" | "RS256") => {
                let public = settings.public_key.as_deref().ok_or_else(|| {
                    Error::config(format!("auth.jwt.public_key is required for {alg}"))
                })?;
                let public = pem(public, "public_key")?;
                let private = settings
                    .private_key
                    .as_deref()
                    .map(|p| pem(p, "private_key"))
                    .transpose()?;
                if alg == "EdDSA" {
                    (
                        Algorithm::EdDSA,
                        private
                            .map(|p| {
                                EncodingKey::from_ed_pem(&p).map_err(|e| bad("private_key", e))
                            })
                            .transpose()?,
                        DecodingKey::from_ed_pem(&public).map_err(|e| bad("public_key", e))?,
                    )
                } else {
                    (
                        Algorithm::RS256,
                        private
                            .map(|p| {
                                EncodingKey::from_rsa_pem(&p).map_err(|e| bad("private_key", e))
                            })
                            .transpose()?,
                        DecodingKey::from_rsa_pem(&public).map_err(|e| bad("public_key", e))?,
                    )
                }
            }
            other => {
                return Err(Error::config(format!(
                    "auth.jwt.algorithm: `{other}` is not one of HS256, EdDSA, RS256"
                )));
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = settings.leeway.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(iss) = &settings.issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self {
            algorithm,
            encoding,
            decoding,
            validation,
            ttl: settings.ttl,
            issuer: settings.issuer.clone(),
        })
    }

    /// A token for `user_id`, valid for the configured TTL.
    pub fn issue(&self, user_id: i64) -> Result<String, Error> {
        let encoding = self
            .encoding
            .as_ref()
            .ok_or_else(|| Error::config("auth.jwt.private_key is needed to issue tokens"))?;
        let now = unix_now();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            iss: self.issuer.clone(),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, encoding)
            .map_err(|e| Error::internal_msg(format!("jwt: {e}")))
    }

    /// The user id of a valid token.
    pub fn check(&self, token: &str) -> Result<i64, TokenRefusal> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => data.claims.sub.parse().map_err(|_| TokenRefusal::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenRefusal::Expired)
            }
            Err(_) => Err(TokenRefusal::Invalid),
        }
    }
}
