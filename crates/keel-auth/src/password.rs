//! Password hashing (argon2id, PHC strings, parameters from config) and the password
//! policy.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use keel_core::Error;
use serde::Deserialize;

/// `[auth.hasher]`: argon2id cost parameters. The defaults are OWASP's second
/// recommendation (19 MiB, 2 passes, 1 lane); in the test environment, when not set,
/// the cheapest valid ones, so that test suites stay fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HasherSettings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HasherSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HasherSettings {
    /// The cheapest valid parameters (tests).
    pub const fn cheap() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// Hashes and verifies passwords.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    settings: HasherSettings,
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or no usable hash).
    No,
    /// Right password; the hash uses the configured parameters.
    Yes,
    /// Right password; here is a new hash with the configured parameters to store.
    YesRehashed(String),
}

impl Hasher {
    /// A hasher with `settings`.
    pub fn new(settings: HasherSettings) -> Result<Self, Error> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| Error::config(format!("auth.hasher: {e}")))?;
        Ok(Self { params, settings })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The argon2id PHC string of `password`, with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, Error> {
        let salt = keel_core::random::bytes(16);
        self.argon2()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal_msg(format!("argon2: {e}")))
    }

    /// Whether `password` matches `stored`; when it does and `stored` was made with other
    /// parameters (or another variant), a new hash to store.
    pub fn verify(&self, password: &str, stored: &str) -> Verified {
        if stored.is_empty() {
            // Spend the same time as a real check, so that timing does not tell.
            let _ = self.hash(password);
            return Verified::No;
        }
        // The parameters in the PHC string are used, not ours.
        if self
            .argon2()
            .verify_password(password.as_bytes(), stored)
            .is_err()
        {
            return Verified::No;
        }
        if self.is_current(stored) {
            Verified::Yes
        } else {
            match self.hash(password) {
                Ok(h) => Verified::YesRehashed(h),
                Err(_) => Verified::Yes,
            }
        }
    }

    /// Whether `stored` is argon2id made with the configured parameters.
    pub fn is_current(&self, stored: &str) -> bool {
        let s = &self.settings;
        let want = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            s.memory_kib, s.iterations, s.parallelism
        );
        stored.starts_with(&want)
    }
}

/// `[auth.password]`: what a new password must satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    /// Fewest characters.
    pub min_length: usize,
    /// Most characters (argon2 takes any length; this bounds the work per request).
    pub max_length: usize,
    /// Refuse passwords on the built-in list of common passwords.
    pub refuse_common: bool,
    /// Refuse passwords too similar to the email address.
    pub refuse_similar_to_email: bool,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            min_length: 10,
            max_length: 1024,
            refuse_common: true,
            refuse_similar_to_email: true,
        }
    }
}

/// The most common passwords of the public breach lists (lower-case); a password equal
/// to one of them, ignoring case, is refused.
const COMMON: &[&str] = &[
    "123456",
    "password",
    "12345678",
    "qwerty",
    "123456789",
    "12345",
    "1234",
    "111111",
    "1234567",
    "dragon",
    "123123",
    "baseball",
    "abc123",
    "football",
    "monkey",
    "letmein",
    "696969",
    "shadow",
    "master",
    "666666",
    "qwertyuiop",
    "123321",
    "mustang",
    "1234567890",
    "michael",
    "654321",
    "superman",
    "1qaz2wsx",
    "7777777",
    "121212",
    "000000",
    "qazwsx",
    "123qwe",
    "killer",
    "trustno1",
    "jordan",
    "jennifer",
    "zxcvbnm",
    "asdfgh",
    "hunter",
    "buster",
    "soccer",
    "harley",
    "batman",
    "andrew",
    "tigger",
    "sunshine",
    "iloveyou",
    "2000",
    "charlie",
    "robert",
    "thomas",
    "hockey",
    "ranger",
    "daniel",
    "starwars",
    "klaster",
    "112233",
    "george",
    "computer",
    "michelle",
    "jessica",
    "pepper",
    "1111",
    "zxcvbn",
    "555555",
    "11111111",
    "131313",
    "freedom",
    "777777",
    "pass",
    "maggie",
    "159753",
    "aaaaaa",
    "ginger",
    "princess",
    "joshua",
    "cheese",
    "amanda",
    "summer",
    "love",
    "ashley",
    "nicole",
    "chelsea",
    "biteme",
    "matthew",
    "access",
    "yankees",
    "987654321",
    "dallas",
    "austin",
    "thunder",
    "taylor",
    "matrix",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "welcome",
    "welcome1",
    "admin",
    "admin123",
    "administrator",
    "changeme",
    "letmein123",
    "qwerty123",
    "qwertyuiop123",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "q1w2e3r4t5",
    "iloveyou1",
    "princess1",
    "monkey123",
    "football1",
    "baseball1",
    "sunshine1",
    "superman1",
    "trustno11",
    "starwars1",
    "dragon123",
    "abcdefgh",
    "abcdefghij",
    "abcd1234",
    "aa123456",
    "qwe123",
    "zaq12wsx",
    "secret",
    "secret123",
    "default",
    "guest",
    "login",
    "master123",
    "hello123",
    "hello",
    "whatever",
    "qwerty1234",
    "0987654321",
    "123456789a",
    "a123456789",
    "1234554321",
    "1122334455",
    "correcthorsebatterystaple",
    "passwordpassword",
    "keyboard",
    "internet",
    "samsung",
    "google",
    "facebook",
    "linkedin",
    "iloveyou2",
    "lovely",
    "flower",
    "shalom",
];

