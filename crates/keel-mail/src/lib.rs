//! # keel-mail
//!
//! Email for Keel apps: the [`Mail`] extractor sends through the backend `[mail]`
//! selects — `smtp` (lettre, rustls with ring, pooled connections), `console` (logged),
//! `file` (one `.eml` file per message), `memory` (an [`Outbox`] tests read).
//!
//! ```no_run
//! use keel_core::mail::Email;
//! use keel_mail::Mail;
//!
//! async fn contact(mail: Mail) -> &'static str {
//!     // Queued: the response does not wait for the SMTP server.
//!     mail.send_later(Email::new("team@example.com", "Hello", "Hi there"));
//!     "thanks"
//! }
//! ```
//!
//! Defaults: `console` in development, `memory` in tests, `smtp` in production (a
//! deploy check refuses production without `mail.smtp.host`). Bodies can come from
//! templates: [`Mail::templated`] renders `name.txt` and, when present, `name.html`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_core::extract::FromRequestParts;
use futures_util::future::BoxFuture;
use http::request::Parts;
use keel_core::check::Diagnostic;
use keel_core::config::duration;
use keel_core::mail::{Email, Mailer, SharedMailer};
use keel_core::template::SharedTemplates;
use keel_core::{App, AppState, Environment, Error};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
#[cfg(feature = "smtp")]
use lettre::transport::smtp::authentication::Credentials;
#[cfg(feature = "smtp")]
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// The `[mail]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp`, `console`, `file` or `memory`. Unset: console in development, memory in
    /// tests, smtp in production.
    pub backend: Option<String>,
    /// The default sender.
    pub from: String,
    /// SMTP settings.
    pub smtp: SmtpSettings,
    /// Folder of the `file` backend.
    pub dir: PathBuf,
}

/// `[mail.smtp]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// The server.
    pub host: String,
    /// Its port (587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// `starttls` (default), `tls`, or `none` (local relays and tests only).
    pub security: String,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// How long one send may take.
    #[serde(with = "duration")]
    pub timeout: Duration,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: None,
            password: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            backend: None,
            from: "Keel <noreply@localhost>".into(),
            smtp: SmtpSettings::default(),
            dir: PathBuf::from("data/mail"),
        }
    }
}

impl MailSettings {
    /// The backend in force in `environment`.
    pub fn backend(&self, environment: Environment) -> &str {
        match &self.backend {
            Some(b) => b,
            None => match environment {
                Environment::Development => "console",
                Environment::Test => "memory",
                _ => "smtp",
            },
        }
    }
}

/// Messages the `memory` backend kept, in sending order.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<Email>>>);

impl Outbox {
    /// Every message sent so far.
    pub fn messages(&self) -> Vec<Email> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Takes the messages (the outbox is empty afterwards).
    pub fn take(&self) -> Vec<Email> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

/// The `memory` backend.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    /// Where sent messages go.
    pub outbox: Outbox,
}

impl Mailer for MemoryMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Error>> {
        if let Ok(mut m) = self.outbox.0.lock() {
            m.push(email.clone());
        }
        Box::pin(async { Ok(()) })
    }
}

/// The `console` backend: logs each message.
#[derive(Debug, Clone, Default)]
pub struct ConsoleMailer;

impl Mailer for ConsoleMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Error>> {
        tracing::info!(
            target: "keel::mail",
            to = %email.to.join(", "),
            subject = %email.subject,
            text = %email.text,
            html = email.html.is_some(),
            "mail (console backend)"
        );
        Box::pin(async { Ok(()) })
    }
}

/// Builds the RFC 5322 message.
pub fn message(email: &Email, default_from: &str) -> Result<Message, Error> {
    let parse = |a: &str| -> Result<Mailbox, Error> {
        a.parse::<Mailbox>().map_err(|e| {
            Error::bad_request(format!("`{a}` is not an email address")).with_source(e)
        })
    };
    let from = if email.from.is_empty() {
        default_from
    } else {
        &email.from
    };
    let mut b = Message::builder()
        .from(parse(from)?)
        .subject(email.subject.clone());
    for t in &email.to {
        b = b.to(parse(t)?);
    }
    for t in &email.cc {
        b = b.cc(parse(t)?);
    }
    for t in &email.bcc {
        b = b.bcc(parse(t)?);
    }
    if let Some(r) = &email.reply_to {
        b = b.reply_to(parse(r)?);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone());
    let built = match &email.html {
        Some(html) => b.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
        ),
        None => b.singlepart(text),
    };
    built.map_err(|e| Error::internal_msg(format!("cannot build the email: {e}")))
}

/// The `file` backend: one `.eml` file per message.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    from: String,
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let msg = message(email, &self.from)?;
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(Error::internal)?;
            let name = format!(
                "{}-{}.eml",
                keel_core::session::unix_now(),
                keel_core::random::hex(4)
            );
            tokio::fs::write(self.dir.join(name), msg.formatted())
                .await
                .map_err(Error::internal)
        })
    }
}

/// The `smtp` backend (pooled connections; feature `smtp`).
#[cfg(feature = "smtp")]
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

#[cfg(feature = "smtp")]
impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

#[cfg(feature = "smtp")]
impl SmtpMailer {
    /// A mailer for `[mail.smtp]`.
    pub fn new(settings: &MailSettings) -> Result<Self, Error> {
        let s = &settings.smtp;
        let builder = match s.security.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| Error::config(format!("mail.smtp: {e}")))?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| Error::config(format!("mail.smtp: {e}")))?,
            other => {
                return Err(Error::config(format!(
                    "mail.smtp.security: `{other}` is not one of starttls, tls, none"
                )));
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(s.timeout));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }
}

