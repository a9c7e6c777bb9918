//! `createsuperuser`: interactive, or from `KEEL_SUPERUSER_EMAIL` and
//! `KEEL_SUPERUSER_PASSWORD` with `--no-input` (deployments, CI).

use std::io::{BufRead, Write};

use clap::{Arg, ArgAction, ArgMatches, Command};
use keel_core::{App, BuiltApp, Error};
use keel_db::Db;
use keel_db::sea_orm::{ActiveModelTrait, Set};

use crate::Auth;

fn spec() -> Command {
    Command::new("createsuperuser")
        .about("Create a superuser (every permission, staff)")
        .after_help(
            "Examples:\n  app createsuperuser\n  KEEL_SUPERUSER_EMAIL=admin@example.com KEEL_SUPERUSER_PASSWORD=… app createsuperuser --no-input",
        )
        .arg(
            Arg::new("email")
                .long("email")
                .help("The address (default: asked, or KEEL_SUPERUSER_EMAIL)"),
        )
        .arg(
            Arg::new("no-input")
                .long("no-input")
                .action(ArgAction::SetTrue)
                .help("Ask nothing: read KEEL_SUPERUSER_EMAIL and KEEL_SUPERUSER_PASSWORD"),
        )
}

pub(crate) fn register(app: &mut App) {
    app.command(spec(), |built: BuiltApp, args: ArgMatches| async move {
        let no_input = args.get_flag("no-input");
        let (email, password) = if no_input {
            let email = args
                .get_one::<String>("email")
                .cloned()
                .or_else(|| std::env::var("KEEL_SUPERUSER_EMAIL").ok())
                .ok_or_else(|| {
                    Error::config("--no-input needs KEEL_SUPERUSER_EMAIL (or --email)")
                })?;
            let password = std::env::var("KEEL_SUPERUSER_PASSWORD")
                .map_err(|_| Error::config("--no-input needs KEEL_SUPERUSER_PASSWORD"))?;
            (email, password)
        } else {
            let email = match args.get_one::<String>("email") {
                Some(e) => e.clone(),
                None => ask("Email: ")?,
            };
            let password = rpassword::prompt_password("Password: ").map_err(Error::internal)?;
            let again =
                rpassword::prompt_password("Password (again): ").map_err(Error::internal)?;
            if password != again {
                return Err(Error::config("The two passwords differ."));
            }
            (email, password)
        };
        let started = built.start().await?;
        let state = started.state().clone();
        let auth = Auth::of(&state)?;
        let db = state
            .get::<Db>()
            .cloned()
            .ok_or_else(|| Error::config("createsuperuser needs the database plugin"))?;
        let result = create_superuser(&auth, &db, &email, &password).await;
        started.shutdown().await;
        let user = result?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "Superuser {} created (id {}).", user.email, user.id);
        Ok(())
    });
}

fn ask(prompt: &str) -> Result<String, Error> {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(Error::internal)?;
    Ok(line.trim().to_owned())
}

/// Creates a superuser (staff, verified), checking the address and password policy.
pub async fn create_superuser(
    auth: &Auth,
    db: &Db,
    email: &str,
    password: &str,
) -> Result<crate::models::user::Model, Error> {
    if auth.find_by_email(db, email).await?.is_some() {
        return Err(Error::conflict(format!(
            "A user with the address {} already exists.",
            Auth::normalize_email(email)
        )));
    }
    let user = auth.create_user(db, email, password).await.map_err(|e| {
        let details: Vec<String> = e.fields().iter().map(|f| f.detail().to_owned()).collect();
        if details.is_empty() {
            e
        } else {
            Error::config(details.join(" "))
        }
    })?;
    let mut active: crate::models::user::ActiveModel = user.into();
    active.is_superuser = Set(true);
    active.is_staff = Set(true);
    active.email_verified = Set(true);
    Ok(active.update(&**db).await?)
}
