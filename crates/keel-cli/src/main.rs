//! `keel`: new Keel projects and generators that write code the app then owns.
//!
//! ```text
//! keel new blog --template web            # a project that runs and tests at once
//! cd blog && keel generate model post title:string body:text published:bool
//! keel generate migration backfill_slugs  # an empty migration to fill in
//! ```

mod dev;
mod generate;
mod new;
mod out;
mod scaffold;

use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};

fn cli() -> Command {
    let dry_run = Arg::new("dry-run")
        .long("dry-run")
        .action(ArgAction::SetTrue)
        .help("Show the files that would be written or changed, and change nothing");
    let no_migration = Arg::new("no-migration")
        .long("no-migration")
        .action(ArgAction::SetTrue)
        .help("Do not run `db makemigrations` afterwards");
    Command::new("keel")
        .about("Keel's command line: new projects and generators")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .after_help(
            "Examples:\n  keel new blog && cd blog && cargo run\n  keel generate scaffold post title:string body:text\n  keel dev",
        )
        .subcommand(
            Command::new("new")
                .about("Create a new Keel project in a new folder")
                .arg(
                    Arg::new("name")
                        .required(true)
                        .help("The project's name: lower case, digits, `-` and `_`"),
                )
                .arg(
                    Arg::new("template")
                        .long("template")
                        .short('t')
                        .value_parser(["web", "api", "minimal"])
                        .default_value("web")
                        .help("web: pages, accounts, a database; api: JSON with OpenAPI; minimal: one route"),
                )
                .arg(
                    Arg::new("db")
                        .long("db")
                        .value_parser(["sqlite", "postgres", "mysql"])
                        .default_value("sqlite")
                        .help("The database of development (web and api)"),
                )
                .arg(
                    Arg::new("keel-path")
                        .long("keel-path")
                        .value_name("DIR")
                        .help("Depend on a Keel checkout at DIR instead of the published crates"),
                )
                .arg(dry_run.clone())
                .after_help(
                    "Examples:\n  keel new blog\n  keel new shop-api --template api --db postgres\n  keel new hello --template minimal --keel-path ../keel",
                ),
        )
        .subcommand(
            Command::new("dev")
                .about("Serve the app, rebuilding and restarting it when its code changes")
                .arg(
                    Arg::new("port")
                        .long("port")
                        .short('p')
                        .value_parser(clap::value_parser!(u16))
                        .default_value("8000")
                        .help("The port the browser talks to (the app runs behind it)"),
                )
                .after_help(
                    "keel dev keeps the port open while the app rebuilds: requests wait for the new\n\
                     process. Templates and static files reload the page without a rebuild.\n\n\
                     Example:\n  keel dev --port 3000",
                ),
        )
        .subcommand(
            Command::new("generate")
                .visible_alias("g")
                .about("Generate code inside a Keel project (run in the project)")
                .subcommand_required(true)
                .arg_required_else_help(true)
                .after_help(
                    "Examples:\n  keel generate model tag name:string:unique\n  keel g scaffold post title:string body:text --api\n  keel g mailer welcome\n  keel g migration backfill_slugs",
                )
                .subcommand(
                    Command::new("model")
                        .about("A model: entity, registration, migration, factory and test")
                        .arg(Arg::new("name").required(true).help("Singular, snake_case: `post`, `blog_post`"))
                        .arg(
                            Arg::new("fields")
                                .num_args(0..)
                                .help("name:type[:option…]; types: string text int bigint bool float; options: optional unique indexed"),
                        )
                        .arg(no_migration.clone())
                        .arg(dry_run.clone())
                        .after_help(
                            "Examples:\n  keel generate model post title:string body:text published:bool\n  keel g model tag name:string:unique weight:int:optional",
                        ),
                )
                .subcommand(
                    Command::new("scaffold")
                        .about("A model with its CRUD routes: HTML pages with forms, or JSON with --api; and tests")
                        .arg(Arg::new("name").required(true).help("Singular, snake_case: `post`"))
                        .arg(
                            Arg::new("fields")
                                .num_args(0..)
                                .help("name:type[:option…], as for `generate model`"),
                        )
                        .arg(
                            Arg::new("api")
                                .long("api")
                                .action(ArgAction::SetTrue)
                                .help("JSON handlers under /api (documented when the project uses keel::openapi)"),
                        )
                        .arg(no_migration)
                        .arg(dry_run.clone())
                        .after_help(
                            "Examples:\n  keel generate scaffold post title:string body:text published:bool\n  keel g scaffold product name:string price:float --api",
                        ),
                )
                .subcommand(
                    Command::new("mailer")
                        .about("A mail: its text and HTML templates, a typed context, and a test")
                        .arg(Arg::new("name").required(true).help("snake_case: `welcome`"))
                        .arg(dry_run.clone())
                        .after_help("Example:\n  keel generate mailer welcome"),
                )
                .subcommand(
                    Command::new("migration")
                        .about("An empty migration to fill in (data changes, raw SQL)")
                        .arg(Arg::new("name").required(true).help("What it does: `backfill_slugs`"))
                        .arg(dry_run)
                        .after_help("Example:\n  keel generate migration backfill_slugs"),
                ),
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("new", m)) => new::run(m),
        Some(("generate", m)) => generate::run(m),
        Some(("dev", m)) => dev::run(m),
        _ => Err("unknown command; see `keel --help`".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            out::error(&message);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::cli().debug_assert();
    }

    /// Every command's help ends with examples.
    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: &str) {
            let help = cmd
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                help.contains("Example"),
                "`{path}` has no examples in --help"
            );
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&super::cli(), "keel");
    }
}
