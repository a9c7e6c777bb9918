//! The app's `db` commands: `migrate`, `rollback`, `status`, `reset`, `makemigrations`,
//! `sqlmigrate`, `seed`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::migrate::Backend as DbBackend;
use clap::{Arg, ArgAction, ArgMatches, Command};
use keel_core::{App, BuiltApp, Error};

use crate::migrate::diff::{NoRenames, RenameCandidate, RenamePolicy, UnambiguousRenames, diff};
use crate::migrate::writer::{
    auto_description, migration_name, migration_source, mod_source, module_name, names_in_mod,
};
use crate::migrate::{Migrator, Op};
use crate::settings::DbSettings;
use crate::{MigrationsFn, Models};

fn spec() -> Command {
    Command::new("db")
        .about("Database: migrations, makemigrations, seeds")
        .subcommand_required(true)
        .subcommand(
            Command::new("migrate")
                .about("Apply pending migrations")
                .after_help("Example: cargo run -- db migrate"),
        )
        .subcommand(
            Command::new("rollback")
                .about("Undo the last N applied migrations (default 1)")
                .arg(Arg::new("steps").default_value("1").value_parser(clap::value_parser!(usize)))
                .after_help("Example: cargo run -- db rollback 2"),
        )
        .subcommand(
            Command::new("status")
                .about("List applied and pending migrations, with checksums")
                .after_help("Example: cargo run -- db status"),
        )
        .subcommand(
            Command::new("reset")
                .about("Roll back every migration, then apply them all (refused in production)")
                .after_help("Example: cargo run -- db reset"),
        )
        .subcommand(
            Command::new("makemigrations")
                .about("Write a migration from the difference between the models and the migrations")
                .arg(Arg::new("name").help("Description used in the file name"))
                .arg(
                    Arg::new("check")
                        .long("check")
                        .action(ArgAction::SetTrue)
                        .help("Write nothing; fail if the models and the migrations disagree"),
                )
                .arg(
                    Arg::new("interactive")
                        .long("interactive")
                        .short('i')
                        .action(ArgAction::SetTrue)
                        .help("Ask about each possible rename"),
                )
                .arg(
                    Arg::new("no-renames")
                        .long("no-renames")
                        .action(ArgAction::SetTrue)
                        .help("Never detect renames: drop and add instead"),
                )
                .arg(
                    Arg::new("dir")
                        .long("dir")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("Migrations folder (default: database.migrations_dir)"),
                )
                .after_help(
                    "Examples:\n  cargo run -- db makemigrations add_post_slug\n  cargo run -- db makemigrations --check",
                ),
        )
        .subcommand(
            Command::new("sqlmigrate")
                .about("Print the SQL a migration runs")
                .arg(Arg::new("name").required(true))
                .arg(
                    Arg::new("backend")
                        .long("backend")
                        .value_parser(["sqlite", "postgres", "mysql"])
                        .help("Backend (default: the configured database)"),
                )
                .after_help("Example: cargo run -- db sqlmigrate 0001 --backend postgres"),
        )
        .subcommand(
            Command::new("seed")
                .about("Load JSON or YAML fixtures (idempotent by primary key)")
                .arg(Arg::new("files").num_args(1..).required(true))
                .after_help("Example: cargo run -- db seed fixtures/demo.json"),
        )
}

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
}

pub(crate) fn register(
    app: &mut App,
    settings: DbSettings,
    models: Models,
    migrations: MigrationsFn,
) {
    let url = settings.resolved_url(app.name());
    app.command(spec(), move |built: BuiltApp, args| {
        let production = built.environment().is_production();
        drop(built);
        async move { run(production, &args, &settings, &url, &models, migrations).await }
    });
}

/// The server kind a database URL names (SQLite when it names none).
pub(crate) fn backend_of(url: &str) -> DbBackend {
    if url.starts_with("postgres") {
        DbBackend::Postgres
    } else if url.starts_with("mysql") || url.starts_with("mariadb") {
        DbBackend::MySql
    } else {
        DbBackend::Sqlite
    }
}

fn migrate_err(e: impl std::fmt::Display) -> Error {
    Error::config(e.to_string())
}

