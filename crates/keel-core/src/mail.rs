//! Sending email, as a trait: the mail crate implements it (SMTP, console, file,
//! memory); anything that sends mail depends only on this.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// An email: a text part, and an HTML part when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The sender; empty means `mail.from`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Hidden recipients.
    pub bcc: Vec<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if any.
    pub html: Option<String>,
}

impl Email {
    /// An email to `to` with `subject` and a text body.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to: vec![to.into()],
            subject: subject.into(),
            text: text.into(),
            ..Self::default()
        }
    }

    /// Sets the HTML part.
    #[must_use]
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Sets the reply-to address.
    #[must_use]
    pub fn reply_to(mut self, address: impl Into<String>) -> Self {
        self.reply_to = Some(address.into());
        self
    }
}

/// Sends email.
pub trait Mailer: Send + Sync + 'static {
    /// Sends `email` now.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Error>>;
}

/// The app's mailer (in the state when the mail plugin is installed).
#[derive(Clone)]
pub struct SharedMailer(pub Arc<dyn Mailer>);

impl std::fmt::Debug for SharedMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedMailer")
    }
}