impl PolicySettings {
    /// The problems with `password` for the account `email`, as messages for the user
    /// (empty when it is acceptable).
    pub fn check(&self, password: &str, email: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_length {
            problems.push(format!(
                "This password is too short: use at least {} characters.",
                self.min_length
            ));
        }
        if chars > self.max_length {
            problems.push(format!(
                "This password is too long: use at most {} characters.",
                self.max_length
            ));
        }
        let lower = password.to_lowercase();
        if self.refuse_common && COMMON.contains(&lower.as_str()) {
            problems.push("This password is too common.".to_owned());
        }
        if self.refuse_similar_to_email && similar_to_email(&lower, &email.to_lowercase()) {
            problems.push("This password is too similar to the email address.".to_owned());
        }
        if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".to_owned());
        }
        problems
    }
}

/// Whether the password contains the address's local part or domain name, or they
/// contain it (ignoring parts shorter than 4 characters).
fn similar_to_email(password: &str, email: &str) -> bool {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let domain = domain.split('.').next().unwrap_or_default();
    [email, local, domain]
        .iter()
        .filter(|part| part.chars().count() >= 4)
        .any(|part| password.contains(*part) || (password.len() >= 4 && part.contains(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_and_old_parameters_are_upgraded() {
        let cheap = Hasher::new(HasherSettings::cheap()).unwrap_or_else(|e| panic!("{e}"));
        let h = cheap.hash("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert_eq!(cheap.verify("correct horse", &h), Verified::Yes);
        assert_eq!(cheap.verify("wrong", &h), Verified::No);
        let stronger = Hasher::new(HasherSettings {
            memory_kib: 128,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        match stronger.verify("correct horse", &h) {
            Verified::YesRehashed(new) => {
                assert!(new.starts_with("$argon2id$v=19$m=128,t=2,p=1$"), "{new}");
                assert_eq!(stronger.verify("correct horse", &new), Verified::Yes);
            }
            other => panic!("expected a rehash, got {other:?}"),
        }
        assert_eq!(cheap.verify("x", ""), Verified::No);
        assert_eq!(cheap.verify("x", "not a hash"), Verified::No);
    }

    #[test]
    fn the_policy_explains_what_is_wrong() {
        let p = PolicySettings::default();
        assert!(
            p.check("a long enough pass phrase", "ann@example.com")
                .is_empty()
        );
        assert!(p.check("short", "ann@example.com")[0].contains("at least 10"));
        assert!(
            p.check("Password123", "ann@example.com")
                .iter()
                .any(|m| m.contains("too common"))
        );
        assert!(
            p.check("annabelle-example", "annabelle@example.com")
                .iter()
                .any(|m| m.contains("similar to the email"))
        );
        assert!(
            p.check("12345678901234", "x@y.z")
                .iter()
                .any(|m| m.contains("numeric"))
        );
    }
}