async fn run(
    production: bool,
    args: &ArgMatches,
    settings: &DbSettings,
    url: &str,
    models: &Models,
    migrations: MigrationsFn,
) -> keel_core::Result<()> {
    // Keel's own tables (sessions) are migrated with the app's, first; makemigrations
    // only ever compares the app's migrations with the app's models.
    let migrator =
        Migrator::new(crate::all_migrations(models, migrations())).map_err(migrate_err)?;
    let mut app_migrations = models.component_migrations();
    app_migrations.extend(migrations());
    let app_migrator = Migrator::new(app_migrations).map_err(migrate_err)?;
    let Some((name, sub)) = args.subcommand() else {
        return Err(Error::config("missing db subcommand"));
    };
    match name {
        "migrate" => {
            let db = open(url).await?;
            let bar = progress_bar(migrator.migrations().len(), "migrations");
            let applied = migrator
                .migrate_reporting(&db, &mut |name, done, _| {
                    if let Some(b) = &bar {
                        b.set_position(done as u64);
                        b.set_message(name.to_owned());
                    }
                })
                .await
                .map_err(migrate_err)?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if applied.is_empty() {
                say("No migrations to apply.");
            }
            for m in applied {
                say(format!("Applied {m}"));
            }
        }
        "rollback" => {
            let steps = sub.get_one::<usize>("steps").copied().unwrap_or(1);
            let db = open(url).await?;
            let undone = migrator.rollback(&db, steps).await.map_err(migrate_err)?;
            if undone.is_empty() {
                say("No migrations to roll back.");
            }
            for m in undone {
                say(format!("Rolled back {m}"));
            }
        }
        "status" => {
            let db = open(url).await?;
            let status = migrator.status(&db).await.map_err(migrate_err)?;
            if status.is_empty() {
                say("No migrations.");
            }
            for s in status {
                let state = match (s.applied_at, s.missing_from_code(), s.changed()) {
                    (Some(_), true, _) => "applied, MISSING from the code".to_owned(),
                    (Some(_), _, true) => "applied, CHANGED since (checksum differs)".to_owned(),
                    (Some(at), _, _) => format!(
                        "applied {}",
                        humantime::format_rfc3339_seconds(
                            std::time::UNIX_EPOCH
                                + std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0))
                        )
                    ),
                    (None, _, _) => "pending".to_owned(),
                };
                say(format!(
                    "{:<40} {:<34} {}",
                    s.name,
                    s.checksum.or(s.applied_checksum).unwrap_or_default(),
                    state
                ));
            }
        }
        "reset" => {
            if production {
                return Err(Error::config("db reset is refused in production"));
            }
            let db = open(url).await?;
            let undone = migrator
                .rollback(&db, usize::MAX)
                .await
                .map_err(migrate_err)?;
            say(format!("Rolled back {} migration(s)", undone.len()));
            let applied = migrator.migrate(&db).await.map_err(migrate_err)?;
            say(format!("Applied {} migration(s)", applied.len()));
        }
        "makemigrations" => {
            let dir = sub
                .get_one::<PathBuf>("dir")
                .cloned()
                .unwrap_or_else(|| settings.migrations_dir.clone());
            let mut policy: Box<dyn RenamePolicy> = if sub.get_flag("interactive") {
                Box::new(AskRenames)
            } else if sub.get_flag("no-renames") {
                Box::new(NoRenames)
            } else {
                Box::new(UnambiguousRenames)
            };
            makemigrations(
                &app_migrator,
                models,
                &dir,
                sub.get_one::<String>("name").map(String::as_str),
                sub.get_flag("check"),
                policy.as_mut(),
            )?;
        }
        "sqlmigrate" => {
            let name = sub.get_one::<String>("name").cloned().unwrap_or_default();
            let backend = match sub.get_one::<String>("backend").map(String::as_str) {
                Some("postgres") => DbBackend::Postgres,
                Some("mysql") => DbBackend::MySql,
                Some(_) => DbBackend::Sqlite,
                None => backend_of(url),
            };
            for sql in migrator.sql_for(&name, backend).map_err(migrate_err)? {
                say(format!("{sql};"));
            }
        }
        "seed" => {
            let db = crate::pool::connect(settings, url)
                .await
                .map_err(|e| Error::config(format!("cannot open the database: {e}")))?;
            for file in sub.get_many::<String>("files").into_iter().flatten() {
                let bar = progress_bar(0, "rows");
                let loaded = models
                    .seeders()
                    .load_file_reporting(&db, Path::new(file), &mut |table, done, of| {
                        if let Some(b) = &bar {
                            b.set_length(of as u64);
                            b.set_position(done as u64);
                            b.set_message(format!("{file}: {table}"));
                        }
                    })
                    .await
                    .map_err(Error::config)?;
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                for (table, inserted, present) in loaded {
                    say(format!(
                        "{file}: {table}: {inserted} inserted, {present} already present"
                    ));
                }
            }
        }
        other => return Err(Error::config(format!("unknown db command `{other}`"))),
    }
    Ok(())
}