#[cfg(feature = "smtp")]
impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let msg = message(email, &self.from)?;
            self.transport.send(msg).await.map(|_| ()).map_err(|e| {
                Error::unavailable("The mail server did not take the message.", None).with_source(e)
            })
        })
    }
}

/// Sends mail from a handler.
#[derive(Clone)]
pub struct Mail {
    mailer: Arc<dyn Mailer>,
    templates: Option<SharedTemplates>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mail")
    }
}

impl Mail {
    /// Sends now and waits for the backend.
    pub async fn send(&self, email: &Email) -> Result<(), Error> {
        self.mailer.send(email).await
    }

    /// Sends in the background: the response does not wait for the mail server, and a
    /// failure is logged with the recipients and subject.
    pub fn send_later(&self, email: Email) {
        let mailer = Arc::clone(&self.mailer);
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&email).await {
                tracing::error!(
                    target: "keel::mail",
                    to = %email.to.join(", "),
                    subject = %email.subject,
                    error = %e,
                    cause = %e.chain_string(),
                    "sending mail failed"
                );
            }
        });
    }

    /// An email whose bodies come from templates `name.txt` (required) and
    /// `name.html` (optional), rendered with `context`.
    pub fn templated(
        &self,
        to: impl Into<String>,
        subject: impl Into<String>,
        name: &str,
        context: impl Serialize,
    ) -> Result<Email, Error> {
        let renderer = self
            .templates
            .as_ref()
            .and_then(|t| t.0.get().cloned())
            .ok_or_else(|| Error::internal_msg("templated mail needs the views plugin"))?;
        let ctx = serde_json::to_value(context).map_err(Error::internal)?;
        let text = renderer
            .render(&format!("{name}.txt"), &ctx)?
            .ok_or_else(|| Error::internal_msg(format!("no template {name}.txt")))?;
        let html = renderer.render(&format!("{name}.html"), &ctx)?;
        Ok(Email {
            to: vec![to.into()],
            subject: subject.into(),
            text,
            html,
            ..Email::default()
        })
    }
}

impl FromRequestParts<AppState> for Mail {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let mailer = state
            .get::<SharedMailer>()
            .ok_or_else(|| Error::internal_msg("mail is not installed (keel::mail::plugin)"))?;
        Ok(Mail {
            mailer: Arc::clone(&mailer.0),
            templates: state.get::<SharedTemplates>().cloned(),
        })
    }
}

/// The mail plugin: reads `[mail]`, provides [`Mail`] (and the [`Outbox`] of the
/// memory backend), and adds a deploy check for the SMTP settings.
pub fn plugin(app: &mut App) {
    if !app.mark_installed("keel-mail") {
        return;
    }
    let settings: MailSettings = app.section("mail");
    let environment = app.config().environment();
    let backend = settings.backend(environment).to_owned();
    let mailer: Arc<dyn Mailer> = match backend.as_str() {
        "memory" => {
            let m = MemoryMailer::default();
            app.extensions().insert(m.outbox.clone());
            Arc::new(m)
        }
        "console" => Arc::new(ConsoleMailer),
        "file" => Arc::new(FileMailer {
            dir: settings.dir.clone(),
            from: settings.from.clone(),
        }),
        "smtp" if settings.smtp.host.is_empty() => {
            // Reported by the deploy check; sending fails loudly meanwhile.
            Arc::new(Unconfigured)
        }
        #[cfg(feature = "smtp")]
        "smtp" => match SmtpMailer::new(&settings) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                app.config_problem(keel_core::config::ConfigProblem {
                    key: "mail.smtp".into(),
                    source: "config".into(),
                    message: e.message().to_owned(),
                });
                Arc::new(Unconfigured)
            }
        },
        #[cfg(not(feature = "smtp"))]
        "smtp" => {
            app.config_problem(keel_core::config::ConfigProblem {
                key: "mail.backend".into(),
                source: "config".into(),
                message: "the smtp backend needs Keel's `smtp` feature".into(),
            });
            Arc::new(Unconfigured)
        }
        other => {
            app.config_problem(keel_core::config::ConfigProblem {
                key: "mail.backend".into(),
                source: "config".into(),
                message: format!("`{other}` is not one of smtp, console, file, memory"),
            });
            Arc::new(Unconfigured)
        }
    };
    app.extensions().insert(SharedMailer(mailer));
    let check_settings = settings;
    app.deploy_check("keel.mail", move |_| {
        let mut out = Vec::new();
        if check_settings.backend(Environment::Production) == "smtp" && check_settings.smtp.host.is_empty() {
            out.push(
                Diagnostic::error("keel.M001", "mail.smtp.host is empty: mail cannot be sent in production")
                    .hint("set [mail.smtp] host, port, username, password (or mail.backend = \"console\")"),
            );
        }
        if check_settings.smtp.security == "none" && check_settings.backend(Environment::Production) == "smtp" {
            out.push(Diagnostic::warning(
                "keel.M002",
                "mail.smtp.security = \"none\" sends mail and passwords in clear text",
            ));
        }
        out
    });
}

/// The mailer of an app whose SMTP settings are missing.
struct Unconfigured;

impl Mailer for Unconfigured {
    fn send<'a>(&'a self, _: &'a Email) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async {
            Err(Error::config(
                "mail is not configured (set [mail.smtp] host)",
            ))
        })
    }
}