/// A progress bar on a terminal (none when the output is piped or logged).
fn progress_bar(len: usize, unit: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:30}} {{pos}}/{{len}} {unit} {{msg}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

async fn open(url: &str) -> keel_core::Result<sea_orm::DatabaseConnection> {
    crate::pool::ensure_sqlite_dir(url).map_err(Error::config)?;
    Migrator::connect(url)
        .await
        .map_err(|e| Error::config(format!("cannot open the database: {e}")))
}

/// What `makemigrations` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MakeOutcome {
    /// Models and migrations agree.
    NoChanges,
    /// A migration file was written.
    Written(PathBuf),
}

/// Compares the models with the migrations and writes the new migration into `dir`
/// (or, with `check`, reports the difference). Used by `db makemigrations`.
/// `migrator` holds the app's migrations, after those of the components its models
/// include (`Models::component_migrations`); the components' are never rewritten.
pub fn makemigrations(
    migrator: &Migrator,
    models: &Models,
    dir: &Path,
    name: Option<&str>,
    check: bool,
    policy: &mut dyn RenamePolicy,
) -> keel_core::Result<MakeOutcome> {
    // The app's migrations build on those of the components its models include
    // (`migrator` may list them first, or leave them out).
    let component = models.component_migrations();
    let component_names: std::collections::BTreeSet<String> =
        component.iter().map(|m| m.name().to_owned()).collect();
    let listed = migrator
        .migrations()
        .iter()
        .any(|m| component_names.contains(m.name()));
    let from = if listed || component.is_empty() {
        migrator.schema()
    } else {
        let mut all = component;
        all.extend(migrator.migrations().iter().cloned());
        Migrator::new(all).map_err(migrate_err)?.schema()
    };
    let to = models.schema().map_err(migrate_err)?;
    let changes = diff(&from, &to, policy).map_err(migrate_err)?;
    for w in &changes.warnings {
        say(format!("warning: {w}"));
    }
    if changes.ops.is_empty() {
        say("No changes detected.");
        return Ok(MakeOutcome::NoChanges);
    }
    let described: Vec<String> = changes.ops.iter().map(Op::describe).collect();
    if check {
        say("The models and the migrations disagree; `db makemigrations` would write:");
        for d in &described {
            say(format!("  - {d}"));
        }
        return Err(Error::config(
            "migrations are missing for model changes: run `db makemigrations`",
        ));
    }
    let known: Vec<String> = migrator
        .migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|n| !component_names.contains(n))
        .collect();
    let on_disk = names_in_mod(dir);
    if !on_disk.is_empty() && on_disk != known {
        return Err(Error::config(format!(
            "{} lists migrations this binary was not built with ({}); rebuild and run again",
            dir.join("mod.rs").display(),
            on_disk.join(", ")
        )));
    }
    let description = name.map_or_else(|| auto_description(&changes.ops), str::to_owned);
    let new_name = migration_name(known.len() + 1, &description);
    let down: Vec<Op> = changes.ops.iter().rev().filter_map(Op::reverse).collect();
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::config(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join(format!("{}.rs", module_name(&new_name)));
    std::fs::write(
        &file,
        migration_source(&new_name, &changes.ops, &down, &described),
    )
    .map_err(|e| Error::config(format!("cannot write {}: {e}", file.display())))?;
    let mut names = known;
    names.push(new_name);
    std::fs::write(dir.join("mod.rs"), mod_source(&names))
        .map_err(|e| Error::config(format!("cannot write mod.rs: {e}")))?;
    // Generated code is formatted like the rest of the app (when rustfmt is there).
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(&file)
        .arg(dir.join("mod.rs"))
        .status()
        .is_ok_and(|s| s.success());
    if !formatted {
        say("note: rustfmt did not run; format the new files with `cargo fmt`");
    }
    say(format!("Wrote {}:", file.display()));
    for d in &described {
        say(format!("  - {d}"));
    }
    Ok(MakeOutcome::Written(file))
}

struct AskRenames;

impl RenamePolicy for AskRenames {
    fn is_rename(&mut self, c: &RenameCandidate, _unambiguous: bool) -> bool {
        let what = if c.table.is_empty() {
            format!("table `{}` to `{}`", c.from, c.to)
        } else {
            format!("`{}.{}` to `{}.{}`", c.table, c.from, c.table, c.to)
        };
        {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "Did you rename {what}? [y/N] ");
            let _ = out.flush();
        }
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes")
    }
}
